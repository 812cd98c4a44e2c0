"""The archive's schema: its version, the tables each version creates, the migration from
version 1, and the tables and columns a version must have (checked on open).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

import sqlite_utils

from qiosk_scraper.archive.rows import _read_record, _record_json

SCHEMA_VERSION = 3


def _create_v1(db: sqlite_utils.Database) -> None:
    db.table("crawls").create(
        {
            "id": int,
            "site": str,
            "arguments": str,
            "versions": str,
            "started": str,
            "ended": str,
            "stats": str,
            "status": str,
        },
        pk="id",
        not_null=["site", "started", "status"],
    )
    db.table("captures").create(
        {
            "id": int,
            "crawl_id": int,
            "url": str,
            "method": str,
            "status": int,
            "fetched_at": str,
            "content_type": str,
            "location": str,
            "etag": str,
            "last_modified": str,
            "payload_sha256": str,
            "payload_length": int,
            "warc_file": str,
            "warc_offset": int,
            "warc_length": int,
        },
        pk="id",
        foreign_keys=[("crawl_id", "crawls", "id")],
        not_null=["crawl_id", "url", "status", "fetched_at"],
    )
    db.table("articles").create(
        {
            "id": int,
            "url": str,
            "post_id": str,
            "title": str,
            "subtitle": str,
            "article_type": str,
            "section": str,
            "published": str,
            "modified": str,
            "body": str,
            "word_count": int,
            "language": str,
            "content_hash": str,
            "first_seen": str,
            "last_fetched": str,
            "capture_id": int,
            "extractor_version": str,
            "gone_at": str,
        },
        pk="id",
        foreign_keys=[("capture_id", "captures", "id")],
        not_null=["url", "title", "content_hash", "first_seen", "last_fetched"],
    )
    db.table("authors").create({"id": int, "name": str, "url": str}, pk="id", not_null=["name"])
    db.table("article_authors").create(
        {"article_id": int, "author_id": int, "position": int},
        pk=("article_id", "position"),
        foreign_keys=[("article_id", "articles", "id"), ("author_id", "authors", "id")],
    )
    db.table("tags").create({"id": int, "label": str}, pk="id", not_null=["label"])
    db.table("article_tags").create(
        {"article_id": int, "tag_id": int, "position": int},
        pk=("article_id", "position"),
        foreign_keys=[("article_id", "articles", "id"), ("tag_id", "tags", "id")],
    )
    db.table("sections").create({"id": int, "label": str}, pk="id", not_null=["label"])
    db.table("article_sections").create(
        {"article_id": int, "section_id": int, "is_primary": int, "listed": int},
        pk=("article_id", "section_id"),
        foreign_keys=[("article_id", "articles", "id"), ("section_id", "sections", "id")],
        not_null=["is_primary", "listed"],
        defaults={"is_primary": 0, "listed": 0},
    )
    db.table("listing_sightings").create(
        {"url": str, "section_id": int, "post_id": str, "crawl_id": int, "seen_at": str},
        pk=("url", "section_id"),
        foreign_keys=[("section_id", "sections", "id"), ("crawl_id", "crawls", "id")],
    )
    db.table("images").create(
        {
            "article_id": int,
            "position": int,
            "url": str,
            "alt": str,
            "caption": str,
            "credit": str,
            "lead": int,
        },
        pk=("article_id", "position"),
        foreign_keys=[("article_id", "articles", "id")],
        not_null=["url", "alt", "lead"],
    )
    db.table("links").create(
        {"article_id": int, "position": int, "url": str, "text": str},
        pk=("article_id", "position"),
        foreign_keys=[("article_id", "articles", "id")],
        not_null=["url", "text"],
    )
    db.table("url_aliases").create(
        {"url": str, "target_url": str, "article_id": int, "kind": str, "first_seen": str},
        pk="url",
        foreign_keys=[("article_id", "articles", "id")],
        not_null=["target_url", "kind", "first_seen"],
    )
    db.table("errors").create(
        {
            "id": int,
            "crawl_id": int,
            "url": str,
            "kind": str,
            "message": str,
            "at": str,
            "capture_id": int,
        },
        pk="id",
        foreign_keys=[("crawl_id", "crawls", "id"), ("capture_id", "captures", "id")],
        not_null=["crawl_id", "url", "kind", "at"],
    )
    db.table("captures").create_index(["url"])
    db.table("captures").create_index(["crawl_id"])
    db.table("articles").create_index(["url"], unique=True)
    db.table("articles").create_index(["published"])
    db.execute(
        "CREATE UNIQUE INDEX idx_articles_post_id ON articles (post_id) WHERE post_id IS NOT NULL"
    )
    db.execute("CREATE UNIQUE INDEX idx_authors_name_url ON authors (name, ifnull(url, ''))")
    db.table("tags").create_index(["label"], unique=True)
    db.table("sections").create_index(["label"], unique=True)
    db.table("article_authors").create_index(["author_id"])
    db.table("article_tags").create_index(["tag_id"])
    db.table("article_sections").create_index(["section_id"])
    db.table("listing_sightings").create_index(["post_id"])
    db.table("links").create_index(["url"])
    db.table("url_aliases").create_index(["target_url"])
    db.table("url_aliases").create_index(["article_id"])
    db.table("errors").create_index(["crawl_id"])
    db.table("errors").create_index(["kind"])
    db.table("articles").enable_fts(["title", "subtitle", "body"], create_triggers=True)


def _create_v2(db: sqlite_utils.Database) -> None:
    """Re-crawls: revisions, discoveries, the evidence of a gone article; revision 1 of every
    stored article from its rows, fetched when the archive last saw it served."""
    db.table("revisions").create(
        {
            "article_id": int,
            "revision": int,
            "fetched_at": str,
            "content_hash": str,
            "record": str,
            "changed_fields": str,
            "silent_edit": int,
            "extractor_version": str,
            "capture_id": int,
        },
        pk=("article_id", "revision"),
        foreign_keys=[("article_id", "articles", "id"), ("capture_id", "captures", "id")],
        not_null=["fetched_at", "content_hash", "record", "changed_fields", "silent_edit"],
    )
    db.table("revisions").create_index(["fetched_at"])
    db.execute("ALTER TABLE articles ADD COLUMN gone_capture_id INTEGER REFERENCES captures(id)")
    db.table("discoveries").create(
        {"crawl_id": int, "url": str, "source": str},
        pk=("crawl_id", "url", "source"),
        foreign_keys=[("crawl_id", "crawls", "id")],
    )
    db.table("discoveries").create_index(["url"])
    rows = db.execute(
        "SELECT id, content_hash, last_fetched, extractor_version, capture_id FROM articles "
        "ORDER BY id"
    ).fetchall()
    db.table("revisions").insert_all(
        {
            "article_id": article_id,
            "revision": 1,
            "fetched_at": last_fetched,
            "content_hash": digest,
            "record": _record_json(_read_record(db, article_id)),
            "changed_fields": "[]",
            "silent_edit": 0,
            "extractor_version": version,
            "capture_id": capture_id,
        }
        for article_id, digest, last_fetched, version, capture_id in rows
    )


def _create_v3(db: sqlite_utils.Database) -> None:
    """Backfill from web archives: the provenance of every imported capture
    (``capture_sources``) and a CDX query's resume key (``backfill_resume``); extraction health:
    per crawl and field, the articles extracted and how many had the field (``fill_rates``).
    Version-2 archives may hold them already (made on first use before): kept as they are."""
    if "capture_sources" not in db.table_names():
        db.table("capture_sources").create(
            {
                "capture_id": int,
                "source": str,
                "file": str,
                "file_sha256": str,
                "member": str,
                "record_id": str,
                "record_offset": int,
                "captured_at": str,
            },
            pk="capture_id",
            foreign_keys=[("capture_id", "captures", "id")],
            not_null=["source", "file", "file_sha256", "captured_at"],
        )
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS capture_sources_record ON capture_sources "
        "(file_sha256, ifnull(member, ''), ifnull(record_offset, -1), captured_at)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS capture_sources_source ON capture_sources (source)")
    if "backfill_resume" not in db.table_names():
        db.table("backfill_resume").create(
            {"query": str, "resume": str, "updated": str}, pk="query"
        )
    if "fill_rates" not in db.table_names():
        db.table("fill_rates").create(
            {"crawl_id": int, "field": str, "articles": int, "filled": int, "fallback": int},
            pk=("crawl_id", "field"),
            foreign_keys=[("crawl_id", "crawls", "id")],
            not_null=["articles", "filled"],
        )


# Schema version n is reached by running _MIGRATIONS[n - 1] on version n - 1.
_MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_create_v1, _create_v2, _create_v3]

# Tables of a later version that a file of an earlier one may hold legitimately: made on first
# use (by the first imports, by a crawl's extraction health) before version 3 took them in.
MADE_ON_FIRST_USE = frozenset({"capture_sources", "backfill_resume", "fill_rates"})

assert len(_MIGRATIONS) == SCHEMA_VERSION


@cache
def expected_schema(version: int) -> dict[str, frozenset[str]]:
    """Table -> column names of a schema-``version`` archive, as the migrations make it."""
    db = sqlite_utils.Database(memory=True)
    for migration in _MIGRATIONS[:version]:
        migration(db)
    schema = {name: frozenset(c.name for c in db.table(name).columns) for name in db.table_names()}
    db.close()
    return schema


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))
