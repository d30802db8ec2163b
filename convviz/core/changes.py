"""The change markers a document tells its listeners: what changed (INPUT, WEIGHTS,
SETTINGS, SELECTION), the finer markers of an input box and of a filter, and
:class:`Change`, which holds them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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
