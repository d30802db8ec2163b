"""The sliding-window animation as frames: an animated GIF or a numbered PNG sequence.

Frame i is the pipeline figure of the selected filter (see :mod:`convviz.qt.export.figure`) as it
stands after animation step ``steps[i]``: output pixels are computed one at a time in
row-major order, so the kernel maps, the pre-activation and the feature map are filled
up to the current pixel and blank (a neutral grey, never a colour of the scale) after
it. The taps the current pixel reads are outlined on every input channel (dashed when
they fall in the padding, outside the image) and the pixel itself on every map.

The complete figure is painted once; a frame is that picture with the pixels not
reached yet covered (two rectangles per map: the rest of the current row, the rows
below) and the outlines drawn on top. Colours therefore use the scale of the finished
maps in every frame, so a pixel keeps its colour from the moment it appears.

Files are written so that a cancel or an error leaves nothing behind: the GIF goes
through :func:`convviz.io.atomic.atomic_writer`, the PNG frames into a hidden temporary
folder that is only moved into place once every frame is written.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from convviz.core.conv import ConvGeometry, conv_geometry
from convviz.core.explain import filled_count, step_pixel
from convviz.io.atomic import atomic_writer
from convviz.qt.export.figure import (
    MAX_PIXELS,
    THEMES,
    PipelineData,
    PipelineLayout,
    paint_pipeline,
    pipeline_data,
    pipeline_layout,
    png_bytes,
)

__all__ = [
    "BLANK",
    "MAX_FRAMES",
    "AnimationCancelled",
    "AnimationPlan",
    "default_every",
    "frame_steps",
    "plan_animation",
    "render_frame",
    "write_gif",
    "write_png_sequence",
]

MAX_FRAMES = 200
"""Default upper bound on the number of frames (the stride is chosen to stay under it)."""
# Colour of a pixel not computed yet: a grey outside the blue-white-red map scale.
BLANK = {"light": QColor(170, 170, 170), "dark": QColor(80, 80, 80)}
HIGHLIGHT = QColor("#ffd400")
HALO = QColor(0, 0, 0, 200)
OUTLINE = 1.5  # logical width of the window and output-pixel outlines
TAP_LINE = 0.6  # logical width of the frame round each tap
# All frames are held as 8-bit palette images until the GIF is written.
MAX_TOTAL_PIXELS = 1_500_000_000
FRAME_NAME = re.compile(r"frame_\d{4,}\.png")

Progress = Callable[[int, int], bool]
"""``progress(done, total)``; return False to cancel."""


class AnimationCancelled(Exception):
    """The user cancelled the export; nothing was written."""


def default_every(n_pixels: int, max_frames: int = MAX_FRAMES) -> int:
    """The smallest stride k for which every k-th step, plus the last, is at most ``max_frames``."""
    if n_pixels <= max_frames:
        return 1
    return math.ceil((n_pixels - 1) / (max_frames - 1))


def frame_steps(n_pixels: int, every: int | None = None, max_frames: int = MAX_FRAMES) -> list:
    """Steps shown: 0, k, 2k, … and always the last one, ``n_pixels - 1``.

    Parameters
    ----------
    n_pixels : int
        Output pixels (H'·W'), one animation step each.
    every : int or None
        Show every k-th step; None chooses :func:`default_every`.
    max_frames : int
        Bound used when ``every`` is None.
    """
    if n_pixels < 1:
        raise ValueError("the output is empty: there is nothing to animate")
    every = default_every(n_pixels, max_frames) if every is None else int(every)
    if every < 1:
        raise ValueError(f"every must be at least 1, not {every}")
    steps = list(range(0, n_pixels, every))
    if steps[-1] != n_pixels - 1:
        steps.append(n_pixels - 1)
    return steps


@dataclass(frozen=True)
class AnimationPlan:
    """Everything needed to draw any frame of one animation.

    Attributes
    ----------
    data : PipelineData
        The complete figure of the selected filter.
    layout : PipelineLayout
        Where its elements go, in logical units.
    geometry : ConvGeometry
        Padding, strides and dilation: which taps an output pixel reads.
    steps : tuple of int
        The animation step of each frame.
    scale : float
        Image pixels per logical unit.
    theme : str
        ``"light"`` or ``"dark"``.
    size : (int, int)
        Width and height of every frame in pixels.
    """

    data: PipelineData
    layout: PipelineLayout
    geometry: ConvGeometry
    steps: tuple[int, ...]
    scale: float
    theme: str
    size: tuple[int, int]


def plan_animation(
    state: dict,
    *,
    every: int | None = None,
    max_frames: int = MAX_FRAMES,
    scale: float = 1.0,
    theme: str = "light",
    map_side: float = 150.0,
) -> AnimationPlan:
    """Lay out the animation of the selected filter of ``state`` (``Controller.state()``).

    Raises
    ------
    ValueError
        Empty output, bad options, or frames too large to hold in memory.
    """
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {theme!r}")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    data = pipeline_data(state)
    s = data.settings
    geometry = conv_geometry(data.input.shape, s.kernel_size, s.strides, s.padding, s.dilation)
    h_out, w_out = data.output_shape[:2]
    steps = frame_steps(h_out * w_out, every, max_frames)
    layout = pipeline_layout(data, map_side=map_side)
    w, h = layout.pixel_size(scale)
    if w * h > MAX_PIXELS or w * h * len(steps) > MAX_TOTAL_PIXELS:
        raise ValueError(
            f"{len(steps)} frames of {w}×{h} pixels are too many to hold; "
            "use a smaller scale or show fewer steps"
        )
    return AnimationPlan(data, layout, geometry, tuple(steps), float(scale), theme, (w, h))


def _paint_base(plan: AnimationPlan) -> QImage:
    w, h = plan.size
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise ValueError(f"not enough memory for a {w}×{h} frame; use a smaller scale")
    image.fill(THEMES[plan.theme].background)
    painter = QPainter(image)
    try:
        painter.scale(plan.scale, plan.scale)
        paint_pipeline(painter, plan.layout, plan.data, THEMES[plan.theme])
    finally:
        painter.end()
    return image


def _output_keys(layout: PipelineLayout) -> list[tuple]:
    return [k for k in layout.maps if k[0] != "input"]


def _cover_unreached(painter: QPainter, plan: AnimationPlan, step: int) -> None:
    lay = plan.layout
    h_out, w_out = plan.data.output_shape[:2]
    row, col = divmod(filled_count((h_out, w_out), step), w_out)
    blank = BLANK[plan.theme]
    for key in _output_keys(lay):
        rect = lay.maps[key]
        if row < h_out and col:  # the rest of the current row
            first = lay.pixel_rect(key, row, col)
            width = rect.right() - first.left()
            painter.fillRect(QRectF(first.left(), first.top(), width, lay.pixel), blank)
        below = row + (1 if col else 0)
        if below < h_out:  # the rows below it
            top = lay.pixel_rect(key, below, 0).top()
            painter.fillRect(QRectF(rect.left(), top, rect.width(), rect.bottom() - top), blank)


def _draw_rects(painter: QPainter, rects, width: float, style=Qt.PenStyle.SolidLine) -> None:
    # A dark halo under the yellow keeps the outline visible on light and dark pixels.
    for colour, extra in ((HALO, width), (HIGHLIGHT, 0.0)):
        pen = QPen(colour, width + extra)
        pen.setStyle(style)
        painter.setPen(pen)
        for r in rects:
            painter.drawRect(r)


def _draw_outlines(painter: QPainter, plan: AnimationPlan, step: int) -> None:
    """Thin frames round each tap (dashed in the padding), a thick one round the window."""
    lay, geom = plan.layout, plan.geometry
    r_out, c_out = step_pixel(plan.data.output_shape[:2], step)
    rows, cols = geom.input_window(r_out, c_out)
    h, w = plan.data.input.shape[:2]
    painter.setBrush(Qt.BrushStyle.NoBrush)
    thin = min(TAP_LINE, lay.pixel / 6)
    for key in (k for k in lay.maps if k[0] == "input"):
        taps = [(lay.pixel_rect(key, r, c), 0 <= r < h and 0 <= c < w) for r in rows for c in cols]
        _draw_rects(painter, [t for t, inside in taps if inside], thin)
        _draw_rects(painter, [t for t, inside in taps if not inside], thin, Qt.PenStyle.DashLine)
        window = QRectF(taps[0][0].topLeft(), taps[-1][0].bottomRight())
        _draw_rects(painter, [window], OUTLINE)
    _draw_rects(painter, [lay.pixel_rect(key, r_out, c_out) for key in _output_keys(lay)], OUTLINE)


def render_frame(plan: AnimationPlan, step: int, base: QImage | None = None) -> QImage:
    """The frame after animation ``step`` (the output pixel just computed, row-major).

    Parameters
    ----------
    plan : AnimationPlan
    step : int
        0 .. H'·W' − 1.
    base : QImage or None
        The complete figure from a previous call (painted anew when None).

    Returns
    -------
    QImage
        ``plan.size`` pixels, ARGB32 premultiplied.
    """
    image = (_paint_base(plan) if base is None else base).copy()
    painter = QPainter(image)
    try:
        painter.scale(plan.scale, plan.scale)
        _cover_unreached(painter, plan, step)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        _draw_outlines(painter, plan, step)
    finally:
        painter.end()
    return image


def _frames(plan: AnimationPlan, progress: Progress | None) -> Iterator[QImage]:
    """Every frame in order; raises AnimationCancelled when ``progress`` says so."""
    base = _paint_base(plan)
    total = len(plan.steps)
    for i, step in enumerate(plan.steps):
        if progress is not None and not progress(i, total):
            raise AnimationCancelled
        yield render_frame(plan, step, base)
    if progress is not None and not progress(total, total):
        raise AnimationCancelled


def _pil_rgb(image: QImage) -> Image.Image:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = rgb.width(), rgb.height()
    raw = bytes(rgb.constBits())
    return Image.frombuffer("RGB", (w, h), raw, "raw", "RGB", rgb.bytesPerLine(), 1).copy()


def write_gif(
    path, plan: AnimationPlan, duration_ms: int = 80, progress: Progress | None = None
) -> Path:
    """Write the animation as a looping GIF, atomically.

    All frames share one palette, taken from the first and the last frame (together they
    hold the blank grey, the outline and every colour of the finished maps), without
    dithering, so a pixel keeps exactly one colour from frame to frame.

    Parameters
    ----------
    path : str or PathLike
        The GIF to create or replace.
    plan : AnimationPlan
    duration_ms : int
        How long each frame shows.
    progress : callable or None
        ``progress(done, total)``; returning False cancels.

    Raises
    ------
    AnimationCancelled
        Cancelled; ``path`` is unchanged.
    OSError
        Cannot write; ``path`` is unchanged.
    """
    path = Path(path)
    base = _paint_base(plan)
    first = _pil_rgb(render_frame(plan, plan.steps[0], base))
    last = _pil_rgb(render_frame(plan, plan.steps[-1], base))
    sample = Image.new("RGB", (first.width, 2 * first.height))
    sample.paste(first, (0, 0))
    sample.paste(last, (0, first.height))
    palette = sample.quantize(256, method=Image.Quantize.MEDIANCUT)

    def indexed() -> Iterator[Image.Image]:
        for frame in _frames(plan, progress):
            yield _pil_rgb(frame).quantize(palette=palette, dither=Image.Dither.NONE)

    frames = indexed()
    with atomic_writer(path) as f:
        head = next(frames)
        head.save(
            f,
            format="GIF",
            save_all=True,
            append_images=frames,
            duration=int(duration_ms),
            loop=0,
            optimize=False,
        )
    return path


def frame_names(count: int) -> list[str]:
    """``frame_0001.png`` …, with more digits when there are over 9999 frames."""
    digits = max(4, len(str(count)))
    return [f"frame_{i:0{digits}d}.png" for i in range(1, count + 1)]


def write_png_sequence(folder, plan: AnimationPlan, progress: Progress | None = None) -> list:
    """Write the frames as ``folder/frame_0001.png`` …, replacing an earlier sequence.

    The frames are written into a hidden temporary folder inside ``folder`` and moved
    into place only once all are written; frames of an earlier, longer sequence are then
    removed, so the folder holds exactly this animation.

    Returns
    -------
    list of Path
        The frames written, in order.

    Raises
    ------
    AnimationCancelled
        Cancelled; ``folder`` is unchanged.
    OSError
        Cannot write; ``folder`` is unchanged.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = frame_names(len(plan.steps))
    scratch = Path(tempfile.mkdtemp(prefix=".frames.", dir=folder))
    try:
        for name, frame in zip(names, _frames(plan, progress), strict=True):
            (scratch / name).write_bytes(png_bytes(frame))
        for name in names:
            os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for stale in set(old_frames(folder)) - set(names):
        (folder / stale).unlink(missing_ok=True)
    return [folder / name for name in names]


def old_frames(folder) -> list[str]:
    """Names of the ``frame_NNNN.png`` files already in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if FRAME_NAME.fullmatch(p.name))
