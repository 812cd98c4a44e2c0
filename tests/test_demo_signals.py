"""Stopping ``qiosk demo`` (issue 12, items 5 and 11): every process the demo started stops
with it, on SIGTERM while Datasette serves and (Linux) on SIGKILL in the middle of the crawl;
the demo names the mirror's planted dead link behind the crawl's one 404."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path

from support.signals import Child, count, descendants, wait_gone


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo(tmp_path: Path, serve_port: int) -> Child:
    return Child(
        [sys.executable, "-m", "qiosk_scraper", "demo", "--port", str(_free_port()),
         "--serve-port", str(serve_port), "--articles", "60",
         "--db", str(tmp_path / "demo.db"), "--snapshot", str(tmp_path / "snap")]
    )  # fmt: skip


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_sigterm_while_serving_stops_datasette_too(tmp_path: Path) -> None:
    serve_port = _free_port()
    running = demo(tmp_path, serve_port)
    started: list[int] = []
    try:
        running.wait_for(lambda: "==> Datasette" in running.stdout, 600, "the Datasette step")
        url = f"http://127.0.0.1:{serve_port}/archive/articles"
        running.wait_for(lambda: answers(url), 120, "Datasette answering")
        started = descendants(running.pid)
        assert started, "Datasette runs"
        running.process.send_signal(signal.SIGTERM)
        code = running.finish(60)
        assert wait_gone(started, 10) == [], "orphans left serving"
    finally:
        kill_all(started)  # orphans first: they hold the demo's output open
        running.kill()
    assert code == 128 + signal.SIGTERM
    assert "demo stopped by SIGTERM" in running.stderr
    assert not answers(url)
    dead = next(line for line in running.stdout.splitlines() if "http_404: e.g." in line)
    dead_url = dead.split("e.g. ")[1].split(": ")[0]
    assert f"the http_404 is the mirror's planted dead link {dead_url}" in running.stdout


def test_sigkill_during_the_crawl_stops_the_mirror_and_the_crawl(tmp_path: Path) -> None:
    running = demo(tmp_path, _free_port())
    started: list[int] = []
    try:
        running.wait_for(lambda: count(tmp_path / "demo.db", "captures") > 0, 600, "a capture")
        started = descendants(running.pid)  # the mirror, the crawl and its workers
        assert len(started) >= 2
        running.process.send_signal(signal.SIGKILL)
        running.finish(30)
        assert wait_gone(started, 60) == [], "orphans left running"
    finally:
        kill_all(started)  # orphans first: they hold the demo's output open
        running.kill()
