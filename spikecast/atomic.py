"""Atomic file writes: every file spikecast saves (models, results, figures, downloads)
goes through :func:`atomic_path`, so a crash or an interrupt mid-write never leaves a
truncated file where a reader expects a complete one."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


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
