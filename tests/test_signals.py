"""Stopping a crawl (issue 12, items 4 and 6): real ``qiosk crawl`` processes, real signals.

The first SIGINT or SIGTERM stops the crawl cleanly: the downloads in flight are cancelled, the
pages received are written, the WARC files read back whole, the crawl row says ``interrupted``
and ``--resume`` finishes it; the extraction workers leave with the crawl. A second signal
kills at once, leaving the archive as SIGKILL would (the next crawl repairs it). A server that
accepts and never answers holds neither a stop nor a crawl for Scrapy's 180 s.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.blocked import BLOCKED_ENV
from support.crawl import PROFILE, crawl_cli, warc_problems
from support.signals import (
    QIOSK,
    REPO,
    Child,
    SilentServer,
    count,
    descendants,
    wait_gone,
)

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import RunningMirror, running_mirror

ARTICLES = 300


@pytest.fixture(scope="module")
def site() -> Iterator[RunningMirror]:
    with running_mirror(articles=ARTICLES, seed=12) as mirror:
        yield mirror


def crawl(site: str, db: Path, *more: str, **popen: object) -> Child:
    args = [QIOSK, "crawl", "--site", site, "--db", str(db), "--delay", "0", *PROFILE, *more]
    return Child(args, **popen)  # type: ignore[arg-type]


def crawl_rows(db: Path) -> list[dict[str, object]]:
    with Archive(db) as archive:
        return [archive.crawl(row["id"]) for row in archive.db.query("SELECT id FROM crawls")]


def assert_consistent(db: Path) -> None:
    with Archive(db) as archive:
        assert archive.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert warc_problems(archive) == []


def test_ctrl_c_stops_the_crawl_cleanly_and_resume_finishes_it(
    site: RunningMirror, tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    # Ctrl-C on a terminal signals the whole process group: the crawl and its workers.
    running = crawl(site.base_url, db, start_new_session=True)
    try:
        running.wait_for(lambda: count(db, "articles") >= 5, 300, "5 articles archived")
        workers = descendants(running.pid)
        assert workers, "the extraction workers run"
        os.killpg(running.pid, signal.SIGINT)
        code = running.finish(120)
    finally:
        running.kill()
    assert code == 128 + signal.SIGINT, running.stderr
    assert "SIGINT: stopping" in running.stderr
    assert f"resume with: qiosk crawl --db {db} --resume" in running.stderr
    assert "Traceback" not in running.stderr and "Aborted" not in running.stderr
    assert f"into {db}: interrupted" in running.stdout
    assert wait_gone(workers, 10) == [], "workers outlived the crawl"
    [row] = crawl_rows(db)
    assert row["status"] == "interrupted"
    assert 0 < count(db, "articles") < ARTICLES
    assert_consistent(db)

    finished = crawl_cli("--db", str(db), "--resume")
    assert f"into {db}: finished" in finished.stdout
    assert [row["status"] for row in crawl_rows(db)] == ["interrupted", "finished"]
    assert count(db, "articles") == ARTICLES
    assert_consistent(db)


def test_a_second_ctrl_c_stops_at_once_and_the_next_crawl_repairs(
    site: RunningMirror, tmp_path: Path
) -> None:
    db, blocked = tmp_path / "qiosk.db", tmp_path / "blocked"
    # The first article never finishes extracting, so the graceful stop waits for ever.
    pipelines = json.dumps({"support.blocked.BlockedPipeline": 300})
    running = crawl(
        site.base_url,
        db,
        "-s",
        f"ITEM_PIPELINES={pipelines}",
        env={"PYTHONPATH": str(REPO / "tests"), BLOCKED_ENV: str(blocked)},
    )
    try:
        running.wait_for(blocked.exists, 300, "an article in the pipeline")
        workers = descendants(running.pid)
        running.process.send_signal(signal.SIGINT)
        running.wait_for(lambda: "SIGINT: stopping" in running.stderr, 60, "the stopping line")
        running.process.send_signal(signal.SIGINT)
        code = running.finish(30)
    finally:
        running.kill()
    assert code == -signal.SIGINT  # the default action: killed by the signal
    assert wait_gone(workers, 10) == [], "workers outlived the crawl"
    [row] = crawl_rows(db)
    assert row["status"] == "running"  # as after SIGKILL: the next crawl knows it died

    finished = crawl_cli("--db", str(db), "--resume")
    assert f"into {db}: finished" in finished.stdout
    assert [row["status"] for row in crawl_rows(db)] == ["interrupted", "finished"]
    assert count(db, "articles") == ARTICLES
    assert_consistent(db)


def test_sigterm_cancels_downloads_a_silent_server_holds(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    with SilentServer() as silent:
        running = crawl(silent.base_url, db)
        try:
            assert silent.accepted.wait(120), running.stderr
            running.wait_for(lambda: count(db, "crawls") == 1, 60, "the crawl row")
            running.process.send_signal(signal.SIGTERM)
            code = running.finish(60)  # not DOWNLOAD_TIMEOUT (30 s) x retries, nor 180 s
        finally:
            running.kill()
    assert code == 128 + signal.SIGTERM, running.stderr
    assert "SIGTERM: stopping" in running.stderr
    [row] = crawl_rows(db)
    assert row["status"] == "interrupted"
    assert row["arguments"]["settings"]["DOWNLOAD_TIMEOUT"] == 30  # type: ignore[index]
    with Archive(db) as archive:
        assert archive.errors() == []  # cancelled by the stop: not the site's failures


def test_a_silent_server_times_out_with_the_timeout_given(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    with SilentServer() as silent:
        running = crawl(silent.base_url, db, "-s", "DOWNLOAD_TIMEOUT=1", "-s", "RETRY_TIMES=0")
        try:
            code = running.finish(120)
        finally:
            running.kill()
    assert code == 1, running.stdout + running.stderr
    [row] = crawl_rows(db)
    assert row["status"] == "failed"
    assert row["arguments"]["settings"]["DOWNLOAD_TIMEOUT"] == "1"  # type: ignore[index]
    with Archive(db) as archive:
        kinds = {error["kind"] for error in archive.errors()}
    assert kinds == {"timeout"}
    assert "took longer than 1" in running.stdout
