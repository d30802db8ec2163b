"""File names as people read them, for every message and title that names a file.

On Linux a file name is bytes; Python keeps the bytes that are not UTF-8 as lone
surrogates (``'\\udcff'``), which print as escapes or not at all. File managers (GLib's
``g_filename_display_name``) show each such byte as the replacement character �; so
does :func:`display_name`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["display_name"]


def display_name(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes], *, full: bool = False
) -> str:
    """The name of ``path`` (its whole path with ``full=True``) as a file manager shows it.

    Parameters
    ----------
    path : str, bytes or os.PathLike
    full : bool
        Show the whole path, not only the last part.

    Returns
    -------
    str
        Printable text: every byte of the name that is not UTF-8 becomes U+FFFD.
    """
    text = os.fsdecode(path)
    if not full:
        text = Path(text).name or text
    try:
        return os.fsencode(text).decode("utf-8", "replace")
    except UnicodeError:  # a lone surrogate that no file system produced
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
