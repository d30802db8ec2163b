"""The whole Conv2D pipeline of one or more filters as one picture, for slides.

Each shown filter is one row, read left to right as the arithmetic::

    channels → kernels of filter f → kernel map 1 + kernel map 2 + … + bias = pre-activation
             → activation → feature map f

Everything is drawn with QPainter onto a QImage, so it works headless (offscreen platform,
no widget, no window). The work is split in three steps that other renderers, such as the
frames of a sliding-window animation, can reuse: :func:`pipeline_data` computes the
numbers, :func:`pipeline_layout` places every element in logical units (rectangles a
frame renderer can draw over), and :func:`paint_pipeline` draws them with any QPainter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from convviz.core.conv import conv2d
from convviz.core.levels import SymmetricLevels, input_levels, max_abs
from convviz.core.model import LayerSettings
from convviz.core.numbers import format_number
from convviz.qt.base.colour_maps import readable_text
from convviz.qt.base.map_image import OVERFLOW
from convviz.qt.base.views import diverging_colormap, tint_colormap
from convviz.qt.export.figure_layout import PipelineLayout, pipeline_layout

__all__ = [
    "MAX_PIXELS",
    "THEMES",
    "FilterRow",
    "PipelineData",
    "PipelineLayout",
    "Theme",
    "map_to_rgba",
    "paint_pipeline",
    "pipeline_data",
    "pipeline_layout",
    "png_bytes",
    "render_pipeline",
]

# A 16-filter figure of a 256x256 input at scale 4 is ~60 Mpx: allow it, refuse worse.
MAX_PIXELS = 120_000_000


@dataclass(frozen=True)
class Theme:
    """Colours of a figure."""

    background: QColor
    text: QColor
    muted: QColor
    frame: QColor


THEMES = {
    "light": Theme(
        QColor(255, 255, 255), QColor(20, 20, 20), QColor(85, 85, 85), QColor(150, 150, 150)
    ),
    "dark": Theme(
        QColor(30, 31, 34), QColor(235, 235, 235), QColor(175, 175, 175), QColor(110, 110, 110)
    ),
}


@dataclass(frozen=True)
class FilterRow:
    """What one filter computes, for one row of the figure.

    Attributes
    ----------
    filter : int
        0-based filter index (labels show it 1-based).
    channels : tuple of int
        The input channel each of its kernels slides over.
    kernels : numpy.ndarray
        ``(kh, kw, Cg)``: its kernels.
    kernel_maps : numpy.ndarray
        ``(H', W', Cg)``: each kernel applied to its own channel.
    bias : float or None
        None when the layer has ``use_bias=False``.
    pre_activation, feature_map : numpy.ndarray
        ``(H', W')``: sum of the kernel maps plus bias, and its activation.
    """

    filter: int
    channels: tuple[int, ...]
    kernels: np.ndarray
    kernel_maps: np.ndarray
    bias: float | None
    pre_activation: np.ndarray
    feature_map: np.ndarray


@dataclass(frozen=True)
class PipelineData:
    """The numbers of a figure: the input, the shown filters and the colour scales.

    ``map_levels`` is one symmetric scale shared by every kernel map, pre-activation and
    feature map shown, so colours add up across a row and compare across rows.
    """

    input: np.ndarray
    channel_names: tuple[str, ...]
    settings: LayerSettings
    rows: tuple[FilterRow, ...]
    output_shape: tuple[int, int, int]
    input_levels: tuple[float, float]
    kernel_levels: tuple[float, float]
    map_levels: tuple[float, float]


def _shown_filters(filters, total: int, selected: int) -> tuple[int, ...]:
    if filters is None:
        return (selected,)
    if isinstance(filters, int | np.integer) and not isinstance(filters, bool):
        if not 1 <= filters <= total:
            raise ValueError(f"cannot show {filters} filters: the layer has {total} (1 to {total})")
        return tuple(range(int(filters)))
    shown = tuple(int(f) for f in filters)
    if not shown or any(not 0 <= f < total for f in shown):
        raise ValueError(f"filters to show must be indices 0 to {total - 1}, got {filters!r}")
    return shown


def pipeline_data(state: dict, filters: int | Sequence[int] | None = None) -> PipelineData:
    """Compute what the figure shows.

    Parameters
    ----------
    state : dict
        What ``Controller.state()`` returns: input, kernel, bias, settings,
        channel_names, selected_filter.
    filters : None, int or sequence of int
        None: the selected filter; N: the first N filters; or 0-based filter indices.

    Returns
    -------
    PipelineData

    Raises
    ------
    ValueError
        When the output is empty or ``filters`` does not fit the layer.
    """
    s: LayerSettings = state["settings"]
    x = np.asarray(state["input"], dtype=np.float32)
    kernel = np.asarray(state["kernel"], dtype=np.float32)
    bias = np.asarray(state["bias"], dtype=np.float32)
    shown = _shown_filters(filters, s.filters, int(state["selected_filter"]))
    res = conv2d(
        x, kernel, bias if s.use_bias else None, kernel_map_filters=shown, **s.conv_kwargs()
    )
    cg = kernel.shape[2]
    per_group = s.filters // s.groups
    rows = []
    for f in shown:
        g = f // per_group
        rows.append(
            FilterRow(
                filter=f,
                channels=tuple(range(g * cg, (g + 1) * cg)),
                kernels=kernel[:, :, :, f],
                kernel_maps=res.kernel_maps_of(f),
                bias=float(bias[f]) if s.use_bias else None,
                pre_activation=res.pre_activation[:, :, f],
                feature_map=res.feature_maps[:, :, f],
            )
        )
    magnitude = max(
        max(max_abs(r.kernel_maps), max_abs(r.pre_activation), max_abs(r.feature_map)) for r in rows
    )
    return PipelineData(
        input=x,
        channel_names=tuple(state["channel_names"]),
        settings=s,
        rows=tuple(rows),
        output_shape=res.output_shape,
        input_levels=input_levels(x),
        kernel_levels=SymmetricLevels().update(max(max_abs(r.kernels) for r in rows)),
        map_levels=SymmetricLevels().update(magnitude),
    )


def map_to_rgba(data: np.ndarray, levels, cmap: pg.ColorMap) -> np.ndarray:
    """Colours of a (rows, cols) map: ``cmap`` at ``(v - lo) / (hi - lo)``, clipped to [0, 1];
    values beyond float32 (inf, NaN) in the window's overflow colour.

    Returns
    -------
    numpy.ndarray
        uint8 ``(rows, cols, 4)``, C-contiguous.
    """
    lo, hi = levels
    values = np.asarray(data, dtype=np.float64)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        t = np.clip(np.where(finite, values - lo, 0.0) / (hi - lo), 0.0, 1.0)
    rgba = np.asarray(cmap.map(t.ravel(), mode="byte"), dtype=np.uint8)
    if rgba.shape[1] == 3:
        rgba = np.concatenate([rgba, np.full((len(rgba), 1), 255, np.uint8)], axis=1)
    rgba = rgba.reshape(t.shape + (4,))
    rgba[~finite] = (*OVERFLOW, 255)
    return np.ascontiguousarray(rgba)


def _qimage(rgba: np.ndarray) -> QImage:
    h, w = rgba.shape[:2]
    # copy(): the QImage must not keep pointing at the numpy buffer.
    return QImage(rgba.tobytes(), w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def _map_array(data: PipelineData, key: tuple) -> tuple[np.ndarray, tuple, pg.ColorMap]:
    kind, i = key[0], key[1]
    row = data.rows[i]
    diverging = diverging_colormap()
    if kind == "input":
        channel = row.channels[key[2]]
        cmap = tint_colormap(data.channel_names[channel])
        return data.input[:, :, channel], data.input_levels, cmap
    if kind == "kernel map":
        return row.kernel_maps[:, :, key[2]], data.map_levels, diverging
    if kind == "pre-activation":
        return row.pre_activation, data.map_levels, diverging
    return row.feature_map, data.map_levels, diverging


def _draw_map(painter: QPainter, rect: QRectF, rgba: np.ndarray, theme: Theme) -> None:
    # Keep pixels crisp (nearest neighbour) unless a data pixel is under one device pixel.
    device_px = rect.width() / rgba.shape[1] * painter.transform().m11()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, device_px < 1)
    painter.drawImage(rect, _qimage(rgba))
    painter.setPen(QPen(theme.frame, 1.0))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))  # outside: no data pixel covered


def _draw_kernel(
    painter: QPainter, layout: PipelineLayout, rect: QRectF, kernel, levels, theme: Theme
):
    kh, kw = kernel.shape
    cell = layout.kernel_cell
    colours = map_to_rgba(kernel, levels, diverging_colormap())
    painter.setFont(layout.fonts["number"])
    for r in range(kh):
        for c in range(kw):
            box = QRectF(rect.x() + c * cell, rect.y() + r * cell, cell, cell)
            bg = QColor(*(int(v) for v in colours[r, c, :3]))
            painter.fillRect(box, bg)
            if layout.kernel_numbers:
                painter.setPen(readable_text(bg))
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, format_number(kernel[r, c]))
    painter.setPen(QPen(theme.frame, 1.0))
    for r in range(1, kh):
        painter.drawLine(rect.left(), rect.top() + r * cell, rect.right(), rect.top() + r * cell)
    for c in range(1, kw):
        painter.drawLine(rect.left() + c * cell, rect.top(), rect.left() + c * cell, rect.bottom())
    painter.setPen(QPen(theme.text, 1.5))
    painter.drawRect(rect)


def _draw_bar(painter: QPainter, layout: PipelineLayout, rect: QRectF, levels, theme: Theme):
    lo, hi = levels
    ramp = np.linspace(hi, lo, 256)[:, None]  # top = largest value
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.drawImage(rect, _qimage(map_to_rgba(ramp, levels, diverging_colormap())))
    painter.setPen(QPen(theme.frame, 1.0))
    painter.drawRect(rect)
    painter.setFont(layout.fonts["tick"])
    painter.setPen(theme.text)
    tick_h = layout.line_height("tick")
    for value, y in ((hi, rect.top()), (0.0, rect.center().y()), (lo, rect.bottom())):
        painter.drawLine(rect.right(), y, rect.right() + layout.tick_len, y)
        box = QRectF(rect.right() + 1.6 * layout.tick_len, y - tick_h / 2, 1000, tick_h)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(box, align, format_number(value))


def paint_pipeline(
    painter: QPainter, layout: PipelineLayout, data: PipelineData, theme: Theme
) -> None:
    """Draw a laid-out figure in logical units (set the painter's scale beforehand)."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    painter.fillRect(QRectF(0, 0, layout.width, layout.height), theme.background)
    for box in layout.texts:
        painter.setFont(layout.fonts[box.role])
        painter.setPen(theme.muted if box.role == "small" else theme.text)
        line_h = layout.line_height(box.role)
        for n, line in enumerate(box.lines):
            r = QRectF(box.rect.x(), box.rect.y() + n * line_h, box.rect.width(), line_h)
            painter.drawText(r, box.align | Qt.AlignmentFlag.AlignVCenter, line)
    for key, rect in layout.maps.items():
        array, levels, cmap = _map_array(data, key)
        _draw_map(painter, rect, map_to_rgba(array, levels, cmap), theme)
    for (i, k), rect in layout.kernels.items():
        _draw_kernel(
            painter, layout, rect, data.rows[i].kernels[:, :, k], data.kernel_levels, theme
        )
    _draw_bar(painter, layout, layout.bars["kernel weights"], data.kernel_levels, theme)
    _draw_bar(painter, layout, layout.bars["maps"], data.map_levels, theme)


def png_bytes(image) -> bytes:
    """``image`` (QImage or QPixmap) encoded as PNG, for an atomic write."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("the PNG encoder failed")
    return bytes(buffer.data())


def render_pipeline(
    state: dict,
    *,
    filters: int | Sequence[int] | None = None,
    scale: float = 1.0,
    theme: str = "light",
    map_side: float = 150.0,
) -> QImage:
    """Draw the pipeline figure of a document.

    Needs a QGuiApplication (for fonts) but no window.

    Parameters
    ----------
    state : dict
        What ``Controller.state()`` returns.
    filters : None, int or sequence of int
        None: the selected filter; N: the first N filters, one row each; or 0-based indices.
    scale : float
        Pixels per logical unit, like a dpi factor: 2 doubles width, height, text and maps.
        Integer scales keep every data pixel the same whole number of image pixels.
    theme : str
        ``"light"`` (white background, for slides) or ``"dark"``.
    map_side : float
        Longest side of a map, in logical units, before rounding the size of a data
        pixel down to a whole unit.

    Returns
    -------
    QImage
        ARGB32, ``ceil(layout.width * scale)`` by ``ceil(layout.height * scale)`` pixels,
        its dots-per-metre set to ``96 * scale`` dpi so slides place it at its logical size.

    Raises
    ------
    ValueError
        Empty output, bad ``filters``, ``scale`` or ``theme``, or a figure over
        ``MAX_PIXELS`` pixels.
    """
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {theme!r}")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    data = pipeline_data(state, filters)
    layout = pipeline_layout(data, map_side=map_side)
    w, h = layout.pixel_size(scale)
    if w * h > MAX_PIXELS:
        raise ValueError(
            f"the figure would be {w}×{h} pixels (over {MAX_PIXELS // 1_000_000} million); "
            "use a smaller scale or fewer filters"
        )
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise ValueError(f"not enough memory for a {w}×{h} figure; use a smaller scale")
    dots_per_metre = round(96 * scale / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    image.fill(THEMES[theme].background)
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        paint_pipeline(painter, layout, data, THEMES[theme])
    finally:
        painter.end()
    return image
