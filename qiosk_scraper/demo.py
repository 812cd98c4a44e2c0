"""The main job end to end on the embedded default: mirror -> crawl -> archive -> snapshot ->
Datasette, each step the very ``qiosk`` command a researcher would type.

Every step runs as its own process (``python -m qiosk_scraper ...``), so the demo exercises the
commands exactly as documented, and a failing step stops the demo with that step named.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

QIOSK = (sys.executable, "-m", "qiosk_scraper")


class DemoError(Exception):
    """A step of the demo failed; the message names the step."""


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


def _step(name: str, args: Sequence[str], echo: Callable[[str], None]) -> None:
    echo(f"==> {name}: qiosk {' '.join(args)}")
    done = subprocess.run([*QIOSK, *args], check=False)
    if done.returncode != 0:
        raise DemoError(f"{name} failed (exit {done.returncode}): qiosk {' '.join(args)}")


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


def run_demo(plan: DemoPlan, *, serve: bool, echo: Callable[[str], None] = print) -> None:
    """Mirror in the background, crawl it into ``plan.db``, export and verify a snapshot, then
    (with ``serve``) browse the archive in Datasette until interrupted."""
    mirror_args = ["mirror", "serve", "--port", str(plan.port), "--articles", str(plan.articles)]
    echo(f"==> mirror: qiosk {' '.join([*mirror_args, '--quiet'])}")
    mirror = subprocess.Popen([*QIOSK, *mirror_args, "--quiet"])
    try:
        _wait_until_up(f"{plan.site}/robots.txt", mirror)
        plan.db.parent.mkdir(parents=True, exist_ok=True)
        crawl = ["crawl", "--site", plan.site, "--db", str(plan.db), "--delay", "0"]
        # The mirror imitates Responsible Statecraft: crawled with the outlet's profile.
        _step("crawl", [*crawl, "--profile", "responsiblestatecraft"], echo)
    finally:
        mirror.terminate()
        mirror.wait()
    export = ["snapshot", "export", str(plan.snapshot), "--db", str(plan.db), "--with-warc"]
    _step("snapshot", [*export, "--force"], echo)
    _step("verify", ["snapshot", "verify", str(plan.snapshot)], echo)
    if serve:
        args = ["serve", "--db", str(plan.db), "--port", str(plan.serve_port)]
        echo(f"==> Datasette: qiosk {' '.join(args)}")
        echo(f"    open http://127.0.0.1:{plan.serve_port}/archive/articles (Ctrl-C stops)")
        try:
            subprocess.run([*QIOSK, *args], check=False)
        except KeyboardInterrupt:
            echo("stopped")
