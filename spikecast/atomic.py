"""Atomic file writes: every file spikecast saves (models, results, figures, downloads)
goes through :func:`atomic_path`, so a crash or an interrupt mid-write never leaves a
truncated file where a reader expects a complete one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path next to ``path`` that replaces ``path`` when the block succeeds.

    The caller writes the temporary file by name. On success it gets the permissions a
    plain ``open`` would give (``mkstemp`` makes files private) and is renamed over
    ``path`` with :func:`os.replace`, atomic on POSIX and Windows within one folder. On any
    exception, ``KeyboardInterrupt`` included, the temporary file is removed and ``path``
    is left as it was. Missing parent folders are created.

    Example:
        >>> with atomic_path("results.csv") as tmp:  # doctest: +SKIP
        ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
