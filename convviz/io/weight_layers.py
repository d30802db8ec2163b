"""The layers a trained model's file holds, as :func:`convviz.load_weights` returns them.

One frozen value per layer, in the model's order: :class:`ConvLayer` for every Conv2D (its
kernel in the Keras layout), :class:`PoolLayer` for pooling layers where the file records
them. Settings a file does not record are None, so a reader never invents them. Qt-free.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import overload

import numpy as np
import numpy.typing as npt

from convviz.core.activations import canonical_activation
from convviz.core.model import MAX_CHANNELS, MAX_FILTERS, MAX_KERNEL, PADDINGS, LayerSettings
from convviz.io._checks import InputError
from convviz.io.file_names import display_name

__all__ = [
    "MAX_TENSOR_VALUES",
    "MAX_TOTAL_VALUES",
    "ConvLayer",
    "ModelWeights",
    "PoolLayer",
    "ValueBudget",
    "from_torch_layout",
    "natural_key",
]

# A file may hold far larger layers than the app shows (they are listed, then refused);
# these bound what one file can make convviz allocate. VGG16's convolutions hold 15 M
# values, ResNet-50's 23 M.
MAX_TENSOR_VALUES = 64_000_000  # 256 MB as float32
MAX_TOTAL_VALUES = 128_000_000

# What a setting is called in sentences for the user.
_SETTING_WORDS = {
    "strides": "strides",
    "padding": "padding",
    "dilation": "dilation_rate",
    "activation": "activation",
    "padding_mode": "padding mode",
}


F32 = npt.NDArray[np.float32]


def _pair(value: Iterable[int]) -> tuple[int, int]:
    a, b = value
    return int(a), int(b)


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """One Conv2D layer of a file.

    Attributes
    ----------
    name : str
        The layer's name in the file (``conv2d_1``, ``features.3``).
    kernel : np.ndarray
        float32, read-only, Keras layout ``(kh, kw, C_in // groups, filters)``.
    bias : np.ndarray or None
        float32, read-only, ``(filters,)``; None when the layer has no bias.
    strides, dilation : (int, int) or None
        None when the file does not record them (PyTorch state dicts, bare weights).
    padding : str, (top, bottom, left, right) or None
        ``"valid"``, ``"same"`` or explicit pixels; None when not recorded.
    groups : int or None
        None when not recorded; the kernel then reads ``kernel.shape[2]`` channels.
    activation : str or None
        The activation's name as the file writes it (``"relu"``), or None when the file
        records none (PyTorch keeps activations in separate modules).
    padding_mode : str or None
        ``"zeros"`` for Keras layers; None when not recorded.
    kind : str
        The layer class in the file (``Conv2D``, ``DepthwiseConv2D``, ``Conv2d``).
    """

    name: str
    kernel: F32 = field(repr=False)
    bias: F32 | None = field(repr=False)
    # As the file records them: their length is not checked here.
    strides: tuple[int, ...] | None = None
    padding: str | tuple[int, ...] | None = None
    dilation: tuple[int, ...] | None = None
    groups: int | None = None
    activation: str | None = None
    padding_mode: str | None = None
    kind: str = "Conv2D"

    @property
    def kernel_size(self) -> tuple[int, int]:
        return int(self.kernel.shape[0]), int(self.kernel.shape[1])

    @property
    def filters(self) -> int:
        return int(self.kernel.shape[3])

    @property
    def in_channels(self) -> int:
        """C_in, the channels of the layer's input."""
        return int(self.kernel.shape[2]) * (self.groups or 1)

    @property
    def unrecorded(self) -> tuple[str, ...]:
        """The settings the file does not record, in the user's words."""
        return tuple(word for key, word in _SETTING_WORDS.items() if getattr(self, key) is None)

    def describe(self) -> str:
        """One line for a list: ``conv2d: 5×5 kernels, 1 → 8 filters``."""
        kh, kw = self.kernel_size
        return f"{self.name}: {kh}×{kw} kernels, C_in {self.in_channels} → {self.filters} filters"

    def problems(self) -> list[str]:
        """Why convviz cannot show this layer; empty when it can."""
        out = []
        kh, kw = self.kernel_size
        if max(kh, kw) > MAX_KERNEL:
            out.append(f"its {kh}×{kw} kernels are larger than {MAX_KERNEL}×{MAX_KERNEL}")
        if self.filters > MAX_FILTERS:
            out.append(f"it has {self.filters} filters, more than {MAX_FILTERS}")
        if self.in_channels > MAX_CHANNELS:
            out.append(f"it reads {self.in_channels} channels, more than {MAX_CHANNELS}")
        if self.activation is not None:
            try:
                canonical_activation(self.activation)
            except ValueError:
                out.append(f"convviz does not compute its activation {self.activation!r}")
        if isinstance(self.padding, str) and self.padding not in PADDINGS:
            out.append(f"convviz does not compute padding={self.padding!r}")
        return out

    def settings(self, current: LayerSettings) -> LayerSettings:
        """The app's settings for this layer; what the file does not record is taken from
        ``current``.

        Raises
        ------
        ValueError
            When convviz cannot show the layer (see :meth:`problems`).
        """
        problems = self.problems()
        if problems:
            raise ValueError(f"convviz cannot show layer {self.name}: " + "; ".join(problems))
        kept = {k: getattr(current, k) for k in _SETTING_WORDS if getattr(self, k) is None}
        recorded = {k: getattr(self, k) for k in _SETTING_WORDS if getattr(self, k) is not None}
        if "activation" in recorded:
            recorded["activation"] = canonical_activation(recorded["activation"])
        return replace(
            current,
            kernel_size=self.kernel_size,
            filters=self.filters,
            groups=self.groups or 1,
            use_bias=self.bias is not None,
            # Files hold the kernels of frameworks, which all compute cross-correlation.
            flip_kernel=False,
            **kept,
            **recorded,
        )


@dataclass(frozen=True)
class PoolLayer:
    """A pooling layer between convolutions (MaxPooling2D or AveragePooling2D)."""

    name: str
    kind: str
    pool_size: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str = "valid"


@dataclass(frozen=True, eq=False)
class ModelWeights(Sequence[ConvLayer]):
    """The Conv2D layers of one file, in order: ``weights[0]`` is the first.

    Attributes
    ----------
    source : Path
        The file.
    file_format : str
        What kind of file it was, in words (``"Keras 3 model (.keras)"``).
    layers : tuple of ConvLayer and PoolLayer
        Every convolution and, where the file records them, the pooling layers between
        them, in the model's order.
    notes : tuple of str
        Sentences for the user: layers skipped, settings guessed.
    """

    source: Path
    file_format: str
    layers: tuple[ConvLayer | PoolLayer, ...]
    notes: tuple[str, ...] = ()

    @property
    def conv_layers(self) -> tuple[ConvLayer, ...]:
        return tuple(layer for layer in self.layers if isinstance(layer, ConvLayer))

    @overload
    def __getitem__(self, index: int) -> ConvLayer: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[ConvLayer, ...]: ...

    def __getitem__(self, index: int | slice) -> ConvLayer | tuple[ConvLayer, ...]:
        return self.conv_layers[index]

    def __len__(self) -> int:
        return len(self.conv_layers)


class ValueBudget:
    """Counts the values a reader is about to load, refusing a file that asks too much
    before anything is read."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.total = 0

    def claim(self, shape: Iterable[int], what: str) -> None:
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise InputError(f"{self.label}: {what} has an invalid shape {shape}")
        n = math.prod(shape)
        if n > MAX_TENSOR_VALUES:
            raise InputError(
                f"{self.label}: {what} has {n:,} values (shape {shape}), more than the "
                f"{MAX_TENSOR_VALUES:,} convviz reads from one tensor"
            )
        self.total += n
        if self.total > MAX_TOTAL_VALUES:
            raise InputError(
                f"{self.label}: the convolutions hold more than {MAX_TOTAL_VALUES:,} values "
                "in all, more than convviz reads from one file"
            )


def checked_weights(
    label: str, name: str, kernel: npt.ArrayLike, bias: npt.ArrayLike | None
) -> tuple[F32, F32 | None]:
    """Kernel (Keras layout) and bias as read-only float32, or an InputError saying what is
    wrong with them."""
    where = f"{label} (layer {name})"
    kernel = np.asarray(kernel)
    if kernel.dtype.kind != "f" or kernel.ndim != 4 or 0 in kernel.shape:
        raise InputError(
            f"{where}: the kernel must be a 4-D array of floats, got {kernel.dtype} "
            f"with shape {kernel.shape}"
        )
    kernel = np.array(kernel, dtype=np.float32, order="C")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.dtype.kind != "f" or bias.shape != (kernel.shape[3],):
            raise InputError(
                f"{where}: the bias must hold {kernel.shape[3]} floats, one per filter, "
                f"got {bias.dtype} with shape {bias.shape}"
            )
        bias = np.array(bias, dtype=np.float32)
    for what, a in (("kernel", kernel), ("bias", bias)):
        if a is not None and not np.isfinite(a).all():
            raise InputError(f"{where}: the {what} holds NaN or infinite values")
        if a is not None:
            a.flags.writeable = False
    return kernel, bias


def from_torch_layout(weight: np.ndarray) -> np.ndarray:
    """PyTorch ``(filters, C_in // groups, kh, kw)`` -> Keras ``(kh, kw, C_in // groups,
    filters)``."""
    return np.ascontiguousarray(np.asarray(weight).transpose(2, 3, 1, 0))


def natural_key(name: str) -> tuple[int | str, ...]:
    """Sort key putting ``features.10`` after ``features.9`` and ``conv2d_10`` after
    ``conv2d_9``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def label_of(path: Path) -> str:
    return display_name(path)


ReadResult = tuple[str, Sequence[ConvLayer | PoolLayer], tuple[str, ...]]
"""What a reader of one kind of file returns: (file format, layers, notes)."""
