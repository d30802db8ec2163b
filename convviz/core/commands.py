"""Every user action as an undoable command, and the history that holds them.

A command knows how to apply itself to a :class:`~convviz.core.model.Document` and how
to take itself back, and carries the label the Edit menu shows ("Undo Paint on R").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convviz.core.model import INPUT, SELECTION, SETTINGS, WEIGHTS, Document
from convviz.core.pipeline import box_change, filter_change


class Command:
    """Base class: ``redo`` applies, ``undo`` reverts, ``merge`` may absorb a successor."""

    label = "Edit"

    def redo(self, doc: Document) -> None:
        raise NotImplementedError

    def undo(self, doc: Document) -> None:
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already applied) into self; True if it did."""
        return False


class StateCommand(Command):
    """Replace some of the document's fields (input, kernel, bias, settings, ...) at once.

    ``before`` and ``after`` are partial snapshots with the same keys, as produced by
    :meth:`Document.snapshot`.
    """

    def __init__(self, label: str, before: dict, after: dict, what: set[str]):
        self.label = label
        self.before = before
        self.after = after
        self.what = what

    def _apply(self, doc: Document, state: dict) -> None:
        full = doc.snapshot()
        full.update({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()})
        doc.restore(full, self.what)

    def redo(self, doc: Document) -> None:
        self._apply(doc, self.after)

    def undo(self, doc: Document) -> None:
        self._apply(doc, self.before)


class PaintCommand(Command):
    """One finished brush stroke: the changed box of the input with old and new values."""

    def __init__(self, label: str, box: tuple[slice, slice], old: np.ndarray, new: np.ndarray):
        self.label = label
        self.box = box
        self.old = old
        self.new = new

    def redo(self, doc: Document) -> None:
        doc.input[self.box] = self.new
        doc.notify({INPUT, box_change(self.box)})

    def undo(self, doc: Document) -> None:
        doc.input[self.box] = self.old
        doc.notify({INPUT, box_change(self.box)})


class SetKernelValue(Command):
    """One kernel cell w[row, col, k, f] set to a value (typed, or nudged by wheel/drag).

    Consecutive nudges of the same cell merge into one undo step until the nudge gesture
    ends (the history's ``close_merge``); a nudge of another cell, or one that does not
    start from the value the last one left, is a step of its own.
    """

    def __init__(self, index: tuple[int, int, int, int], old: float, new: float, nudge=False):
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
    def __init__(self, f: int, old: float, new: float):
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


def state_command(doc: Document, label: str, what: set[str], **after) -> StateCommand:
    """A :class:`StateCommand` from the document's current values to ``after``."""
    snap = doc.snapshot()
    before = {k: snap[k] for k in after}
    if SETTINGS in what or INPUT in what:
        what = what | {WEIGHTS, SELECTION}
    return StateCommand(label, before, after, what)


class History:
    """The undo stack of one document.

    ``push`` applies a command (unless it was applied while the user was still acting, as a
    brush stroke is) and keeps it for undo; listeners hear about every change of the
    stack, which the Edit menu and the title bar's unsaved-changes mark use.
    """

    def __init__(self, doc: Document, limit: int = 500):
        self.doc = doc
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._open_merge = False
        self._clean: int | None = 0
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def push(self, cmd: Command, *, applied: bool = False) -> None:
        if not applied:
            cmd.redo(self.doc)
        if self._open_merge and self._done and not self._undone and self._done[-1].merge(cmd):
            if self._clean == len(self._done):
                self._clean = None  # the saved state was the one before this merge
            self._changed()
            return
        if self._clean is not None and self._clean > len(self._done):
            self._clean = None  # the saved state was undone and is now unreachable
        self._done.append(cmd)
        self._undone.clear()
        self._open_merge = True
        if len(self._done) > self.limit:
            del self._done[0]
            self._clean = None if self._clean in (None, 0) else self._clean - 1
        self._changed()

    def close_merge(self) -> None:
        """End the current gesture: the next command starts a new undo step."""
        self._open_merge = False

    def undo(self) -> bool:
        if not self._done:
            return False
        cmd = self._done.pop()
        cmd.undo(self.doc)
        self._undone.append(cmd)
        self._open_merge = False
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        cmd = self._undone.pop()
        cmd.redo(self.doc)
        self._done.append(cmd)
        self._open_merge = False
        self._changed()
        return True

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._clean = 0
        self._changed()

    @property
    def undo_label(self) -> str | None:
        return self._done[-1].label if self._done else None

    @property
    def redo_label(self) -> str | None:
        return self._undone[-1].label if self._undone else None

    def set_clean(self) -> None:
        self._clean = len(self._done)
        self._changed()

    @property
    def is_clean(self) -> bool:
        return self._clean == len(self._done)
