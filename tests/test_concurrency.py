"""Concurrent runs on one archive, in real processes (issue 13, acceptance): crawl vs reextract,
two crawls through two paths (a symlink), crawl vs ``qiosk serve``, crawl vs an external writer
holding SQLite's write lock. In each the final archive equals what the runs give one after the
other (compared as ``test_resume`` compares: natural keys, not ids or times), and every loss is
an ``errors`` row plus a non-zero exit.

Synchronisation is by barriers, never by sleeps: a run paused by ``QIOSK_PAUSE_CRAWL`` /
``QIOSK_PAUSE_REEXTRACT`` (it holds the lock, creates ``<file>.waiting`` and waits for
``<file>``), a line the child prints, or a file appearing, each waited for with a bounded
deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from support.crawl import PROFILE, REPO, crawl_cli
from support.resume import count_captures, natural_rows

from qiosk_scraper.archive import Archive
from qiosk_scraper.locks import lock_path
from qiosk_scraper.mirror import RunningMirror, running_mirror

QIOSK = str(Path(sys.executable).parent / "qiosk")
DEADLINE = 120.0


@dataclass
class Child:
    """A running command whose stderr lines are collected as they come."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def read(self, stream: IO[str]) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, test: Callable[[list[str]], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        with self.changed:
            while not test(self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reading()):
                    raise AssertionError(f"never saw {what}:\n" + "\n".join(self.lines[-40:]))
                self.changed.wait(min(left, 0.2))

    def _reading(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def finish(self) -> tuple[int, str, str]:
        code = self.process.wait(timeout=DEADLINE * 3)
        for thread in self.threads:
            thread.join(timeout=DEADLINE)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code, "\n".join(self.out), "\n".join(self.lines)

    threads: list[threading.Thread] = field(default_factory=list)
    out: list[str] = field(default_factory=list)


def start(command: list[str], **env: str) -> Child:
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    child = Child(process)
    assert process.stderr is not None and process.stdout is not None
    stdout = process.stdout
    child.threads = [
        threading.Thread(target=child.read, args=(process.stderr,), daemon=True),
        threading.Thread(target=lambda: child.out.extend(stdout.read().splitlines()), daemon=True),
    ]
    for thread in child.threads:
        thread.start()
    return child


def run(command: list[str], **env: str) -> tuple[int, str, str]:
    return start(command, **env).finish()


def wait_file(path: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def paused(variable: str, barrier: Path, command: list[str]) -> Child:
    """Start ``command`` paused at its barrier (holding the archive's lock)."""
    child = start(command, **{variable: str(barrier)})
    wait_file(barrier.with_name(barrier.name + ".waiting"))
    return child


def refused_while_paused(
    variable: str, barrier: Path, holder: list[str], other: list[str], refusal: str
) -> str:
    """Pause ``holder`` at its barrier (it holds the lock); ``other`` is refused with the one
    line ``refusal`` (``{pid}``: the holder's); then the holder goes on and succeeds. Returns
    the holder's stdout."""
    held = paused(variable, barrier, holder)
    code, _, stderr = run(other)
    assert code == 1
    assert one_line(stderr) == refusal.format(pid=held.process.pid)
    barrier.touch()
    code, stdout, stderr = held.finish()
    assert code == 0, stdout + stderr
    return stdout


@pytest.fixture(scope="module")
def site() -> Iterator[RunningMirror]:
    with running_mirror(articles=60, seed=21) as mirror:
        yield mirror


@pytest.fixture(scope="module")
def reference(site: RunningMirror, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The archive one crawl alone makes (what every run after it leaves unchanged)."""
    db = tmp_path_factory.mktemp("reference") / "qiosk.db"
    crawl_cli("--site", site.base_url, "--db", str(db), "--delay", "0")
    return natural_rows(db)


def crawl_command(site: RunningMirror, db: Path) -> list[str]:
    return [QIOSK, "crawl", "--site", site.base_url, "--db", str(db), "--delay", "0", *PROFILE]


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_crawl_and_reextract_take_turns(
    site: RunningMirror, reference: dict[str, Any], tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    crawl = crawl_command(site, db)
    crawl_cli(*crawl[2:])
    reextract = [QIOSK, "reextract", "--db", str(db), "--workers", "2"]
    # reextract holds the archive (it has read every capture): a crawl is refused
    stdout = refused_while_paused(
        "QIOSK_PAUSE_REEXTRACT",
        tmp_path / "go-reextract",
        reextract,
        crawl,
        f"Error: {db}: qiosk reextract is writing to this archive (pid {{pid}})",
    )
    assert ": 0 changed" in stdout
    # a crawl holds it: reextract is refused, and nothing the crawl writes is undone
    refused_while_paused(
        "QIOSK_PAUSE_CRAWL",
        tmp_path / "go-crawl",
        crawl,
        reextract,
        f"Error: {db}: another crawl is writing to this archive (pid {{pid}})",
    )
    assert natural_rows(db) == reference
    assert not lock_path(db).exists()


def test_two_crawls_through_two_paths_take_turns(
    site: RunningMirror, reference: dict[str, Any], tmp_path: Path
) -> None:
    real = tmp_path / "real" / "qiosk.db"
    real.parent.mkdir()
    Archive(real).close()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    refused_while_paused(
        "QIOSK_PAUSE_CRAWL",
        tmp_path / "go",
        crawl_command(site, real),
        crawl_command(site, link),
        f"Error: {link}: another crawl is writing to this archive (pid {{pid}})",
    )
    code, stdout, stderr = run(crawl_command(site, link))  # then through the link
    assert code == 0, stdout + stderr
    assert natural_rows(real) == reference
    assert not (tmp_path / "warc").exists()  # every WARC file beside the real database
    with Archive(link) as archive:
        files = {row[0] for row in archive.db.execute("SELECT DISTINCT warc_file FROM captures")}
    assert all((real.parent / name).is_file() for name in files)
    assert not lock_path(real).exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_crawl_is_refused_while_the_archive_is_served_immutable(
    site: RunningMirror, reference: dict[str, Any], tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    crawl = crawl_command(site, db)
    crawl_cli(*crawl[2:])
    serve = start([QIOSK, "serve", "--db", str(db), "--port", str(free_port())])
    try:
        serve.wait_for(lambda lines: any("serving" in line for line in lines), "serving")
        code, _, stderr = run(crawl)
        assert code == 1
        assert one_line(stderr) == (
            f"Error: {db}: the archive is served immutable by pid {serve.process.pid} "
            "(qiosk serve); stop it, or serve with --live, before writing to it"
        )
    finally:
        serve.process.send_signal(signal.SIGINT)
        serve.finish()
    # and the other way round: no immutable serve while a crawl writes
    refused_while_paused(
        "QIOSK_PAUSE_CRAWL",
        tmp_path / "go",
        crawl,
        [QIOSK, "serve", "--db", str(db), "--port", str(free_port())],
        f"Error: {db}: a crawl, reextract or import (pid {{pid}}) is writing to this archive; "
        "serve it with --live to browse it meanwhile",
    )
    assert natural_rows(db) == reference
    assert not lock_path(db).exists()


WRITER = """
import sqlite3, sys, time
from pathlib import Path
db, release, least, bound = sys.argv[1], Path(sys.argv[2]), *map(float, sys.argv[3:])
conn = sqlite3.connect(db, isolation_level=None, timeout=60)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
held = time.monotonic()
while time.monotonic() < held + bound:
    if release.exists() and time.monotonic() >= held + least:
        break
    time.sleep(0.02)
conn.execute("COMMIT")
print("released", flush=True)
"""


def released(writer: subprocess.Popen[str]) -> int:
    code = writer.wait(timeout=DEADLINE)
    assert writer.stdout is not None
    writer.stdout.close()
    return code


def external_writer(db: Path, release: Path, least: float) -> subprocess.Popen[str]:
    """A process holding the database's write lock for at least ``least`` seconds, until
    ``release`` appears (or, bounded, :data:`DEADLINE` seconds have passed)."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(release), str(least), str(DEADLINE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "locked"
    return writer


WAITING = "waiting for another process's write lock"


def test_a_crawl_waits_for_an_external_writer_and_loses_nothing(
    site: RunningMirror, reference: dict[str, Any], tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    Archive(db).close()
    writer = external_writer(db, tmp_path / "release", 3.0)
    crawl = start(crawl_command(site, db))
    crawl.wait_for(lambda lines: any(WAITING in line for line in lines), "the crawl waiting")
    (tmp_path / "release").touch()  # the writer lets go once the crawl says it waits (>= 3 s)
    assert released(writer) == 0
    code, stdout, stderr = crawl.finish()
    assert code == 0, stdout + stderr
    assert f"{db}: got the write lock after " in stderr
    assert ": finished" in stdout
    assert natural_rows(db) == reference


def test_pages_lost_to_a_lock_held_too_long_are_errors_and_a_failed_exit(
    site: RunningMirror, reference: dict[str, Any], tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    command = crawl_command(site, db)
    crawl = start(command, QIOSK_LOCK_WAIT="1")
    deadline = time.monotonic() + DEADLINE
    while count_captures(db) < 20:  # mid-crawl
        assert crawl.process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    writer = external_writer(db, tmp_path / "release", 0)
    # The crawl's first wait ends in failure (a page lost) before it waits a second time.
    crawl.wait_for(lambda lines: sum(WAITING in line for line in lines) >= 2, "two waits")
    (tmp_path / "release").touch()
    assert released(writer) == 0
    code, stdout, stderr = crawl.finish()
    assert code == 1, stdout + stderr
    assert ": interrupted" in stdout.splitlines()[0]
    conn = sqlite3.connect(db)
    try:
        lost = conn.execute(
            "SELECT count(*) FROM errors WHERE crawl_id = 1 AND kind = 'archive_locked'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert lost >= 1
    code, stdout, stderr = run(command)  # the same command again finishes the work
    assert code == 0, stdout + stderr
    assert natural_rows(db) == reference


def test_a_crawl_that_cannot_get_the_write_lock_in_time_starts_nothing(
    site: RunningMirror, tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    Archive(db).close()
    writer = external_writer(db, tmp_path / "release", 0)
    try:
        code, _, stderr = run(crawl_command(site, db), QIOSK_LOCK_WAIT="1")
    finally:
        (tmp_path / "release").touch()
        assert released(writer) == 0
    assert code == 1
    assert stderr.strip().splitlines() == [
        f"{db}: waiting for another process's write lock (up to 1 s)",
        f"Error: {db}: another process held the write lock for 1 s (the wait allowed, "
        "QIOSK_LOCK_WAIT); nothing was written",
    ]
    with Archive(db) as archive:
        assert archive.count("crawls") == 0  # no crawl row left "running"
    assert not lock_path(db).exists()
