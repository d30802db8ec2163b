"""The document convviz edits: an input image and a stack of layers, one Conv2D layer of
which is shown (its weights and settings, and the input it reads, are the document's
own fields; the other layers wait in ``before`` and ``after``).

Pure Python and numpy. Views never touch it directly: commands (``commands.py``) change
it and it tells its listeners which parts changed, with the markers of ``changes.py``.
The network side of the document (its layers, which one is shown) is the mixin of
``document_network.py``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from convviz.core.changes import SELECTION, WEIGHTS, Change, Marker, filter_change
from convviz.core.conv import keras_refusal
from convviz.core.document_network import DocumentNetwork, _check_layers
from convviz.core.geometry import PADDING_MODES as PADDING_MODES  # one list, named here too
from convviz.core.presets import centred, filter_preset, glorot_uniform
from convviz.core.stack import MAX_LAYERS, ConvLayer, Layer, fit_kernel
from convviz.core.words import count

MAX_CHANNELS = 16
MAX_FILTERS = 16
MAX_KERNEL = 11
PADDINGS = ("valid", "same", "full")

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LayerSettings:
    """The hyper-parameters of the Conv2D layer (its weights live in the document)."""

    kernel_size: tuple[int, int] = (3, 3)
    filters: int = 2
    strides: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int, int, int] = "valid"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    activation: str = "relu"
    use_bias: bool = True
    padding_mode: str = "zeros"
    flip_kernel: bool = False

    def within_limits(self) -> bool:
        """Whether filters and kernel sides are within what the app shows and saves."""
        return 1 <= self.filters <= MAX_FILTERS and all(
            1 <= k <= MAX_KERNEL for k in self.kernel_size
        )

    def keras_refusal(self) -> str | None:
        """Why ``keras.layers.Conv2D`` would refuse these settings, or None."""
        return keras_refusal(self.strides, self.dilation)

    def conv_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`convviz.conv2d` (all but x, kernel and bias)."""
        return dict(
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation,
            groups=self.groups,
            activation=self.activation,
            padding_mode=self.padding_mode,
            flip_kernel=self.flip_kernel,
        )


def default_channel_names(channels: int) -> tuple[str, ...]:
    """R, G, B for three channels; 'grey' for one; 'ch 1', 'ch 2', ... otherwise.

    Counted from 1, as the panels count channels, filters and kernels.
    """
    if channels == 3:
        return ("R", "G", "B")
    if channels == 1:
        return ("grey",)
    return tuple(f"ch {i + 1}" for i in range(channels))


def resize_kernel(kernel: F32, kh: int, kw: int) -> F32:
    """Grow or shrink the spatial size of a (kh, kw, C, F) tensor, keeping it centred.

    Growing pads with zeros, so a 3x3 Sobel stays a Sobel inside a 5x5 kernel.
    """
    return centred(kernel, kh, kw)


@dataclass
class Document(DocumentNetwork):
    """Input (H, W, C), kernel tensor (kh, kw, C // groups, filters), bias (filters,).

    ``bias`` is kept even while ``settings.use_bias`` is off, so switching bias back on
    restores the values the teacher typed.
    """

    input: F32
    kernel: F32
    bias: F32
    settings: LayerSettings
    channel_names: tuple[str, ...]
    selected_filter: int = 0
    # The layers before and after the one shown (ConvLayer, PoolLayer), and while a
    # deeper layer is shown the network's own input and its channel names: ``input`` is
    # then what the layers before made of it (read-only).
    before: tuple[Layer, ...] = ()
    after: tuple[Layer, ...] = ()
    source: F32 | None = field(default=None, repr=False)
    source_names: tuple[str, ...] = ()
    source_changes: int = field(default=0, repr=False, compare=False)
    # How many changes were announced: a copy taken at one count is still the document
    # exactly while the count is the same (a save running in the background uses it).
    changes: int = field(default=0, repr=False, compare=False)
    # How many input changes were announced, and the last read-only copy of the input
    # (the array it copies, weakly; the count; the copy): see `reader_snapshot`.
    _input_changes: int = field(default=0, repr=False, compare=False)
    _input_copy: tuple[weakref.ref[F32], int, F32] | None = field(
        default=None, repr=False, compare=False
    )
    _listeners: list[Callable[[Change], None]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.input = np.ascontiguousarray(self.input, dtype=np.float32)
        self.kernel = np.ascontiguousarray(self.kernel, dtype=np.float32)
        self.bias = np.ascontiguousarray(self.bias, dtype=np.float32)
        self.check()

    # -- invariants ---------------------------------------------------------------------
    def check(self) -> None:
        """Raise ValueError if the arrays and settings contradict each other."""
        s = self.settings
        h, w, c = self.input.shape
        if not 1 <= c <= MAX_CHANNELS:
            raise ValueError(f"the input must have 1 to {MAX_CHANNELS} channels, not {c}")
        refusal = s.keras_refusal()
        if refusal:
            raise ValueError(refusal)
        if c % s.groups or s.filters % s.groups:
            raise ValueError(
                f"groups={s.groups} must divide both the channels ({c}) and filters ({s.filters})"
            )
        expected = (*s.kernel_size, c // s.groups, s.filters)
        if self.kernel.shape != expected:
            raise ValueError(f"kernel shape {self.kernel.shape} does not match {expected}")
        if self.bias.shape != (s.filters,):
            raise ValueError(f"bias shape {self.bias.shape} does not match ({s.filters},)")
        if len(self.channel_names) != c:
            raise ValueError(
                f"{count(len(self.channel_names), 'channel name')} for {count(c, 'channel')}"
            )
        if not 0 <= self.selected_filter < s.filters:
            raise ValueError(f"selected filter {self.selected_filter} out of range")
        if len(self.before) + 1 + len(self.after) > MAX_LAYERS:
            raise ValueError(f"a network holds at most {MAX_LAYERS} layers")
        if self.before:
            if self.source is None or not isinstance(self.before[0], ConvLayer):
                raise ValueError("a deeper layer is shown without the network's input")
            _check_layers(self.before, self.source.shape[2], 1)
        _check_layers(self.after, s.filters, len(self.before) + 2)

    # -- notification -------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def notify(self, what: Change | Iterable[Marker]) -> None:
        """Tell every listener what changed: a :class:`Change`, or the markers naming it."""
        change = Change.of(what)
        self.changes += 1
        if change.input:
            self._input_changes += 1
        for listener in list(self._listeners):
            listener(change)

    def select_filter(self, f: int) -> None:
        """Select filter ``f`` of the shown layer (ValueError when there is none)."""
        if not 0 <= f < self.settings.filters:
            raise ValueError(f"there is no filter {f + 1}: the layer has {self.settings.filters}")
        self.selected_filter = f
        self.notify({SELECTION})

    # -- whole-state snapshots (commands use them for undo) -------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A copy of everything a command may replace."""
        return dict(input=self.input.copy(), **self.snapshot_weights())

    def reader_snapshot(self) -> dict[str, Any]:
        """What `snapshot` returns, for code that only reads it (a save, a trainer): the
        input's copy is read-only and shared by every call until the input changes, so a
        save after a training run does not copy a 1024x1024x16 input again (64 MB, up to
        0.1 s of the window's time)."""
        cached = self._input_copy
        if cached is None or cached[0]() is not self.input or cached[1] != self._input_changes:
            copy = self.input.copy()
            copy.flags.writeable = False
            cached = self._input_copy = (weakref.ref(self.input), self._input_changes, copy)
        return dict(input=cached[2], **self.snapshot_weights())

    def snapshot_weights(self) -> dict[str, Any]:
        """`snapshot` without the input."""
        return dict(
            kernel=self.kernel.copy(),
            bias=self.bias.copy(),
            settings=self.settings,
            channel_names=self.channel_names,
            selected_filter=self.selected_filter,
        )

    def _assign(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Put ``values`` in place of the document's own fields and check; the old values,
        or ValueError with nothing changed."""
        old = {k: getattr(self, k) for k in values}
        for k, v in values.items():
            if k in ("input", "kernel", "bias"):
                v = np.ascontiguousarray(v, dtype=np.float32)
            setattr(self, k, v)
        try:
            self.check()
        except ValueError:
            for k, v in old.items():
                setattr(self, k, v)
            raise
        return old

    def swap(self, values: Mapping[str, Any], what: Change | Iterable[Marker]) -> dict[str, Any]:
        """Put ``values`` (some fields, arrays handed over uncopied) in place of the
        document's own, which are returned; on a contradiction nothing changes and
        ValueError is raised."""
        old = self._assign(values)
        if (
            not isinstance(what, Change)
            and set(what) == {WEIGHTS}
            and set(values)
            <= {
                "kernel",
                "bias",
            }
        ):
            what = {WEIGHTS, *self._changed_filters(old)}
        self.notify(what)
        return old

    def _changed_filters(self, old: Mapping[str, Any]) -> list[tuple[str, int]]:
        """Markers of the filters whose kernels or bias differ from ``old``'s; any filter
        may have changed (no marker) when a shape did."""
        kernel, bias = old.get("kernel", self.kernel), old.get("bias", self.bias)
        if kernel.shape != self.kernel.shape or bias.shape != self.bias.shape:
            return []
        changed = np.any(kernel != self.kernel, axis=(0, 1, 2)) | (bias != self.bias)
        if not changed.any():
            return []
        return [filter_change(int(g)) for g in np.flatnonzero(changed)]

    # -- the network as a whole (the rest in document_network.py) ------------------------
    @classmethod
    def from_network(cls, state: Mapping[str, Any]) -> Document:
        """The document a :meth:`network_state` describes, with copies of its arrays
        (ValueError if it contradicts itself); ``layers`` and ``shown`` may be left out
        (one layer)."""
        values = {k: state[k] for k in _LAYER_ONE}
        for k in ("input", "kernel", "bias"):  # the document's own, writable copies
            values[k] = np.array(values[k], dtype=np.float32)
        doc = cls(**values, after=tuple(state.get("layers", ())))
        doc.show_layer(int(state.get("shown", 0)))
        return doc

    def open_network(self, state: Mapping[str, Any]) -> None:
        """Become the network ``state`` describes; nothing changes on a ValueError."""
        new = Document.from_network(state)
        for name in _FIELDS:
            setattr(self, name, getattr(new, name))
        self.notify(Change(input=True, weights=True, settings=True, selection=True))

    # -- derived ------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        channels: int = self.input.shape[2]
        return channels

    @property
    def kernel_channels(self) -> int:
        """How many kernels one filter has: C_in // groups."""
        kernels: int = self.kernel.shape[2]
        return kernels

    def filter_channels(self, f: int) -> range:
        """The input channels that filter f's kernels slide over."""
        cg = self.kernel_channels
        group = f // (self.settings.filters // self.settings.groups)
        return range(group * cg, (group + 1) * cg)


_LAYER_ONE = ("input", "kernel", "bias", "settings", "channel_names", "selected_filter")
_FIELDS = (*_LAYER_ONE, "before", "after", "source", "source_names")


def new_conv_layer(channels: int, rng: np.random.Generator, filters: int = 4) -> ConvLayer:
    """The layer *Add layer after* appends: ``Conv2D(filters, 3, activation='relu')``
    with Keras' Glorot-uniform kernels (as deep as the ``channels`` it reads) and zero
    bias."""
    settings = LayerSettings(kernel_size=(3, 3), filters=filters)
    kernel = glorot_uniform((3, 3, channels, filters), rng)
    return ConvLayer(kernel, np.zeros(filters, np.float32), settings)


def default_document(image: np.ndarray, channel_names: tuple[str, ...] | None = None) -> Document:
    """The first screen: Keras' ``Conv2D(2, 3, activation='relu')`` on ``image``.

    Filter 1 is Sobel x on every channel (an edge detector a class recognises); filter 2
    is what Keras itself starts from, a Glorot-uniform draw (seeded, so every launch shows
    the same numbers). Biases start at zero, as Keras' ``bias_initializer='zeros'``.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    c = image.shape[2]
    settings = LayerSettings()
    kernel = np.zeros((3, 3, c, 2), dtype=np.float32)
    rng = np.random.default_rng(0)
    kernel[..., 0] = filter_preset("sobel x", 3, 3, c, 2, rng)
    kernel[..., 1] = glorot_uniform((3, 3, c, 2), rng)[..., 1]
    return Document(
        input=image,
        kernel=kernel,
        bias=np.zeros(2, dtype=np.float32),
        settings=settings,
        channel_names=channel_names or default_channel_names(c),
    )


def reshaped_weights(
    doc: Document, new: LayerSettings, channels: int, rng: np.random.Generator
) -> tuple[F32, F32]:
    """The shown layer's kernel and bias fitting ``new`` settings and ``channels`` inputs,
    keeping what fits (see :func:`convviz.core.stack.fit_kernel`)."""
    return fit_kernel(doc.kernel, doc.bias, new, channels, rng)
