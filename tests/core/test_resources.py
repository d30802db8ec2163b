import shutil
import subprocess
import sys
from pathlib import Path

import convviz

REPO = Path(convviz.__file__).resolve().parents[1]


def test_an_installed_package_finds_its_samples_and_lessons(tmp_path):
    # A wheel holds the top-level resources/ folder as convviz/resources: rebuild that
    # layout away from the source tree and load from it.
    site = tmp_path / "site"
    shutil.copytree(
        REPO / "convviz", site / "convviz", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "resources", site / "convviz" / "resources")
    script = (
        "import convviz.core.resources as r, convviz.io.samples as s, convviz.core.lessons as l;"
        "print(r.resource_dir());"
        "print(s.load_sample('digit').array.shape);"
        "print(all(l.lesson_path(x).exists() for x in l.LESSONS))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    folder, shape, lessons = out.stdout.split("\n")[:3]
    assert Path(folder) == site / "convviz" / "resources"
    assert shape == "(28, 28, 1)" and lessons == "True"
