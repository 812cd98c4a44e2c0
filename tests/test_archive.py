from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support.records import SITE, capture, make_article

from qiosk_scraper.archive import (
    CONFLICTING_CANONICAL,
    SCHEMA_VERSION,
    Archive,
    ArchiveError,
    content_hash,
)
from qiosk_scraper.article import Article, Author


@pytest.fixture
def crawl_id(archive: Archive) -> int:
    return archive.start_crawl(SITE, {"delay": 1.0}, {"qiosk-scraper": "0.1.0"})


def save(archive: Archive, crawl_id: int, article: Article, **kwargs: Any) -> str:
    return archive.save_article(
        article.to_record(extras=False),
        crawl_id=crawl_id,
        capture_id=capture(archive, crawl_id, article.url),
        fetched_at="2025-01-01T00:00:00+00:00",
        extractor_version="1",
        **kwargs,
    )


def test_new_archive_has_the_schema_wal_foreign_keys_and_a_version(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "qiosk.db"
    with Archive(path) as archive:
        tables = set(archive.db.table_names())
        assert archive.schema_version == SCHEMA_VERSION
        assert archive.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert archive.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {
        "crawls",
        "articles",
        "authors",
        "article_authors",
        "sections",
        "article_sections",
        "tags",
        "article_tags",
        "images",
        "links",
        "captures",
        "errors",
        "url_aliases",
        "listing_sightings",
        "articles_fts",
    } <= tables
    with Archive(path) as reopened:  # opening again migrates nothing and loses nothing
        assert reopened.schema_version == SCHEMA_VERSION
        assert set(reopened.db.table_names()) == tables


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(ArchiveError, match="not a usable SQLite archive"):
        Archive(path)


def test_a_foreign_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE birds (name TEXT)")
    with pytest.raises(ArchiveError, match="not a qiosk archive"):
        Archive(path)
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert names == ["birds"]


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Archive(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ArchiveError, match="newer"):
        Archive(path)


def test_saved_article_rebuilds_to_the_same_record(archive: Archive, crawl_id: int) -> None:
    article = make_article()
    assert save(archive, crawl_id, article, post_id="2671234") == "new"
    assert archive.article_record(article.url) == article.to_record(extras=False)
    row = archive.article_row(article.url)
    assert row is not None
    assert row["post_id"] == "2671234"
    assert row["word_count"] == article.word_count
    assert row["content_hash"] == content_hash(article.to_record(extras=False))
    assert archive.count("authors") == 3
    primary = list(archive.db.query("SELECT * FROM article_sections"))
    assert [(r["is_primary"], r["listed"]) for r in primary] == [(1, 0)]


def test_minimal_article_rebuilds_with_nulls_and_empty_lists(
    archive: Archive, crawl_id: int
) -> None:
    article = Article(url=f"{SITE}/note/", title="A note", body="One paragraph.")
    save(archive, crawl_id, article)
    assert archive.article_record(article.url) == article.to_record(extras=False)


def test_same_content_is_unchanged_and_changed_content_replaces_children(
    archive: Archive, crawl_id: int
) -> None:
    article = make_article()
    save(archive, crawl_id, article)
    assert save(archive, crawl_id, article) == "unchanged"
    edited = make_article(
        tags=["Pentagon budget"], authors=[Author("Trita Parsi", f"{SITE}/author/tparsi/")]
    )
    assert save(archive, crawl_id, edited) == "updated"
    assert archive.article_record(article.url) == edited.to_record(extras=False)
    assert archive.count("articles") == 1
    assert archive.count("article_authors") == 1
    assert archive.count("article_tags") == 1
    assert archive.count("authors") == 3  # people stay known


def test_authors_are_shared_and_told_apart_by_profile_link(archive: Archive, crawl_id: int) -> None:
    save(archive, crawl_id, make_article("a"))
    save(archive, crawl_id, make_article("b", authors=[Author("Ali Ahmadi", None)]))
    save(archive, crawl_id, make_article("c", authors=[Author("Ali Ahmadi", f"{SITE}/author/aa/")]))
    assert archive.count("authors") == 4


def test_same_post_id_at_a_new_url_is_one_article(archive: Archive, crawl_id: int) -> None:
    save(archive, crawl_id, make_article("old-slug"), post_id="7")
    moved = make_article("new-slug")
    redirect = [(f"{SITE}/old-slug/", "redirect")]  # the old URL redirected to the new one
    assert save(archive, crawl_id, moved, post_id="7", aliases=redirect) == "updated"
    assert archive.article_urls() == [moved.url]
    assert archive.article_record(f"{SITE}/old-slug/") == moved.to_record(extras=False)


def test_same_post_id_at_a_second_live_url_is_a_conflict(archive: Archive, crawl_id: int) -> None:
    first = make_article("old-slug")
    save(archive, crawl_id, first, post_id="7")
    other = make_article("old-slug-2")  # no redirect: the old URL still answers
    assert save(archive, crawl_id, other, post_id="7") == "conflicting"
    assert archive.count("url_aliases") == 0  # the caller decides when the conflict stands
    archive.add_alias(other.url, first.url, CONFLICTING_CANONICAL)
    # The second time through its alias (no post id needed), still a conflict.
    assert save(archive, crawl_id, other) == "conflicting"
    assert archive.article_urls() == [first.url]
    assert archive.article_record(other.url) == first.to_record(extras=False)
    assert len(archive.revisions(first.url)) == 1
    aliases = list(archive.db.query("SELECT url, target_url, kind FROM url_aliases"))
    assert aliases == [{"url": other.url, "target_url": first.url, "kind": "conflicting_canonical"}]


def test_in_the_crawl_that_archived_it_the_post_can_go_to_its_other_url(
    archive: Archive, crawl_id: int
) -> None:
    copy, original = make_article("old-slug-2"), make_article("old-slug", title="The original")
    save(archive, crawl_id, copy, post_id="7")  # the copy happened to be extracted first
    article_id = archive.find_article(copy.url)
    assert article_id is not None
    assert save(archive, crawl_id, original, post_id="7") == "conflicting"
    assert archive.first_archived_in(article_id, crawl_id)
    loser = archive.take_over(
        article_id,
        original.to_record(extras=False),
        capture_id=capture(archive, crawl_id, original.url),
        fetched_at="2025-01-01T00:00:00+00:00",
        extractor_version="1",
    )
    assert loser == copy.url
    assert archive.article_urls() == [original.url]
    assert archive.article_record(original.url) == original.to_record(extras=False)
    [revision] = archive.revisions(original.url)  # as if the crawl had met the original first
    assert revision["record"] == original.to_record(extras=False)
    aliases = list(archive.db.query("SELECT url, target_url, kind FROM url_aliases"))
    assert aliases == [
        {"url": copy.url, "target_url": original.url, "kind": "conflicting_canonical"}
    ]
    assert archive.find_article(copy.url) == article_id
    # A later crawl did not archive it first: there the archived URL stays.
    later = archive.start_crawl(SITE, {"delay": 1.0}, {"qiosk-scraper": "0.1.0"})
    assert not archive.first_archived_in(article_id, later)


def test_a_conflicting_url_becomes_the_article_when_the_old_one_redirects(
    archive: Archive, crawl_id: int
) -> None:
    first = make_article("old-slug")
    save(archive, crawl_id, first, post_id="7")
    moved = make_article("old-slug-2")
    archive.add_alias(moved.url, first.url, CONFLICTING_CANONICAL)  # an earlier crawl's verdict
    archive.add_alias(first.url, moved.url, "redirect")  # now the old URL answers 301
    assert save(archive, crawl_id, moved, post_id="7") == "updated"
    assert archive.article_urls() == [moved.url]
    aliases = list(archive.db.query("SELECT url, target_url, kind FROM url_aliases"))
    assert aliases == [{"url": first.url, "target_url": moved.url, "kind": "redirect"}]
    [revision] = [r for r in archive.revisions(moved.url) if r["revision"] == 2]
    assert revision["changed_fields"] == ["url"]


def test_aliases_before_and_after_the_article(archive: Archive, crawl_id: int) -> None:
    article = make_article()
    archive.add_alias(f"{SITE}/golden-dome", article.url)
    assert archive.find_article(f"{SITE}/golden-dome") is None
    save(archive, crawl_id, article, aliases=[(f"{SITE}/old-golden-dome/", "redirect")])
    archive.add_alias(f"{SITE}/golden-dome/?utm_source=x", article.url)
    archive.add_alias(article.url, article.url)  # ignored
    article_id = archive.find_article(article.url)
    for variant in ("/golden-dome", "/old-golden-dome/", "/golden-dome/?utm_source=x"):
        assert archive.find_article(SITE + variant) == article_id
    assert archive.count("url_aliases") == 3
    assert archive.count("articles") == 1


def test_listings_seen_before_and_after_the_article(archive: Archive, crawl_id: int) -> None:
    article = make_article()
    archive.record_listing(article.url, "Analysis", crawl_id=crawl_id)
    archive.record_listing(f"{SITE}/elsewhere/", "Europe", crawl_id=crawl_id, post_id="7")
    save(archive, crawl_id, article, post_id="7")
    archive.record_listing(article.url, "Military Industrial Complex", crawl_id=crawl_id)
    archive.record_listing(article.url, "Analysis", crawl_id=crawl_id)
    assert archive.listed_sections(article.url) == [
        "Analysis",
        "Europe",
        "Military Industrial Complex",
    ]
    rows = archive.db.query(
        "SELECT s.label, x.is_primary, x.listed FROM article_sections x "
        "JOIN sections s ON s.id = x.section_id ORDER BY s.label"
    )
    assert [tuple(r.values()) for r in rows] == [
        ("Analysis", 0, 1),
        ("Europe", 0, 1),
        ("Military Industrial Complex", 1, 1),
    ]


def test_a_failing_save_leaves_nothing_behind(archive: Archive, crawl_id: int) -> None:
    record = make_article().to_record(extras=False)
    record["links"] = [{"url": None, "text": "broken"}]  # NOT NULL fails after the article row
    with pytest.raises(sqlite3.IntegrityError):
        archive.save_article(
            record, crawl_id=crawl_id, capture_id=None, fetched_at="2025-01-01T00:00:00+00:00"
        )
    for table in ("articles", "authors", "article_authors", "tags", "images", "links"):
        assert archive.count(table) == 0, table
    assert archive.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_full_text_search_follows_edits(archive: Archive, crawl_id: int) -> None:
    save(archive, crawl_id, make_article(body="Hypersonic interceptors in orbit."))
    assert [r["title"] for r in archive.search("hypersonic")] == [make_article().title]
    save(archive, crawl_id, make_article(body="Budget lines only."))
    assert list(archive.search("hypersonic")) == []
    assert len(list(archive.search("budget"))) == 1


def test_crawl_errors_and_captures_round_trip(archive: Archive, crawl_id: int) -> None:
    capture_id = capture(archive, crawl_id, f"{SITE}/gone/", status=404)
    archive.add_error(crawl_id, f"{SITE}/gone/", "http_404", "Not Found", capture_id=capture_id)
    archive.finish_crawl(crawl_id, {"pages": 1, "errors": 1}, "finished")
    crawl = archive.crawl(crawl_id)
    assert crawl["status"] == "finished"
    assert crawl["stats"] == {"errors": 1, "pages": 1}
    assert crawl["arguments"] == {"delay": 1.0}
    assert crawl["ended"] >= crawl["started"]
    [error] = archive.errors(crawl_id)
    assert (error["kind"], error["capture_id"]) == ("http_404", capture_id)
    latest = archive.latest_capture(f"{SITE}/gone/")
    assert latest is not None
    assert latest["status"] == 404
    with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced
        archive.add_error(crawl_id + 99, "x", "kind", "message")


def test_inserted_values_are_stored_as_sqlite_utils_stores_them(archive: Archive) -> None:
    """Rows are inserted without sqlite-utils' insert_all, converting only what it converts:
    each value reads back exactly as it does from a table sqlite-utils filled."""
    import datetime
    import decimal
    import enum
    import uuid

    class Kind(enum.StrEnum):
        LIVE = "live"

    values: list[Any] = [
        "text ✓", 3, 2.5, True, None, b"\x00bytes", Kind.LIVE, ["a", "ü"], {"k": [1, 2]},
        ("t", 1), decimal.Decimal("1.25"), datetime.date(2025, 1, 2),
        datetime.datetime(2025, 1, 2, 3, 4, 5), datetime.timedelta(hours=1), uuid.UUID(int=7),
    ]  # fmt: skip
    archive.db.execute("CREATE TABLE ours (i INTEGER PRIMARY KEY, v)")
    archive.db.execute("CREATE TABLE theirs (i INTEGER PRIMARY KEY, v)")
    last = archive._insert_rows("ours", ({"i": i, "v": v} for i, v in enumerate(values)))
    archive.db["theirs"].insert_all({"i": i, "v": v} for i, v in enumerate(values))
    assert last == len(values) - 1
    read = "SELECT i, v, typeof(v) FROM {} ORDER BY i"
    ours = archive.db.execute(read.format("ours")).fetchall()
    assert ours == archive.db.execute(read.format("theirs")).fetchall()
    assert [v for _, v, _ in ours][7:10] == ['["a", "ü"]', '{"k": [1, 2]}', '["t", 1]']
    assert archive._insert_rows("ours", [{"v": "x"}, {"v": 1}, {"v": None}]) == len(values) + 2
    assert archive._insert_rows("ours", [{"v": [3]}]) == len(values) + 3
    tail = archive.db.execute("SELECT v FROM ours WHERE i >= ? ORDER BY i", [len(values)])
    assert [v for (v,) in tail] == ["x", 1, None, "[3]"]
