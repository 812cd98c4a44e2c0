"""The archive's re-crawl side (schema version 2): revisions, silent edits, re-extraction,
gone articles, interrupted crawls, discoveries, and the migration of a version-1 archive."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from support.records import SITE, capture, make_article

from qiosk_scraper.archive import SCHEMA_VERSION, Archive, content_hash
from qiosk_scraper.article import Article


@pytest.fixture
def crawl_id(archive: Archive) -> int:
    return archive.start_crawl(SITE, {}, {})


def save(
    archive: Archive,
    crawl_id: int,
    article: Article,
    when: str,
    post_id: str | None = "7",
    aliases: list[tuple[str, str]] | None = None,
) -> str:
    return archive.save_article(
        article.to_record(extras=False),
        crawl_id=crawl_id,
        capture_id=capture(archive, crawl_id, article.url),
        fetched_at=when,
        post_id=post_id,
        extractor_version="x1",
        aliases=aliases or (),
    )


def history(archive: Archive, url: str) -> list[tuple[int, list[str], int]]:
    return [(r["revision"], r["changed_fields"], r["silent_edit"]) for r in archive.revisions(url)]


def test_a_new_revision_only_when_the_content_changes(archive: Archive, crawl_id: int) -> None:
    first = make_article()
    assert save(archive, crawl_id, first, "2025-01-01T00:00:00+00:00") == "new"
    assert save(archive, crawl_id, first, "2025-01-02T00:00:00+00:00") == "unchanged"
    assert history(archive, first.url) == [(1, [], 0)]

    edited = make_article(body="A rewritten body.", modified="2025-01-03T00:00:00+00:00")
    assert save(archive, crawl_id, edited, "2025-01-03T00:00:00+00:00") == "updated"
    silent = make_article(
        body="Rewritten again, and quietly.",
        modified="2025-01-03T00:00:00+00:00",
        tags=["Pentagon budget"],
    )
    assert save(archive, crawl_id, silent, "2025-01-04T00:00:00+00:00") == "updated"
    moved = make_article(
        "golden-dome-shield",
        body="Rewritten again, and quietly.",
        modified="2025-01-03T00:00:00+00:00",
        tags=["Pentagon budget"],
    )
    redirect = [(first.url, "redirect")]  # a move: the old URL redirects to the new one
    assert save(archive, crawl_id, moved, "2025-01-05T00:00:00+00:00", aliases=redirect) == (
        "updated"
    )

    assert history(archive, moved.url) == [
        (1, [], 0),
        (2, ["body", "modified", "word_count"], 0),  # the site said it updated the article
        (3, ["body", "tags", "word_count"], 1),  # it did not: a silent edit
        (4, ["url"], 0),  # a new slug is no edit
    ]
    revisions = archive.revisions(first.url)  # the old URL still finds the article
    states = [first, edited, silent, moved]
    assert [r["record"] for r in revisions] == [a.to_record(extras=False) for a in states]
    assert [r["content_hash"] for r in revisions] == [
        content_hash(a.to_record(extras=False)) for a in states
    ]
    assert [r["fetched_at"][:10] for r in revisions] == [
        "2025-01-01",
        "2025-01-03",
        "2025-01-04",
        "2025-01-05",
    ]
    assert {r["extractor_version"] for r in revisions} == {"x1"}
    row = archive.article_row(moved.url)
    assert row is not None
    assert archive.article_record(moved.url) == moved.to_record(extras=False)
    assert row["content_hash"] == revisions[-1]["content_hash"]
    assert row["capture_id"] == revisions[-1]["capture_id"]
    assert archive.count("articles") == 1


def test_a_reextracted_record_is_a_revision_of_the_stored_capture(
    archive: Archive, crawl_id: int
) -> None:
    article = make_article()
    save(archive, crawl_id, article, "2025-01-01T00:00:00+00:00")
    row = archive.article_row(article.url)
    assert row is not None
    same = article.to_record(extras=False)
    assert (
        archive.save_reextracted(row["id"], same, extractor_version="x2", at="2025-02-01") is None
    )
    better = {**same, "subtitle": "A better dek."}
    changed = archive.save_reextracted(
        row["id"], better, extractor_version="x2", at="2025-02-01T00:00:00+00:00"
    )
    assert changed == ["subtitle"]
    [first, second] = archive.revisions(article.url)
    assert (second["extractor_version"], second["silent_edit"]) == ("x2", 0)
    assert second["capture_id"] == first["capture_id"] == row["capture_id"]
    assert second["fetched_at"] == "2025-02-01T00:00:00+00:00"
    after = archive.article_row(article.url)
    assert after is not None
    assert after["last_fetched"] == row["last_fetched"]  # nothing was fetched
    assert after["extractor_version"] == "x2"
    assert archive.article_record(article.url) == better


def test_gone_articles_keep_their_rows_and_come_back(archive: Archive, crawl_id: int) -> None:
    article = make_article()
    save(archive, crawl_id, article, "2025-01-01T00:00:00+00:00")
    article_id = archive.find_article(article.url)
    assert article_id is not None
    evidence = capture(archive, crawl_id, article.url, status=410)
    assert archive.mark_gone(article_id, "2025-02-01T00:00:00+00:00", evidence)
    assert not archive.mark_gone(article_id, "2025-03-01T00:00:00+00:00", evidence)  # first counts
    row = archive.article_row(article.url)
    assert row is not None
    assert (row["gone_at"], row["gone_capture_id"]) == ("2025-02-01T00:00:00+00:00", evidence)
    assert archive.article_record(article.url) == article.to_record(extras=False)
    assert archive.live_articles() == []
    archive.mark_unchanged(article_id, "2025-04-01T00:00:00+00:00")  # served again, a 304
    row = archive.article_row(article.url)
    assert row is not None
    assert (row["gone_at"], row["gone_capture_id"]) == (None, None)
    assert row["last_fetched"] == "2025-04-01T00:00:00+00:00"
    assert archive.live_articles() == [(article_id, article.url)]
    assert len(archive.revisions(article.url)) == 1


def test_known_article_and_validators_for_conditional_requests(
    archive: Archive, crawl_id: int
) -> None:
    article = make_article()
    capture_id = archive.add_capture(
        crawl_id,
        {
            "url": article.url,
            "status": 200,
            "fetched_at": "2025-01-01T00:00:00+00:00",
            "etag": '"abc"',
            "last_modified": "Tue, 07 Jan 2025 09:00:00 GMT",
        },
    )
    archive.save_article(
        article.to_record(extras=False),
        crawl_id=crawl_id,
        capture_id=capture_id,
        fetched_at="2025-01-01T00:00:00+00:00",
    )
    archive.add_alias(f"{SITE}/old-dome/", article.url, "redirect")
    known = archive.known_article(f"{SITE}/old-dome/")
    assert known is not None
    assert (known["url"], known["capture_id"], known["etag"]) == (article.url, capture_id, '"abc"')
    assert known["last_modified"] == "Tue, 07 Jan 2025 09:00:00 GMT"
    assert archive.known_article(f"{SITE}/never/") is None
    listing = f"{SITE}/tag/iran/"
    capture(archive, crawl_id, listing)  # no validators: no conditional request
    assert archive.validators(listing) is None
    archive.add_capture(crawl_id, {"url": listing, "status": 200, "fetched_at": "x", "etag": "e"})
    archive.add_capture(crawl_id, {"url": listing, "status": 404, "fetched_at": "y", "etag": "z"})
    validators = archive.validators(listing)
    assert validators is not None and validators["etag"] == "e"


def test_running_crawls_are_marked_interrupted_at_their_last_capture(archive: Archive) -> None:
    dead = archive.start_crawl(SITE, {}, {})
    archive.add_capture(dead, {"url": SITE + "/", "status": 200, "fetched_at": "2025-01-01T05"})
    done = archive.start_crawl(SITE, {}, {})
    archive.finish_crawl(done, {}, "finished")
    assert archive.interrupt_running_crawls() == [dead]
    assert archive.interrupt_running_crawls() == []
    row = archive.crawl(dead)
    assert (row["status"], row["ended"]) == ("interrupted", "2025-01-01T05")
    assert archive.crawl(done)["status"] == "finished"
    assert archive.latest_crawl() is not None and archive.latest_crawl()["id"] == done  # type: ignore[index]


def test_discoveries_resolve_to_articles_through_aliases(archive: Archive, crawl_id: int) -> None:
    article = make_article()
    save(archive, crawl_id, article, "2025-01-01T00:00:00+00:00")
    archive.add_alias(f"{SITE}/old-dome/", article.url, "redirect")
    archive.record_discoveries(
        crawl_id,
        [
            (article.url, "sitemap"),
            (f"{SITE}/old-dome/", "body"),
            (f"{SITE}/not-an-article/", "body"),
            (article.url, "sitemap"),  # twice: one row
        ],
    )
    article_id = archive.find_article(article.url)
    assert archive.discovered_articles(crawl_id) == [("body", article_id), ("sitemap", article_id)]
    assert archive.count("discoveries") == 3
    assert archive.crawls_with_discoveries() == [crawl_id]


def _downgrade_to_v1(path: Path) -> None:
    """Turn a version-2 file into the version-1 schema, rows kept (the v1 tables are v2's)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE revisions; DROP TABLE discoveries; "
        "ALTER TABLE articles DROP COLUMN gone_capture_id; PRAGMA user_version = 1;"
    )
    conn.close()


def test_a_version_1_archive_gets_revision_1_of_every_article(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Archive(path) as archive:
        crawl_id = archive.start_crawl(SITE, {}, {})
        save(archive, crawl_id, make_article("a"), "2025-01-01T00:00:00+00:00", post_id="1")
        save(archive, crawl_id, make_article("b"), "2025-01-02T00:00:00+00:00", post_id="2")
        save(  # an edit saved by version 1 kept only its latest state
            archive, crawl_id, make_article("b", title="B"), "2025-01-03T00:00:00+00:00", "2"
        )
    _downgrade_to_v1(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    with Archive(path) as migrated:  # opening migrates
        assert migrated.schema_version == SCHEMA_VERSION == 3
        rows = list(migrated.db.query("SELECT * FROM articles ORDER BY id"))
        revisions = list(migrated.db.query("SELECT * FROM revisions ORDER BY article_id"))
        assert [(r["article_id"], r["revision"]) for r in revisions] == [(1, 1), (2, 1)]
        for row, revision in zip(rows, revisions, strict=True):
            assert json.loads(revision["record"]) == migrated.article_record(row["url"])
            assert revision["content_hash"] == row["content_hash"]
            assert revision["fetched_at"] == row["last_fetched"]
            assert revision["capture_id"] == row["capture_id"]
            assert (revision["changed_fields"], revision["silent_edit"]) == ("[]", 0)
        assert migrated.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert migrated.db.execute("PRAGMA foreign_key_check").fetchall() == []
