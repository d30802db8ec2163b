"""The wheel holds every package: a package left out of pyproject.toml would be missing
from an installed app (the tests run from the source tree and would not notice)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "convviz").rglob("__init__.py")
    }
    assert found - listed == set(), "packages missing from pyproject.toml"
    assert {p for p in listed - found if not re.fullmatch(r"convviz\.resources", p)} == set()
