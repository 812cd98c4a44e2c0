"""Captures imported from web archives (:class:`ImportedCaptures`, a part of
:class:`~qiosk_scraper.archive.store.Archive`): their provenance (``capture_sources``), their
place in an article's history by capture time, and a CDX query's resume key
(``backfill_resume``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlite_utils.db import Table

from qiosk_scraper.archive.rows import (
    _article_row,
    _changes,
    _record_json,
    content_hash,
    now_iso,
)

# url_aliases.kind (and errors.kind) of a URL whose page names itself canonical for a post
# archived, live, under another URL.
CONFLICTING_CANONICAL = "conflicting_canonical"

if TYPE_CHECKING:
    from qiosk_scraper.archive.store import _Database


class ImportedCaptures:
    """The web-archive part of :class:`~qiosk_scraper.archive.store.Archive`."""

    if TYPE_CHECKING:
        db: _Database

        def _table(self, name: str) -> Table: ...

        def _insert(self, name: str, row: Mapping[str, Any]) -> int: ...

        def _insert_children(self, article_id: int, record: Mapping[str, Any]) -> None: ...

        def _delete_children(self, article_id: int) -> None: ...

        def find_article(
            self, url: str | None = None, post_id: str | None = None
        ) -> int | None: ...

        def _alias(self, url: str, target_url: str, kind: str, article_id: int | None) -> None: ...

        def _add_revision(
            self,
            article_id: int,
            record: Mapping[str, Any],
            digest: str,
            *,
            at: str,
            extractor_version: str | None,
            capture_id: int | None,
            by_extractor: bool,
        ) -> list[str]: ...

    # -- backfill from web archives (issue 16) ----------------------------------------------
    # Two tables made on first use, outside the numbered migrations while the archive's schema
    # module is being reworked: ``capture_sources`` (the provenance of every imported capture)
    # and ``backfill_resume`` (a CDX query's resume key).

    _backfill_made = False  # the tables are there (checked once per Archive)

    def _backfill_tables(self) -> None:
        if self._backfill_made:
            return
        names = set(self.db.table_names())
        if "capture_sources" not in names:
            self._table("capture_sources").create(
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
            self.db.execute(
                "CREATE UNIQUE INDEX capture_sources_record ON capture_sources (file_sha256, "
                "ifnull(member, ''), ifnull(record_offset, -1), captured_at)"
            )
        if "backfill_resume" not in names:
            self._table("backfill_resume").create(
                {"query": str, "resume": str, "updated": str}, pk="query"
            )
        self._backfill_made = True

    def imported(self, provenance: Mapping[str, Any]) -> bool:
        """Whether the record ``provenance`` names (file SHA-256, WACZ member, offset, capture
        time) was imported already."""
        self._backfill_tables()
        row = self.db.execute(
            "SELECT 1 FROM capture_sources WHERE file_sha256 = ? AND ifnull(member, '') = ? "
            "AND ifnull(record_offset, -1) = ? AND captured_at = ?",
            [
                provenance["file_sha256"],
                provenance.get("member") or "",
                -1 if provenance.get("offset") is None else provenance["offset"],
                provenance["captured_at"],
            ],
        ).fetchone()
        return row is not None

    def import_capture(
        self,
        crawl_id: int,
        capture: Mapping[str, Any],
        provenance: Mapping[str, Any],
        record: Mapping[str, Any] | None,
        *,
        extractor_version: str | None,
    ) -> str:
        """In one transaction: the capture (a ``captures`` row of import crawl ``crawl_id``),
        its provenance, and the article record extracted from it (None: not an article)
        merged into the article's history by capture time. Returns what the record did:
        ``new`` (an article the archive did not hold), ``earlier`` or ``later`` (a revision
        before or after others), ``between``, ``identical`` (the same content as the revision
        before or after it in time: nothing added) or ``none`` (no record)."""
        self._backfill_tables()
        with self.db.atomic():
            capture_id = self._insert("captures", {**capture, "crawl_id": crawl_id})
            self._insert(
                "capture_sources",
                {
                    "capture_id": capture_id,
                    "source": provenance["source"],
                    "file": provenance["file"],
                    "file_sha256": provenance["file_sha256"],
                    "member": provenance.get("member"),
                    "record_id": provenance.get("record_id") or None,
                    "record_offset": provenance.get("offset"),
                    "captured_at": provenance["captured_at"],
                },
            )
            if record is None:
                return "none"
            return self._merge_by_time(record, capture_id, capture["fetched_at"], extractor_version)

    def import_captures(
        self,
        crawl_id: int,
        captures: Iterable[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any] | None]],
        *,
        extractor_version: str | None,
    ) -> list[str]:
        """:meth:`import_capture` of each (capture, provenance, record), in order, all in one
        transaction (a batch interrupted midway leaves none of them); returns their outcomes."""
        self._backfill_tables()
        with self.db.atomic():
            return [
                self.import_capture(
                    crawl_id, capture, provenance, record, extractor_version=extractor_version
                )
                for capture, provenance, record in captures
            ]

    def _merge_by_time(
        self,
        record: Mapping[str, Any],
        capture_id: int,
        at: str,
        extractor_version: str | None,
    ) -> str:
        digest = content_hash(record)
        article_id = self.find_article(record["url"])
        if article_id is None:
            row = _article_row(record, digest, at, capture_id, extractor_version)
            row.update(first_seen=at, gone_at=None, gone_capture_id=None)
            article_id = self._insert("articles", row)
            self._insert_children(article_id, record)
            self._add_revision(
                article_id,
                record,
                digest,
                at=at,
                extractor_version=extractor_version,
                capture_id=capture_id,
                by_extractor=False,
            )
            return "new"
        history = list(
            self.db.query(
                "SELECT revision, fetched_at, content_hash, record FROM revisions "
                "WHERE article_id = ? ORDER BY revision",
                [article_id],
            )
        )
        before = [r for r in history if r["fetched_at"] <= at]
        after = [r for r in history if r["fetched_at"] > at]
        neighbours = ([before[-1]] if before else []) + ([after[0]] if after else [])
        if any(n["content_hash"] == digest for n in neighbours):
            return "identical"
        number = before[-1]["revision"] + 1 if before else 1
        # make room: the revisions after it move up one (in two steps: the key is unique)
        self.db.execute(
            "UPDATE revisions SET revision = -(revision + 1) WHERE article_id = ? "
            "AND revision >= ?",
            [article_id, number],
        )
        self.db.execute(
            "UPDATE revisions SET revision = -revision WHERE article_id = ? AND revision < 0",
            [article_id],
        )
        previous = json.loads(before[-1]["record"]) if before else None
        changed, silent = _changes(previous, record)
        self._insert(
            "revisions",
            {
                "article_id": article_id,
                "revision": number,
                "fetched_at": at,
                "content_hash": digest,
                "record": _record_json(record),
                "changed_fields": json.dumps(changed),
                "silent_edit": int(silent),
                "extractor_version": extractor_version,
                "capture_id": capture_id,
            },
        )
        existing = self._table("articles").get(article_id)
        if after:  # the next revision now differs from this one, not from the one before
            following = json.loads(after[0]["record"])
            changed, silent = _changes(record, following)
            self.db.execute(
                "UPDATE revisions SET changed_fields = ?, silent_edit = ? "
                "WHERE article_id = ? AND revision = ?",
                [json.dumps(changed), int(silent), article_id, number + 1],
            )
            if at < existing["first_seen"]:
                self._table("articles").update(article_id, {"first_seen": at})
            return "earlier" if not before else "between"
        row = _article_row(record, digest, at, capture_id, extractor_version)
        self._table("articles").update(article_id, row)
        self._delete_children(article_id)
        self._insert_children(article_id, record)
        if existing["url"] != record["url"]:
            self._alias(existing["url"], record["url"], "redirect", article_id)
        return "later"

    def backfill_resume(self, query: str) -> str | None:
        """The resume key stored for a CDX query (its URL), None when it has none."""
        self._backfill_tables()
        row = self.db.execute(
            "SELECT resume FROM backfill_resume WHERE query = ?", [query]
        ).fetchone()
        return None if row is None else row[0]

    def set_backfill_resume(self, query: str, resume: str | None) -> None:
        """Store the key to resume a CDX query after the pages imported (None: done)."""
        self._backfill_tables()
        with self.db.atomic():
            self._table("backfill_resume").upsert(
                {"query": query, "resume": resume, "updated": now_iso()}, pk="query"
            )

    def archive_only_articles(self) -> list[str]:
        """URLs of the articles known only from imported captures (no revision of theirs came
        from a crawl of the site), sorted."""
        self._backfill_tables()
        return [
            str(url)
            for (url,) in self.db.execute(
                "SELECT a.url FROM articles a WHERE NOT EXISTS (SELECT 1 FROM revisions r "
                "LEFT JOIN capture_sources s ON s.capture_id = r.capture_id "
                "WHERE r.article_id = a.id AND s.capture_id IS NULL) ORDER BY a.url"
            )
        ]

    def imported_sources(self) -> dict[str, int]:
        """Captures imported per source."""
        self._backfill_tables()
        return {
            str(source): int(count)
            for source, count in self.db.execute(
                "SELECT source, count(*) FROM capture_sources GROUP BY source ORDER BY source"
            )
        }
