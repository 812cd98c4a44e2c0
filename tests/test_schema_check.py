"""Damaged archives (issue 13, item 8): the schema (tables, columns, version) is checked before
any work, and what is wrong is named, in one line, by crawl, reextract and snapshot export."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from qiosk_scraper.archive import Archive, ArchiveError

QIOSK = str(Path(sys.executable).parent / "qiosk")
SITE_ARG = "http://127.0.0.1:9"  # never requested: the check comes first


def damaged(tmp_path: Path, *statements: str) -> Path:
    db = tmp_path / "qiosk.db"
    Archive(db).close()
    conn = sqlite3.connect(db, isolation_level=None)  # no foreign keys: a hand edit
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return db


def commands(db: Path, tmp_path: Path) -> dict[str, list[str]]:
    return {
        "crawl": [QIOSK, "crawl", "--db", str(db), "--site", SITE_ARG],
        "reextract": [QIOSK, "reextract", "--db", str(db)],
        "export": [QIOSK, "snapshot", "export", str(tmp_path / "s"), "--db", str(db)],
    }


CASES = {
    "downgraded": (
        ["PRAGMA user_version = 1"],
        "the file says schema version 1 but holds the tables of a later version "
        "(discoveries, revisions): its version number was changed by hand",
    ),
    "no revisions": (
        ["DROP TABLE revisions"],
        "the archive's schema (version 3) is damaged: no table revisions",
    ),
    "no articles": (
        ["DROP TABLE articles"],
        "the archive's schema (version 3) is damaged: no table articles",
    ),
    "no column": (
        ["ALTER TABLE captures DROP COLUMN warc_length"],
        "the archive's schema (version 3) is damaged: no column captures.warc_length",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_schema_is_named_before_any_work(case: str, tmp_path: Path) -> None:
    statements, problem = CASES[case]
    db = damaged(tmp_path, *statements)
    with pytest.raises(ArchiveError) as raised:
        Archive(db)
    assert str(raised.value).startswith(f"{db}: {problem}")
    before = db.read_bytes()
    for name, command in commands(db, tmp_path).items():
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode != 0, name
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and problem in lines[0], (name, done.stderr)
        assert "damaged or not a SQLite database" not in done.stderr, name
    assert db.read_bytes() == before  # nothing was written
    assert not (tmp_path / "s").exists()
    assert not list(tmp_path.glob("*.crawl-lock"))


def test_an_intact_version_1_archive_is_still_migrated(tmp_path: Path) -> None:
    db = damaged(
        tmp_path,
        "DROP TABLE revisions",
        "DROP TABLE discoveries",
        "ALTER TABLE articles DROP COLUMN gone_capture_id",
        "PRAGMA user_version = 1",
    )
    with Archive(db) as archive:
        assert archive.schema_version == 3
        assert {"revisions", "discoveries"} <= set(archive.db.table_names())


def test_a_version_2_archive_gets_the_backfill_tables(tmp_path: Path) -> None:
    db = damaged(
        tmp_path,
        "DROP TABLE capture_sources",
        "DROP TABLE backfill_resume",
        "PRAGMA user_version = 2",
    )
    with Archive(db) as archive:
        assert archive.schema_version == 3
        assert {"capture_sources", "backfill_resume"} <= set(archive.db.table_names())
        assert archive.imported_sources() == {}
        assert archive.backfill_resume("http://cdx.example/?url=x") is None


def test_backfill_tables_made_on_first_use_in_version_2_are_kept(tmp_path: Path) -> None:
    """The first imports made capture_sources and backfill_resume on first use in version-2
    files: such a file is no hand-edited one, and migrating it keeps their rows."""
    db = damaged(
        tmp_path,
        "INSERT INTO crawls (id, site, started, status) VALUES (1, 's', '2020', 'finished')",
        "INSERT INTO captures (id, crawl_id, url, status, fetched_at) "
        "VALUES (1, 1, 'u', 200, '2020-01-01T00:00:00+00:00')",
        "INSERT INTO capture_sources (capture_id, source, file, file_sha256, captured_at) "
        "VALUES (1, 'wayback', 'w.warc.gz', 'ab', '2020-01-01T00:00:00+00:00')",
        "INSERT INTO backfill_resume VALUES ('q', 'key', '2020')",
        "DROP INDEX capture_sources_source",
        "PRAGMA user_version = 2",
    )
    with Archive(db) as archive:
        assert archive.schema_version == 3
        assert archive.imported_sources() == {"wayback": 1}
        assert archive.backfill_resume("q") == "key"
        indexes = {i.name for i in archive.db.table("capture_sources").indexes}
        assert {"capture_sources_record", "capture_sources_source"} <= indexes
