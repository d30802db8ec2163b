"""The arithmetic behind one output pixel, the sliding window, and the layer's shapes.

Everything here is recomputed from the definitions with plain loops over the few
numbers involved, independently of the fast path in `conv.py`, so a teacher can show
"these nine products add up to this pixel" and trust it. Qt-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from convviz.core.activations import activate, canonical_activation
from convviz.core.conv import ConvGeometry, conv_geometry, pad_input
from convviz.core.geometry import IntPair, PaddingSpec
from convviz.core.words import count

if TYPE_CHECKING:  # what the arithmetic is shown of, which this module only reads
    from convviz.core.model import Document, LayerSettings
    from convviz.core.stack import LayerRow

__all__ = [
    "ChannelArithmetic",
    "PixelArithmetic",
    "filled_count",
    "layer_shapes",
    "output_size_lines",
    "partial_maps",
    "pixel_arithmetic",
    "pixel_arithmetic_of",
    "step_pixel",
]


@dataclass(frozen=True)
class ChannelArithmetic:
    """What one kernel of the filter contributes to one output pixel.

    Attributes
    ----------
    kernel_index : int
        Which kernel of the filter (0 .. C_in // groups - 1).
    channel : int
        The input channel that kernel slides over.
    rows, cols : tuple of int
        Input coordinates of the taps; values outside the image are padding.
    patch : numpy.ndarray
        ``(kh, kw)`` values read, padding included (zeros, or the reflected,
        replicated or wrapped values actually used).
    in_padding : numpy.ndarray
        ``(kh, kw)`` bool, True where the tap falls in the padding.
    kernel : numpy.ndarray
        ``(kh, kw)`` weights actually multiplied: rotated by 180 degrees for true
        convolution, all zero when the kernel is muted.
    products : numpy.ndarray
        ``patch * kernel`` (float32, as the layer multiplies).
    total : float
        Sum of `products`: this pixel of the kernel map.
    muted : bool
        True when the view treats this kernel as zero.
    """

    kernel_index: int
    channel: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    patch: npt.NDArray[np.float32]
    in_padding: npt.NDArray[np.bool_]
    kernel: npt.NDArray[np.float32]
    products: npt.NDArray[np.float32]
    total: float
    muted: bool


@dataclass(frozen=True)
class PixelArithmetic:
    """One output pixel of one filter, from input patch to feature-map value.

    Attributes
    ----------
    filter : int
        Filter index.
    row, col : int
        Output pixel.
    channels : tuple of ChannelArithmetic
        One per kernel of the filter, in kernel order.
    bias : float or None
        The filter's bias, None when the layer has no bias.
    pre_activation : float
        Sum of the kernel-map values plus the bias.
    activation : str
        Canonical activation name.
    value : float
        ``activation(pre_activation)``: this pixel of the feature map.
    flipped : bool
        True convolution: the kernels were rotated by 180 degrees.
    geometry : ConvGeometry
        Padding and sizes of the layer.
    """

    filter: int
    row: int
    col: int
    channels: tuple[ChannelArithmetic, ...]
    bias: float | None
    pre_activation: float
    activation: str
    value: float
    flipped: bool
    geometry: ConvGeometry


def pixel_arithmetic(
    x: npt.ArrayLike,
    kernel: npt.ArrayLike,
    bias: npt.ArrayLike | None,
    f: int,
    row: int,
    col: int,
    *,
    strides: IntPair = 1,
    padding: PaddingSpec = "valid",
    dilation_rate: IntPair = 1,
    groups: int = 1,
    activation: str | None = None,
    padding_mode: str = "zeros",
    flip_kernel: bool = False,
    muted: Iterable[int] = (),
) -> PixelArithmetic:
    """Every multiplication and addition behind feature-map pixel (row, col) of filter f.

    Parameters
    ----------
    x : array_like
        Input ``(H, W, C_in)``.
    kernel : array_like
        ``(kh, kw, C_in // groups, filters)``.
    bias : array_like or None
        ``(filters,)`` or None for no bias.
    f, row, col : int
        Filter and output pixel.
    strides, padding, dilation_rate, groups, activation, padding_mode, flip_kernel
        As for `convviz.core.conv.conv2d`.
    muted : iterable of int
        Kernel indices (within the filter) treated as zero.

    Returns
    -------
    PixelArithmetic

    Raises
    ------
    ValueError
        If the pixel or filter lies outside the output.
    """
    x = np.asarray(x, dtype=np.float32)
    kernel = np.asarray(kernel, dtype=np.float32)
    kh, kw, cg, filters = kernel.shape
    if not 0 <= f < filters:
        raise ValueError(f"filter {f} out of range 0..{filters - 1}")
    geom = conv_geometry(x.shape, (kh, kw), strides, padding, dilation_rate)
    rows, cols = geom.input_window(row, col)
    rows_p, cols_p = geom.input_window(row, col, padded=True)
    padded = pad_input(x, geom.padding, padding_mode)
    h, w = x.shape[:2]
    outside = np.array([[not (0 <= r < h and 0 <= c < w) for c in cols] for r in rows])
    used = kernel[::-1, ::-1] if flip_kernel else kernel
    group = f // (filters // groups)
    muted = set(muted)
    parts = []
    for k in range(cg):
        channel = group * cg + k
        patch = padded[np.ix_(rows_p, cols_p)][:, :, channel].copy()
        weights = np.zeros((kh, kw), np.float32) if k in muted else used[:, :, k, f].copy()
        products = patch * weights
        total = math.fsum(float(p) for p in products.ravel())
        parts.append(
            ChannelArithmetic(
                k, channel, rows, cols, patch, outside, weights, products, total, k in muted
            )
        )
    b = None if bias is None else float(np.float32(np.asarray(bias)[f]))
    pre = math.fsum([p.total for p in parts] + [b or 0.0])
    act = canonical_activation(activation)
    value = float(activate(act, np.asarray(pre, np.float32)))
    return PixelArithmetic(f, row, col, tuple(parts), b, pre, act, value, bool(flip_kernel), geom)


def pixel_arithmetic_of(
    state: Mapping[str, Any] | Document,
    row: int,
    col: int,
    f: int | None = None,
    muted: Iterable[int] = (),
) -> PixelArithmetic:
    """`pixel_arithmetic` for a document state (``Controller.state()`` or a Document).

    ``f`` defaults to the selected filter; the bias counts only with ``use_bias``.
    """
    get: Callable[[str], Any] = (
        state.get if isinstance(state, dict) else lambda k: getattr(state, k)
    )
    s = get("settings")
    f = get("selected_filter") if f is None else f
    bias = get("bias") if s.use_bias else None
    return pixel_arithmetic(
        get("input"), get("kernel"), bias, f, row, col, muted=muted, **s.conv_kwargs()
    )


# -- the sliding window ------------------------------------------------------------------
def step_pixel(output_size: tuple[int, int], step: int) -> tuple[int, int]:
    """Output pixel computed at animation ``step`` (row-major, one pixel per step)."""
    h_out, w_out = output_size
    if not 0 <= step < h_out * w_out:
        raise ValueError(f"step {step} out of range 0..{h_out * w_out - 1}")
    return divmod(int(step), int(w_out))


def filled_count(output_size: tuple[int, int], step: int) -> int:
    """How many output pixels are known once ``step`` is done (-1: none yet)."""
    return max(0, min(int(step) + 1, output_size[0] * output_size[1]))


def partial_maps(maps: npt.ArrayLike, step: int) -> npt.NDArray[np.float32]:
    """Maps as they stand after ``step``: pixels not reached yet are NaN.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(H', W')`` or ``(H', W', ...)``; trailing axes (channels, filters) fill
        together since one window position computes all of them.
    step : int
        Last output pixel computed, row-major; -1 for none.

    Returns
    -------
    numpy.ndarray
        A float32 copy.
    """
    out = np.array(maps, dtype=np.float32, copy=True)
    h, w = out.shape[:2]
    flat = out.reshape(h * w, -1)
    flat[filled_count((h, w), step) :] = np.nan
    return out


# -- shapes and parameters ------------------------------------------------------------------
def _same_lines(axis: str, size: int, k: int, s: int, d: int, before: int, after: int) -> list[str]:
    out = math.ceil(size / s)
    total = before + after
    side = ("top", "bottom") if axis == "H" else ("left", "right")
    return [
        f"'same' along {axis}: {axis}' = ⌈{axis} / stride⌉ = ⌈{size}/{s}⌉ = {out}; "
        f"total pad p = max(({axis}' − 1)·stride + dilation·(k − 1) + 1 − {axis}, 0) = "
        f"max(({out} − 1)·{s} + {d}·({k} − 1) + 1 − {size}, 0) = {total}; "
        f"{side[0]} = ⌊p/2⌋ = {before}, {side[1]} = p − {side[0]} = {after}"
    ]


def output_size_lines(geom: ConvGeometry, padding: PaddingSpec) -> list[str]:
    """The output-size formula per axis with this layer's numbers plugged in."""
    lines = []
    names = (("H", "pad_top", "pad_bottom", "kh"), ("W", "pad_left", "pad_right", "kw"))
    for axis, (name, p0, p1, kn) in enumerate(names):
        size, k = geom.input_size[axis], geom.kernel_size[axis]
        s, d = geom.strides[axis], geom.dilation[axis]
        before, after = geom.padding[2 * axis], geom.padding[2 * axis + 1]
        out = geom.output_size[axis]
        lines.append(
            f"{name}' = ⌊({name} + {p0} + {p1} − dilation·({kn}−1) − 1) / stride⌋ + 1"
            f" = ⌊({size} + {before} + {after} − {d}·({k}−1) − 1)/{s}⌋ + 1 = {out}"
        )
        if isinstance(padding, str) and padding.lower() == "same":
            lines += _same_lines(name, size, k, s, d, before, after)
        elif isinstance(padding, str) and padding.lower() == "full":
            lines.append(
                f"'full' along {name}: dilation·({kn} − 1) = {d}·({k} − 1) = {before} on each side"
            )
    if isinstance(padding, str) and padding.lower() == "valid":
        lines.append("'valid': no padding, the kernel stays inside the input")
    return lines


def layer_shapes(
    input_shape: tuple[int, int, int], settings: LayerSettings
) -> list[tuple[str, str]]:
    """Shapes and parameter count of the layer, as (what, value-with-formula) rows.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(H, W, C_in)``.
    settings : LayerSettings
        The layer's hyper-parameters.

    Returns
    -------
    list of (str, str)
        Rows to show; the output-size formulas come last.
    """
    h, w, c = input_shape
    kh, kw = settings.kernel_size
    n, g = settings.filters, settings.groups
    cg = c // g
    geom = conv_geometry(
        (h, w), (kh, kw), settings.strides, settings.padding, settings.dilation, allow_empty=True
    )
    ho, wo = geom.output_size
    weights = kh * kw * cg * n
    bias = n if settings.use_bias else 0
    bias_text = f"+ {n} (bias)" if settings.use_bias else "+ 0 (use_bias is off)"
    c_in_g = "C_in" if g == 1 else f"C_in/groups = {c}/{g}"
    rows = [
        ("input (H, W, C_in)", f"({h}, {w}, {c})"),
        ("one kernel (kh, kw)", f"({kh}, {kw})"),
        (
            "one filter (kh, kw, C_in/groups)",
            f"({kh}, {kw}, {cg})   ← {count(cg, 'kernel')}, {c_in_g}",
        ),
        (
            "all filters = kernel tensor (kh, kw, C_in/groups, filters)",
            f"({kh}, {kw}, {cg}, {n})",
        ),
        ("output (H', W', filters)", f"({ho}, {wo}, {n})"),
        (
            "parameters = kh·kw·C_in/groups·filters + filters (bias)",
            f"{kh}·{kw}·{cg}·{n} {bias_text} = {weights} + {bias} = {weights + bias}",
        ),
    ]
    for line in output_size_lines(geom, settings.padding):
        rows.append(("", line))
    return rows


def network_shapes(
    input_shape: Iterable[int], rows: Sequence[LayerRow], shown: int
) -> list[tuple[str, str]]:
    """Each layer of a network with what it reads and makes, and the parameters of all,
    as (what, value) rows; ``rows`` as :func:`convviz.core.stack.summary` gives them and
    ``shown`` the layer shown (from 0)."""
    out = [("", "<b>The network</b>, layer by layer (▶ shown)")]
    reads = tuple(input_shape)
    for row in rows:
        mark = "▶ " if row.number - 1 == shown else ""
        made = row.output_shape if row.output_shape[0] * row.output_shape[1] else "empty"
        params = f", {count(row.params, 'parameter')}" if row.kind == "Conv2D" else ""
        out.append((f"{mark}layer {row.number} {row.text}", f"{reads} → {made}{params}"))
        reads = row.output_shape
    total = sum(row.params for row in rows)
    out.append(("parameters of the network", f"{total}"))
    return out
