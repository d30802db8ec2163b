"""A stack of layers: Conv2D and MaxPooling2D, each reading what the one before made.

Layer 1's ``filters`` feature maps are layer 2's input channels, so each filter of a
Conv2D layer 2 holds as many kernels as layer 1 has filters. The document shows the
insides of one Conv2D layer at a time; the layers it is not showing wait here, frozen
(their arrays read-only), so a snapshot of the stack is a tuple of references.

Pure numpy. ``forward`` is what ``keras.Sequential`` of the same layers computes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

import numpy as np
import numpy.typing as npt

from convviz.core.conv import conv2d
from convviz.core.geometry import conv_geometry
from convviz.core.presets import centred, glorot_uniform

if TYPE_CHECKING:  # the settings live with the document, which builds on this module
    from convviz.core.model import LayerSettings

MAX_LAYERS = 4
POOL_PADDINGS = ("valid", "same")
MAX_POOL = 8

F32 = npt.NDArray[np.float32]


class _Configured(Protocol):
    """What ConvLayer's sizes and description read of it: its settings (a stand-in for
    the shown layer has them too)."""

    @property
    def settings(self) -> LayerSettings: ...


class LayerLike(Protocol):
    """What `shapes` and `summary` read of a layer: a ConvLayer, a PoolLayer or a
    stand-in for one."""

    @property
    def kind(self) -> str: ...

    @property
    def param_count(self) -> int: ...

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]: ...

    def describe(self) -> str: ...


def _frozen(a: npt.ArrayLike) -> F32:
    a = np.array(a, dtype=np.float32)  # a copy of its own
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """A Conv2D layer the document is not showing: kernel (kh, kw, C_in // groups,
    filters), bias (filters,), its settings and which of its filters was selected."""

    kernel: F32
    bias: F32
    settings: LayerSettings
    selected_filter: int = 0

    kind: ClassVar[Literal["Conv2D"]] = "Conv2D"

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", _frozen(self.kernel))
        object.__setattr__(self, "bias", _frozen(self.bias))

    def output_shape(self: _Configured, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """(H', W', filters) for an input of ``shape``; H' or W' is 0 when it is empty."""
        s = self.settings
        g = conv_geometry(shape, s.kernel_size, s.strides, s.padding, s.dilation, allow_empty=True)
        return (*g.output_size, s.filters)

    def apply(self, x: F32) -> F32:
        s = self.settings
        bias = self.bias if s.use_bias else None
        return conv2d(x, self.kernel, bias, **s.conv_kwargs()).feature_maps

    def describe(self: _Configured) -> str:
        kh, kw = self.settings.kernel_size
        return f"Conv2D({self.settings.filters}, {kh}×{kw})"

    @property
    def param_count(self) -> int:
        return int(self.kernel.size + (self.bias.size if self.settings.use_bias else 0))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ConvLayer)
            and self.settings == other.settings
            and self.selected_filter == other.selected_filter
            and np.array_equal(self.kernel, other.kernel)
            and np.array_equal(self.bias, other.bias)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class PoolLayer:
    """``keras.layers.MaxPooling2D(pool_size, strides, padding)``; strides None means
    the pool size, as in Keras."""

    pool_size: tuple[int, int] = (2, 2)
    strides: tuple[int, int] | None = None
    padding: str = "valid"

    kind: ClassVar[Literal["MaxPooling2D"]] = "MaxPooling2D"

    def __post_init__(self) -> None:
        sizes = (*self.pool_size, *(self.strides or ()))
        if not all(isinstance(n, int) and 1 <= n <= MAX_POOL for n in sizes):
            raise ValueError(f"pool size and strides must be whole numbers 1 to {MAX_POOL}")
        if self.padding not in POOL_PADDINGS:
            raise ValueError(f"pooling padding must be one of {', '.join(POOL_PADDINGS)}")

    @property
    def step(self) -> tuple[int, int]:
        return self.strides or self.pool_size

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        g = conv_geometry(shape, self.pool_size, self.step, self.padding, allow_empty=True)
        return (*g.output_size, shape[2])

    def apply(self, x: F32) -> F32:
        return max_pool2d(x, self.pool_size, self.step, self.padding)

    def describe(self) -> str:
        ph, pw = self.pool_size
        return f"MaxPooling2D({ph}×{pw})"

    param_count = 0


Layer = ConvLayer | PoolLayer


def max_pool2d(
    x: npt.ArrayLike,
    pool_size: tuple[int, int] = (2, 2),
    strides: tuple[int, int] | None = None,
    padding: str = "valid",
) -> F32:
    """``keras.layers.MaxPooling2D`` on (H, W, C): the largest value of each window.

    "same" pads as TensorFlow does (the odd pixel at the bottom/right) with pixels that
    never win, so the output is ``ceil(H / stride)`` high.
    """
    x = np.asarray(x, dtype=np.float32)
    strides = strides or pool_size
    g = conv_geometry(x.shape, pool_size, strides, padding)
    t, b, left, r = g.padding
    if t or b or left or r:
        x = np.pad(x, ((t, b), (left, r), (0, 0)), constant_values=-np.inf)
    (ph, pw), (sh, sw), (oh, ow) = pool_size, strides, g.output_size
    out = np.full((oh, ow, x.shape[2]), -np.inf, np.float32)
    for i in range(ph):  # the max of ph * pw strided views: no window copies
        for j in range(pw):
            window = x[i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            np.maximum(out, window, out=out)
    return out


def shapes(
    input_shape: tuple[int, int, int], layers: Iterable[LayerLike]
) -> list[tuple[int, int, int]]:
    """The input shape of every layer and, last, the network's output shape; once one is
    empty (0 high or wide) the rest are too."""
    h, w, c = input_shape
    out: list[tuple[int, int, int]] = [(h, w, c)]
    for layer in layers:
        h, w, c = out[-1]
        out.append(
            (0, 0, layer.output_shape((1, 1, c))[2]) if not h * w else layer.output_shape((h, w, c))
        )
    return out


def forward(x: F32, layers: Iterable[Layer]) -> F32:
    """What the layers make of ``x`` (H, W, C), one after the other (ValueError when one
    of them has nothing left to read)."""
    for n, layer in enumerate(layers, 1):
        if not math.prod(layer.output_shape(x.shape)[:2]):
            raise ValueError(f"the output of layer {n} ({layer.describe()}) is empty")
        x = layer.apply(x)
    return x


def forward_work(input_shape: tuple[int, int, int], layers: Sequence[Layer]) -> int:
    """Multiply-adds (comparisons, for pooling) of :func:`forward`: how long it takes."""
    work = 0
    for layer, (h, w, c) in zip(layers, shapes(input_shape, layers)[1:], strict=True):
        size = layer.kernel.size if isinstance(layer, ConvLayer) else math.prod(layer.pool_size) * c
        work += h * w * size
    return work


def fit_kernel(
    kernel: F32,
    bias: F32,
    settings: LayerSettings,
    channels: int,
    rng: np.random.Generator,
) -> tuple[F32, F32]:
    """Kernel and bias fitting ``settings`` and ``channels`` inputs, keeping what fits.

    Kernel size changes keep values centred; extra filters get a Glorot draw (as Keras
    would initialise them) and zero bias; removed filters are dropped. When the number
    of kernels per filter changes (channels or groups), kept kernels stay and new ones
    are drawn.
    """
    kh, kw = settings.kernel_size
    cg = channels // settings.groups
    kernel = centred(kernel, kh, kw)
    fresh = glorot_uniform((kh, kw, cg, settings.filters), rng)
    keep_c = min(cg, kernel.shape[2])
    keep_f = min(settings.filters, kernel.shape[3])
    fresh[:, :, :keep_c, :keep_f] = kernel[:, :, :keep_c, :keep_f]
    new_bias = np.zeros(settings.filters, dtype=np.float32)
    new_bias[:keep_f] = bias[:keep_f]
    return fresh, new_bias


def fit_layers(
    layers: Iterable[Layer], channels: int, rng: np.random.Generator
) -> tuple[Layer, ...]:
    """``layers`` reading ``channels`` input channels: each Conv2D whose kernels are not
    as deep as what it reads gets kernels that are (what fits is kept), and groups 1 when
    its groups no longer divide its channels."""
    fitted: list[Layer] = []
    for layer in layers:
        if isinstance(layer, ConvLayer):
            s = layer.settings
            if channels % s.groups:
                s = replace(s, groups=1)
            if layer.kernel.shape[2] * s.groups != channels or s != layer.settings:
                kernel, bias = fit_kernel(layer.kernel, layer.bias, s, channels, rng)
                layer = ConvLayer(kernel, bias, s, layer.selected_filter)
            channels = s.filters
        fitted.append(layer)
    return tuple(fitted)


@dataclass(frozen=True)
class LayerRow:
    """One layer of a network as the layer bar and the shapes panel show it."""

    number: int  # counted from 1
    kind: str  # "Conv2D" or "MaxPooling2D"
    text: str  # "Conv2D(4, 3×3)"
    output_shape: tuple[int, int, int]  # (H', W', channels); 0 high or wide: empty
    params: int


def summary(input_shape: tuple[int, int, int], layers: Sequence[LayerLike]) -> tuple[LayerRow, ...]:
    """The rows of a network reading ``input_shape``."""
    outs = shapes(input_shape, layers)[1:]
    return tuple(
        LayerRow(n, layer.kind, layer.describe(), out, layer.param_count)
        for n, (layer, out) in enumerate(zip(layers, outs, strict=True), 1)
    )


def input_names(layer_number: int, channels: int, pooled: bool) -> tuple[str, ...]:
    """Names of a deeper layer's input channels: the feature maps of the Conv2D layer
    ``layer_number`` (counted from 1) that made them, pooled or not."""
    what = "pooled map" if pooled else "map"
    return tuple(f"{what} {i + 1} of layer {layer_number}" for i in range(channels))
