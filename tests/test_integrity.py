"""Integrity of what is archived (issue 13, items 1-5 and 7; issue 12, items 9 and 12): archives
sharing a folder keep their own WARC files; a capture is read back only as it was received;
re-extraction never writes over a newer state; the lock holds whatever path names the archive
and leaves nothing behind; a write waits, bounded and reported, for another process's lock;
a full disk stops a crawl in one line and the same command finishes it."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.crawl import PROFILE, REPO, crawl_cli
from support.resume import natural_rows

from qiosk_scraper.archive import Archive, ArchiveLocked, StaleState
from qiosk_scraper.locks import ArchiveBusy, CrawlLock, lock_path
from qiosk_scraper.mirror import running_mirror
from qiosk_scraper.session import CrawlSession
from qiosk_scraper.warc import CaptureDamaged, read_response

QIOSK = str(Path(sys.executable).parent / "qiosk")
SITE_ARG = "http://127.0.0.1:9"  # never requested


def write_pages(session: CrawlSession, count: int) -> None:
    """``count`` exchanges written and indexed, as the capture middleware does."""
    for n in range(count):
        body = f"<html><body>page {n} {'x' * 2000}</body></html>".encode()
        fetched = datetime(2025, 1, 1, tzinfo=UTC)
        location = session.warc.write_exchange(
            url=f"https://example.org/page-{n}/",
            method="GET",
            request_headers=[("User-Agent", "tests")],
            status=200,
            response_headers=[("Content-Type", "text/html")],
            body=body,
            fetched_at=fetched,
        )
        session.archive.add_capture(
            session.crawl_id,
            {
                "url": f"https://example.org/page-{n}/",
                "method": "GET",
                "status": 200,
                "fetched_at": fetched.isoformat(),
                "payload_sha256": location.payload_sha256,
                "payload_length": location.payload_length,
                "warc_file": location.file,
                "warc_offset": location.offset,
                "warc_length": location.length,
            },
        )


def open_session(db: Path) -> CrawlSession:
    return CrawlSession.open(SITE_ARG, db, {}, user_agent="tests", warc_max_bytes=10**7)


def die(session: CrawlSession) -> None:
    """What a SIGKILL leaves: files closed by the kernel, the crawl row still running."""
    session.warc.close()
    session.archive.close()
    session.lock.release()


# -- 13.1: archives sharing a folder ----------------------------------------------------------


def test_resuming_one_archive_leaves_the_warc_of_another_in_the_folder_alone(
    tmp_path: Path,
) -> None:
    x, y = tmp_path / "x.db", tmp_path / "y.db"
    finished = open_session(x)
    write_pages(finished, 3)
    finished.close({}, "finished")
    killed = open_session(y)  # crawl 1 of y, in the same second as crawl 1 of x
    write_pages(killed, 2)
    die(killed)
    y_file = next((tmp_path / "warc").glob("y.db-crawl00001-*.warc.gz"))
    with y_file.open("ab") as handle:
        handle.write(gzip.compress(b"WARC/1.0\r\n")[:20])  # a record cut by the kill
    x_files = {p: p.read_bytes() for p in (tmp_path / "warc").glob("x.db-crawl00001-*")}
    assert len(x_files) == 1
    resumed = open_session(y)
    try:
        assert resumed.interrupted == [1]
        assert [r.path for r in resumed.repairs] == [y_file]
        assert resumed.repairs[0].cut == 20
    finally:
        resumed.close({}, "finished")
    assert {p: p.read_bytes() for p in x_files} == x_files
    # Nothing else: no file of the resumed crawl (it wrote nothing), no reserve left.
    assert sorted((tmp_path / "warc").iterdir()) == sorted([*x_files, y_file])
    with Archive(x) as archive:
        for capture in archive.db.query("SELECT * FROM captures"):
            read_response(
                archive.folder / capture["warc_file"],
                capture["warc_offset"],
                length=capture["warc_length"],
                payload_sha256=capture["payload_sha256"],
                payload_length=capture["payload_length"],
            )


def test_a_crawl_written_with_the_old_names_is_still_repaired(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    killed = open_session(db)
    write_pages(killed, 2)
    die(killed)
    old = tmp_path / "warc" / "qiosk-crawl00001-20250101T000000Z-00000.warc.gz"
    new = killed.warc.files[0]
    new.rename(old)  # as a toolkit before the names carried the archive wrote it
    with Archive(db) as archive:
        archive.db.execute("UPDATE captures SET warc_file = ?", ["warc/" + old.name])
    with old.open("ab") as handle:
        handle.write(b"\x1f\x8b\x08\x00partial")
    stranger = tmp_path / "warc" / "qiosk-crawl00001-20250101T000001Z-00000.warc.gz"
    stranger.write_bytes(b"\x1f\x8b\x08\x00another archive's file, never named here")
    resumed = open_session(db)
    resumed.close({}, "finished")
    assert [r.path for r in resumed.repairs] == [old]
    assert resumed.repairs[0].cut == len(b"\x1f\x8b\x08\x00partial")
    assert stranger.read_bytes() == b"\x1f\x8b\x08\x00another archive's file, never named here"


# -- 13.4 and 12.12: the lock -----------------------------------------------------------------


def test_the_lock_holds_through_a_symlink_and_leaves_nothing_behind(tmp_path: Path) -> None:
    real = tmp_path / "real" / "qiosk.db"
    real.parent.mkdir()
    Archive(real).close()
    link = tmp_path / "elsewhere.db"
    link.symlink_to(real)
    with CrawlLock(real):
        assert lock_path(link) == lock_path(real) == real.with_name("qiosk.db.crawl-lock")
        with pytest.raises(ArchiveBusy, match=r"another crawl is writing .*\(pid \d+\)"):
            CrawlLock(link)
        busy = subprocess.run(
            [QIOSK, "crawl", "--db", str(link), "--site", SITE_ARG],
            capture_output=True,
            text=True,
            check=False,
        )
        assert busy.returncode == 1
        assert busy.stderr.strip().splitlines() == [
            f"Error: {link}: another crawl is writing to this archive (pid {os.getpid()})"
        ]
    assert not lock_path(real).exists()
    assert [p.name for p in real.parent.iterdir() if "lock" in p.name] == []


def test_a_lock_taken_on_a_file_removed_meanwhile_is_taken_again(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    first = CrawlLock(db)
    stale = os.open(lock_path(db), os.O_RDWR)  # a taker that opened the file before ...
    first.release()  # ... its holder removed it
    second = CrawlLock(db)  # locks the file now at the path, not the removed one
    try:
        assert os.fstat(stale).st_ino != os.stat(lock_path(db)).st_ino
        with pytest.raises(ArchiveBusy):
            CrawlLock(db)
    finally:
        os.close(stale)
        second.release()


# -- 13.2: captures read back only as received --------------------------------------------------


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("integrity")
    db = folder / "archive" / "qiosk.db"
    with running_mirror(articles=60, seed=13) as mirror:
        crawl_cli("--site", mirror.base_url, "--db", str(db), "--delay", "0")
    yield db


def copy_archive(db: Path, to: Path) -> Path:
    shutil.copytree(db.parent, to / "archive")
    return to / "archive" / db.name


def reextract(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QIOSK, "reextract", "--db", str(db), "--workers", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def article_state(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return (
            conn.execute("SELECT * FROM articles ORDER BY id").fetchall(),
            conn.execute("SELECT * FROM revisions ORDER BY article_id, revision").fetchall(),
        )
    finally:
        conn.close()


def test_reextract_never_stores_a_capture_cut_in_the_middle(crawled: Path, tmp_path: Path) -> None:
    db = copy_archive(crawled, tmp_path)
    with Archive(db) as archive:
        last = next(
            archive.db.query(
                "SELECT c.* FROM articles a JOIN captures c ON c.id = a.capture_id "
                "ORDER BY c.warc_file DESC, c.warc_offset DESC LIMIT 1"
            )
        )
        behind = archive.db.execute(
            "SELECT count(*) FROM articles a JOIN captures c ON c.id = a.capture_id "
            "WHERE c.warc_file = ? AND c.warc_offset >= ?",
            [last["warc_file"], last["warc_offset"]],
        ).fetchone()[0]
    warc = db.parent / last["warc_file"]
    # The file ends in the middle of the last article's record, as a cut copy would.
    os.truncate(warc, last["warc_offset"] + last["warc_length"] * 2 // 3)
    before = article_state(db)
    done = reextract(db)
    assert done.returncode == 1, done.stdout + done.stderr
    assert article_state(db) == before  # nothing changed: no half-read page stored
    lines = done.stderr.strip().splitlines()
    assert lines[0] == f"failed: {behind:,} articles (left as they were)"
    assert lines[1].startswith(f"  capture_truncated: {behind:,}, e.g. ")
    assert "StopIteration" not in done.stderr
    log = Path(lines[-1].removeprefix("every failure: "))
    assert len(lines) == 3 and log.parent == db.parent / "logs"
    assert [line.split("\t")[1] for line in log.read_text().splitlines()] == [
        "capture_truncated"
    ] * behind


def test_a_capture_whose_bytes_are_not_the_recorded_ones_is_refused(
    crawled: Path, tmp_path: Path
) -> None:
    db = copy_archive(crawled, tmp_path)
    with Archive(db) as archive:
        capture = next(
            archive.db.query(
                "SELECT c.* FROM articles a JOIN captures c ON c.id = a.capture_id LIMIT 1"
            )
        )
        with archive.db.atomic():
            archive.db.execute(
                "UPDATE captures SET payload_sha256 = ? WHERE id = ?", ["0" * 64, capture["id"]]
            )
    with pytest.raises(CaptureDamaged, match="SHA-256") as raised:
        read_response(
            db.parent / capture["warc_file"],
            capture["warc_offset"],
            length=capture["warc_length"],
            payload_sha256="0" * 64,
            payload_length=capture["payload_length"],
        )
    assert raised.value.kind == "capture_mismatch"
    before = article_state(db)
    done = reextract(db)
    assert done.returncode == 1
    assert "  capture_mismatch: 1, e.g. " in done.stderr
    assert article_state(db) == before


def test_a_snapshot_does_not_copy_a_capture_whose_bytes_are_not_the_recorded_ones(
    crawled: Path, tmp_path: Path
) -> None:
    db = copy_archive(crawled, tmp_path)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        "UPDATE captures SET payload_sha256 = ? WHERE id = (SELECT max(capture_id) FROM articles)",
        ["0" * 64],
    )
    conn.close()
    out = tmp_path / "snapshot"
    done = subprocess.run(
        [QIOSK, "snapshot", "export", str(out), "--db", str(db), "--with-warc"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "its payload is not the one the archive recorded" in one_line(done.stderr)
    assert not out.exists()


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_reextracted_record_is_not_stored_over_a_newer_state(archive: Archive) -> None:
    crawl_id = archive.start_crawl("https://example.org", {}, {})
    captures = [
        archive.add_capture(
            crawl_id, {"url": "https://example.org/a/", "status": 200, "fetched_at": at}
        )
        for at in ("2025-01-01T00:00:00+00:00", "2025-01-02T00:00:00+00:00")
    ]
    record = {"url": "https://example.org/a/", "title": "A", "body": "old text"}
    archive.save_article(
        record, crawl_id=crawl_id, capture_id=captures[0], fetched_at="2025-01-01T00:00:00+00:00"
    )
    read = {
        "capture_id": captures[0],
        "content_hash": archive.article_row("https://example.org/a/")["content_hash"],  # type: ignore[index]
    }
    edited = {**record, "body": "the site's edit"}  # a crawl stores a newer state meanwhile
    archive.save_article(
        edited, crawl_id=crawl_id, capture_id=captures[1], fetched_at="2025-01-02T00:00:00+00:00"
    )
    with pytest.raises(StaleState, match="changed since its capture was read"):
        archive.save_reextracted(
            1, {**record, "title": "A!"}, extractor_version="x", at="2025-01-03", read=read
        )
    assert archive.article_record("https://example.org/a/")["body"] == "the site's edit"  # type: ignore[index]
    assert len(archive.revisions("https://example.org/a/")) == 2


# -- 13.5: another process's write lock ---------------------------------------------------------


def test_a_write_waits_for_another_writer_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    with Archive(db) as archive:
        crawl_id = archive.start_crawl("https://example.org", {}, {})
        archive.latest_crawl()  # a read first: the upgrade to a write was what failed at once
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        said: list[str] = []

        def waiting(message: str) -> None:
            said.append(message)
            if len(said) == 1:
                other.execute("COMMIT")  # the other writer lets go once the wait is reported

        archive.db.on_wait = waiting
        archive.add_error(crawl_id, "https://example.org/a/", "http_500", "500 answer")
        other.close()
        assert said[0] == f"{db}: waiting for another process's write lock (up to 60 s)"
        assert said[1].startswith(f"{db}: got the write lock after ")
        assert len(archive.errors(crawl_id)) == 1


def test_a_write_that_waited_too_long_fails_by_name_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    with Archive(db) as archive:
        crawl_id = archive.start_crawl("https://example.org", {}, {})
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        archive.db.lock_wait = 0.5
        archive.db.on_wait = lambda message: None
        with pytest.raises(ArchiveLocked, match="held the write lock for"):
            archive.add_error(crawl_id, "https://example.org/a/", "http_500", "500 answer")
        other.execute("ROLLBACK")
        other.close()
        assert archive.errors(crawl_id) == []
        assert ArchiveLocked.kind == "archive_locked"


# -- 13.7: a full disk ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 700 KB tmpfs (the disk fills during a crawl); needs root to mount."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_stops_the_crawl_in_one_line_and_the_same_command_finishes_it(
    small_disk: Path, tmp_path: Path
) -> None:
    db = small_disk / "qiosk.db"
    with running_mirror(articles=60, seed=7) as mirror:
        command = [QIOSK, "crawl", "--site", mirror.base_url, "--db", str(db), "--delay", "0"]
        command += PROFILE
        full = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert full.returncode == 1, full.stdout + full.stderr[-3000:]
        assert ": interrupted" in full.stdout.splitlines()[0]
        said = [line for line in full.stderr.splitlines() if line.startswith(str(small_disk))]
        assert len(said) == 1, full.stderr[-3000:]
        assert said[0].endswith(
            "; free some space and run the same command again: it finishes the crawl"
        )
        assert ": the disk is full" in said[0]
        assert "KeyError" not in full.stderr
        assert full.stderr.count("Traceback") <= 1, full.stderr[-3000:]
        subprocess.run(["mount", "-o", "remount,size=50m", str(small_disk)], check=True)
        with Archive(db) as archive:  # every page lost to the full disk is an errors row
            kinds = {row["kind"] for row in archive.errors(1)}
            assert "disk_full" in kinds and archive.crawl(1)["status"] == "interrupted"
        again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert again.returncode == 0, again.stdout + again.stderr[-3000:]
        clean = tmp_path / "clean.db"
        crawl_cli("--site", mirror.base_url, "--db", str(clean), "--delay", "0")
    assert natural_rows(db) == natural_rows(clean)
    assert not lock_path(db).exists()
    assert not list((small_disk / "warc").glob("*.reserve"))
