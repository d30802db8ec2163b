"""What a Keras ``Conv2D`` layer computes, step by step, in pure numpy.

A convolution layer slides every filter over the input. One filter holds one kernel
per input channel (of its group); the *kernel map* is what a single kernel produces
on its own channel, the filter's *pre-activation* is the sum of its kernel maps plus
the bias, and the *feature map* is the activation of that. All of them are exposed
by `conv2d`, laid out as in Keras (channels last, kernel ``(kh, kw, C_in // groups,
filters)``), and they agree with ``keras.layers.Conv2D`` to float32 precision.

The arithmetic itself, one channel group at a time, is ``correlation.py``'s.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from convviz.core.activations import (
    ACTIVATIONS,
    activate,
    activation_derivative,
)
from convviz.core.activations import canonical_activation as _canonical_activation
from convviz.core.correlation import _correlate_group, _padded_planes
from convviz.core.geometry import (
    PADDING_MODES,
    ConvGeometry,
    IntPair,
    PaddingSpec,
    canonical_padding_mode,
    conv_geometry,
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
