"""Crash safety (issue 5): a crawl of a 1,000-article mirror killed with SIGKILL at five seeded
moments and resumed each time ends with the same archive as an uninterrupted crawl; and the
pieces on their own: WARC repair of a killed writer's file, the crawl lock, ``--resume``.

What "the same archive" means: the rows of ``articles``, ``revisions``, ``article_authors``,
``article_tags``, ``article_sections``, ``images`` and ``links``, compared by their natural keys
(article URL, author name and profile, tag and section label), not their ids, and without the
columns that say when and by which response a row was written (``first_seen``, ``last_fetched``,
``capture_id``, revision ``fetched_at``). Ids are given in arrival order, which differs between
any two crawls (requests run in parallel), killed or not; times are the clock's; a resumed
crawl's responses are its own. Everything the site said (every record field, post ids, content
hashes, changed fields, silent edits, the extractor version, primary and listed sections) must
be equal.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.crawl import PROFILE, REPO, crawl_cli, warc_problems
from support.resume import crawl_killed_after, natural_rows
from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.archive import Archive
from qiosk_scraper.crawl import NothingToResume, resume_arguments
from qiosk_scraper.locks import ArchiveBusy, CrawlLock
from qiosk_scraper.mirror import running_mirror
from qiosk_scraper.session import CrawlSession
from qiosk_scraper.warc import WarcWriter, gzip_members, repair

QIOSK = str(Path(sys.executable).parent / "qiosk")
SEED = 20250605
KILLS = 5
SITE_ARG = "http://127.0.0.1:9"  # never requested


# -- WARC repair -------------------------------------------------------------------------------


def write_exchanges(folder: Path, count: int) -> tuple[Path, list[int]]:
    """A WARC file with ``count`` exchanges; returns it and the response records' offsets."""
    writer = WarcWriter(folder, "test", {"software": "tests"})
    offsets = []
    for n in range(count):
        location = writer.write_exchange(
            url=f"https://example.org/page-{n}/",
            method="GET",
            request_headers=[("User-Agent", "tests")],
            status=200,
            response_headers=[("Content-Type", "text/html")],
            body=f"<html><body>page {n} {'x' * 3000}</body></html>".encode(),
            fetched_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        offsets.append(location.offset)
    writer.close()
    return writer.files[0], offsets


def read_back(path: Path) -> list[tuple[str, str | None]]:
    """(type, target URL) of every record; reading to the end raises on a damaged file."""
    with path.open("rb") as handle:
        records = []
        for record in ArchiveIterator(handle):
            record.content_stream().read()
            records.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI")))
        return records


def test_repair_cuts_a_partial_record_and_an_unindexed_exchange(tmp_path: Path) -> None:
    path, offsets = write_exchanges(tmp_path, 4)
    whole = path.read_bytes()
    members = gzip_members(path)
    assert [m.complete for m in members] == [True] * 9  # warcinfo, then response + request x4
    assert [m.offset for m in members[1::2]] == offsets
    # Killed while writing the 4th response; the 3rd exchange was written but never indexed.
    cut_at = offsets[3] + (members[7].length // 2)
    path.write_bytes(whole[:cut_at])
    assert not gzip_members(path)[-1].complete
    done = repair(path, set(offsets[:2]))
    assert done.size_after == offsets[2] == path.stat().st_size
    assert done.cut == cut_at - offsets[2]
    kept = [
        (kind, f"https://example.org/page-{n}/")
        for n in range(2)
        for kind in ("response", "request")
    ]
    assert read_back(path) == [("warcinfo", None), *kept]
    assert repair(path, set(offsets[:2])).cut == 0  # a repaired file is left alone


def test_repair_keeps_an_indexed_response_whose_request_was_cut(tmp_path: Path) -> None:
    path, offsets = write_exchanges(tmp_path, 2)
    members = gzip_members(path)
    path.write_bytes(path.read_bytes()[: members[4].offset + 10])  # inside the 2nd request
    repair(path, set(offsets))
    assert read_back(path)[-1] == ("response", "https://example.org/page-1/")
    assert path.stat().st_size == members[4].offset


def test_repair_removes_a_file_without_a_complete_record(tmp_path: Path) -> None:
    path, _ = write_exchanges(tmp_path, 1)
    path.write_bytes(path.read_bytes()[:40])  # inside the warcinfo record
    assert repair(path, set()).size_after == 0
    assert not path.exists()


def test_a_second_crawl_on_the_same_archive_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    with CrawlLock(db):
        with pytest.raises(ArchiveBusy, match="another crawl is writing"):
            CrawlSession.open(SITE_ARG, db, {}, user_agent="tests", warc_max_bytes=10**6)
        busy = subprocess.run(
            [QIOSK, "crawl", "--db", str(db)], capture_output=True, text=True, check=False
        )
        assert busy.returncode == 1
        assert "another crawl is writing to this archive" in busy.stderr
    CrawlLock(db).release()  # free again
    with pytest.raises(NothingToResume, match="no crawl to resume"):
        resume_arguments(db)


def test_resume_takes_the_options_of_the_interrupted_crawl(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qiosk_scraper.cli import main

    db = tmp_path / "qiosk.db"
    with Archive(db) as archive:
        options = {"site": "http://127.0.0.1:9", "sources": ["sitemap", "feeds"], "delay": 0}
        finished = archive.start_crawl("http://127.0.0.1:9", options, {})
        archive.finish_crawl(finished, {}, "finished")
    refused = CliRunner().invoke(main, ["crawl", "--db", str(db), "--resume"])
    assert refused.exit_code == 1
    assert "nothing to resume, the latest crawl (1) ended: finished" in refused.output
    with Archive(db) as archive:
        archive.start_crawl("http://127.0.0.1:9", {**options, "max_articles": 5}, {})
    assert resume_arguments(db) == {
        "site": "http://127.0.0.1:9",
        "profile": "responsiblestatecraft",  # recorded before profiles: the outlet's knowledge
        "max_articles": 5,
        "since": None,
        "sources": "sitemap,feeds",
        "delay": 0,
        "refresh": False,
        "resumes": 2,
    }
    with Archive(db) as archive:
        archive.start_crawl("http://127.0.0.1:9", {**options, "profile": "generic"}, {})
    assert resume_arguments(db)["profile"] == "generic"
    mixed = CliRunner().invoke(main, ["crawl", "--db", str(db), "--resume", "--delay", "1"])
    assert mixed.exit_code == 2
    assert "--resume takes the interrupted crawl's options; drop --delay" in mixed.output


# -- SIGKILL and resume on a 1,000-article mirror ---------------------------------------------


@pytest.fixture(scope="module")
def big_mirror() -> Iterator[Any]:
    with running_mirror(articles=1000, seed=3) as mirror:
        yield mirror


def test_killed_five_times_and_resumed_equals_an_uninterrupted_crawl(
    big_mirror: Any, tmp_path: Path
) -> None:
    site = big_mirror.base_url
    reference, killed = tmp_path / "reference" / "qiosk.db", tmp_path / "killed" / "qiosk.db"
    command = [QIOSK, "crawl", "--site", site, "--db", str(killed), "--delay", "0", *PROFILE]
    # The uninterrupted crawl runs beside the killed ones (two processes: both cores).
    uninterrupted = subprocess.Popen(
        [QIOSK, "crawl", "--site", site, "--db", str(reference), "--delay", "0", *PROFILE],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rng = random.Random(SEED)
    # Kill points: a seeded number of new responses in each run, from the first requests to
    # well into the articles (a run sends about 900 listing, sitemap and feed requests, most
    # answered 304 after the first run, beside the articles still missing).
    kills = [rng.randint(5, 700) for _ in range(KILLS)]
    for more in kills:
        crawl_killed_after(command, killed, more)
    finished = crawl_cli("--db", str(killed), "--resume")  # the sixth run finishes the work
    assert "finished" in finished.stdout
    _, err = uninterrupted.communicate(timeout=900)
    assert uninterrupted.returncode == 0, err[-3000:]

    expected, got = natural_rows(reference), natural_rows(killed)
    for table in expected:
        missing = sorted(set(expected[table]) - set(got[table]))[:3]
        extra = sorted(set(got[table]) - set(expected[table]))[:3]
        assert (missing, extra) == ([], []), table
        assert len(got[table]) == len(expected[table]), f"{table}: duplicated rows"
    assert len(expected["articles"]) == 1000
    assert len(expected["revisions"]) == 1000

    with Archive(killed) as archive:
        assert archive.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert archive.db.execute("PRAGMA foreign_key_check").fetchall() == []
        statuses = [row["status"] for row in archive.db.query("SELECT * FROM crawls ORDER BY id")]
        assert statuses == ["interrupted"] * KILLS + ["finished"]
        last = archive.crawl(KILLS + 1)
        assert last["arguments"]["resumes"] == KILLS
        assert last["stats"]["qiosk/interrupted_crawls"] == [KILLS]  # found dead, repaired
        assert last["stats"]["qiosk/warc_cut_bytes"] >= 0
        assert warc_problems(archive) == []  # every file reads back, every capture is a record
        # Nothing fetched and committed was fetched again: after the capture an article was
        # archived from, its URL was only ever answered 304 (or not requested at all).
        refetched = archive.db.execute(
            "SELECT a.url FROM articles a JOIN revisions r ON r.article_id = a.id "
            "JOIN captures c ON c.url = a.url AND c.id > r.capture_id AND c.status = 200"
        ).fetchall()
        assert refetched == []
        replayed = archive.db.execute("SELECT count(*) FROM captures WHERE status = 304")
        assert replayed.fetchone()[0] > 0
