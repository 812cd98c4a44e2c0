"""Support for the stop-signal tests (no tests here): processes read line by line, the
processes a process started, a server that never answers."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.resume import alive

REPO = Path(__file__).resolve().parent.parent.parent
QIOSK = str(Path(sys.executable).parent / "qiosk")


class Child:
    """A process whose stdout and stderr lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, **popen: Any) -> None:
        self.process = subprocess.Popen(
            args,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            **popen,
        )
        self.pid = self.process.pid
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        """Poll ``condition`` until it holds; fail (naming ``what``) when the process ends
        first or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"exited {self.process.returncode} before {what}\n{self.stdout}{self.stderr}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {seconds} s\n{self.stdout}{self.stderr}")
            time.sleep(0.05)

    def finish(self, seconds: float) -> int:
        """The exit status, once the process and its output are done (fails after ``seconds``)."""
        try:
            code = self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(
                f"still running {seconds} s later\n{self.stdout}{self.stderr}"
            ) from error
        for reader in self.readers:
            reader.join(timeout=10)
        return code

    def kill(self) -> None:
        """SIGKILL the process and what it started, if still there, and close its pipes (test
        cleanup)."""
        for pid in [*descendants(self.pid), self.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        self.process.wait()
        for reader, stream in zip(
            self.readers, (self.process.stdout, self.process.stderr), strict=True
        ):
            reader.join(timeout=10)
            if not reader.is_alive():  # else an orphan holds the pipe: closing would block
                assert stream is not None
                stream.close()


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs, from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [d for child in found for d in descendants(child)]


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The processes still running after up to ``seconds`` of waiting for them to end."""
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def count(db: Path, table: str) -> int:
    """Rows committed so far, read without writing (the crawl owns the file)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        conn.close()


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers; ``accepted`` is set at the first."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = threading.Event()
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.connections.append(connection)
            self.accepted.set()

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        self.sock.close()
        self.thread.join()
        for connection in self.connections:
            connection.close()
