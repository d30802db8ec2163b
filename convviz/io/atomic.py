"""Write a file so that a crash, a full disk or a power cut never leaves a broken one behind.

The data goes to a temporary file in the target's folder (so the final rename stays on
one file system and is atomic), is flushed to the disk, and only then replaces the
target. Until that rename the old file is untouched; after it the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

TEMP_SUFFIX = ".tmp"
# A temporary file older than this is not being written any more: its save was killed.
STALE_TEMP_S = 60.0
# mkstemp's names: the prefix, 8 characters of this alphabet, the suffix.
_RANDOM_PART = r"[a-z0-9_]{8}"


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: int = 0o644) -> Iterator[BinaryIO]:
    """Open a binary file that replaces ``path`` only if the ``with`` block succeeds.

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace.
    mode : int
        Permission bits of the result (mkstemp's private 0600 would surprise a user
        sharing a saved file).

    Yields
    ------
    BinaryIO
        The temporary file to write to.

    Raises
    ------
    OSError
        When the folder cannot be written to; ``path`` is then unchanged and no
        temporary file is left behind. Whatever the block raises propagates the same way.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise _about(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and tmp in (exc.filename, exc.filename2):
            raise _about(exc, path) from None
        raise
    _sync_folder(path.parent)


def _about(exc: OSError, path: Path) -> OSError:
    """The same error, naming the file the user asked for rather than the temporary one."""
    return type(exc)(exc.errno, exc.strerror, str(path))


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_npy_atomic(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` to ``path`` as .npy (never pickled) through :func:`atomic_writer`."""
    with atomic_writer(path) as f:
        np.save(f, array, allow_pickle=False)


def stale_temp_files(
    folder: str | os.PathLike[str], target: str = ".+", older_than: float = STALE_TEMP_S
) -> list[Path]:
    """The temporary files :func:`atomic_writer` left in ``folder`` when a save was killed.

    Only names of exactly the form it makes (``.NAME.xxxxxxxx.tmp``) whose NAME matches
    the regular expression ``target``, regular files of this user, last written more than
    ``older_than`` seconds ago (so a save still running in another instance is left alone).
    """
    pattern = re.compile(rf"\.(?:{target})\.{_RANDOM_PART}{re.escape(TEMP_SUFFIX)}", re.DOTALL)
    now = time.time()
    found = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if not pattern.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
                if entry.is_file(follow_symlinks=False) and mine and now - st.st_mtime > older_than:
                    found.append(Path(entry.path))
    return found


def remove_stale_temp_files(
    folder: str | os.PathLike[str], target: str = ".+", older_than: float = STALE_TEMP_S
) -> list[Path]:
    """Delete :func:`stale_temp_files` (same parameters); the ones deleted."""
    removed = []
    for path in stale_temp_files(folder, target, older_than):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed
