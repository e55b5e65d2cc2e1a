"""The state file itself: opening it safely, keeping it usable while the server runs, explaining failures.

What can happen to a file under a long-running server, and what this module does about it:
- it is damaged: `PRAGMA quick_check` at open refuses it, naming the file and how to move it aside;
- it (or its folder) is read-only at start: a one-line error instead of a traceback;
- its disk fills up: SQLite rolls the transaction back and the caller gets "free space on ...";
- it is made immutable (`chattr +i`) while open: SQLite keeps the WAL index (`-shm`) memory-mapped,
  and the kernel answers a write to an immutable mapped file with SIGBUS, which kills the process
  (`mmap_size=0` does not help: it governs only the main file's mapping). So before each operation the
  `-shm` file is checked for writability, and the call fails cleanly instead; when the file is writable
  again, calls succeed again;
- it is deleted: the open connection still sees everything (on the unlinked inode), so the file is
  rebuilt from it at its path and reopened; nothing is lost. A process that finds the file replaced
  by another one (rebuilt by another server process, or restored by the user) reopens it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gemini_interactions_mcp.state.errors import (
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreUnavailableError,
)

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be deleted there, so nothing needs the lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 30.0
SIDE_FILES = ("-wal", "-shm")
CHECKPOINT_AFTER_CHANGES = 500
"""Rows changed between two checkpoints: about as often as SQLite's own (every 1,000 pages of log), a
turn changing 4 rows over about 6 pages."""

# Primary SQLite result codes (the low byte of `sqlite_errorcode`).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 26


def side_file(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def locked(exc: sqlite3.Error) -> bool:
    """Whether SQLite gave up waiting for a lock (SQLITE_BUSY or SQLITE_LOCKED, any extended code)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (_BUSY, _LOCKED)


class StateFile:
    """One SQLite connection to the state file, kept pointing at the file that is really at `path`.

    Not thread-safe: its owner calls it from one thread at a time (the store's worker thread, or the
    event loop's while that thread is idle).

    The connection never checkpoints on its own (SQLite would do it within the commit that fills the
    log, syncing the disk, on whichever thread commits): `checkpoint_due` says when to, and the owner
    runs `checkpoint` on its worker thread.
    """

    def __init__(self, path: Path, prepare: Callable[[sqlite3.Connection, Path], None]) -> None:
        self.path = path
        self._prepare = prepare
        """Brings a file just opened to the schema the store uses: at start, and whenever the store
        follows another file put at its path (a restored backup may be of an older release)."""
        self._started = False
        self.db = self._open()
        self._started = True
        self._identity, self._sidecars = self._identities()
        self._patient = True
        """Whether `db` waits up to BUSY_TIMEOUT_SECONDS for a lock (as `usable` wants) or not at all
        (as `ready` wants); switched only when the other one is asked for."""
        self._changes_checkpointed = 0
        """`db.total_changes` when a checkpoint was last found due."""
        self._path_name = str(path)
        self._shm_name = str(side_file(path, "-shm"))
        """The paths `usable` checks before every call, as strings: os.stat and os.access take them as
        they are (a Path costs a few microseconds more per call)."""

    # -- opening -----------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self._refuse_unwritable()
        try:
            db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self.explain(exc) from None
        try:
            db.execute("PRAGMA mmap_size=0")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA wal_autocheckpoint=0")  # see the class docstring
            # 512 KiB of page cache (SQLite's default is 2 MiB): reads are point lookups by key, and a
            # server serving many conversations should not grow by a page cache it barely reuses.
            db.execute("PRAGMA cache_size=-512")
            problems = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise self._corrupt(problems[0])
            self._prepare(db, self.path)
        except sqlite3.Error as exc:
            db.close()
            raise self.explain(exc) from None
        except BaseException:
            db.close()
            raise
        return db

    def _refuse_unwritable(self) -> None:
        """Name the read-only file or folder up front: SQLite's own errors would not say which."""
        folder = self.path.parent
        for candidate in (self.path, *(side_file(self.path, s) for s in SIDE_FILES)):
            if candidate.exists() and not os.access(candidate, os.W_OK):
                raise self._read_only(candidate)
            if not candidate.exists() and not os.access(folder, os.W_OK):
                raise self._read_only(folder, what="folder")

    def _stat_identity(self, path: Path | None = None) -> tuple[int, int]:
        st = os.stat(path or self.path)
        return st.st_dev, st.st_ino

    def _identities(self) -> tuple[tuple[int, int], dict[Path, tuple[int, int]]]:
        """Which inodes the open connection uses: the file's, and its -wal and -shm files'."""
        sidecars = {side_file(self.path, s): self._stat_identity(side_file(self.path, s)) for s in SIDE_FILES}
        return self._stat_identity(), sidecars

    # -- while running -----------------------------------------------------------------------------

    def usable(self) -> sqlite3.Connection:
        """The connection, waiting for locks, after making sure it still is the file at `path` and is
        safe to touch (following, rebuilding or refusing it when it is not)."""
        try:
            st = os.stat(self._path_name)
        except FileNotFoundError:
            self._rebuild()
        else:
            if (st.st_dev, st.st_ino) != self._identity:
                self._follow_replacement()
            elif not os.access(self._shm_name, os.W_OK):
                shm = side_file(self.path, "-shm")
                if shm.exists():
                    raise self._read_only(shm)
                self._switch_to_current("lost its -shm file")
        if not self._patient:
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            self._patient = True
        return self.db

    def ready(self) -> sqlite3.Connection | None:
        """The connection, set to answer SQLITE_BUSY at once rather than wait for a lock, if the file is
        as `usable` would leave it; None when `usable` has something to do (or to refuse)."""
        try:
            st = os.stat(self._path_name)
        except OSError:
            return None
        if (st.st_dev, st.st_ino) != self._identity or not os.access(self._shm_name, os.W_OK):
            return None
        if self._patient:
            self.db.execute("PRAGMA busy_timeout = 0")
            self._patient = False
        return self.db

    def checkpoint_due(self) -> bool:
        """True once per CHECKPOINT_AFTER_CHANGES rows the connection changed."""
        changes = self.db.total_changes
        if 0 <= changes - self._changes_checkpointed < CHECKPOINT_AFTER_CHANGES:
            return False
        self._changes_checkpointed = changes
        return True

    def checkpoint(self) -> None:
        """Copy the log into the file (syncing both), without waiting for anyone: a checkpoint another
        process runs, or a reader still on the log, just leaves the rest to the next one.

        Once the log is all copied, the next write starts it over, and syncs its new header: that write
        is made here (the header page, rewritten as it is), not left to the next caller, who may be
        on the event loop. Failures are logged; the next checkpoint due tries again.
        """
        db = self.ready()
        if db is None:  # the next call with `usable` sees to the file
            return
        try:
            _, logged, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if logged > 0 and copied == logged:
                db.execute("BEGIN IMMEDIATE")
                (version,) = db.execute("PRAGMA user_version").fetchone()
                db.execute(f"PRAGMA user_version = {int(version)}")
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if not locked(exc):
                log.warning("Checkpointing the state file %s failed: %s", self.path, exc)

    def _rebuild(self) -> None:
        """Recreate the deleted file at its path from what the open connection still sees."""
        log.error(
            "The state file %s was deleted while the server was running: recreating it from the open copy",
            self.path,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._folder_lock():
            if self.path.exists():  # another server process rebuilt it first
                self._reopen()
                return
            for suffix in SIDE_FILES:  # leftovers of the deleted file: never pair them with the new one
                side_file(self.path, suffix).unlink(missing_ok=True)
            scratch = side_file(self.path, f".rebuild-{os.getpid()}")
            scratch.unlink(missing_ok=True)
            try:
                copy = sqlite3.connect(scratch)
                try:
                    self.db.backup(copy)
                finally:
                    copy.close()
                os.replace(scratch, self.path)
            except sqlite3.Error as exc:
                scratch.unlink(missing_ok=True)
                raise self.explain(exc) from None
            except OSError as exc:
                scratch.unlink(missing_ok=True)
                raise StoreReadOnlyError(
                    f"The state file {self.path} was deleted and could not be recreated ({exc.strerror}): "
                    "make its folder writable; the server keeps trying on each call."
                ) from None
            self._reopen()

    def _follow_replacement(self) -> None:
        """Switch to the file now at the path. Its -wal and -shm files must be its own: if the old
        file's are still there (the user put another file in place), they are removed first, because
        SQLite would replay the old log onto the new file."""
        log.warning(
            "The state file %s was replaced by another file while the server was running: using the new one",
            self.path,
        )
        with self._folder_lock():
            for sidecar, identity in self._sidecars.items():
                try:
                    if self._stat_identity(sidecar) == identity:
                        sidecar.unlink()
                except FileNotFoundError:
                    pass
            self._reopen()

    def _switch_to_current(self, why: str) -> None:
        log.warning("The state file %s %s while the server was running: reopening it", self.path, why)
        with self._folder_lock():
            self._reopen()

    def _reopen(self) -> None:
        fresh = self._open()
        _abandon(self.db)
        self.db = fresh
        self._identity, self._sidecars = self._identities()
        self._patient = True
        self._changes_checkpointed = 0

    @contextmanager
    def _folder_lock(self) -> Iterator[None]:
        """Serialise rebuilds among the server processes sharing this file (a lock on its folder)."""
        if fcntl is None:
            yield
            return
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def close(self) -> None:
        self.db.close()

    # -- explaining failures -----------------------------------------------------------------------

    def explain(self, exc: sqlite3.Error) -> StoreError:
        """The store error that tells the user what happened to the file and what to do."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == _FULL:
            return StoreFullError(
                f"The disk holding the state file {self.path} is full: free space on that filesystem "
                "(nothing of this call was saved), then try again."
            )
        if code in (_CORRUPT, _NOTADB):
            return self._corrupt(str(exc))
        if locked(exc):
            return StoreUnavailableError(
                f"The state file {self.path} stayed locked by another process for "
                f"{BUSY_TIMEOUT_SECONDS:g} s: try again."
            )
        if code in (_READONLY, _PERM, _CANTOPEN, _IOERR):
            for candidate in (self.path, *(side_file(self.path, s) for s in SIDE_FILES)):
                if candidate.exists() and not os.access(candidate, os.W_OK):
                    return self._read_only(candidate)
            if not os.access(self.path.parent, os.W_OK):
                return self._read_only(self.path.parent, what="folder")
            return StoreUnavailableError(
                f"Reading or writing the state file {self.path} failed ({exc}): check the disk it is on, "
                "then try again."
            )
        return StoreUnavailableError(f"The state file {self.path} could not be used ({exc}).")

    def _read_only(self, culprit: Path, *, what: str = "file") -> StoreReadOnlyError:
        fix = "make it writable (chmod u+w, or chattr -i)"
        if self._started:
            advice = f"{fix}; the server carries on as soon as it is."
        else:
            advice = f"{fix}, or choose another file with --state (or --state memory)."
        return StoreReadOnlyError(
            f"The state {what} {culprit} is not writable (read-only or immutable): {advice}"
        )

    def _corrupt(self, detail: str) -> StoreCorruptError:
        detail = " ".join(detail.replace("*** in database main ***", "").split())
        return StoreCorruptError(
            f"The state file {self.path} is damaged ({detail}): move it aside together with its -wal "
            "and -shm files (the server then starts with a new empty one), or choose another file with "
            "--state."
        )


def _abandon(db: sqlite3.Connection) -> None:
    """Keep a connection to a deleted or replaced file open until the process ends, on purpose.

    Closing the last connection to a WAL database checkpoints it and then deletes `<path>-wal` and
    `<path>-shm` *by name*, and those names now belong to the new file, possibly in use by another
    process. So the connection is never closed: an extra reference keeps it alive even through
    interpreter shutdown, and the operating system releases its file handles when the process exits.
    """
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(db))
