"""The archive's lock: who may write to an archive, and who relies on nobody writing.

One lock file per archive, ``<real path of the database>.crawl-lock`` (named after the
resolved path, so a symlink or another spelling of the path finds the same lock), locked with
``flock``, which the kernel lets go of when the process dies, even by SIGKILL:

- a writer (a crawl, ``qiosk reextract``) holds it exclusively, for its whole run;
- ``qiosk serve`` without ``--live`` holds it shared: Datasette opens the file immutable, and a
  write under it would make it answer "database disk image is malformed".

A holder writes ``<role> <pid>`` into the file, so a refusal names who holds the lock. The
file is removed when the last holder lets go, only while it holds the lock exclusively, and a
taker checks that the file it locked is still the one at the path (not one unlinked since it
opened it), so nothing is left behind and no two holders lock different inodes.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Self


class ArchiveBusy(Exception):
    """Another process holds the archive's lock in a way that excludes what was asked."""


def lock_path(db: str | Path) -> Path:
    """The lock file of the archive at ``db`` (whatever path or symlink names it)."""
    real = Path(db).resolve()
    return real.with_name(real.name + ".crawl-lock")


def _holders(path: Path, role: str) -> list[int]:
    """Pids of the live processes that wrote ``<role> <pid>`` into the lock file."""
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return []
    pids = []
    for line in lines:
        name, _, pid = line.partition(" ")
        if name == role and pid.isdigit() and _alive(int(pid)):
            pids.append(int(pid))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ArchiveLock:
    """``flock`` on the archive's lock file: ``shared`` for a reader that needs the file to
    stay as it is, exclusive for a writer. Raises :class:`ArchiveBusy` (never waits)."""

    def __init__(self, db: str | Path, *, role: str = "crawl", shared: bool = False) -> None:
        self.db = db
        self.path = lock_path(db)
        self.role = role
        self.shared = shared
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError as error:
                os.close(fd)
                raise ArchiveBusy(self._refusal()) from error
            if self._same_file(fd):
                break
            os.close(fd)  # the holder removed it between our open and our flock: again
        self._fd = fd
        if not shared:
            os.ftruncate(fd, 0)
        os.write(fd, f"{role} {os.getpid()}\n".encode("ascii"))

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def _refusal(self) -> str:
        served = _holders(self.path, "serve")
        crawls = _holders(self.path, "crawl")
        others = {role: _holders(self.path, role) for role in ("reextract", "import")}
        if self.shared:
            writer = (crawls + others["reextract"] + others["import"] + [0])[0]
            by = f" (pid {writer})" if writer else ""
            return (
                f"{self.db}: a crawl, reextract or import{by} is writing to this archive; "
                "serve it with --live to browse it meanwhile"
            )
        if served and not crawls and not any(others.values()):
            return (
                f"{self.db}: the archive is served immutable by pid {served[0]} (qiosk serve); "
                "stop it, or serve with --live, before writing to it"
            )
        for role, pids in others.items():
            if pids and not crawls:
                return f"{self.db}: qiosk {role} is writing to this archive (pid {pids[0]})"
        by = f" (pid {crawls[0]})" if crawls else ""
        return f"{self.db}: another crawl is writing to this archive{by}"

    def release(self) -> None:
        """Let go; remove the lock file when no one else holds it (only while holding it
        exclusively, so no one can be holding or about to hold the removed file)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self.shared:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # other servers: leave it
            if self._same_file(fd):
                os.unlink(self.path)
        except (BlockingIOError, FileNotFoundError):
            pass
        finally:
            os.close(fd)  # closing the descriptor lets go of the lock

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class CrawlLock(ArchiveLock):
    """The exclusive lock a crawl holds for its whole run."""

    def __init__(self, db: str | Path, *, role: str = "crawl") -> None:
        super().__init__(db, role=role)


def serving_lock(db: str | Path, *, live: bool) -> AbstractContextManager[object]:
    """What ``qiosk serve`` holds while it serves ``db``: the shared lock when the file is
    opened immutable (so no crawl writes under it; :class:`ArchiveBusy` while one does),
    nothing with ``--live``."""
    if live or not Path(db).is_file():  # nothing to protect (serve says what is missing)
        return nullcontext()
    return ArchiveLock(db, role="serve", shared=True)


def pause_point(variable: str, timeout: float = 120.0) -> None:
    """A test's barrier: when the environment names a file in ``variable``, create
    ``<file>.waiting`` and wait (bounded by ``timeout``) until ``<file>`` exists."""
    target = os.environ.get(variable)
    if not target:
        return
    Path(target + ".waiting").touch()
    deadline = time.monotonic() + timeout
    while not Path(target).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
