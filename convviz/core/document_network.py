"""The network side of the document: the stack of layers it belongs to, the layer it
shows and the input that layer reads (what the layers before it make of the network's
input), as a mixin of :class:`convviz.core.model.Document`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from convviz.core.changes import INPUT, Change, Marker, box_change
from convviz.core.stack import ConvLayer, Layer, PoolLayer, forward, input_names, shapes

if TYPE_CHECKING:
    from convviz.core.model import LayerSettings

F32 = npt.NDArray[np.float32]


class DocumentNetwork:
    """The layers of a document's network and which one it shows (see ``Document``)."""

    input: F32
    kernel: F32
    bias: F32
    settings: LayerSettings
    channel_names: tuple[str, ...]
    selected_filter: int
    before: tuple[Layer, ...]
    after: tuple[Layer, ...]
    source: F32 | None
    source_names: tuple[str, ...]
    source_changes: int

    if TYPE_CHECKING:

        def notify(self, what: Change | Iterable[Marker]) -> None: ...

        def reader_snapshot(self) -> dict[str, Any]: ...

        def _assign(self, values: Mapping[str, Any]) -> dict[str, Any]: ...

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
