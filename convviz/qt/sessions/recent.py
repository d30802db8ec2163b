"""The recent sessions, a part of the session manager: the list kept in the settings and
the File menu's *Open recent session* entries."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from convviz.io.file_names import display_name
from convviz.qt.base.plain_text import plain

MAX_RECENT = 8


class RecentFiles:
    """The recent sessions' list and menu (a mixin of
    :class:`~convviz.qt.sessions.manager.SessionManager`)."""

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):  # QSettings returns a lone entry as a string
            value = [value]
        return [_from_setting(str(v)) for v in (value or [])][:MAX_RECENT]

    def _remember(self, path: Path) -> None:
        entry = str(Path(path).absolute())
        recent = [entry] + [r for r in self.recent_files() if r != entry]
        self.settings.setValue("recent", [_to_setting(r) for r in recent[:MAX_RECENT]])
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for entry in recent:
            self.recent_menu.addAction(display_name(entry), lambda e=entry: self.open_recent(e))
            self.recent_menu.actions()[-1].setToolTip(plain(display_name(entry, full=True)))
        self.recent_menu.setEnabled(bool(recent))

    def open_recent(self, entry: str) -> bool:
        """Open a recent session; one that no longer exists leaves the list, with a message."""
        if not Path(entry).is_file():
            kept = [_to_setting(r) for r in self.recent_files() if r != entry]
            self.settings.setValue("recent", kept)
            self._rebuild_recent()
            self.window.show_message(
                f"{display_name(entry)} no longer exists; removed from the list"
            )
            return False
        return self.open_session(entry)


def _to_setting(path: str) -> str:
    """A path as settings can hold it: a file name that is not UTF-8 as a file URL
    (settings text cannot hold its bytes; they would be lost and the entry broken)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeError:
        return "file://" + urllib.parse.quote(os.fsencode(path))


def _from_setting(entry: str) -> str:
    if entry.startswith("file://"):
        return os.fsdecode(urllib.parse.unquote_to_bytes(entry[len("file://") :]))
    return entry
