"""The sliding-window animation export: frames, files, cancel and errors, through the menu."""

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets

from convviz.core.model import LayerSettings
from convviz.qt.export import animation as animation_export
from convviz.qt.export.animation import (
    BLANK,
    HIGHLIGHT,
    AnimationCancelled,
    frame_steps,
    plan_animation,
    write_gif,
    write_png_sequence,
)
from convviz.qt.export.animation_menu import AnimationDialog
from convviz.qt.export.figure import render_pipeline
from tests.core.test_export import make_state
from tests.qt.helpers import settle

SCALE = 1.0


def rgb(image, x, y):
    return np.array(image.getpixel((int(x), int(y)))[:3], int)


def centre(plan, key, r, c):
    rect = plan.layout.pixel_rect(key, r, c)
    return rect.center().x() * plan.scale, rect.center().y() * plan.scale


@pytest.fixture
def state():
    return make_state(shape=(7, 9, 3), filters=2, selected=1)  # output 5×7: 35 steps


def test_frame_steps_take_every_kth_step_and_always_the_last():
    assert frame_steps(35, 3) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 34]
    assert frame_steps(35, 1) == list(range(35))
    assert frame_steps(1) == [0]
    steps = frame_steps(62 * 62)  # the colour sample's output: 3844 pixels
    assert len(steps) <= 200 and steps[0] == 0 and steps[-1] == 3843
    gaps = set(np.diff(steps[:-1]))
    assert len(gaps) == 1 and gaps.pop() < 3844 / 190


def test_png_frames_fill_the_maps_pixel_by_pixel(state, tmp_path, qapp):
    plan = plan_animation(state, every=4, scale=SCALE)
    paths = write_png_sequence(tmp_path / "frames", plan)
    assert [p.name for p in paths] == [f"frame_{i:04d}.png" for i in range(1, 11)]
    final = Image.fromarray(_array(render_pipeline(state, scale=SCALE)))
    blank = np.array(BLANK["light"].getRgb()[:3])
    for path, step in zip(paths, plan.steps, strict=True):
        frame = Image.open(path).convert("RGB")
        assert frame.size == final.size == plan.size
        for key in ("kernel map", "pre-activation", "feature map"):
            keys = [k for k in plan.layout.maps if k[0] == key]
            for k in keys:
                for p in range(35):
                    r, c = divmod(p, 7)  # row-major
                    x, y = centre(plan, k, r, c)
                    want = rgb(final, x, y) if p <= step else blank
                    np.testing.assert_array_equal(rgb(frame, x, y), want, err_msg=f"{k} {p}")


def test_the_window_outline_sits_on_the_taps_the_pixel_reads(state, qapp):
    plan = plan_animation(state, every=1, scale=2.0)
    px = plan.layout.pixel * plan.scale
    yellow = np.array(HIGHLIGHT.getRgb()[:3])
    for step in (0, 12, 34):
        image = Image.fromarray(_array(animation_export.render_frame(plan, step)))
        r, c = divmod(step, 7)  # valid, stride 1: rows r..r+2, columns c..c+2
        for k in range(3):
            rect = plan.layout.maps[("input", 0, k)]
            x0, y0 = rect.x() * plan.scale, rect.y() * plan.scale
            top = rgb(image, x0 + (c + 1.5) * px, y0 + r * px)
            right = rgb(image, x0 + (c + 3) * px, y0 + (r + 1.5) * px)
            inside = rgb(image, x0 + (c + 1.5) * px + px / 4, y0 + (r + 1.5) * px + px / 4)
            assert np.abs(top - yellow).max() < 40 and np.abs(right - yellow).max() < 40
            assert np.abs(inside - yellow).max() > 100  # the pixels read stay visible


def test_padding_taps_are_outlined_outside_the_image(state, qapp):
    state["settings"] = LayerSettings(filters=2, padding="same")
    plan = plan_animation(state, every=1, scale=2.0)
    px = plan.layout.pixel * plan.scale
    image = _array(animation_export.render_frame(plan, 7 * 9 - 1))  # last pixel (6, 8)
    rect = plan.layout.maps[("input", 0, 0)]
    bottom = rect.bottom() * plan.scale
    right = rect.right() * plan.scale
    # Row 7 and column 9 lie in the padding: their taps are drawn below and right of the image.
    below = image[int(bottom + px * 0.5) : int(bottom + px), int(right - 2 * px) : int(right)]
    yellow = np.array(HIGHLIGHT.getRgb()[:3])
    assert (np.abs(below[..., :3].astype(int) - yellow).max(axis=-1) < 40).any()


def _array(qimage):
    qimage = qimage.convertToFormat(qimage.Format.Format_RGB888)
    w, h = qimage.width(), qimage.height()
    raw = np.frombuffer(bytes(qimage.constBits()), np.uint8).reshape(h, qimage.bytesPerLine())
    return raw[:, : 3 * w].reshape(h, w, 3).copy()


def test_gif_has_one_frame_per_step_shown_and_close_colours(state, tmp_path, qapp):
    plan = plan_animation(state, every=3, scale=SCALE)
    path = write_gif(tmp_path / "a.gif", plan, duration_ms=70)
    gif = Image.open(path)
    assert gif.n_frames == len(range(0, 35, 3)) + 1 == 13
    assert gif.size == plan.size and gif.info["loop"] == 0 and gif.info["duration"] == 70
    final = Image.fromarray(_array(render_pipeline(state, scale=SCALE)))
    blank = np.array(BLANK["light"].getRgb()[:3])
    gif.seek(4)  # step 12: pixels 0..12 computed
    frame = gif.convert("RGB")
    for p in (0, 12, 13, 34):
        x, y = centre(plan, ("feature map", 0), *divmod(p, 7))
        want = rgb(final, x, y) if p <= 12 else blank
        assert np.abs(rgb(frame, x, y) - want).max() <= 16, p
    assert list(tmp_path.iterdir()) == [path]


def test_cancelling_writes_nothing(state, tmp_path, qapp):
    plan = plan_animation(state, every=3)
    with pytest.raises(AnimationCancelled):
        write_gif(tmp_path / "a.gif", plan, progress=lambda done, total: done < 5)
    with pytest.raises(AnimationCancelled):
        write_png_sequence(tmp_path / "frames", plan, progress=lambda done, total: done < 5)
    assert list((tmp_path / "frames").iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]


def test_a_new_sequence_replaces_an_older_longer_one(state, tmp_path, qapp):
    folder = tmp_path / "frames"
    write_png_sequence(folder, plan_animation(state, every=3))
    (folder / "notes.txt").write_text("mine")
    paths = write_png_sequence(folder, plan_animation(state, every=10))
    assert sorted(p.name for p in folder.iterdir()) == [
        "frame_0001.png",
        "frame_0002.png",
        "frame_0003.png",
        "frame_0004.png",
        "frame_0005.png",
        "notes.txt",
    ]
    assert len(paths) == 5


# -- through the window --------------------------------------------------------------------------
@pytest.fixture
def export(window):
    return window.animation_export


def test_menu_action_exports_a_gif_with_the_dialogs_choices(window, export, monkeypatch, tmp_path):
    titles = [a.text() for a in window.exports.menu.actions()]
    assert titles[titles.index("Pipeline figure…") + 1] == "Sliding-window animation…"

    def accept(dialog):
        dialog.format.setCurrentIndex(0)
        dialog.every.setValue(500)
        dialog.duration.setValue(120)
        return QtWidgets.QDialog.DialogCode.Accepted

    monkeypatch.setattr(AnimationDialog, "exec", accept)
    monkeypatch.setattr(
        QtWidgets.QFileDialog,
        "getSaveFileName",
        lambda *a: (str(tmp_path / "anim"), ""),
    )
    settle(window)
    export.action.trigger()
    gif = Image.open(tmp_path / "anim.gif")
    h, w = window.controller.frame.output_shape[:2]
    assert gif.n_frames == len(frame_steps(h * w, 500))
    assert gif.info["duration"] == 120
    assert "Saved" in window.statusBar().currentMessage()


def test_dialog_defaults_to_at_most_200_frames(window, qtbot):
    dialog = AnimationDialog(window.controller.state(), window)
    qtbot.addWidget(dialog)
    h, w = window.controller.frame.output_shape[:2]
    assert dialog.n_steps == h * w
    assert dialog.frame_count() <= 200
    assert f"{dialog.frame_count()} frames" in dialog.summary.text()


def test_cancel_in_the_progress_dialog_writes_nothing(window, export, tmp_path):
    def cancel():
        dialogs = window.findChildren(QtWidgets.QProgressDialog)
        if dialogs:
            dialogs[0].cancel()
        else:
            QtCore.QTimer.singleShot(1, cancel)

    QtCore.QTimer.singleShot(0, cancel)
    options = dict(format="png", every=1, duration_ms=80, scale=1.0)
    assert export.export(options, tmp_path / "frames") is None
    assert not any((tmp_path / "frames").iterdir())
    assert "cancelled" in window.statusBar().currentMessage()


def test_write_error_warns_and_leaves_no_partial_file(window, export, monkeypatch, tmp_path):
    warnings = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", lambda parent, title, text: warnings.append(text)
    )
    real, calls = animation_export.render_frame, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 5:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(animation_export, "render_frame", failing)
    options = dict(format="gif", every=50, duration_ms=80, scale=1.0)
    assert export.export(options, tmp_path / "a.gif") is None
    assert len(warnings) == 1 and "a.gif" in warnings[0] and "No space" in warnings[0]
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(animation_export, "render_frame", real)
    assert export.export(options, tmp_path / "a.gif") == tmp_path / "a.gif"  # still works
