"""The working-memory budget, and the peak a layer needs, predicted before allocating.

convviz holds one layer's arrays in float32, and the window keeps an RGB image (4 bytes
a pixel) of every map it shows. :func:`layer_peak_bytes` adds up what a layer of that
shape keeps at once: the input and three copies of it (the layer cache's, one undo step's,
and the one a save reads), its padded planes, the pre-activation and feature map of every
filter, the selected filter's kernel maps, the gathering scratch, and the images of the
maps. Files whose layer would need more than :data:`MEMORY_BUDGET` are refused before
their arrays are read, with the size that fits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from convviz.core.geometry import conv_geometry

if TYPE_CHECKING:  # the settings live with the document, which this module need not load
    from convviz.core.model import LayerSettings

MEMORY_BUDGET = 1 << 30  # 1 GiB of working memory
_SCRATCH = 64 << 20  # gathering buffers and products' temporaries, at most
_BASE = 150 << 20  # Qt, numpy and pyqtgraph with nothing loaded


def layer_peak_bytes(h: int, w: int, c: int, settings: LayerSettings) -> int:
    """Bytes a layer with an (h, w, c) input and `settings` (LayerSettings) needs at once."""
    (kh, kw), f, groups = settings.kernel_size, settings.filters, settings.groups
    try:
        g = conv_geometry(
            (h, w, c),
            (kh, kw),
            settings.strides,
            settings.padding,
            settings.dilation,
            allow_empty=True,
        )
        ho, wo = g.output_size
        hp, wp = g.padded_size
    except ValueError:
        return 0  # the layer does not fit the input: nothing is computed
    ho, wo = max(ho, 0), max(wo, 0)
    inputs = h * w * c
    outputs = ho * wo
    arrays = (
        # The document's input, the layer cache's channels-first copy of it, one undo
        # copy, and the read-only copy a save or a training run reads.
        4 * inputs
        + c * hp * wp  # padded planes
        + 2 * f * outputs  # pre-activation and feature maps
        + (c // groups) * outputs  # the selected filter's kernel maps
    )
    images = (c + 1) * h * w + ((c // groups) + 2 + f) * outputs  # RGB32: channels, composite
    return _BASE + _SCRATCH + 4 * (arrays + images)


def fitting_side(
    h: int, w: int, c: int, settings: LayerSettings, budget: int = MEMORY_BUDGET
) -> int:
    """The longest side an input of that aspect ratio may have to fit `budget` (0: none)."""
    longest = max(h, w)
    lo, hi = 0, longest
    while lo < hi:
        mid = (lo + hi + 1) // 2
        scale = mid / longest
        hh, ww = max(1, math.floor(h * scale)), max(1, math.floor(w * scale))
        if layer_peak_bytes(hh, ww, c, settings) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"
