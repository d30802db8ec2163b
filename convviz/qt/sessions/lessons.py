"""Lessons, a part of the session manager: the built-in lessons of the Lessons menu, one
step to the next or previous, and saving the current session as a lesson."""

from __future__ import annotations

from convviz.core.lessons import LESSONS, lesson_path
from convviz.qt.sessions.session_files import _with_suffix


class Lessons:
    """Opens the built-in lessons and saves lessons (a mixin of
    :class:`~convviz.qt.sessions.manager.SessionManager`)."""

    def open_lesson(self, index: int) -> bool:
        """Open built-in lesson ``index`` (of ``LESSONS``) and show its text."""
        if not self.maybe_save():
            return False
        opened = self._open(lesson_path(LESSONS[index]), remember=False)
        if opened:
            # A built-in lesson is a starting point: Save must not write into the app.
            self.path = None
            self.dock.set_position(index, len(LESSONS))
            self._update_title()
        return opened

    def step_lesson(self, delta: int) -> None:
        index = self.dock.index + delta
        if 0 <= index < len(LESSONS):
            self.open_lesson(index)

    def save_as_lesson(self, path=None, text=None, wait: bool = True) -> bool:
        """Save the current session with an explanation text, shown when it is opened."""
        text = text if text is not None else self.ask_lesson_text(self.lesson_text or "")
        if text is None:
            return False
        path = path or self.ask_save_path("Save as lesson")
        if not path:
            return False
        return self._write(_with_suffix(path), text.strip() or None, wait, as_lesson=True)


def _lesson_name(index: int) -> str:
    """A lesson as the title bar names it: 'lesson 2 of 8: Colour input: …'."""
    title = LESSONS[index].title
    number = f"{index + 1}. "
    title = title[len(number) :] if title.startswith(number) else title
    return f"lesson {index + 1} of {len(LESSONS)}: {title}"
