"""The undo history of a document: the commands done and undone, merged while a gesture
lasts, kept within a count and a byte budget, and whether the saved state is the current
one. The commands themselves are ``commands.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable

from convviz.core.commands import Command
from convviz.core.model import Document
from convviz.core.words import count

# The most memory the undo history may hold (the arrays its steps keep); beyond it the
# oldest steps are dropped.
HISTORY_BYTES = 256 * 2**20


class History:
    """The undo stack of one document.

    ``push`` applies a command (unless it was applied while the user was still acting, as a
    brush stroke is) and keeps it for undo; listeners hear about every change of the
    stack, which the Edit menu and the title bar's unsaved-changes mark use. The history
    keeps at most ``limit`` steps and ``byte_limit`` bytes of arrays; the oldest steps go
    first, and notice listeners are told in words.
    """

    def __init__(self, doc: Document, limit: int = 500, byte_limit: int = HISTORY_BYTES):
        self.doc = doc
        self.limit = limit
        self.byte_limit = byte_limit
        self._notices: list[Callable[[str], None]] = []
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._open_merge = False
        self._clean: int | None = 0
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def subscribe_notice(self, listener: Callable[[str], None]) -> None:
        """``listener(text)`` hears when steps are dropped to keep within the limits."""
        self._notices.append(listener)

    @property
    def nbytes(self) -> int:
        """Memory the kept steps hold (undo and redo)."""
        return sum(c.nbytes() for c in self._done) + sum(c.nbytes() for c in self._undone)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def push(self, cmd: Command, *, applied: bool = False) -> None:
        cmd.layer = self.doc.shown
        if not applied:
            cmd.redo(self.doc)
        if self._open_merge and self._done and not self._undone and self._done[-1].merge(cmd):
            if self._clean == len(self._done):
                self._clean = None  # the saved state was the one before this merge
            self._changed()
            return
        if self._clean is not None and self._clean > len(self._done):
            self._clean = None  # the saved state was undone and is now unreachable
        if applied:
            cmd.applied()
        self._done.append(cmd)
        self._undone.clear()
        self._open_merge = True
        self._drop_oldest()
        self._changed()

    def _drop_oldest(self) -> None:
        sizes = [c.nbytes() for c in self._done]
        by_count = max(0, len(self._done) - self.limit)
        n, kept = by_count, sum(sizes[by_count:])
        while n < len(sizes) and kept > self.byte_limit:
            kept -= sizes[n]
            n += 1
        if not n:
            return
        del self._done[:n]
        # The saved state stays reachable only if it was not before a dropped step.
        self._clean = None if self._clean is None or self._clean < n else self._clean - n
        if n == by_count:
            return  # the step count alone: as old as the app, not worth a word
        mib = f"{self.byte_limit / 2**20:g} MiB"
        if self._done:
            text = (
                f"The oldest {count(n - by_count, 'step')} can no longer be undone: "
                f"the undo history keeps at most {mib}"
            )
        else:
            text = f"This step is too large to undo: the undo history keeps at most {mib}"
        for listener in list(self._notices):
            listener(text)

    def close_merge(self) -> None:
        """End the current gesture: the next command starts a new undo step."""
        self._open_merge = False

    def undo(self) -> bool:
        if not self._done:
            return False
        cmd = self._done.pop()
        self.doc.show_layer(cmd.layer)  # a step is undone where it was made
        cmd.undo(self.doc)
        self._undone.append(cmd)
        self._open_merge = False
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        cmd = self._undone.pop()
        self.doc.show_layer(cmd.layer)
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
    def undo_layer(self) -> int | None:
        """The layer the next undo is made on (from 0), or None when there is none."""
        return self._done[-1].layer if self._done else None

    @property
    def redo_layer(self) -> int | None:
        return self._undone[-1].layer if self._undone else None

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
