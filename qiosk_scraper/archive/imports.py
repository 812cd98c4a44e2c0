"""Captures imported from web archives (:class:`ImportedCaptures`, a part of
:class:`~qiosk_scraper.archive.store.Archive`): their provenance (``capture_sources``), their
place in an article's history by capture time, and a CDX query's resume key
(``backfill_resume``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlite_utils.db import Table

from qiosk_scraper.archive.rows import (
    _article_row,
    _changes,
    _record_json,
    _revision_row,
    content_hash,
    now_iso,
)

# url_aliases.kind (and errors.kind) of a URL whose page names itself canonical for a post
# archived, live, under another URL.
CONFLICTING_CANONICAL = "conflicting_canonical"

# The trigger that indexes an inserted article in ``articles_fts`` (sqlite-utils' enable_fts).
_FTS_INSERT_TRIGGER = "articles_ai"

# Whether article ``a`` was fetched by a crawl of the site: a capture of its URL (or of one of
# its aliases) that answered 200 or 304, neither imported from a web archive nor taken by a
# live check. An article without one is known only from web archives.
_CRAWLED = (
    "EXISTS (SELECT 1 FROM captures c JOIN crawls cr ON cr.id = c.crawl_id "
    "LEFT JOIN capture_sources s ON s.capture_id = c.id "
    "WHERE s.capture_id IS NULL AND c.status IN (200, 304) "
    "AND json_extract(cr.arguments, '$.check') IS NULL "
    "AND (c.url = a.url OR c.url IN (SELECT u.url FROM url_aliases u WHERE u.article_id = a.id)))"
)

if TYPE_CHECKING:
    from qiosk_scraper.archive.store import _Database


class ImportedCaptures:
    """The web-archive part of :class:`~qiosk_scraper.archive.store.Archive`."""

    _fts_columns: list[str] | None = None  # set: articles inserted are indexed by _merge_by_time

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
    # ``capture_sources`` (the provenance of every imported capture) and ``backfill_resume``
    # (a CDX query's resume key) are tables of schema version 3.

    def imported(self, provenance: Mapping[str, Any]) -> bool:
        """Whether the record ``provenance`` names (file SHA-256, WACZ member, offset, capture
        time) was imported already."""
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

    def imported_records(self, file_sha256: str) -> set[tuple[str, int, str]]:
        """The records of the file ``file_sha256`` imported already, each as (WACZ member or
        "", offset or -1, capture time): what :meth:`imported` asks of one, for a whole file."""
        return {
            (str(member), int(offset), str(at))
            for member, offset, at in self.db.execute(
                "SELECT ifnull(member, ''), ifnull(record_offset, -1), captured_at "
                "FROM capture_sources WHERE file_sha256 = ?",
                [file_sha256],
            )
        }

    def import_captures(
        self,
        crawl_id: int,
        captures: Iterable[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any] | None]],
        *,
        extractor_version: str | None,
    ) -> list[str]:
        """In one transaction (a batch interrupted midway leaves none of them), each
        (capture, provenance, record) in order: the capture (a ``captures`` row of import crawl
        ``crawl_id``), its provenance, and the article record extracted from it (None: not an
        article) merged into the article's history by capture time. Returns what each record
        did: ``new`` (an article the archive did not hold), ``earlier`` or ``later`` (a
        revision before or after others), ``between``, ``identical`` (the same content as the
        revision before or after it in time: no revision added; one after it is dated from this
        earlier sight of its state) or ``none`` (no record).

        No savepoint per capture, and articles indexed directly (:meth:`_indexing_directly`):
        FTS5 writes its pending index out at every savepoint and at every row a trigger
        inserts, which made the full-text index the dearest part of storing a capture."""
        with self.db.atomic(), self._indexing_directly():
            return [
                self._import_one(crawl_id, capture, provenance, record, extractor_version)
                for capture, provenance, record in captures
            ]

    def _import_one(
        self,
        crawl_id: int,
        capture: Mapping[str, Any],
        provenance: Mapping[str, Any],
        record: Mapping[str, Any] | None,
        extractor_version: str | None,
    ) -> str:
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

    @contextlib.contextmanager
    def _indexing_directly(self) -> Iterator[None]:
        """Inside a write transaction: the full-text index's insert trigger dropped, each
        article inserted meanwhile indexed by :meth:`_merge_by_time` as the trigger would index
        it, and the trigger made again from its own SQL before the transaction ends. No commit
        can tell: the trigger and the index are as the trigger keeps them (a transaction that
        fails rolls the drop back with the rest)."""
        row = self.db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            [_FTS_INSERT_TRIGGER],
        ).fetchone()
        if row is None or self._fts_columns is not None:  # no index, or dropped already
            yield
            return
        columns = [c for _, c, *_ in self.db.execute("PRAGMA table_info([articles_fts])")]
        self.db.execute(f"DROP TRIGGER [{_FTS_INSERT_TRIGGER}]")
        self._fts_columns = columns
        try:
            yield
        finally:
            self._fts_columns = None
        self.db.execute(row[0])

    def _index_article(self, article_id: int, row: Mapping[str, Any]) -> None:
        """Index article ``article_id`` just inserted with ``row``, while
        :meth:`_indexing_directly`."""
        if self._fts_columns is None:
            return
        names = ", ".join(f"[{c}]" for c in self._fts_columns)
        marks = ", ".join("?" for _ in self._fts_columns)
        self.db.execute(
            f"INSERT INTO [articles_fts] (rowid, {names}) VALUES (?, {marks})",
            [article_id, *(row[c] for c in self._fts_columns)],
        )

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
            self._index_article(article_id, row)
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
        return self._merge_into(article_id, record, capture_id, at, extractor_version)

    def _merge_into(
        self,
        article_id: int,
        record: Mapping[str, Any],
        capture_id: int | None,
        at: str,
        extractor_version: str | None,
        *,
        moved_from: bool = False,
    ) -> str:
        """Merge ``record`` (captured at ``at``) into article ``article_id``'s history by time.
        ``moved_from``: the record is of the article's former URL (its history moved here), so
        it never names the article's URL, even when it is the latest state."""
        digest = content_hash(record)
        history = list(
            self.db.query(
                "SELECT revision, fetched_at, content_hash, record FROM revisions "
                "WHERE article_id = ? ORDER BY revision",
                [article_id],
            )
        )
        before = [r for r in history if r["fetched_at"] <= at]
        after = [r for r in history if r["fetched_at"] > at]
        if before and before[-1]["content_hash"] == digest:
            return "identical"
        if after and after[0]["content_hash"] == digest:
            # the state the next revision holds was there already: seen first now
            self.db.execute(
                "UPDATE revisions SET fetched_at = ?, capture_id = ? "
                "WHERE article_id = ? AND revision = ?",
                [at, capture_id, article_id, after[0]["revision"]],
            )
            self.db.execute(
                "UPDATE articles SET first_seen = ? WHERE id = ? AND first_seen > ?",
                [at, article_id, at],
            )
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
        row = _revision_row(
            article_id,
            number,
            record,
            digest,
            _changes(previous, record),
            at=at,
            extractor_version=extractor_version,
            capture_id=capture_id,
        )
        self._insert("revisions", row)
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
        if moved_from:
            row["url"] = existing["url"]
        self._table("articles").update(article_id, row)
        self._delete_children(article_id)
        self._insert_children(article_id, record)
        if existing["url"] != row["url"]:
            self._alias(existing["url"], record["url"], "redirect", article_id)
        return "later"

    # -- what the live site says of the articles only web archives know --------------------

    def unchecked_archive_only(self) -> list[tuple[int, str]]:
        """(id, URL) of the articles known only from web archives that are not marked gone
        and whose URL no live check (a crawl with the argument ``check: live``) has asked."""
        return [
            (int(i), str(u))
            for i, u in self.db.execute(
                f"SELECT a.id, a.url FROM articles a WHERE a.gone_at IS NULL AND {_ARCHIVE_ONLY} "
                "AND NOT EXISTS (SELECT 1 FROM captures c JOIN crawls cr ON cr.id = c.crawl_id "
                "WHERE c.url = a.url AND json_extract(cr.arguments, '$.check') = 'live') "
                "ORDER BY a.url"
            )
        ]

    def has_crawled_articles(self) -> bool:
        """Whether a crawl of the site ever fetched an article of this archive."""
        return (
            self.db.execute(f"SELECT 1 FROM articles a WHERE {_CRAWLED} LIMIT 1").fetchone()
            is not None
        )

    def move_history(self, from_id: int, into_id: int) -> list[str]:
        """Move article ``from_id``'s history into article ``into_id`` (the live site
        redirects the first's URL to the second's): each revision merged by capture time, the
        first's URL made an alias of the second's, its rows removed. Returns what each
        revision did (``earlier``, ``between``, ``later``, ``identical``)."""
        with self.db.atomic():
            moved = self._table("articles").get(from_id)
            into = self._table("articles").get(into_id)
            revisions = list(
                self.db.query(
                    "SELECT fetched_at, record, capture_id, extractor_version FROM revisions "
                    "WHERE article_id = ? ORDER BY revision",
                    [from_id],
                )
            )
            self.db.execute("DELETE FROM revisions WHERE article_id = ?", [from_id])
            for table in (
                "article_authors", "article_tags", "images", "links", "article_sections",
            ):  # fmt: skip
                self.db.execute(f"DELETE FROM {table} WHERE article_id = ?", [from_id])
            self.db.execute(
                "UPDATE url_aliases SET article_id = ?, target_url = ? WHERE article_id = ?",
                [into_id, into["url"], from_id],
            )
            self.db.execute("DELETE FROM articles WHERE id = ?", [from_id])
            self._alias(moved["url"], into["url"], "redirect", into_id)
            outcomes = [
                self._merge_into(
                    into_id,
                    json.loads(r["record"]),
                    r["capture_id"],
                    r["fetched_at"],
                    r["extractor_version"],
                    moved_from=True,
                )
                for r in revisions
            ]
            if moved["first_seen"] < self._table("articles").get(into_id)["first_seen"]:
                self._table("articles").update(into_id, {"first_seen": moved["first_seen"]})
            return outcomes

    def backfill_resume(self, query: str) -> str | None:
        """The resume key stored for a CDX query (its URL), None when it has none."""
        row = self.db.execute(
            "SELECT resume FROM backfill_resume WHERE query = ?", [query]
        ).fetchone()
        return None if row is None else row[0]

    def set_backfill_resume(self, query: str, resume: str | None) -> None:
        """Store the key to resume a CDX query after the pages imported (None: done)."""
        with self.db.atomic():
            self._table("backfill_resume").upsert(
                {"query": query, "resume": resume, "updated": now_iso()}, pk="query"
            )

    def archive_only_articles(self) -> list[str]:
        """URLs of the articles known only from imported captures (no crawl of the site
        fetched them), sorted."""
        return [
            str(url)
            for (url,) in self.db.execute(
                f"SELECT a.url FROM articles a WHERE {_ARCHIVE_ONLY} ORDER BY a.url"
            )
        ]

    def imported_sources(self) -> dict[str, int]:
        """Captures imported per source."""
        return {
            str(source): int(count)
            for source, count in self.db.execute(
                "SELECT source, count(*) FROM capture_sources GROUP BY source ORDER BY source"
            )
        }

    # -- per source figures (issue 16, item 5) -----------------------------------------------
    # The source of a capture is its capture_sources.source, or CRAWL_SOURCE when it has no
    # row there (a response received by a crawl of the site).

    def source_figures(self) -> list[dict[str, Any]]:
        """Per source (``crawl`` first, then the web-archive sources by name): ``captures``,
        ``articles_brought`` (articles whose first revision came from it),
        ``articles_with_a_revision`` (articles holding a revision from it), ``revisions``
        (the revisions it brought). Sources with no capture and no revision are left out."""
        return list(self.db.query(_SOURCE_FIGURES, {"crawl": CRAWL_SOURCE}))

    def archive_only_captures(self) -> list[dict[str, Any]]:
        """The articles known only from imported captures (no revision of theirs came from a
        crawl), by URL: url, title, first_capture and last_capture (times of the imported
        200 responses of the article: its revisions' captures, and the captures of its URL
        and of its aliases that added nothing), captures (their number), sources (sorted
        list), gone_at."""
        rows = self.db.query(_ARCHIVE_ONLY_CAPTURES)
        return [{**row, "sources": sorted(row["sources"].split(","))} for row in rows]


# A capture with no capture_sources row: a response a crawl of the site received.
CRAWL_SOURCE = "crawl"

# WHERE clause over ``articles a``: no revision of the article came from a crawl.
_ARCHIVE_ONLY = f"NOT {_CRAWLED}"

_SOURCE_FIGURES = """
WITH revision_sources AS (
  SELECT r.article_id, r.revision, coalesce(s.source, :crawl) AS source
  FROM revisions r LEFT JOIN capture_sources s ON s.capture_id = r.capture_id
),
figures AS (
  SELECT source, count(*) AS captures, 0 AS articles_brought, 0 AS articles_with_a_revision,
    0 AS revisions
  FROM capture_sources GROUP BY source
  UNION ALL
  SELECT :crawl, count(*), 0, 0, 0 FROM captures c
  WHERE NOT EXISTS (SELECT 1 FROM capture_sources s WHERE s.capture_id = c.id)
  UNION ALL
  SELECT source, 0, sum(revision = 1), count(DISTINCT article_id), count(*)
  FROM revision_sources GROUP BY source
)
SELECT source, sum(captures) AS captures, sum(articles_brought) AS articles_brought,
  sum(articles_with_a_revision) AS articles_with_a_revision, sum(revisions) AS revisions
FROM figures GROUP BY source HAVING sum(captures) + sum(revisions) > 0
ORDER BY source != :crawl, source
"""

_ARCHIVE_ONLY_CAPTURES = f"""
WITH only_archived AS (
  SELECT a.id, a.url, a.title, a.gone_at FROM articles a WHERE {_ARCHIVE_ONLY}
),
seen AS (
  SELECT o.id AS article_id, r.capture_id
  FROM only_archived o JOIN revisions r ON r.article_id = o.id
  UNION
  SELECT o.id, c.id FROM only_archived o JOIN captures c ON c.url = o.url
  UNION
  SELECT o.id, c.id FROM only_archived o JOIN url_aliases u ON u.article_id = o.id
  JOIN captures c ON c.url = u.url
)
SELECT o.url, o.title, min(c.fetched_at) AS first_capture, max(c.fetched_at) AS last_capture,
  count(*) AS captures, group_concat(DISTINCT s.source) AS sources, o.gone_at
FROM only_archived o
JOIN seen x ON x.article_id = o.id
JOIN captures c ON c.id = x.capture_id AND c.status = 200
JOIN capture_sources s ON s.capture_id = c.id
GROUP BY o.id
ORDER BY o.url
"""
