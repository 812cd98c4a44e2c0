"""``qiosk import`` and ``qiosk backfill``: captures from WARC/WACZ files and from a real pywb
merged into the archive's article history by capture time."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from click.testing import CliRunner
from support.backfill import (
    SITE,
    Page,
    Stored,
    make_collection,
    mirror_archive,
    range_server,
    running_pywb,
    write_wacz,
    write_warc,
)
from support.backfill import edited as _edit
from support.backfill import iso as _iso
from support.backfill import warc_date_after as _at
from support.crawl import serving

from qiosk_scraper.archive import Archive
from qiosk_scraper.cli import main
from qiosk_scraper.locks import CrawlLock
from qiosk_scraper.mirror import Site
from qiosk_scraper.profiles import profile_named

QIOSK = str(Path(sys.executable).with_name("qiosk"))
ONLY = "1 articles known only from web archives"
ERA = "markup of the article captures: 3 rebelmouse"
OFFLINE = "--no-check-live"  # the captures name the real outlet's URLs: never ask it


def _unknown_article() -> tuple[str, bytes, str]:
    """An article of the mirror that the test archive does not hold: URL, page, title."""
    site = Site(articles=60, seed=7)
    record = sorted(site.gold(SITE).values(), key=lambda r: r["published"])[20]
    return record["url"], site.respond(urlsplit(record["url"]).path, SITE).body, record["title"]


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _state(db: Path) -> dict[str, int]:
    return Archive.count_rows_read_only(db)


def test_import_merges_captures_into_history_by_capture_time(tmp_path: Path) -> None:
    db, stored = mirror_archive(tmp_path / "archive", count=4)
    a0, a1, a2, a3 = stored
    unknown_url, unknown_body, unknown_title = _unknown_article()
    earlier = Page(a0.url, _edit(a0.body, "An earlier wording."), _at(a0, -timedelta(hours=20)))
    later = Page(a2.url, _edit(a2.body, "A correction."), _at(a2, timedelta(days=30)))
    write_warc(
        tmp_path / "own.warc.gz",
        [
            earlier,
            Page(a1.url, a1.body, _at(a1, -timedelta(hours=2))),  # as archived, seen earlier
            later,
            Page("https://example.org/x/", b"<html></html>", "2024-01-01T00:00:00Z"),
            Page(f"{SITE}/media-library/a.jpg", b"\xff\xd8", "2024-01-01T00:00:00Z", "image/jpeg"),
        ],
    )
    wayback_time = _at(a3, timedelta(days=3))
    stamp = wayback_time.replace("-", "").replace("T", "").replace(":", "").rstrip("Z")
    write_warc(
        tmp_path / "recorded.warc.gz",
        [  # a researcher's recording of Wayback pages: replay URLs, recorded much later
            Page(
                f"https://web.archive.org/web/{stamp}id_/{a3.url}", a3.body, "2026-01-01T00:00:00Z"
            ),
            Page(unknown_url, unknown_body, "2025-03-03T03:03:03Z"),
        ],
    )
    write_wacz(tmp_path / "browsertrix.wacz", [tmp_path / "recorded.warc.gz"])
    files = [str(tmp_path / "own.warc.gz"), str(tmp_path / "browsertrix.wacz")]

    out = _run("import", *files, "--source", "own-warc", "--db", str(db), OFFLINE)
    assert out.strip() == (
        f"imported into {db}: 5 captures; 1 earlier; 2 identical; 1 later; 1 new; "
        "markup of the article captures: 5 rebelmouse; "
        f"skipped: 1 not HTML, 1 other host; {ONLY}"
    )
    with Archive(db) as archive:
        history = archive.revisions(a0.url)
        assert [(r["fetched_at"], r["changed_fields"]) for r in history] == [
            (_iso(earlier.date), []),
            (a0.fetched_at, ["body", "word_count"]),  # now against the earlier revision
        ]
        assert history[0]["record"]["body"] != history[1]["record"]["body"]
        row = archive.article_row(a0.url)
        assert row is not None and row["last_fetched"] == a0.fetched_at  # still the latest
        assert row["first_seen"] == _iso(earlier.date)
        # the state archived was there two hours before: no revision added, its revision (and
        # the article's first sight) dated from the earlier capture, whose record it is
        seen = _iso(_at(a1, -timedelta(hours=2)))
        assert [r["fetched_at"] for r in archive.revisions(a1.url)] == [seen]
        row = archive.article_row(a1.url)
        assert (
            row is not None and row["first_seen"] == seen and row["last_fetched"] == a1.fetched_at
        )
        assert [r["fetched_at"] for r in archive.revisions(a2.url)] == [
            a2.fetched_at,
            _iso(later.date),
        ]
        row = archive.article_row(a2.url)
        assert row is not None and "A correction." in row["body"]
        assert [r["fetched_at"] for r in archive.revisions(a3.url)] == [a3.fetched_at]
        row = archive.article_row(unknown_url)
        assert row is not None and row["title"] == unknown_title
        assert row["first_seen"] == "2025-03-03T03:03:03+00:00"
        assert archive.imported_sources() == {"own-warc": 5}
        # a0 has an imported revision now, but was crawled: only the unknown one is marked
        assert archive.archive_only_articles() == [unknown_url]
        sources = list(archive.db.query("SELECT * FROM capture_sources ORDER BY capture_id"))
        assert {s["file"] for s in sources} == {"own.warc.gz", "browsertrix.wacz"}
        replayed = next(s for s in sources if s["captured_at"] == _iso(wayback_time))
        assert replayed["member"] == "archive/recorded.warc.gz"
        # every capture was copied into the archive's own WARC files and reads back
        for capture in archive.db.query(
            "SELECT c.* FROM captures c JOIN capture_sources s ON s.capture_id = c.id"
        ):
            from qiosk_scraper.warc import read_response

            _, _, body = read_response(db.parent / capture["warc_file"], capture["warc_offset"])
            assert len(body) == capture["payload_length"]

    _assert_index_in_step(db)  # the new article indexed, the later revision's text too
    before = _state(db)
    again = _run("import", *files, "--source", "own-warc", "--db", str(db), OFFLINE)
    assert f"5 captures; 5 imported before; skipped: 1 not HTML, 1 other host; {ONLY}" in again
    assert _state(db) == before  # nothing changed: not even a crawl row


def _collection(root: Path, stored: list[Stored]) -> tuple[list[Page], str, str]:
    """A pywb collection of captures of the archive's articles and of one it does not hold."""
    a0, a1 = stored[0], stored[1]
    unknown_url, unknown_body, _ = _unknown_article()
    first = _edit(a0.body, "First wording.")
    pages = [
        Page(a0.url, first, _at(a0, -timedelta(hours=20))),  # 2019: before the archive's
        Page(a0.url, first, _at(a0, -timedelta(hours=10))),  # the same bytes: collapsed
        Page(a1.url, a1.body, _at(a1, timedelta(days=2))),  # 2020: as archived
        Page(unknown_url, unknown_body, "2025-07-02T00:00:00Z"),  # not in the archive
    ]
    root.mkdir()
    write_warc(root / "wayback.warc.gz", pages)
    make_collection(root, "rs", [root / "wayback.warc.gz"])
    return pages, unknown_url, str(root / "collections" / "rs" / "archive")


def test_backfill_from_a_real_pywb_by_id_and_by_byte_range(tmp_path: Path) -> None:
    db, stored = mirror_archive(tmp_path / "archive", count=3)
    shutil.copytree(db.parent, tmp_path / "copy")  # a second archive, for the byte ranges
    copy = tmp_path / "copy" / db.name
    pages, unknown_url, warc_folder = _collection(tmp_path / "pywb", stored)
    with running_pywb(tmp_path / "pywb") as base:
        cdx = f"{base}/rs/cdx"
        dry = _run("backfill", "--cdx", cdx, "--dry-run", "--delay", "0")
        assert dry.splitlines() == [
            "2019: 1 captures of 1 URLs",
            "2020: 1 captures of 1 URLs",
            "2025: 1 captures of 1 URLs",
            f"3 captures of responsiblestatecraft.org/ in {cdx} (2 requests)",
        ]
        out = _run("backfill", "--cdx", cdx, "--db", str(db), "--delay", "0", OFFLINE)
        assert out.strip().endswith(f"3 captures; 1 earlier; 1 identical; 1 new; {ERA}; {ONLY}")
        before = _state(db)
        again = _run("backfill", "--cdx", cdx, "--db", str(db), "--delay", "0", OFFLINE)
        assert again.strip().endswith(f": 0 captures; {ONLY}")
        assert _state(db) == before
        with serving(range_server(Path(warc_folder))) as files:
            ranged = _run(
                "backfill", "--cdx", cdx, "--db", str(copy), "--delay", "0", OFFLINE,
                "--warc-files", files, "--source", "common-crawl",
            )  # fmt: skip
        assert ranged.strip().endswith(f"3 captures; 1 earlier; 1 identical; 1 new; {ERA}; {ONLY}")
    for path, source in ((db, "wayback"), (copy, "common-crawl")):
        with Archive(path) as archive:
            assert [r["fetched_at"] for r in archive.revisions(stored[0].url)] == [
                _iso(pages[0].date),
                stored[0].fetched_at,
            ]
            row = archive.article_row(unknown_url)
            assert row is not None and row["first_seen"] == "2025-07-02T00:00:00+00:00"
            assert archive.imported_sources() == {source: 3}


def _history(db: Path) -> dict[str, Any]:
    """What an import leaves that must not depend on being killed and rerun."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {
            "revisions": conn.execute(
                "SELECT a.url, r.revision, r.fetched_at, r.content_hash, r.changed_fields "
                "FROM revisions r JOIN articles a ON a.id = r.article_id ORDER BY 1, 2"
            ).fetchall(),
            "articles": conn.execute(
                "SELECT url, content_hash, first_seen, last_fetched FROM articles ORDER BY url"
            ).fetchall(),
            "sources": conn.execute(
                "SELECT file, record_offset, captured_at FROM capture_sources ORDER BY 1, 2"
            ).fetchall(),
        }


def _terms(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every (term, article, column, offset) the full-text index holds."""
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms "
        "USING fts5vocab(main, articles_fts, instance)"
    )
    return conn.execute(
        "SELECT term, doc, col, offset FROM temp.terms ORDER BY 1, 2, 3, 4"
    ).fetchall()


def _assert_index_in_step(db: Path) -> None:
    """The archive's full-text index holds exactly what a rebuild from its articles makes,
    and its triggers are those a new archive has (an import drops one inside its
    transactions, to index articles itself)."""
    conn = sqlite3.connect(":memory:")
    with sqlite3.connect(db) as source:
        source.backup(conn)
    held = _terms(conn)
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    assert held == _terms(conn)
    assert held, "nothing indexed"
    triggers = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    with Archive(db.parent / "new" / "qiosk.db") as new:
        assert conn.execute(triggers).fetchall() == new.db.execute(triggers).fetchall()
    conn.close()


def _imported(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM capture_sources").fetchone()[0])
    except sqlite3.Error:  # not made yet
        return 0


def test_an_import_killed_midway_finishes_when_rerun(tmp_path: Path) -> None:
    site = Site(articles=60, seed=7)
    records = sorted(site.gold(SITE).values(), key=lambda r: r["published"])[:30]
    pages = []
    for record in records:
        body = site.respond(urlsplit(record["url"]).path, SITE).body
        published = datetime.fromisoformat(record["published"])
        for days, page in ((1, body), (9, _edit(body, "Updated."))):
            date = (published + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
            pages.append(Page(record["url"], page, date))
    warc = tmp_path / "captures.warc.gz"
    write_warc(warc, pages[::-1])  # newest first: each older capture comes as an earlier revision
    command = [QIOSK, "import", str(warc), "--source", "own-warc", OFFLINE]

    reference = tmp_path / "reference" / "qiosk.db"
    subprocess.run([*command, "--db", str(reference)], check=True, capture_output=True)

    killed = tmp_path / "killed" / "qiosk.db"
    child = subprocess.Popen([*command, "--db", str(killed)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _imported(killed) < 10 and child.poll() is None:  # bounded: a few captures in
        assert time.monotonic() < deadline, "the import did not start importing"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the import ended before it was killed"
    assert 10 <= _imported(killed) < len(pages)
    _assert_index_in_step(killed)

    done = subprocess.run([*command, "--db", str(killed)], check=True, capture_output=True)
    assert "imported before" in done.stdout.decode()
    assert _history(killed)["revisions"] == _history(reference)["revisions"]
    assert _history(killed)["articles"] == _history(reference)["articles"]
    assert _history(killed)["sources"] == _history(reference)["sources"]
    assert len(_history(killed)["revisions"]) == len(pages)
    _assert_index_in_step(killed)


def _archive_and_later_captures(tmp_path: Path) -> tuple[Path, list[Any]]:
    """An archive of three articles and a WARC's captures of them edited five days later."""
    from qiosk_scraper.backfill.read import read_captures

    db, stored = mirror_archive(tmp_path / "archive", count=3)
    write_warc(
        tmp_path / "c.warc.gz",
        [Page(s.url, _edit(s.body, "Again."), _at(s, timedelta(days=5))) for s in stored],
    )
    return db, list(read_captures([tmp_path / "c.warc.gz"], source="own-warc"))


def _import(db: Path, stream: list[Any], workers: int | None = None) -> Any:
    """``import_captures`` of ``stream`` into ``db`` as the outlet, in ``workers`` processes."""
    from qiosk_scraper.backfill.importer import import_captures

    outlet = profile_named("responsiblestatecraft")
    return import_captures(db, stream, site=SITE, profile=outlet, arguments={}, workers=workers)


def test_a_checkpoint_comes_after_the_captures_before_it_are_committed(tmp_path: Path) -> None:
    from qiosk_scraper.backfill.importer import Checkpoint

    db, (first, second, third) = _archive_and_later_captures(tmp_path)
    seen: list[list[bool]] = []

    def committed() -> None:  # asked through a connection of its own, as a rerun would
        with Archive(db) as other:
            seen.append([other.imported(_provenance(c)) for c in (first, second, third)])

    stream = [first, second, Checkpoint(committed), third, Checkpoint(committed)]
    result = _import(db, stream, workers=2)
    assert seen == [[True, True, False], [True, True, True]]
    assert result.outcomes == {"later": 3}


def _provenance(capture: Any) -> dict[str, Any]:
    p = capture.provenance
    return {
        "file_sha256": p.file_sha256,
        "member": p.member,
        "offset": p.offset,
        "captured_at": p.captured_at,
    }


def test_an_import_and_a_crawl_never_write_at_once(tmp_path: Path) -> None:
    db, stored = mirror_archive(tmp_path / "archive", count=1)
    warc = tmp_path / "one.warc.gz"
    write_warc(warc, [Page(stored[0].url, _edit(stored[0].body, "Later."), "2026-01-01T00:00:00Z")])
    before = _state(db)
    with CrawlLock(db):  # a crawl writes: the import is refused, before any write
        refused = CliRunner().invoke(main, ["import", str(warc), "--source", "x", "--db", str(db)])
    assert refused.exit_code == 1
    assert refused.output.strip().endswith(
        f"{db}: another crawl is writing to this archive (pid {os.getpid()})"
    )
    assert _state(db) == before
    with CrawlLock(db, role="import"):  # an import writes: the crawl is refused
        crawl = CliRunner().invoke(main, ["crawl", "--db", str(db), "--site", SITE])
    assert crawl.exit_code == 1
    assert f"qiosk import is writing to this archive (pid {os.getpid()})" in crawl.output
    assert _state(db) == before


def test_the_import_command_loads_neither_the_snapshot_code_nor_scrapy(tmp_path: Path) -> None:
    """What ``qiosk import`` runs before its worker pool starts is a cost of every import (one
    core busy, the other idle): the command leaves out the snapshot package (Frictionless), the
    CDX client and Scrapy with Twisted (the crawl's), which an import of files never uses."""
    warc = tmp_path / "one.warc.gz"
    write_warc(warc, [Page(f"{SITE}/a/", b"<html><p>A</p></html>", "2024-01-01T00:00:00Z")])
    argv = ["import", str(warc), "--db", str(tmp_path / "q.db"), "--source", "x", OFFLINE]
    code = (
        "import sys\n"
        "from qiosk_scraper.cli import main\n"
        f"main({argv!r}, standalone_mode=False)\n"
        "print(sorted(m for m in ('frictionless', 'qiosk_scraper.snapshot', 'scrapy', 'twisted', "
        "'qiosk_scraper.backfill.cdx', 'qiosk_scraper.middlewares') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith(f"imported into {tmp_path / 'q.db'}: 1 captures")
    assert out.strip().splitlines()[-1] == "[]"


def test_a_file_read_twice_in_one_import_is_imported_once(tmp_path: Path) -> None:
    """The records of a file imported before are asked of the archive once per file; those
    this run imported since count too, committed or not (the same file named twice)."""
    from qiosk_scraper.backfill.importer import Checkpoint

    db, captures = _archive_and_later_captures(tmp_path)
    stream = [*captures, Checkpoint(lambda: None), *captures, *captures[:1]]
    result = _import(db, stream, workers=1)
    assert (result.captures, result.already, result.outcomes) == (7, 4, {"later": 3})
    before = _state(db)
    again = _import(db, captures)
    assert (again.captures, again.already) == (3, 3)
    assert _state(db) == before
