"""``convviz render``: a figure file without a window; bad input is a clear exit 2."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from convviz.core.levels import nice_ceil
from convviz.qt import render_cli
from convviz.qt.app import build_window, parse_args
from convviz.qt.base.views import diverging_colormap
from convviz.qt.export.figure import pipeline_data, pipeline_layout
from tests.core.test_export import slow_layer
from tests.files import sparse_npy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "samples" / "digit.png"
LESSON = ROOT / "resources" / "lessons" / "03-several-filters.convviz"


@pytest.fixture
def array_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(5).random((9, 11, 2)).astype(np.float32))
    return path


def run(*args):
    return render_cli.main([str(a) for a in args])


def test_writes_a_png_that_scales_and_grows(qapp, array_file, tmp_path):
    sizes = {}
    for scale, filters in ((1, 1), (2, 1), (1, 3)):
        out = tmp_path / f"f{scale}{filters}.png"
        assert run(array_file, "--scale", scale, "--filters", filters, "-o", out) == 0
        image = QImage(str(out))
        sizes[scale, filters] = (image.width(), image.height())
    assert sizes[2, 1] == (2 * sizes[1, 1][0], 2 * sizes[1, 1][1])
    assert sizes[1, 3][1] > 2 * sizes[1, 1][1] - 200


def test_feature_map_pixels_match_the_layer(qapp, array_file, tmp_path):
    out = tmp_path / "fig.png"
    assert run(array_file, "--preset", "laplacian", "--filters", 2, "--scale", 1, "-o", out) == 0
    image = QImage(str(out))
    x = np.load(array_file)
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    kernel = np.repeat(lap[:, :, None, None], 2, axis=2).repeat(2, axis=3)
    maps, fm = slow_layer(x, kernel, np.zeros(2))
    m = nice_ceil(max(np.abs(maps).max(), np.abs(fm).max(), np.abs(maps.sum(axis=2)).max()))
    state = render_cli.load_state(array_file, filters=2, preset="laplacian", max_side=256)
    layout = pipeline_layout(pipeline_data(state, 2))
    assert (image.width(), image.height()) == layout.pixel_size(1)
    cmap = diverging_colormap()
    for f in range(2):
        rect = layout.maps[("feature map", f)]
        for r, c in ((0, 0), (3, 4), (6, 8)):
            px = QColor(
                image.pixel(
                    int(rect.x() + (c + 0.5) * layout.pixel),
                    int(rect.y() + (r + 0.5) * layout.pixel),
                )
            )
            want = cmap.map((fm[r, c, f] + m) / (2 * m), mode="byte")[:3]
            got = np.array([px.red(), px.green(), px.blue()])
            assert np.abs(got - want).max() <= 2
    colours = {
        image.pixel(i, j) for i in range(0, image.width(), 2) for j in range(0, image.height(), 2)
    }
    assert len(colours) > 100


def test_same_weights_as_the_app_opens(qapp, tmp_path):
    state = render_cli.load_state(SAMPLE, filters=3, preset=None, max_side=256)
    window = build_window(parse_args([str(SAMPLE), "--filters", "3"]))
    try:
        np.testing.assert_array_equal(state["kernel"], window.controller.doc.kernel)
        np.testing.assert_array_equal(state["input"], window.controller.doc.input)
    finally:
        window.close()
        window.deleteLater()


def test_session_file_renders(qapp, tmp_path):
    pytest.importorskip("convviz.io.session")
    out = tmp_path / "lesson.png"
    assert run(LESSON, "-o", out, "--filters", 2, "--theme", "dark") == 0
    assert not QImage(str(out)).isNull()
    assert run(LESSON, "-o", out, "--filters", 16) == 2


@pytest.mark.parametrize(
    "args, needle",
    [
        (["nothere.png"], "nothere.png"),
        (["broken.png"], "broken.png"),
        ([str(SAMPLE), "--preset", "blurry"], "unknown preset 'blurry'"),
        ([str(SAMPLE), "--filters", "0"], "--filters"),
        ([str(SAMPLE), "--scale", "-1"], "--scale"),
    ],
)
def test_errors_exit_2_and_name_the_problem(qapp, tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    assert render_cli.main([*args, "-o", "out.png"]) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_unwritable_output_exits_2(qapp, tmp_path, capsys):
    assert run(SAMPLE, "-o", tmp_path / "no such folder" / "f.png") == 2
    assert "cannot write" in capsys.readouterr().err


def test_runs_headless_as_a_process(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "p.png"
    proc = subprocess.run(
        [sys.executable, "-m", "convviz.qt.render_cli", str(SAMPLE), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and "wrote" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "convviz.qt.render_cli", str(tmp_path / "gone.png"), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2 and "gone.png" in proc.stderr


def test_an_input_over_the_memory_budget_is_refused_before_it_is_drawn(tmp_path, capsys):
    """A raised --max-side does not let `convviz render` build a layer that cannot fit."""
    path = sparse_npy(tmp_path / "huge.npy", (3000, 3000, 16))
    out = tmp_path / "fig.png"
    assert run(path, "--max-side", "8192", "--filters", "4", "-o", out) == 2
    err = capsys.readouterr().err
    assert "huge.npy" in err and "4 filters of 3×3" in err and "would fit" in err
    assert not out.exists()
