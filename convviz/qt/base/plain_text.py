"""Text from files shown as text, never rendered as rich text.

Qt guesses that a string is rich text when it holds something like a tag before its
first line break; a QLabel or QMessageBox then renders it as HTML and reads any image it
names from the file system (``<img src="/dev/zero">`` grows memory without end, a FIFO
blocks forever). Channel names, file names and error messages that quote a file's content
come from files, so every such text goes through :func:`plain` (for widgets that guess)
or ``html.escape`` (for text inserted into HTML, such as map titles).
"""

from __future__ import annotations

from PySide6.QtGui import Qt


def plain(text) -> str:
    """``text`` as a widget that guesses its format shows it: literally, tags included."""
    text = str(text)
    if not Qt.mightBeRichText(text):
        return text
    # Normal white space: the lines still wrap (Qt's default mode makes spaces unbreakable).
    return Qt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal)
