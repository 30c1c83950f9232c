"""Atomic file writes: every file spikecast saves (models, results, figures, downloads)
goes through :func:`atomic_path`, so a crash or an interrupt mid-write never leaves a
truncated file where a reader expects a complete one."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "remove_stale_temporaries", "STALE_PART_SECONDS"]

#: A temporary file untouched for this many seconds is a leftover of a killed writer (a
#: running download writes its file at least once per read timeout).
STALE_PART_SECONDS = 900.0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """An existing file keeps its mode (a private 0600 file stays private); a new one gets
    what a plain ``open`` would give."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path next to ``path`` that replaces ``path`` when the block succeeds.

    The caller writes the temporary file by name. On success it gets the mode of the file
    it replaces, or for a new file the permissions a plain ``open`` would give (``mkstemp``
    makes files private), and is renamed over
    ``path`` with :func:`os.replace`, atomic on POSIX and Windows within one folder. On any
    exception, ``KeyboardInterrupt`` included, the temporary file is removed and ``path``
    is left as it was. Missing parent folders are created. A ``path`` that is a symbolic
    link keeps its link: the file it points to is replaced.

    Example:
        >>> with atomic_path("results.csv") as tmp:  # doctest: +SKIP
        ...     frame.to_csv(tmp)
    """
    path = Path(path)
    if path.is_symlink():  # replace the file the link points to, and keep the link
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)  # what a killed (SIGKILL) earlier write left behind
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _part_pattern(name: str) -> re.Pattern[str]:
    """The names :func:`atomic_path` gives temporary files for ``name``."""
    return re.compile(rf"\.{re.escape(name)}\.[A-Za-z0-9_]{{8}}\.(?:part|tmp)")


def remove_stale_temporaries(dest: str | os.PathLike,
                             older_than: float = STALE_PART_SECONDS) -> list[Path]:
    """Remove the temporary files a killed write (save or download) of ``dest`` left
    behind; return them.

    Only files named as :func:`atomic_path` names them for ``dest``
    (``.<name>.XXXXXXXX.part`` or ``.tmp``), in ``dest``'s folder (the link target's folder
    for a symbolic link), and not modified for ``older_than`` seconds are removed, so a
    write still running is left alone. Nothing else is touched. :func:`atomic_path` calls
    it before every write.
    """
    dest = Path(dest)
    folders = {dest.parent}
    if dest.is_symlink():
        folders.add(Path(os.path.realpath(dest)).parent)
    pattern = _part_pattern(dest.name if not dest.is_symlink()
                            else Path(os.path.realpath(dest)).name)
    removed = []
    now = time.time()
    for folder in folders:
        removed += _remove_matching(folder, pattern, now - older_than)
    return removed


def _remove_matching(folder: Path, pattern: re.Pattern[str], before: float) -> list[Path]:
    """Unlink the regular files in ``folder`` whose names match and that are older."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no folder yet, or unreadable: nothing of ours to clean
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # vanished meanwhile, or not ours to remove
            continue
    return removed
