"""What ``qiosk crawl`` tells (issue 12, items 7, 8, 10): real crawls of the mirror, piped or on
a pseudo-terminal.

A piped run prints the summary alone (Scrapy's log goes to ``logs/`` beside the archive, no
WARNING), with one example of each kind of error; a crawl of a dead site fails in one line;
the live line on a terminal never claims more than 100% and says "at least" while the sitemaps
and listings are still being read.
"""

from __future__ import annotations

import os
import pty
import re
import select
import socket
import subprocess
from pathlib import Path

from support.crawl import PROFILE
from support.signals import QIOSK, REPO

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import RunningMirror


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QIOSK, "crawl", *PROFILE, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_piped_crawl_prints_the_summary_alone_and_logs_beside_the_archive(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    done = run("--site", mirror.base_url, "--db", str(db), "--delay", "0")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no Scrapy log, no WARNING
    lines = done.stdout.splitlines()
    assert lines[0] == f"crawl 1 of {mirror.base_url} into {db}: finished"
    assert "articles new" in done.stdout and "Spider closed" not in done.stdout
    # Each kind of error with one example: here the mirror's teaser to a deleted post.
    with Archive(db) as archive:
        [error] = archive.errors()
    assert f"http_404: e.g. {error['url']}: 404 answer (Not Found)" in lines
    [log] = (tmp_path / "logs").glob("qiosk-crawl-*.log")
    assert lines[-1] == f"log: {log}"
    text = log.read_text()
    assert "Spider closed (finished)" in text and "WARNING" not in text

    verbose = run("--site", mirror.base_url, "--db", str(tmp_path / "v.db"), "--delay", "0",
                  "--max-articles", "3", "-v")  # fmt: skip
    assert verbose.returncode == 0
    assert "Spider closed (finished)" in verbose.stderr
    assert "log: " not in verbose.stdout


def test_a_dead_site_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        site = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nobody listens
    db = tmp_path / "qiosk.db"
    done = run("--site", site, "--db", str(db), "--delay", "0")  # retries and backoff as ever
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: crawl failed, no page answered: ")
    assert "connection_refused" in line and site in line
    assert f"into {db}: failed" in done.stdout
    with Archive(db) as archive:
        assert archive.latest_crawl()["status"] == "failed"  # type: ignore[index]


LIVE = re.compile(r"\| ([\d,]+) of (at least )?([\d,]+) articles(?: \((\d+)%\))?")


def live_lines(db: Path, site: str) -> list[tuple[int, bool, int, int | None]]:
    """Run the crawl with stderr on a pseudo-terminal; the figures of every live line."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [QIOSK, "crawl", "--site", site, "--db", str(db), "--delay", "0", *PROFILE],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal's other side closed
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
    finally:
        os.close(controller)
        assert process.wait(timeout=600) == 0
    found = []
    for line in seen.decode().split("\r\x1b[K"):
        for done, at_least, total, share in LIVE.findall(line):
            found.append(
                (
                    int(done.replace(",", "")),
                    bool(at_least),
                    int(total.replace(",", "")),
                    int(share) if share else None,
                )
            )
    return found


def test_the_live_line_never_claims_more_than_it_knows(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    for run_ in range(2):  # the first crawl, then one where every article is current
        lines = live_lines(db, mirror.base_url)
        assert lines, f"no live line in crawl {run_ + 1}"
        for done, at_least, total, share in lines:
            assert done <= total
            assert at_least == (share is None)
            assert share is None or share <= 100
        assert lines[0][1], "discovery is still going at the first line"
        done, at_least, total, share = lines[-1]
        assert not at_least and done == len(mirror.site.gold(mirror.base_url))
