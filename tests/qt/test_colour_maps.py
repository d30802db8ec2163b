"""Zero is white in every colour map, and the chosen map colours everything signed: map
cells, kernel cells, the pipeline figure and the animation export."""

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.qt.base import map_image, views
from convviz.qt.base.colour_maps import COLOUR_MAPS, DEFAULT, make_colormap
from convviz.qt.base.map_image import OVERFLOW, PENDING
from convviz.qt.base.views import diverging_colormap
from convviz.qt.export.animation import plan_animation, render_frame
from convviz.qt.export.figure import pipeline_data, pipeline_layout, render_pipeline
from tests.qt.helpers import drawn_colour, settle

WHITE = QtGui.QColor(255, 255, 255)


@pytest.fixture(autouse=True)
def default_map_afterwards():
    yield
    views.set_diverging(DEFAULT)


@pytest.mark.parametrize("name", COLOUR_MAPS)
def test_zero_is_exactly_white_in_every_map(name):
    cmap = make_colormap(name)
    assert tuple(cmap.map(np.array([0.5]), mode="byte")[0, :3]) == (255, 255, 255)
    lut = cmap.getLookupTable(nPts=256)  # what map cells draw with
    index = map_image.colour_indices(np.zeros(1, np.float32), (-3.0, 3.0), len(lut))[0]
    assert tuple(lut[index][:3]) == (255, 255, 255)
    assert tuple(lut[0][:3]) != tuple(lut[-1][:3])  # and it diverges


@pytest.mark.parametrize("name", COLOUR_MAPS)
def test_no_map_reaches_the_overflow_or_the_not_computed_colour(name):
    lut = make_colormap(name).getLookupTable(nPts=256)[:, :3].astype(int)
    for special in (OVERFLOW, PENDING):
        assert np.abs(lut - special).max(axis=1).min() >= 40, special


def test_there_is_a_colour_blind_safe_and_a_high_contrast_map():
    assert "colour-blind safe" in COLOUR_MAPS["colour-blind"]
    assert "high contrast" in COLOUR_MAPS["high-contrast"]
    luts = [make_colormap(n).getLookupTable(nPts=16)[:, :3] for n in COLOUR_MAPS]
    assert len({lut.tobytes() for lut in luts}) == len(COLOUR_MAPS)


def _expected(cmap, value, levels):
    lut = cmap.getLookupTable(nPts=256)
    index = map_image.colour_indices(np.array([value], np.float32), levels, len(lut))[0]
    return QtGui.QColor(*(int(v) for v in lut[index][:3]))


def _zero_and_positive_window(make_window):
    image = np.zeros((6, 6, 1), np.float32)
    image[2, 3] = 1.0
    window = make_window(image)
    window.controller.apply_preset("identity", scope="layer")
    window.controller.change_settings(padding="same", activation="linear")
    settle(window)
    return window


def test_a_zero_pixel_is_drawn_white_in_every_map(make_window):
    window = _zero_and_positive_window(make_window)
    for name in COLOUR_MAPS:
        window.inspector.set_colour_map(name)
        settle(window)
        assert drawn_colour(window.sum_panel.feature, 0, 0) == WHITE, name
        assert drawn_colour(window.filters_panel.cells[0], 5, 5) == WHITE, name


def test_switching_the_map_recolours_the_map_cells(make_window):
    window = _zero_and_positive_window(make_window)
    cell = window.sum_panel.feature
    levels = window.controller.frame.map_levels
    seen = []
    for name in COLOUR_MAPS:
        window.inspector.set_colour_map(name)
        settle(window)
        colour = drawn_colour(cell, 2, 3)
        assert colour == _expected(make_colormap(name), 1.0, levels), name
        seen.append(colour.name())
    assert len(set(seen)) == len(COLOUR_MAPS)


def test_switching_the_map_recolours_the_kernel_cells(make_window):
    window = _zero_and_positive_window(make_window)
    window.controller.set_kernel_value(0, 0, 0, -0.75)
    settle(window)

    def tint(r, c):
        return window.editor.cell(r, c, 0).grab().toImage().pixelColor(4, 4)

    seen = []
    for name in COLOUR_MAPS:
        window.inspector.set_colour_map(name)
        settle(window)
        assert tint(0, 1) == WHITE  # a zero weight
        # -0.75 of the largest magnitude, 1: the map at 0.5 - 0.375.
        want = make_colormap(name).map(np.array([0.125]), mode="byte")[0, :3]
        got = tint(0, 0)
        assert (
            max(abs(got.red() - want[0]), abs(got.green() - want[1]), abs(got.blue() - want[2]))
            <= 1
        )
        seen.append(got.name())
    assert len(set(seen)) == len(COLOUR_MAPS)


def _figure_pixel(image, layout, key, row, col):
    rect = layout.maps[key]
    point = QtCore.QPointF(
        rect.x() + (col + 0.5) * layout.pixel, rect.y() + (row + 0.5) * layout.pixel
    )
    return image.pixelColor(point.toPoint())


def test_switching_the_map_recolours_the_figure_and_the_animation(make_window):
    window = _zero_and_positive_window(make_window)
    state = window.controller.state()
    data = pipeline_data(state)
    layout = pipeline_layout(data)
    figures, frames = [], []
    for name in COLOUR_MAPS:
        window.inspector.set_colour_map(name)
        cmap = diverging_colormap()
        want = cmap.map(np.array([0.5 + 0.5 / data.map_levels[1]]), mode="byte")[0, :3]
        image = render_pipeline(state)
        got = _figure_pixel(image, layout, ("feature map", 0), 2, 3)
        assert np.abs(np.array(got.getRgb()[:3]) - want).max() <= 1, name
        assert _figure_pixel(image, layout, ("feature map", 0), 0, 0) == WHITE
        figures.append(got.name())
        plan = plan_animation(state)
        frame = render_frame(plan, plan.steps[-1])  # every pixel reached
        frames.append(_figure_pixel(frame, plan.layout, ("feature map", 0), 2, 3).name())
    assert len(set(figures)) == len(COLOUR_MAPS)
    assert frames == figures  # the animation draws what the figure draws


def test_the_play_button_shows_a_real_icon_for_play_and_pause(window, qtbot):
    bar = window.inspector.anim
    assert "⏸" not in bar.play.text() and "▶" not in bar.play.text()
    style = bar.style()
    play = style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPlay)
    pause = style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPause)

    def looks(icon):
        return icon.pixmap(16, 16).toImage()

    assert not bar.play.icon().isNull() and looks(play) != looks(pause)
    assert looks(bar.play.icon()) == looks(play) and bar.play.text() == "play"
    bar.set_playing(True)
    assert looks(bar.play.icon()) == looks(pause) and bar.play.text() == "pause"
    bar.set_playing(False)
    assert looks(bar.play.icon()) == looks(play)


def test_text_on_a_cell_is_black_on_light_and_white_on_dark_colours():
    from PySide6.QtGui import QColor

    from convviz.qt.base.colour_maps import readable_text

    assert readable_text(QColor(255, 255, 255)) == QColor(0, 0, 0)
    assert readable_text(QColor(255, 230, 120)) == QColor(0, 0, 0)  # light yellow
    assert readable_text(QColor(20, 40, 160)) == QColor(255, 255, 255)  # dark blue
    assert readable_text(QColor(160, 20, 30)) == QColor(255, 255, 255)  # dark red
