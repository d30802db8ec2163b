"""Every user action as an undoable command (the history that holds them is
``history.py``'s).

A command knows how to apply itself to a :class:`~convviz.core.model.Document` and how
to take itself back, and carries the label the Edit menu shows ("Undo Paint on R").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from convviz.core.changes import (
    INPUT,
    SELECTION,
    SETTINGS,
    WEIGHTS,
    Change,
    box_change,
    filter_change,
)
from convviz.core.model import Document
from convviz.core.stack import Layer

F32 = npt.NDArray[np.float32]


class Command:
    """Base class: ``redo`` applies, ``undo`` reverts, ``merge`` may absorb a successor."""

    label = "Edit"
    # The layer of the network that was shown when the command was made: undo and redo
    # show it again before they apply (see History).
    layer = 0

    def redo(self, doc: Document) -> None:
        raise NotImplementedError

    def undo(self, doc: Document) -> None:
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already applied) into self; True if it did."""
        return False

    def applied(self) -> None:
        """The command was applied by its maker (a finished brush stroke): keep only what
        undo needs."""

    def nbytes(self) -> int:
        """Memory the command keeps (its arrays), which the history's byte cap counts."""
        return 0


def _bytes(values: Iterable[object]) -> int:
    return sum(v.nbytes for v in values if isinstance(v, np.ndarray))


class StateCommand(Command):
    """Replace some of the document's fields (input, kernel, bias, settings, ...) at once.

    ``before`` and ``after`` are partial snapshots with the same keys, as produced by
    :meth:`Document.snapshot`; ``before`` may be None when the command is applied by the
    history. Once applied, the command keeps one copy only: the values that are not in the
    document, which undo and redo swap with the document's own.
    """

    def __init__(
        self, label: str, before: dict[str, Any] | None, after: dict[str, Any], what: set[str]
    ) -> None:
        self.label = label
        self.before = before
        self.after: dict[str, Any] | None = after
        self.what = what
        self._stash: dict[str, Any] | None = None  # the values the document does not hold now

    def applied(self) -> None:
        if self.before is None:
            raise ValueError("an applied state command needs its before values")
        self._stash = {
            k: (v.copy() if isinstance(v, np.ndarray) and v.base is not None else v)
            for k, v in self.before.items()
        }
        self.before = self.after = None

    def redo(self, doc: Document) -> None:
        if self._stash is None:  # first application: the document hands over its values
            assert self.after is not None  # dropped only once the stash holds the values
            after = {
                k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.after.items()
            }
            self._stash = doc.swap(after, self.what)
            self.before = self.after = None
        else:
            self._stash = doc.swap(self._stash, self.what)

    def undo(self, doc: Document) -> None:
        assert self._stash is not None  # undone only after it was applied
        self._stash = doc.swap(self._stash, self.what)

    def nbytes(self) -> int:
        if self._stash is not None:
            return _bytes(self._stash.values())
        assert self.after is not None  # dropped only once the stash holds the values
        return _bytes((self.before or {}).values()) + _bytes(self.after.values())


class WeightsRun(StateCommand):
    """Weights shown as they change (a training run, a reset) as one undo step, however
    many times they were shown: the run is pushed again after each, and the copies
    merge into the first one, so the step sits in the history from the first on and any
    other edit lands above it."""

    def __init__(
        self, run: object, label: str, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        super().__init__(label, before, after, {WEIGHTS})
        self.run = run

    def merge(self, other: Command) -> bool:
        if isinstance(other, WeightsRun) and other.run is self.run:
            self.after, self.label = other.after, other.label
            return True
        return False


class PaintCommand(Command):
    """One changed box of the input (a brush stroke, a fill): the values it does not hold.

    ``box`` is (rows, cols) or (rows, cols, channels) slices; ``new`` may be one number
    (a fill). After the first redo, or :meth:`applied`, the command keeps only the box's
    values that are not in the document, and undo and redo swap them with the document's.
    ``local`` False announces a change of the whole input (a fill: the maps find a new
    scale).
    """

    def __init__(
        self,
        label: str,
        box: tuple[slice, ...],
        old: F32 | None,
        new: npt.ArrayLike,
        *,
        local: bool = True,
        network: bool = False,
    ) -> None:
        self.label = label
        self.box = tuple(slice(int(b.start), int(b.stop)) for b in box)
        self.local = local
        # Painted on the network's input while a deeper layer was shown (whose input
        # is then made again).
        self.network = network
        self._pending: tuple[F32 | None, npt.ArrayLike] | None = (old, new)
        self._stash: F32 | None = None

    def applied(self) -> None:
        assert self._pending is not None  # applied once, by the history that made it
        old, self._pending = self._pending[0], None
        assert old is not None  # a stroke applied by its maker saved what it painted over
        # A view (of the input as the stroke began) would keep the whole array alive.
        self._stash = old.copy() if old.base is not None else old

    def _swap(self, doc: Document, values: npt.ArrayLike) -> None:
        if self.network and doc.source is not None:
            current = doc.source[self.box].copy()
            doc.source[self.box] = values
            self._stash = current
            doc.source_changed()
            return
        current = doc.input[self.box].copy()
        doc.input[self.box] = values
        self._stash = current
        doc.notify({INPUT, box_change(self.box[:2])} if self.local else {INPUT})

    def redo(self, doc: Document) -> None:
        if self._pending is not None:
            new, self._pending = self._pending[1], None
            self._swap(doc, new)
        else:
            assert self._stash is not None  # kept from the first redo or from applied
            self._swap(doc, self._stash)

    def undo(self, doc: Document) -> None:
        assert self._stash is not None  # undone only after it was applied
        self._swap(doc, self._stash)

    def nbytes(self) -> int:
        if self._pending is not None:
            return _bytes(self._pending)
        assert self._stash is not None  # kept once the values are no longer pending
        return self._stash.nbytes


class SetKernelValue(Command):
    """One kernel cell w[row, col, k, f] set to a value (typed, or nudged by wheel/drag).

    Consecutive nudges of the same cell merge into one undo step until the nudge gesture
    ends (the history's ``close_merge``); a nudge of another cell, or one that does not
    start from the value the last one left, is a step of its own.
    """

    def __init__(self, index: tuple[int, ...], old: float, new: float, nudge: bool = False) -> None:
        r, c, k, f = index = tuple(int(i) for i in index)
        self.index = index
        self.old = float(old)
        self.new = float(new)
        self.nudge = nudge
        verb = "Nudge" if nudge else "Set"
        # Counted from 1, as the cells' names count rows and columns.
        self.label = f"{verb} kernel {k + 1} of filter {f + 1}, row {r + 1}, column {c + 1}"

    def redo(self, doc: Document) -> None:
        doc.kernel[self.index] = self.new
        doc.notify({WEIGHTS, filter_change(self.index[3])})

    def undo(self, doc: Document) -> None:
        doc.kernel[self.index] = self.old
        doc.notify({WEIGHTS, filter_change(self.index[3])})

    def merge(self, other: Command) -> bool:
        if (
            isinstance(other, SetKernelValue)
            and self.nudge
            and other.nudge
            and other.index == self.index
            and np.float32(other.old) == np.float32(self.new)  # nothing changed it between
        ):
            self.new = other.new
            return True
        return False


class SetBias(Command):
    def __init__(self, f: int, old: float, new: float) -> None:
        self.f = f
        self.old = float(old)
        self.new = float(new)
        self.label = f"Set bias of filter {f + 1}"

    def redo(self, doc: Document) -> None:
        doc.bias[self.f] = self.new
        doc.notify({WEIGHTS, filter_change(self.f)})

    def undo(self, doc: Document) -> None:
        doc.bias[self.f] = self.old
        doc.notify({WEIGHTS, filter_change(self.f)})


class StackCommand(Command):
    """Layers added after the shown one or removed: the layers after it are replaced
    (which layer is shown does not change)."""

    def __init__(self, label: str, after: tuple[Layer, ...]) -> None:
        self.label = label
        self._other = after

    def _swap(self, doc: Document) -> None:
        self._other = doc.swap({"after": self._other}, Change(network=True))["after"]

    def redo(self, doc: Document) -> None:
        self._swap(doc)

    def undo(self, doc: Document) -> None:
        self._swap(doc)


def state_command(doc: Document, label: str, what: set[str], **after: Any) -> StateCommand:
    """A :class:`StateCommand` from the document's current values to ``after``."""
    if SETTINGS in what or INPUT in what:
        what = what | {WEIGHTS, SELECTION}
    return StateCommand(label, None, after, what)  # the document's values become "before"
