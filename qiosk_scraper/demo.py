"""The main job end to end on the embedded default: mirror -> crawl -> archive -> snapshot ->
Datasette, each step the very ``qiosk`` command a researcher would type.

Every step runs as its own process (``python -m qiosk_scraper ...``), so the demo exercises the
commands exactly as documented, and a failing step stops the demo with that step named.

Every child stops with the demo. The children run in their own process groups, so a stop
signal (Ctrl-C, SIGTERM, SIGHUP) reaches the demo alone, which hands it on once to the child at
work (the crawl then stops cleanly and stays resumable) and stops the mirror; a second signal
kills the child at once. On Linux a child also gets SIGTERM when the demo dies by SIGKILL
(``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from qiosk_scraper.archive import Archive

QIOSK = (sys.executable, "-m", "qiosk_scraper")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_WAIT = 30.0  # seconds a child has to stop after the signal before it is killed
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


class DemoError(Exception):
    """A step of the demo failed; the message names the step."""


class DemoStopped(Exception):
    """The demo received a stop signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


@dataclass(frozen=True)
class DemoPlan:
    port: int = 8765
    serve_port: int = 8001
    articles: int = 120
    db: Path = Path("archive/demo.db")
    snapshot: Path = Path("archive/snapshots/demo")

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise DemoStopped(signum)


@contextmanager
def _stop_signals() -> Iterator[None]:
    """While the demo runs, a stop signal raises :class:`DemoStopped` in it."""
    previous = {signum: signal.signal(signum, _raise_stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _child(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """``qiosk <args>`` in its own process group, told to stop when the demo dies."""
    parent = os.getpid()

    def before_exec() -> None:  # in the child, between fork and exec
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the demo died before the line above
            os._exit(1)

    return subprocess.Popen([*QIOSK, *args], process_group=0, preexec_fn=before_exec)


def _finish(process: subprocess.Popen[bytes], signum: int) -> None:
    """Hand ``signum`` on to the child and wait for it to stop; kill it when it takes longer
    than :data:`STOP_WAIT` or another signal comes."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=STOP_WAIT)
    except (subprocess.TimeoutExpired, DemoStopped):
        process.kill()
        process.wait()


def _step(name: str, args: Sequence[str], echo: Callable[[str], None]) -> None:
    echo(f"==> {name}: qiosk {' '.join(args)}")
    process = _child(args)
    try:
        code = process.wait()
    except DemoStopped as stop:
        _finish(process, stop.signum)
        raise
    if code != 0:
        raise DemoError(f"{name} failed (exit {code}): qiosk {' '.join(args)}")


def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"the mirror exited with {process.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:  # refused, reset or timed out (URLError is an OSError too)
            time.sleep(0.2)
    raise DemoError(f"the mirror did not answer at {url} within {seconds:.0f} s")


def planted_dead_link(plan: DemoPlan) -> str | None:
    """The URL of the mirror's planted dead link (a teaser to a deleted post, as the real site
    has) when the demo crawl recorded it as a 404, else None."""
    from qiosk_scraper.mirror import Site

    dead = plan.site + Site(articles=plan.articles).ghost.path
    with Archive(plan.db) as archive:
        latest = archive.latest_crawl()
        errors = archive.errors(latest["id"]) if latest else []
    found = any(e["url"] == dead and e["kind"] == "http_404" for e in errors)
    return dead if found else None


def run_demo(plan: DemoPlan, *, serve: bool, echo: Callable[[str], None] = print) -> None:
    """Mirror in the background, crawl it into ``plan.db``, export and verify a snapshot, then
    (with ``serve``) browse the archive in Datasette until interrupted."""
    with _stop_signals():
        _run_demo(plan, serve, echo)


def _run_demo(plan: DemoPlan, serve: bool, echo: Callable[[str], None]) -> None:
    mirror_args = ["mirror", "serve", "--port", str(plan.port), "--articles", str(plan.articles)]
    echo(f"==> mirror: qiosk {' '.join([*mirror_args, '--quiet'])}")
    mirror = _child([*mirror_args, "--quiet"])
    try:
        _wait_until_up(f"{plan.site}/robots.txt", mirror)
        plan.db.parent.mkdir(parents=True, exist_ok=True)
        crawl = ["crawl", "--site", plan.site, "--db", str(plan.db), "--delay", "0"]
        # The mirror imitates Responsible Statecraft: crawled with the outlet's profile.
        _step("crawl", [*crawl, "--profile", "responsiblestatecraft"], echo)
    finally:
        _finish(mirror, signal.SIGTERM)
    dead = planted_dead_link(plan)
    if dead:
        echo(
            f"    (the http_404 is the mirror's planted dead link {dead}: a teaser to a deleted "
            "post, as the real site has; a 404 on the real site is reported the same way)"
        )
    export = ["snapshot", "export", str(plan.snapshot), "--db", str(plan.db), "--with-warc"]
    _step("snapshot", [*export, "--force"], echo)
    _step("verify", ["snapshot", "verify", str(plan.snapshot)], echo)
    if serve:
        args = ["serve", "--db", str(plan.db), "--port", str(plan.serve_port)]
        echo(f"    browse http://127.0.0.1:{plan.serve_port}/archive/articles (Ctrl-C stops)")
        try:
            _step("Datasette", args, echo)
        except DemoStopped as stop:
            if stop.signum != signal.SIGINT:
                raise
            echo("stopped")
