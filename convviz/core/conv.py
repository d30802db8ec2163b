"""What a Keras ``Conv2D`` layer computes, step by step, in pure numpy.

A convolution layer slides every filter over the input. One filter holds one kernel
per input channel (of its group); the *kernel map* is what a single kernel produces
on its own channel, the filter's *pre-activation* is the sum of its kernel maps plus
the bias, and the *feature map* is the activation of that. All of them are exposed
by `conv2d`, laid out as in Keras (channels last, kernel ``(kh, kw, C_in // groups,
filters)``), and they agree with ``keras.layers.Conv2D`` to float32 precision.
"""

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from convviz.core.activations import (
    ACTIVATIONS,
    activate,
    activate_into,
    activation_derivative,
)
from convviz.core.activations import canonical_activation as _canonical_activation
from convviz.core.geometry import (
    PADDING_MODES,
    ConvGeometry,
    IntPair,
    PaddingSpec,
    canonical_padding_mode,
    conv_geometry,
    pad_axes,
    pad_input,
)

__all__ = [
    "ACTIVATIONS",
    "PADDING_MODES",
    "ConvGeometry",
    "ConvResult",
    "activate",
    "activation_derivative",
    "conv2d",
    "conv_geometry",
    "keras_refusal",
    "pad_input",
]

F32 = npt.NDArray[np.float32]


def keras_refusal(strides: Iterable[int], dilation_rate: Iterable[int]) -> str | None:
    """Why ``keras.layers.Conv2D`` refuses these strides and dilation, or None.

    Keras refuses a stride above 1 along either axis together with a dilation above 1
    along either axis, although the arithmetic would be defined; convviz follows Keras.

    Parameters
    ----------
    strides, dilation_rate : (int, int)
        Per (height, width).
    """
    strides, dilation_rate = tuple(strides), tuple(dilation_rate)
    if max(strides) > 1 and max(dilation_rate) > 1:
        return (
            f"strides > 1 is not supported together with dilation_rate > 1 (Keras refuses "
            f"it): strides={strides}, dilation_rate={dilation_rate}; set one of them to 1"
        )
    return None


def _padded_planes(image: F32, padding: tuple[int, int, int, int], mode: str) -> F32:
    """Padded ``(C, Hp, Wp)`` copy of an ``(H, W, C)`` image; reused memory for zeros."""
    if mode != "zeros":
        return pad_axes(image.transpose(2, 0, 1), padding, mode, (1, 2))
    (h, w, c), (top, bottom, left, right) = image.shape, padding
    planes = _scratch("planes", (c, h + top + bottom, w + left + right))
    planes[:, :top] = planes[:, top + h :] = 0
    planes[:, :, :left] = planes[:, :, left + w :] = 0
    planes[:, top : top + h, left : left + w] = image.transpose(2, 0, 1)
    return planes


# Kernel taps gathered per GEMM below which one GEMM over all taps (im2col) beats one
# GEMM per kernel row; measured with convviz.bench on a 2-core machine.
_MIN_ROW_TAPS = 12
# Bytes of gathered input per block: enough to keep BLAS efficient, small enough to
# stay in cache.
_BLOCK_BYTES = 4 << 20


def _correlate_group(
    planes: F32,
    kernel: F32,
    bias: F32 | None,
    act: str,
    sel: list[int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
    outs: tuple[F32, F32 | None, F32 | None],
) -> None:
    """Compute one channel group of the layer.

    `planes` is the padded group input ``(Cg, Hp, Wp)``, `kernel` the group's
    ``(kh, kw, Cg, Fg)`` and `bias` its ``(Fg,)`` or None. `outs` is (pre, features,
    maps): the pre-activations ``(Fg, H'W')`` and activations (`act`; None when
    linear) of the group's filters, and the kernel maps ``(len(sel), Cg, H'W')`` of
    the group's filters `sel` (local indices), all written in place.

    The input is gathered block by block of output rows into a buffer that the GEMMs
    read in place: all kernel taps at once (im2col), or, for stride 1, each kernel
    column once, the kernel rows then being row offsets into the buffer, which saves
    a factor kh of copying. Kernel maps of one channel are a GEMM over that channel's
    taps only, batched over channels; the sums then come from one GEMM over all
    taps, or from summing the kernel maps when all of them are wanted anyway. Bias and
    activation are applied per block too, while the block is still in cache.
    """
    pre_out, feature_out, maps_out = outs
    cg = planes.shape[0]
    kh, kw, _, fg = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    h_out, w_out = out_hw
    by_rows = sh == 1 and cg * kw >= _MIN_ROW_TAPS
    if by_rows:
        w_terms = kernel.transpose(0, 3, 2, 1)
    else:
        w_terms = kernel.transpose(3, 2, 0, 1).reshape(1, fg, cg, kh * kw)
    n_terms, taps = w_terms.shape[0], w_terms.shape[3]
    # One channel: its kernel map is the sum. All maps wanted: the sum is nearly free.
    maps_only = len(sel) == fg and cg > 1
    want_maps = bool(sel) and cg > 1
    w_full = np.ascontiguousarray(w_terms.reshape(n_terms, fg, cg * taps))
    w_maps = np.ascontiguousarray(w_terms[:, sel].transpose(0, 2, 1, 3))
    gathered = cg * kw * (1 if by_rows else kh)
    rows = max(1, min(h_out, _BLOCK_BYTES // (4 * gathered * w_out)))
    if by_rows:
        buffer = _scratch("gather", (cg, kw, rows + (kh - 1) * dh, w_out))
    else:
        buffer = _scratch("gather", (cg, kh, kw, rows, w_out))
    tmp_full = _scratch("full", (fg, rows * w_out))
    tmp_maps = _scratch("maps", (cg, len(sel), rows * w_out))
    # `maps_out` is given exactly when `sel` is not empty.
    maps_t = None
    if want_maps:
        assert maps_out is not None
        maps_t = maps_out.transpose(1, 0, 2)

    # Strided views of the padded input, one axis per kernel tap; the geometry keeps
    # every index inside `planes`.
    p_c, p_y, p_x = planes.strides
    for y0 in range(0, h_out, rows):
        nr = min(rows, h_out - y0)
        m = nr * w_out
        block = slice(y0 * w_out, y0 * w_out + m)
        if by_rows:
            span = nr + (kh - 1) * dh
            buffer[:, :, :span] = as_strided(
                planes[:, y0:], (cg, kw, span, w_out), (p_c, dw * p_x, p_y, sw * p_x)
            )
            terms = [buffer[:, :, i * dh : i * dh + nr].reshape(cg, kw, m) for i in range(kh)]
        else:
            buffer[..., :nr, :] = as_strided(
                planes[:, y0 * sh :],
                (cg, kh, kw, nr, w_out),
                (p_c, dh * p_y, dw * p_x, sh * p_y, sw * p_x),
            )
            terms = [buffer[..., :nr, :].reshape(cg, kh * kw, m)]
        for t, v in enumerate(terms):
            if not maps_only:
                _gemm(w_full[t], v.reshape(cg * taps, m), pre_out[:, block], tmp_full, t > 0)
            if want_maps:
                assert maps_t is not None
                _gemm(w_maps[t], v, maps_t[..., block], tmp_maps, t > 0)
        pre = pre_out[:, block]
        if maps_only:
            assert maps_out is not None
            maps_out[..., block].sum(axis=1, out=pre)
        elif sel and cg == 1:
            assert maps_out is not None
            maps_out[:, 0, block] = pre[sel]
        if bias is not None:
            pre += bias[:, None]
        if feature_out is not None:
            activate_into(act, pre, feature_out[:, block])


_SCRATCH = threading.local()
# Larger work arrays are not kept between calls, to bound the memory held.
_SCRATCH_MAX_BYTES = 64 << 20


def _scratch(slot: str, shape: tuple[int, ...]) -> F32:
    """A work array reused across calls (per thread).

    Fresh memory costs a page fault per 4 KiB on first touch, which took longer than
    the arithmetic for the bench inputs.
    """
    size = math.prod(shape)
    if 4 * size > _SCRATCH_MAX_BYTES:
        return np.empty(shape, np.float32)
    pool: dict[str, F32] = _SCRATCH.__dict__.setdefault("pool", {})
    if slot not in pool or pool[slot].size < size:
        pool[slot] = np.empty(size, np.float32)
    return pool[slot][:size].reshape(shape)


def _gemm(a: F32, b: F32, out: F32, tmp: F32, accumulate: bool) -> None:
    """out = a @ b, or out += a @ b using the scratch array `tmp`."""
    if not accumulate:
        np.matmul(a, b, out=out)
    else:
        scratch = tmp[..., : out.shape[-1]]
        np.matmul(a, b, out=scratch)
        out += scratch


@dataclass(frozen=True, eq=False)
class ConvResult:
    """Everything one `conv2d` call computed.

    Arrays are float32, read-only, and channels-last views of channels-first
    memory: ``feature_maps[..., f]`` is contiguous, ``feature_maps`` as a whole is
    not (use ``np.ascontiguousarray`` where that matters). With a linear activation
    `feature_maps` is `pre_activation`. With a batched input every array below has
    an extra leading N axis.

    Attributes
    ----------
    kernel_maps : numpy.ndarray
        ``(H', W', C_in // groups, len(kernel_map_filters))``: each kernel applied to
        its own input channel, before summing and without the bias.
    kernel_map_filters : tuple of int
        Filters whose kernel maps were computed, in the order of the last axis.
    pre_activation : numpy.ndarray
        ``(H', W', filters)``: sum of each filter's kernel maps, plus its bias.
    feature_maps : numpy.ndarray
        ``(H', W', filters)``: the layer's output, ``activation(pre_activation)``.
    geometry : ConvGeometry
        Padding and sizes.
    padding_mode, activation : str
        Canonical names of what was applied.
    groups : int
        Number of channel groups.
    param_count : int
        Trainable parameters: ``kh * kw * C_in // groups * filters``, plus
        ``filters`` when a bias is given, as Keras counts them with
        ``use_bias=True``.
    """

    kernel_maps: F32
    kernel_map_filters: tuple[int, ...]
    pre_activation: F32
    feature_maps: F32
    geometry: ConvGeometry
    padding_mode: str
    activation: str
    groups: int
    param_count: int
    _filter_pos: dict[int, int] = field(repr=False)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of `feature_maps`: ``(H', W', filters)``, with N first if batched."""
        return self.feature_maps.shape

    @property
    def padding(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) pixels of padding that were applied."""
        return self.geometry.padding

    def kernel_maps_of(self, f: int) -> F32:
        """Kernel maps of filter `f`, shape ``(H', W', C_in // groups)``."""
        if f not in self._filter_pos:
            raise ValueError(
                f"kernel maps of filter {f!r} were not computed; kernel_map_filters is "
                f"{self.kernel_map_filters}"
            )
        return self.kernel_maps[..., self._filter_pos[f]]


def _as_float_array(a: npt.ArrayLike, name: str, ndims: tuple[int, ...], shape_text: str) -> F32:
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have shape {shape_text}, got {arr.shape}")
    if arr.dtype != np.float32:
        with np.errstate(over="ignore"):  # too large for float32 becomes inf, reported below
            arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values (after conversion to float32)")
    return arr


def _selected_filters(
    kernel_map_filters: int | Iterable[int] | None, filters: int
) -> tuple[int, ...]:
    if kernel_map_filters is None:
        return tuple(range(filters))
    items = (
        (kernel_map_filters,)
        if isinstance(kernel_map_filters, int | np.integer)
        else tuple(kernel_map_filters)
    )
    if not all(
        isinstance(f, int | np.integer) and not isinstance(f, bool) and 0 <= f < filters
        for f in items
    ):
        raise ValueError(
            f"kernel_map_filters must be None, a filter index or a sequence of them, each in "
            f"0..{filters - 1}, got {kernel_map_filters!r}"
        )
    return tuple(sorted({int(f) for f in items}))


def conv2d(
    x: npt.ArrayLike,
    kernel: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    strides: IntPair = 1,
    padding: PaddingSpec = "valid",
    dilation_rate: IntPair = 1,
    groups: int = 1,
    activation: str | None = None,
    padding_mode: str = "zeros",
    flip_kernel: bool = False,
    kernel_map_filters: int | Iterable[int] | None = None,
) -> ConvResult:
    """Compute a ``keras.layers.Conv2D`` layer and its intermediate results.

    Parameters
    ----------
    x : array_like
        Input ``(H, W, C_in)`` or batch ``(N, H, W, C_in)``; ints and bools are
        converted to float32.
    kernel : array_like
        ``(kh, kw, C_in // groups, filters)``, the Keras layout.
    bias : array_like or None
        ``(filters,)``, or None for a layer with ``use_bias=False``.
    strides, dilation_rate : int or (int, int)
        Positive integers, per (height, width). As in Keras, strides above 1 cannot be
        combined with a dilation above 1 (see `keras_refusal`).
    padding : str, int or 4-tuple of int
        See `conv_geometry`.
    groups : int
        Input channels and filters are split into this many groups; filter ``f``
        sees channels ``g * Cg ... (g + 1) * Cg - 1`` with ``g = f // (filters //
        groups)`` and ``Cg = C_in // groups``.
    activation : str or None
        One of `ACTIVATIONS` (or ``"swish"``); None means linear.
    padding_mode : str
        One of `PADDING_MODES`; see `pad_input`. Keras itself only pads with zeros.
    flip_kernel : bool
        If True, rotate the kernels by 180 degrees: true convolution instead of
        the cross-correlation that Keras computes.
    kernel_map_filters : None, int or sequence of int
        Filters whose kernel maps to compute (None: all). They cost
        ``H' * W' * Cg`` floats each. Stored sorted, without duplicates.

    Returns
    -------
    ConvResult

    Raises
    ------
    ValueError
        For any invalid argument, with a message naming it.
    """
    x = _as_float_array(x, "x", (3, 4), "(H, W, C_in) or (N, H, W, C_in)")
    kernel = _as_float_array(kernel, "kernel", (4,), "(kh, kw, C_in // groups, filters)")
    kh, kw, cg, filters = kernel.shape
    c_in = x.shape[-1]
    if not isinstance(groups, int | np.integer) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive integer, got {groups!r}")
    if c_in % groups or filters % groups:
        raise ValueError(
            f"groups={groups} must divide both the input channels ({c_in}) and the "
            f"filters ({filters})"
        )
    if cg != c_in // groups:
        raise ValueError(
            f"kernel must have C_in // groups = {c_in // groups} channels on its third axis "
            f"(shape (kh, kw, C_in // groups, filters)), got kernel shape {kernel.shape}"
        )
    if bias is not None:
        bias = _as_float_array(bias, "bias", (1,), f"({filters},)")
        if bias.shape != (filters,):
            raise ValueError(f"bias must have shape ({filters},), one per filter, got {bias.shape}")
    if kh * kw * cg * filters == 0:
        raise ValueError(f"kernel must not have an empty axis, got shape {kernel.shape}")
    act = _canonical_activation(activation)
    mode = canonical_padding_mode(padding_mode)
    selected = _selected_filters(kernel_map_filters, filters)
    geom = conv_geometry(x.shape, (kh, kw), strides, padding, dilation_rate)
    refusal = keras_refusal(geom.strides, geom.dilation)
    if refusal:
        raise ValueError(refusal)
    if flip_kernel:
        kernel = kernel[::-1, ::-1]

    batch = x.shape[:-3]
    images = x.reshape((-1,) + x.shape[-3:])
    h_out, w_out = geom.output_size
    # One allocation for all outputs: the C allocator then keeps reusing that memory
    # across calls, where freshly mapped memory costs a page fault every 4 KiB.
    n_pre, n_maps = len(images) * filters, len(images) * len(selected) * cg
    store = np.empty(
        ((n_pre if act == "linear" else 2 * n_pre) + n_maps, h_out * w_out), np.float32
    )
    pre = store[:n_pre].reshape(len(images), filters, h_out * w_out)
    maps: F32 = store[n_pre : n_pre + n_maps].reshape(len(images), len(selected), cg, h_out * w_out)
    feature = None if act == "linear" else store[n_pre + n_maps :].reshape(pre.shape)
    f_group = filters // groups
    for n, image in enumerate(images):
        planes = _padded_planes(image, geom.padding, mode)
        for g in range(groups):
            filt = slice(g * f_group, (g + 1) * f_group)
            sel = [k for k, f in enumerate(selected) if f // f_group == g]
            outs = (
                pre[n, filt],
                None if feature is None else feature[n, filt],
                maps[n, sel[0] : sel[-1] + 1] if sel else None,
            )
            _correlate_group(
                planes[g * cg : (g + 1) * cg],
                kernel[..., filt],
                None if bias is None else bias[filt],
                act,
                [selected[k] - g * f_group for k in sel],
                geom.strides,
                geom.dilation,
                (h_out, w_out),
                outs,
            )
    n_axes = len(batch)
    # Planar storage (filters before pixels) keeps each map contiguous for display;
    # the transposed views give the Keras channels-last layout.
    to_last = (*range(n_axes), n_axes + 1, n_axes + 2, n_axes)
    pre_view = pre.reshape(batch + (filters, h_out, w_out)).transpose(to_last)
    feature_view = pre_view
    if feature is not None:
        feature_view = feature.reshape(batch + (filters, h_out, w_out)).transpose(to_last)
    maps = maps.reshape(batch + (len(selected), cg, h_out, w_out))
    maps_view = maps.transpose(*range(n_axes), n_axes + 2, n_axes + 3, n_axes + 1, n_axes)
    for arr in (pre_view, maps_view, feature_view):
        arr.flags.writeable = False
    return ConvResult(
        kernel_maps=maps_view,
        kernel_map_filters=selected,
        pre_activation=pre_view,
        feature_maps=feature_view,
        geometry=geom,
        padding_mode=mode,
        activation=act,
        groups=int(groups),
        param_count=kh * kw * cg * filters + (filters if bias is not None else 0),
        _filter_pos={f: k for k, f in enumerate(selected)},
    )
