"""Write a file so that a crash, a full disk or a power cut never leaves a broken one behind.

The data goes to a temporary file in the target's folder (so the final rename stays on
one file system and is atomic), is flushed to the disk, and only then replaces the
target. Until that rename the old file is untouched; after it the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np


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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
