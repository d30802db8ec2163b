"""Where every element of the pipeline figure goes, in logical units (1 unit = 1 px at scale 1).

Separate from the painting so that tests, dialogs (to show the size of a figure before
drawing it) and other renderers (e.g. animation frames drawing a sliding window over the
maps) can use the same rectangles. Widths come from the fonts' metrics, so no label is
ever clipped: a column is as wide as its widest label line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF

from convviz.core.numbers import format_number

# Logical sizes, in px at scale 1.
MARGIN = 28.0
GAP = 14.0  # between maps of one group
SECTION_GAP = 10.0  # around an operator column
ROW_GAP = 34.0
MIN_CELL = 34.0  # side of one kernel weight when its number is written in it
PLAIN_CELL = 14.0  # side of one kernel weight when the kernel is too big for numbers
MAX_NUMBERED = 7  # kernels up to 7x7 show their numbers
BAR_WIDTH = 20.0
TICK_LEN = 6.0

# role: (pixel size, bold)
FONT_SPECS = {
    "title": (24, True),
    "small": (17, False),
    "row": (20, True),
    "label": (17, False),
    "operator": (34, False),
    "number": (15, False),
    "tick": (15, False),
}


def make_fonts() -> dict[str, QFont]:
    """The figure's fonts by role, sized in pixels so they scale with the painter."""
    fonts = {}
    for role, (px, bold) in FONT_SPECS.items():
        font = QFont()
        font.setPixelSize(px)
        font.setBold(bold)
        # Unhinted glyphs scale linearly, so text measured at scale 1 fits at any scale.
        font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
        fonts[role] = font
    return fonts


@dataclass
class TextBox:
    """Lines of text drawn in ``rect``, one line height each, aligned by ``align``."""

    rect: QRectF
    lines: tuple[str, ...]
    role: str
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignHCenter


@dataclass
class PipelineLayout:
    """Rectangles of every element of a figure, in logical units.

    Attributes
    ----------
    width, height : float
        Logical size of the whole figure.
    pixel : float
        Logical size of one data pixel in every map.
    kernel_cell : float
        Logical side of one kernel weight.
    kernel_numbers : bool
        Whether weights are written in the kernel cells (kernels up to 7x7).
    maps : dict
        Map rectangles by key: ``("input", row, k)`` (the channel kernel k acts on),
        ``("kernel map", row, k)``, ``("pre-activation", row)``, ``("feature map", row)``;
        ``row`` indexes ``PipelineData.rows``. Data pixel (r, c) of a map covers
        ``QRectF(x + c * pixel, y + r * pixel, pixel, pixel)``.
    kernels : dict
        ``(row, k)`` -> rectangle of kernel k of that row's filter.
    bars : dict
        ``"kernel weights"`` and ``"maps"`` -> colour bar rectangles.
    texts : list of TextBox
    """

    width: float
    height: float
    pixel: float
    kernel_cell: float
    kernel_numbers: bool
    fonts: dict[str, QFont]
    maps: dict[tuple, QRectF] = field(default_factory=dict)
    kernels: dict[tuple[int, int], QRectF] = field(default_factory=dict)
    bars: dict[str, QRectF] = field(default_factory=dict)
    texts: list[TextBox] = field(default_factory=list)
    tick_len: float = TICK_LEN

    def line_height(self, role: str) -> float:
        return math.ceil(QFontMetricsF(self.fonts[role]).height() * 1.15)

    def pixel_size(self, scale: float) -> tuple[int, int]:
        """Image size in pixels at ``scale``."""
        return math.ceil(self.width * scale - 1e-9), math.ceil(self.height * scale - 1e-9)

    def pixel_rect(self, key: tuple, row: int, col: int) -> QRectF:
        """Logical rectangle of data pixel (row, col) of the map ``key``."""
        r = self.maps[key]
        return QRectF(r.x() + col * self.pixel, r.y() + row * self.pixel, self.pixel, self.pixel)


def channel_label(name: str) -> str:
    """'channel R' for R, 'channel 1' for an array's 'ch 1'."""
    return "channel " + (name[3:] if name.startswith("ch ") else name)


def title_lines(data) -> tuple[str, str]:
    """The Keras call and the shapes, e.g. ``Conv2D(filters=2, kernel_size=(3, 3), ...)``."""
    s = data.settings
    args = [f"filters={s.filters}", f"kernel_size={tuple(s.kernel_size)}"]
    for name, value, default in (
        ("strides", tuple(s.strides), (1, 1)),
        ("padding", s.padding, "valid"),
        ("dilation_rate", tuple(s.dilation), (1, 1)),
        ("groups", s.groups, 1),
    ):
        if value != default:
            args.append(f"{name}={value!r}")
    args.append(f"activation={s.activation!r}")
    if not s.use_bias:
        args.append("use_bias=False")
    extras = []
    if s.padding_mode != "zeros":
        extras.append(f"padding mode {s.padding_mode}")
    if s.flip_kernel:
        extras.append("kernels flipped (true convolution)")
    h, w, c = data.input.shape
    ho, wo, f = data.output_shape
    kh, kw = s.kernel_size
    cg = data.rows[0].kernels.shape[2]
    per = "C_in // groups" if s.groups > 1 else "C_in"
    shown = [r.filter + 1 for r in data.rows]
    which = "filter" if len(shown) == 1 else "filters"
    which += " " + (", ".join(map(str, shown)) if len(shown) <= 3 else f"{shown[0]}–{shown[-1]}")
    second = (
        f"input (H, W, C_in) = ({h}, {w}, {c}) → output (H', W', filters) = ({ho}, {wo}, {f})"
        f" · kernel tensor (kh, kw, {per}, filters) = ({kh}, {kw}, {cg}, {f})"
        f" · showing {which} of {f}"
    )
    return "Conv2D(" + ", ".join(args) + ")" + "".join(" · " + e for e in extras), second


def overflow_line(data) -> str | None:
    """A line under the title when a map shown holds values beyond float32."""
    maps = [m for r in data.rows for m in (r.kernel_maps, r.pre_activation, r.feature_map)]
    if all(np.isfinite(m).all() for m in maps):
        return None
    return (
        "Black pixels: values that exceed float32 (inf or NaN), beyond the colour scale; "
        "use smaller kernel values or inputs"
    )


def _kernel_cell(data, fonts) -> tuple[float, bool]:
    kh, kw = data.settings.kernel_size
    if max(kh, kw) > MAX_NUMBERED:
        return PLAIN_CELL, False
    metrics = QFontMetricsF(fonts["number"])
    widest = max(
        metrics.horizontalAdvance(format_number(v)) for r in data.rows for v in r.kernels.ravel()
    )
    return max(MIN_CELL, math.ceil(widest + 10)), True


class _Builder:
    """Places the columns of one row after another, then the colour bars."""

    def __init__(self, data, map_side: float):
        self.data = data
        self.fonts = make_fonts()
        self.metrics = {role: QFontMetricsF(f) for role, f in self.fonts.items()}
        h, w = data.input.shape[:2]
        self.pixel = max(1.0, float(math.floor(map_side / max(h, w))))
        cell, numbers = _kernel_cell(data, self.fonts)
        self.layout = PipelineLayout(0, 0, self.pixel, cell, numbers, self.fonts)
        self.line = {role: self.layout.line_height(role) for role in self.fonts}
        self.right = 0.0

    def text_width(self, role: str, lines) -> float:
        return max((self.metrics[role].horizontalAdvance(t) for t in lines), default=0.0)

    def columns(self, i: int, row) -> list[tuple]:
        """(kind, key, content width, content height, label lines) of one filter's row."""
        data, px = self.data, self.pixel
        h, w = data.input.shape[:2]
        ho, wo = row.feature_map.shape
        kh, kw = data.settings.kernel_size
        cell = self.layout.kernel_cell
        f = row.filter + 1
        names = [data.channel_names[c] for c in row.channels]
        cols = []
        for k, name in enumerate(names):
            cols.append(("map", ("input", i, k), w * px, h * px, (channel_label(name),)))
        cols.append(("op", (("→", "operator"),)))
        for k, name in enumerate(names):
            acts_on = channel_label(name) if name.startswith("ch ") else name
            label = (f"kernel {k + 1} of filter {f}", f"acts on {acts_on}")
            cols.append(("kernel", (i, k), kw * cell, kh * cell, label))
        cols.append(("op", (("→", "operator"),)))
        for k in range(len(names)):
            if k:
                cols.append(("op", (("+", "operator"),)))
            cols.append(("map", ("kernel map", i, k), wo * px, ho * px, (f"kernel map {k + 1}",)))
        if row.bias is None:
            cols.append(("op", (("=", "operator"),)))
            label = ("pre-activation", "sum (no bias)")
        else:
            bias = (("bias", "label"), (format_number(row.bias), "label"))
            cols.append(("op", (("+", "operator"), *bias, ("=", "operator"))))
            label = ("pre-activation", "sum + bias")
        cols.append(("map", ("pre-activation", i), wo * px, ho * px, label))
        cols.append(("op", ((data.settings.activation, "label"), ("→", "operator"))))
        cols.append(("map", ("feature map", i), wo * px, ho * px, (f"feature map {f}",)))
        return cols

    def place_row(self, y: float, i: int, row) -> float:
        """Lay out one row from ``y``; return its bottom."""
        lay, line = self.layout, self.line
        title = f"filter {row.filter + 1} → feature map {row.filter + 1}"
        lay.texts.append(
            TextBox(
                QRectF(MARGIN, y, self.text_width("row", [title]) + 4, line["row"]),
                (title,),
                "row",
                Qt.AlignmentFlag.AlignLeft,
            )
        )
        cols = self.columns(i, row)
        label_top = y + line["row"] + 6
        band_top = label_top + 2 * line["label"] + 4
        band_h = max(c[3] for c in cols if c[0] != "op")
        x = MARGIN
        for col in cols:
            if col[0] == "op":
                width = max(self.text_width(role, [t]) for t, role in col[1]) + 2 * SECTION_GAP
                top = band_top + (band_h - sum(line[role] for _, role in col[1])) / 2
                for text, role in col[1]:
                    lay.texts.append(TextBox(QRectF(x, top, width, line[role]), (text,), role))
                    top += line[role]
                x += width
                self.right = max(self.right, x)
                continue
            kind, key, cw, ch, labels = col
            width = max(cw, self.text_width("label", labels))
            # Labels sit on the line just above the band, whatever their count.
            lines_top = band_top - 4 - len(labels) * line["label"]
            lay.texts.append(
                TextBox(QRectF(x, lines_top, width, len(labels) * line["label"]), labels, "label")
            )
            rect = QRectF(x + (width - cw) / 2, band_top + (band_h - ch) / 2, cw, ch)
            (lay.maps if kind == "map" else lay.kernels)[key] = rect
            self.right = max(self.right, x + width)
            x += width + GAP
        if i == 0:
            self.place_bars(x + SECTION_GAP, band_top, band_h)
        return band_top + band_h

    def place_bars(self, x: float, band_top: float, band_h: float) -> None:
        tick_w = self.text_width(
            "tick",
            [
                format_number(v)
                for lv in (self.data.kernel_levels, self.data.map_levels)
                for v in lv
            ],
        )
        # Room above and below for the half of a tick label that sticks out of the bar.
        bar_h = min(max(band_h - self.line["tick"], 100.0), 240.0)
        top = band_top + (band_h - bar_h) / 2
        for name, caption in (("kernel weights", ("kernel", "weights")), ("maps", ("all", "maps"))):
            width = max(BAR_WIDTH + 1.6 * TICK_LEN + tick_w, self.text_width("label", caption))
            self.layout.texts.append(
                TextBox(
                    QRectF(x, band_top - 4 - 2 * self.line["label"], width, 2 * self.line["label"]),
                    caption,
                    "label",
                    Qt.AlignmentFlag.AlignLeft,
                )
            )
            self.layout.bars[name] = QRectF(x, top, BAR_WIDTH, bar_h)
            self.right = max(self.right, x + width)
            x += width + 2 * GAP

    def build(self) -> PipelineLayout:
        lay, line = self.layout, self.line
        title, subtitle = title_lines(self.data)
        lay.texts.append(
            TextBox(
                QRectF(MARGIN, MARGIN, self.text_width("title", [title]) + 4, line["title"]),
                (title,),
                "title",
                Qt.AlignmentFlag.AlignLeft,
            )
        )
        lay.texts.append(
            TextBox(
                QRectF(
                    MARGIN,
                    MARGIN + line["title"],
                    self.text_width("small", [subtitle]) + 4,
                    line["small"],
                ),
                (subtitle,),
                "small",
                Qt.AlignmentFlag.AlignLeft,
            )
        )
        y = MARGIN + line["title"] + line["small"]
        note = overflow_line(self.data)
        if note is not None:
            width = self.text_width("small", [note]) + 4
            left = Qt.AlignmentFlag.AlignLeft
            lay.texts.append(
                TextBox(QRectF(MARGIN, y, width, line["small"]), (note,), "small", left)
            )
            y += line["small"]
        y += ROW_GAP / 2
        self.right = max(t.rect.right() for t in lay.texts)
        for i, row in enumerate(self.data.rows):
            y = self.place_row(y, i, row) + ROW_GAP
        lay.width = math.ceil(self.right + MARGIN)
        lay.height = math.ceil(y - ROW_GAP + MARGIN)
        return lay


def pipeline_layout(data, *, map_side: float = 150.0) -> PipelineLayout:
    """Place every element of the figure of ``data`` (a ``PipelineData``).

    Each data pixel of every map is ``floor(map_side / max(H, W))`` units (at least 1),
    so inputs and outputs share one pixel size and their sizes compare at a glance.
    """
    return _Builder(data, map_side).build()
