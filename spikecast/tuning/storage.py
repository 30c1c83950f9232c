"""Where a study lives, and how workers sharing it keep to one trial budget.

A study is stored in a database, SQLite by default: a file path (``tune.db``) or any
database URL Optuna accepts (``sqlite:///tune.db``, ``postgresql://...``,
``mysql://...``). Every process or machine that opens the same study in the same database
works on it, which is how a search runs on several workers. :func:`open_storage` opens it
with

- a heartbeat: a running trial writes one every ``heartbeat_interval`` seconds, so that a
  worker that was killed leaves no trial RUNNING for ever: after ``2 x heartbeat_interval``
  seconds without one, the next worker marks it FAIL and queues its parameters again
  (Optuna's ``RetryHeartbeatStaleTrialCallback``), and the finished trials stay;
- for SQLite, a long lock timeout (workers wait for each other's writes instead of failing
  with "database is locked"), and the file lock below held while the database is opened,
  so that workers starting together on a new file do not both create its tables (the
  loser would fail with ``UNIQUE constraint failed: alembic_version``).

:class:`TrialBudget` keeps the number of finished trials (COMPLETE or PRUNED) at
``n_trials`` whatever the number of workers: a worker starts a trial only while finished
plus running trials are fewer than ``n_trials`` (and waits while they are not, until a
running trial finishes or is found stale), and counts and starts under a file lock next to
an SQLite database, so two workers never both take the last trial. (Other databases have
no such lock: two workers that start at the same instant may run one trial more.)
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import TrialState

from spikecast.exceptions import InvalidParameterError

__all__ = ["DEFAULT_STORAGE", "storage_url", "open_storage", "lock_file", "TrialBudget", "FINISHED"]

#: the SQLite file of studies when no storage is given (in the working directory)
DEFAULT_STORAGE = "spikecast-tune.db"
#: the user attribute a worker sets on its trial once it runs (:meth:`TrialBudget.started`)
STARTED_ATTR = "spikecast_started"
#: the trial states that count toward ``n_trials``
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_SQLITE = "sqlite:///"


def storage_url(storage: str | os.PathLike | None) -> str:
    """The database URL of ``storage``: a URL as it is, a file path as an SQLite URL
    (``None``: :data:`DEFAULT_STORAGE` in the working directory)."""
    if storage is None:
        storage = DEFAULT_STORAGE
    text = os.fspath(storage)
    if not isinstance(text, str) or not text:
        raise InvalidParameterError(f"storage must be a file path or a database URL, got "
                                    f"{storage!r}")
    return text if "://" in text else _SQLITE + text


def _sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (``None``: another database, or in memory)."""
    if not url.startswith(_SQLITE) or url in (_SQLITE, _SQLITE + ":memory:"):
        return None
    return Path(url[len(_SQLITE):].split("?", 1)[0])


def open_storage(storage, heartbeat_interval: int = 10):
    """The Optuna storage of ``storage``: an Optuna storage object as it is; a path or URL
    as an ``RDBStorage`` with a heartbeat (see the module docstring).

    Raises:
        InvalidParameterError: the database cannot be opened (the message names it).
    """
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    url = storage_url(storage)
    engine_kwargs: dict = {}
    sqlite = _sqlite_file(url)
    if sqlite is not None:
        sqlite.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 120}}
    lock = _FileLock(lock_file(url))
    lock.acquire()
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, engine_kwargs=engine_kwargs,
                              heartbeat_interval=int(heartbeat_interval),
                              grace_period=2 * int(heartbeat_interval),
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                                  max_retry=1))
    except (ImportError, ValueError, RuntimeError) as err:  # sqlalchemy's errors too
        raise InvalidParameterError(f"storage {url!r} cannot be opened: {err}") from err
    finally:
        lock.release()


def lock_file(url: str | None) -> Path | None:
    """The lock file beside an SQLite database (``None``: another database, no lock)."""
    sqlite = _sqlite_file(url) if url else None
    return None if sqlite is None else sqlite.with_name(sqlite.name + ".lock")


class _FileLock:
    """An exclusive lock on a file (``fcntl.flock``; a no-op where there is no fcntl)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Block until the lock is held (held already: nothing)."""
        if self.path is None or self._fd is not None:
            return
        try:
            import fcntl
        except ImportError:  # Windows: no lock, as for other databases
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd

    def release(self) -> None:
        """Release the lock (not held: nothing)."""
        if self._fd is None:
            return
        import fcntl

        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class TrialBudget:
    """``n_trials`` finished trials in ``study``, however many workers share it.

    Call :meth:`next` before every trial: ``"done"`` (stop), ``"wait"`` (every remaining
    trial is running elsewhere: sleep and ask again) or ``"go"``, in which case the budget
    stays locked until :meth:`started` (call it once the new trial exists, from inside the
    objective) or :meth:`release`.

    Args:
        study: the Optuna study.
        n_trials: the finished trials (COMPLETE or PRUNED) wanted in all.
        storage: the storage object the study was created with (:func:`open_storage`'s
            result): an SQLite database gets a lock file beside it, and a storage with
            heartbeats gets each trial's first one in :meth:`started`.
    """

    def __init__(self, study, n_trials: int, storage=None):
        self.study = study
        self.n_trials = int(n_trials)
        self._storage = storage
        url = getattr(storage, "url", None)  # an RDBStorage's database
        self._lock = _FileLock(lock_file(url) if isinstance(url, str) else None)

    def finished(self) -> int:
        """The trials of the study that count toward the budget."""
        return len(self.study.get_trials(deepcopy=False, states=FINISHED))

    def next(self) -> str:
        """``"done"``, ``"wait"`` or ``"go"`` (then locked until :meth:`started`)."""
        self._lock.acquire()
        try:
            with warnings.catch_warnings():  # "experimental" in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                fail_stale_trials(self.study)  # trials of killed workers: FAIL, queued again
            self._fail_orphans()
            # finished and running counted from one read: a trial that finishes between two
            # reads would be counted in neither, and one trial too many would start (two
            # workers ran 21 of 20 trials that way)
            states = [t.state for t in self.study.get_trials(deepcopy=False)]
            done = sum(s in FINISHED for s in states)
            if done >= self.n_trials:
                state = "done"
            elif done + states.count(TrialState.RUNNING) >= self.n_trials:
                state = "wait"
            else:
                return "go"
        except BaseException:
            self._lock.release()
            raise
        self._lock.release()
        return state

    def _fail_orphans(self) -> None:
        """FAIL the RUNNING trials that never reached :meth:`started` (their worker died
        between creating the trial and its first heartbeat, which Optuna's stale check
        needs, so they would stay RUNNING for ever). Only under the SQLite lock: every
        worker marks its trial in :meth:`started` before it releases the lock, so a trial
        without the mark while the lock is held is an orphan."""
        if self._lock.path is None:
            return
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if not trial.user_attrs.get(STARTED_ATTR):
                self.study.tell(trial.number, state=TrialState.FAIL)

    def started(self, trial=None) -> None:
        """The new trial exists (RUNNING): give it its first heartbeat, mark it (``trial``)
        as started by a live worker, and let other workers count it now."""
        try:
            if trial is not None:
                self._first_heartbeat(trial)
                trial.set_user_attr(STARTED_ATTR, True)
        finally:
            self._lock.release()

    def _first_heartbeat(self, trial) -> None:
        """Record ``trial``'s heartbeat now, before it is marked: Optuna's heartbeat thread
        may not have written one yet, and a worker killed in between would leave a marked
        trial that neither Optuna's stale check (no heartbeat) nor :meth:`_fail_orphans`
        (marked) fails, and the budget would wait for it for ever."""
        storage = self._storage
        if not isinstance(storage, RDBStorage) or storage.get_heartbeat_interval() is None:
            return
        study_id = storage.get_study_id_from_name(self.study.study_name)
        storage.record_heartbeat(
            storage.get_trial_id_from_study_id_trial_number(study_id, trial.number))

    @contextlib.contextmanager
    def trial(self):
        """The block that runs one trial; the lock is released when it ends at the latest."""
        try:
            yield
        finally:
            self._lock.release()

    @staticmethod
    def pause(seconds: float = 1.0) -> None:
        """Wait before asking again (``"wait"``)."""
        time.sleep(seconds)
