"""Sizes and padding of a Conv2D layer: output shape, TensorFlow's "same" split, padding.

Nothing here touches pixel values except :func:`pad_input`; the app's shape panel and
the sliding-window views use these without computing a convolution.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "NUMPY_PAD_MODE",
    "PADDING_MODES",
    "ConvGeometry",
    "box_union",
    "canonical_padding_mode",
    "pad_axes",
    "conv_geometry",
    "pad_input",
]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NumpyPadMode = Literal["constant", "reflect", "edge", "wrap"]
NUMPY_PAD_MODE: dict[str, _NumpyPadMode] = {
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
}

IntPair = int | tuple[int, ...] | list[int]
"""One positive int for both axes, or a (height, width) pair: strides, kernel sizes."""
PaddingSpec = str | int | tuple[int, ...] | list[int]
"""A padding name, one int for all sides, or (top, bottom, left, right)."""


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    """Validate an int-or-pair argument such as strides; return (h, w)."""
    items = value if isinstance(value, tuple | list) else (value,) * 2
    ok = len(items) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in items
    )
    if not ok:
        raise ValueError(f"{name} must be a positive integer or a pair of them, got {value!r}")
    return int(items[0]), int(items[1])


def _same_padding(size: int, k_eff: int, stride: int) -> tuple[int, int]:
    # TensorFlow's rule: the odd pixel of padding goes to the bottom/right.
    total = max((math.ceil(size / stride) - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of one convolution, computed without touching any pixel.

    Attributes
    ----------
    input_size : (int, int)
        Input height and width.
    kernel_size, strides, dilation : (int, int)
        As given to the layer, per (height, width).
    padding : (int, int, int, int)
        Rows/columns added at (top, bottom, left, right).
    padded_size : (int, int)
        Input size after padding.
    effective_kernel_size : (int, int)
        Span of a dilated kernel, ``(k - 1) * d + 1``.
    output_size : (int, int)
        Output height and width; a 0 means the output is empty (only with
        ``allow_empty=True``).
    """

    input_size: tuple[int, int]
    kernel_size: tuple[int, int]
    strides: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int, int, int]
    padded_size: tuple[int, int]
    effective_kernel_size: tuple[int, int]
    output_size: tuple[int, int]

    def input_window(
        self, out_row: int, out_col: int, padded: bool = False
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Input rows and columns read by one output pixel.

        Parameters
        ----------
        out_row, out_col : int
            Output pixel.
        padded : bool
            If False (default), indices are in input coordinates: negative ones and
            ones >= the input size fall in the padding. If True, they index the
            padded input.

        Returns
        -------
        rows, cols : tuple of int
            ``kernel_size[0]`` rows and ``kernel_size[1]`` columns; the pixel reads
            every (row, col) combination, kernel tap (i, j) reading ``(rows[i],
            cols[j])``.
        """
        h_out, w_out = self.output_size
        if not (0 <= out_row < h_out and 0 <= out_col < w_out):
            raise ValueError(
                f"output pixel must lie in the {h_out}x{w_out} output, got ({out_row}, {out_col})"
            )
        offset_r, offset_c = (0, 0) if padded else (self.padding[0], self.padding[2])
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation
        rows = tuple(out_row * sh + i * dh - offset_r for i in range(kh))
        cols = tuple(out_col * sw + j * dw - offset_c for j in range(kw))
        return rows, cols


def conv_geometry(
    input_shape: Iterable[int],
    kernel_size: IntPair,
    strides: IntPair = 1,
    padding: PaddingSpec = "valid",
    dilation_rate: IntPair = 1,
    allow_empty: bool = False,
) -> ConvGeometry:
    """Work out padding and output size of a convolution.

    Parameters
    ----------
    input_shape : sequence of int
        ``(H, W)``, or any shape ending in ``(H, W, C)`` with at least 3 entries.
    kernel_size, strides, dilation_rate : int or (int, int)
        Positive integers, per (height, width).
    padding : str, int or 4-tuple of int
        ``"valid"`` (none), ``"same"`` (TensorFlow rule: output ``ceil(H / s)``,
        extra pixel at bottom/right), ``"full"`` (``(k - 1) * d`` on each side),
        one non-negative int for all sides, or ``(top, bottom, left, right)``.
    allow_empty : bool
        When the dilated kernel is larger than the padded input, return an output
        size of 0 instead of raising.

    Returns
    -------
    ConvGeometry
    """
    shape = tuple(input_shape)
    hw = shape[:2] if len(shape) == 2 else shape[-3:-1]
    if len(shape) < 2 or not all(isinstance(n, int | np.integer) and n >= 1 for n in hw):
        raise ValueError(f"input_shape must end in (height, width[, channels]), got {shape!r}")
    size = (int(hw[0]), int(hw[1]))
    kernel = _pair(kernel_size, "kernel_size")
    stride = _pair(strides, "strides")
    dil = _pair(dilation_rate, "dilation_rate")
    k_eff = ((kernel[0] - 1) * dil[0] + 1, (kernel[1] - 1) * dil[1] + 1)
    pad = _parse_padding(padding, size, k_eff, stride)
    padded = (size[0] + pad[0] + pad[1], size[1] + pad[2] + pad[3])
    too_big = [a for a, p, k in zip(("height", "width"), padded, k_eff, strict=True) if k > p]
    if too_big and not allow_empty:
        raise ValueError(
            f"kernel_size {kernel} with dilation_rate {dil} spans {k_eff[0]}x{k_eff[1]} pixels, "
            f"more than the padded input ({padded[0]}x{padded[1]}) in {' and '.join(too_big)}: "
            "the output would be empty; use a smaller kernel or dilation, or more padding"
        )
    out_h, out_w = (max((p - k) // s + 1, 0) for p, k, s in zip(padded, k_eff, stride, strict=True))
    out = (out_h, out_w)
    return ConvGeometry(size, kernel, stride, dil, pad, padded, k_eff, out)


def _parse_padding(
    padding: PaddingSpec,
    size: tuple[int, int] | None,
    k_eff: tuple[int, int] | None,
    stride: tuple[int, int] | None,
) -> tuple[int, int, int, int]:
    if isinstance(padding, str):
        name = padding.strip().lower()
        if name == "valid":
            return (0, 0, 0, 0)
        if name == "same":
            # Only pad_input passes None, and it refuses padding names.
            assert size is not None and k_eff is not None and stride is not None
            return _same_padding(size[0], k_eff[0], stride[0]) + _same_padding(
                size[1], k_eff[1], stride[1]
            )
        if name == "full":
            assert k_eff is not None
            return (k_eff[0] - 1,) * 2 + (k_eff[1] - 1,) * 2
    elif isinstance(padding, int | np.integer) and not isinstance(padding, bool):
        if padding >= 0:
            return (int(padding),) * 4
    elif (
        isinstance(padding, tuple | list)
        and len(padding) == 4
        and all(isinstance(p, int | np.integer) and not isinstance(p, bool) for p in padding)
        and min(padding) >= 0
    ):
        top, bottom, left, right = (int(p) for p in padding)
        return top, bottom, left, right
    raise ValueError(
        "padding must be 'valid', 'same', 'full', a non-negative integer or a tuple "
        f"(top, bottom, left, right) of non-negative integers, got {padding!r}"
    )


def canonical_padding_mode(padding_mode: str) -> str:
    mode = padding_mode.strip().lower() if isinstance(padding_mode, str) else padding_mode
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {mode!r}")
    return mode


def pad_axes(
    x: npt.NDArray[np.float32], padding: Sequence[int], mode: str, axes: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """Pad the two spatial `axes` of `x`; `padding` is (top, bottom, left, right)."""
    top, bottom, left, right = padding
    if mode == "reflect":
        most = (max(top, bottom), max(left, right))
        for side, p, n in zip(("top/bottom", "left/right"), most, axes, strict=True):
            if p >= x.shape[n]:
                raise ValueError(
                    f"padding_mode 'reflect' needs padding smaller than the input: "
                    f"{side} padding {p} >= {x.shape[n]}; use 'replicate' or less padding"
                )
    widths = [(0, 0)] * x.ndim
    widths[axes[0]], widths[axes[1]] = (top, bottom), (left, right)
    numpy_mode: _NumpyPadMode = "constant" if mode == "zeros" else NUMPY_PAD_MODE[mode]
    return np.pad(x, widths, mode=numpy_mode)


def pad_input(
    x: npt.ArrayLike, padding: PaddingSpec, padding_mode: str = "zeros"
) -> npt.NDArray[np.float32]:
    """Pad an image the way `conv2d` does before sliding the kernels.

    Parameters
    ----------
    x : array_like
        ``(H, W, C)`` or ``(N, H, W, C)``.
    padding : (int, int, int, int)
        Pixels to add at (top, bottom, left, right), e.g. ``ConvGeometry.padding``.
    padding_mode : str
        ``"zeros"``, ``"reflect"`` (mirror without repeating the edge, needs padding
        smaller than the input), ``"replicate"`` (repeat the edge) or
        ``"circular"`` (wrap around).

    Returns
    -------
    numpy.ndarray
        float32, padded along H and W.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim not in (3, 4):
        raise ValueError(f"x must have shape (H, W, C) or (N, H, W, C), got {x.shape}")
    if isinstance(padding, str):
        raise ValueError(
            f"pad_input needs explicit padding (top, bottom, left, right), got {padding!r}; "
            "conv_geometry(...).padding gives it for 'same' or 'full'"
        )
    pad = _parse_padding(padding, None, None, None)
    return pad_axes(x, pad, canonical_padding_mode(padding_mode), (x.ndim - 3, x.ndim - 2))


def box_union(boxes: Iterable[tuple[slice, slice] | None]) -> tuple[slice, slice]:
    """The smallest (rows, cols) box holding every box given; None entries are skipped,
    and with none left the box is empty."""
    given = [b for b in boxes if b is not None]
    if not given:
        return (slice(0, 0), slice(0, 0))
    rows, cols = (
        slice(min(b[a].start for b in given), max(b[a].stop for b in given)) for a in (0, 1)
    )
    return rows, cols


def affected_outputs(
    geometry: ConvGeometry, box: tuple[slice, slice]
) -> tuple[slice, slice] | None:
    """The output rows and columns whose receptive field touches the input ``box``.

    ``box`` is a pair of slices (rows, cols) in input coordinates; None if no output
    pixel reads it.
    """
    out = []
    for axis, sl in enumerate(box):
        pad = geometry.padding[2 * axis]
        s, d, k = geometry.strides[axis], geometry.dilation[axis], geometry.kernel_size[axis]
        n_out = geometry.output_size[axis]
        # Output o reads padded rows o*s .. o*s + (k-1)*d, i.e. input rows shifted by pad.
        first = math.ceil((sl.start + pad - (k - 1) * d) / s)
        last = (sl.stop - 1 + pad) // s
        first, last = max(first, 0), min(last, n_out - 1)
        if first > last:
            return None
        out.append(slice(first, last + 1))
    return out[0], out[1]
