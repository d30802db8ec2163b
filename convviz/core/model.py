"""The document convviz edits: an input image and a stack of layers, one Conv2D layer of
which is shown (its weights and settings, and the input it reads, are the document's
own fields; the other layers wait in ``before`` and ``after``).

Pure Python and numpy. Views never touch it directly: commands (``commands.py``) change
it and it tells its listeners which parts changed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from convviz.core.conv import keras_refusal
from convviz.core.geometry import PADDING_MODES as PADDING_MODES  # one list, named here too
from convviz.core.presets import centred, filter_preset, glorot_uniform
from convviz.core.stack import (
    MAX_LAYERS,
    ConvLayer,
    Layer,
    PoolLayer,
    fit_kernel,
    forward,
    input_names,
    shapes,
)
from convviz.core.words import count

MAX_CHANNELS = 16
MAX_FILTERS = 16
MAX_KERNEL = 11
PADDINGS = ("valid", "same", "full")

# What changed, as told to listeners.
INPUT = "input"
WEIGHTS = "weights"
SETTINGS = "settings"
SELECTION = "selection"

# Finer change markers that travel with INPUT and WEIGHTS: which box, which filter.
_BOX = "box"
_FILTER = "filter"

Marker = str | tuple[Any, ...]
"""A change marker: INPUT, WEIGHTS, SETTINGS, SELECTION, or a box_change or filter_change."""

F32 = npt.NDArray[np.float32]


def box_change(
    box: tuple[slice, ...], channels: Iterable[int] | None = None
) -> tuple[str, int, int, int, int, tuple[int, ...] | None]:
    """The change marker for an input box (hashable, unlike slices), and for the input
    ``channels`` changed inside it (None: any of them)."""
    which = None if channels is None else tuple(sorted(int(c) for c in channels))
    return (_BOX, box[0].start, box[0].stop, box[1].start, box[1].stop, which)


def filter_change(f: int) -> tuple[str, int]:
    """The change marker for filter ``f``'s kernels or bias."""
    return (_FILTER, f)


Box = tuple[int, int, int, int]  # rows start, stop, columns start, stop


@dataclass(frozen=True)
class Change:
    """What changed in the document, as its listeners are told; ``a | b`` holds both.

    ``boxes`` narrow an input change to boxes of the input (each with the channels it
    changed, None for any); ``filters`` narrow a weights change to those filters. An
    input (weights) change without them means the whole input (every filter).
    """

    input: bool = False
    boxes: tuple[tuple[Box, tuple[int, ...] | None], ...] = ()
    weights: bool = False
    filters: frozenset[int] = frozenset()
    settings: bool = False
    selection: bool = False
    # Layers were added to or removed from the network (not the shown one).
    network: bool = False

    @classmethod
    def of(cls, what: Change | Iterable[Marker]) -> Change:
        """The change the markers ``what`` name (INPUT, WEIGHTS, SETTINGS, SELECTION,
        :func:`box_change`, :func:`filter_change`)."""
        if isinstance(what, Change):
            return what
        markers = set(what)
        boxes = tuple(
            ((m[1], m[2], m[3], m[4]), m[5])
            for m in markers
            if isinstance(m, tuple) and m[0] == _BOX
        )
        filters = frozenset(m[1] for m in markers if isinstance(m, tuple) and m[0] == _FILTER)
        return cls(
            input=INPUT in markers,
            boxes=boxes if INPUT in markers else (),
            weights=WEIGHTS in markers,
            filters=filters if WEIGHTS in markers else frozenset(),
            settings=SETTINGS in markers,
            selection=SELECTION in markers,
        )

    @property
    def whole_input(self) -> bool:
        return self.input and not self.boxes

    @property
    def all_filters(self) -> bool:
        return self.weights and not self.filters

    def input_boxes(self) -> list[tuple[tuple[slice, slice], tuple[int, ...] | None]]:
        """The boxes as (rows, cols) slices, with the channels each changed."""
        return [((slice(r0, r1), slice(c0, c1)), ch) for (r0, r1, c0, c1), ch in self.boxes]

    def __or__(self, other: Change) -> Change:
        whole_input = self.whole_input or other.whole_input
        all_filters = self.all_filters or other.all_filters
        return Change(
            input=self.input or other.input,
            boxes=() if whole_input else self.boxes + other.boxes,
            weights=self.weights or other.weights,
            filters=frozenset() if all_filters else self.filters | other.filters,
            settings=self.settings or other.settings,
            selection=self.selection or other.selection,
            network=self.network or other.network,
        )

    def __contains__(self, marker: object) -> bool:
        """``INPUT in change`` and the like, for listeners that only ask what kind."""
        kinds = {
            INPUT: self.input,
            WEIGHTS: self.weights,
            SETTINGS: self.settings,
            SELECTION: self.selection,
        }
        return bool(kinds.get(marker, False)) if isinstance(marker, str) else False


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
class Document:
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

    # -- the stack ----------------------------------------------------------------------
    @property
    def shown(self) -> int:
        """Which layer is shown, counted from 0."""
        return len(self.before)

    @property
    def network_input(self) -> F32:
        return self.input if self.source is None else self.source

    @property
    def network_names(self) -> tuple[str, ...]:
        return self.channel_names if self.source is None else self.source_names

    def shown_layer(self) -> ConvLayer:
        """The shown layer as the others are kept (a frozen copy)."""
        return ConvLayer(self.kernel, self.bias, self.settings, self.selected_filter)

    def network_layers(self) -> tuple[Layer, ...]:
        """Every layer of the network, in order."""
        return (*self.before, self.shown_layer(), *self.after)

    def network_state(self, *, reader: bool = False) -> dict[str, Any]:
        """The whole network: its input and channel names, the first layer's fields (as
        :meth:`snapshot` names them), ``layers`` after the first and the ``shown`` one.
        With ``reader`` the input is read-only and may be shared (see reader_snapshot)."""
        layers = self.network_layers()
        first = layers[0]
        assert isinstance(first, ConvLayer)  # check() refuses any other first layer
        if self.source is not None:
            x = self.source.copy()
        else:
            x = self.reader_snapshot()["input"] if reader else self.input.copy()
        return dict(
            input=x,
            channel_names=self.network_names,
            kernel=np.array(first.kernel),
            bias=np.array(first.bias),
            settings=first.settings,
            selected_filter=first.selected_filter,
            layers=layers[1:],
            shown=self.shown,
        )

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

    def layers_before(self, k: int) -> tuple[Layer, ...]:
        """The layers before layer ``k`` (from 0), whose output layer ``k`` reads;
        ValueError when layer ``k`` is not a Conv2D layer or what it reads is empty."""
        layers = self.network_layers()
        if not 0 <= k < len(layers):
            raise ValueError(f"there is no layer {k + 1}: the network has {len(layers)}")
        layer = layers[k]
        if not isinstance(layer, ConvLayer):
            raise ValueError(f"layer {k + 1} is a {layer.kind} layer: it has no kernels to show")
        h, w, _ = shapes(self.network_input.shape, layers[:k])[-1]
        if not h * w:
            raise ValueError(f"layer {k + 1} has nothing to read: a layer before it is empty")
        return layers[:k]

    def show_layer(self, k: int, made: F32 | None = None) -> None:
        """Show the insides of layer ``k`` (from 0, a Conv2D): its input is ``made``, what
        the layers before it make of the network's input (computed here when None);
        ValueError, changing nothing, as :meth:`layers_before` says."""
        before = self.layers_before(k)
        if k == self.shown:
            return
        layers = self.network_layers()
        layer = layers[k]
        assert isinstance(layer, ConvLayer)  # layers_before refused any other
        x, names = self.network_input, self.network_names
        if k:
            made = forward(x, before) if made is None else made
            made.flags.writeable = False
            last = max(i for i in range(k) if isinstance(layers[i], ConvLayer))
            pooled = any(isinstance(p, PoolLayer) for p in layers[last + 1 : k])
            values = dict(
                input=made,
                channel_names=input_names(last + 1, made.shape[2], pooled),
                source=x,
                source_names=names,
            )
        else:
            values = dict(input=x, channel_names=names, source=None, source_names=())
        values.update(
            kernel=np.array(layer.kernel),
            bias=np.array(layer.bias),
            settings=layer.settings,
            selected_filter=layer.selected_filter,
            before=layers[:k],
            after=layers[k + 1 :],
        )
        self._assign(values)
        self.notify(Change(input=True, weights=True, settings=True, selection=True))

    def source_changed(self, made: F32 | None = None) -> None:
        """The network's input was painted while a deeper layer is shown: its input is
        made again (``made``, or computed here) and listeners hear about the box of it
        that changed (nothing, when nothing did)."""
        if self.source is None:
            raise ValueError("layer 1 is shown: its input is the network's own")
        made = forward(self.source, self.before) if made is None else made
        self.source_changes += 1
        changed = np.any(made != self.input, axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        made.flags.writeable = False
        self.input = made
        if not rows.size:
            return
        box = box_change((slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)))
        self.notify({INPUT, box})

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


def _check_layers(layers: Iterable[Layer], channels: int, first_number: int) -> None:
    """Raise ValueError unless each Conv2D of ``layers`` has kernels as deep as the
    channels it reads (``channels`` for the first)."""
    for n, layer in enumerate(layers, first_number):
        if isinstance(layer, PoolLayer):
            continue
        if not isinstance(layer, ConvLayer):
            raise ValueError(f"layer {n} is neither a Conv2D nor a MaxPooling2D layer")
        s = layer.settings
        if channels % s.groups or s.filters % s.groups:
            raise ValueError(f"layer {n}: groups={s.groups} must divide {channels} and {s.filters}")
        expected = (*s.kernel_size, channels // s.groups, s.filters)
        if layer.kernel.shape != expected or layer.bias.shape != (s.filters,):
            raise ValueError(
                f"layer {n}'s kernel tensor {layer.kernel.shape} does not read the {channels} "
                f"channels before it: it must be {expected}"
            )
        if not 0 <= layer.selected_filter < s.filters:
            raise ValueError(f"layer {n}: selected filter {layer.selected_filter} out of range")
        channels = s.filters


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
