"""Temporary files of saves killed midway are removed; nothing else is."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from convviz.io.atomic import STALE_TEMP_S, remove_stale_temp_files
from tests.qt.test_recovery import install

ROOT = Path(__file__).resolve().parents[2]


def killed_save(target: Path) -> Path:
    """The temporary file a save to ``target`` leaves when its process dies mid-write."""
    script = textwrap.dedent(
        """
        import os, sys
        from convviz.io.atomic import atomic_writer
        with atomic_writer(sys.argv[1]) as f:
            f.write(b"half a session")
            f.flush()
            os._exit(9)
        """
    )
    before = set(target.parent.iterdir())
    subprocess.run([sys.executable, "-c", script, str(target)], cwd=ROOT, check=False)
    (left,) = set(target.parent.iterdir()) - before
    assert left.name.startswith(f".{target.name}.") and left.name.endswith(".tmp")
    return left


def age(path: Path, seconds: float = STALE_TEMP_S * 3) -> Path:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))
    return path


def unrelated(folder: Path) -> list[Path]:
    """Files the cleaning must keep, whatever their age."""
    kept = [
        folder / ".notes.txt.abcd1234.tmp",  # another program's target (in the recovery folder)
        folder / "recovery-1.convviz.abcd1234.tmp",  # not hidden: not a name we make
        folder / ".recovery-1.convviz.abcd123.tmp",  # 7 random characters, not 8
        folder / ".recovery-1.convviz.tmp",
        folder / "keep.tmp",
    ]
    for path in kept:
        path.write_bytes(b"x")
        age(path)
    return kept


def test_starting_removes_stale_temp_files_of_the_recovery_folder(make_window, tmp_path):
    folder = tmp_path / "recovery"
    folder.mkdir()
    stale = age(killed_save(folder / "recovery-0123456789ab.convviz"))
    fresh = killed_save(folder / "recovery-ba9876543210.convviz")  # maybe still being written
    kept = unrelated(folder)
    install(make_window(), folder)
    assert not stale.exists()
    assert fresh.exists()
    assert all(p.exists() for p in kept)


def test_saving_removes_stale_temp_files_of_that_folder(make_window, tmp_path):
    folder = tmp_path / "lessons"
    folder.mkdir()
    stale = [
        age(killed_save(folder / "lesson.convviz")),
        age(killed_save(folder / "other lesson.CONVVIZ")),
    ]
    fresh = killed_save(folder / "lesson.convviz")
    export = age(killed_save(folder / "figure.png"))  # not a session: not ours to judge
    kept = [p for p in unrelated(folder) if "notes" not in p.name]
    m = install(make_window(), tmp_path)
    assert all(p.exists() for p in stale)  # nothing saved there yet
    assert m.save_as(folder / "lesson.convviz")
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and export.exists()
    assert all(p.exists() for p in kept)


def test_a_directory_or_link_named_like_a_temp_file_is_kept(tmp_path):
    (tmp_path / ".a.convviz.abcd1234.tmp").mkdir()
    target = tmp_path / "precious"
    target.write_bytes(b"x")
    age(target)
    link = tmp_path / ".b.convviz.abcd1234.tmp"
    link.symlink_to(target)
    age(tmp_path / ".a.convviz.abcd1234.tmp")
    assert remove_stale_temp_files(tmp_path) == []
    assert link.is_symlink() and target.exists()
