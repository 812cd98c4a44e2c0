"""What snapshots need of an archive (:class:`SnapshotCopies`, a part of
:class:`~qiosk_scraper.archive.store.Archive`): everything a snapshot is made of, read in one
transaction, and a snapshot's own ``archive.db`` written (same schema, rows loaded as given,
then sealed so its bytes are reproducible)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlite_utils
from sqlite_utils.db import Table

from qiosk_scraper.archive.errors import (
    ArchiveError,
)
from qiosk_scraper.archive.rows import (
    _read_record,
)

# url_aliases.kind (and errors.kind) of a URL whose page names itself canonical for a post
# archived, live, under another URL.
CONFLICTING_CANONICAL = "conflicting_canonical"

if TYPE_CHECKING:
    from qiosk_scraper.archive.store import Archive, _Database

_T = TypeVar("_T")


def _read_only(path: Path, read: Callable[[sqlite3.Connection], _T]) -> _T:
    """``read`` on the SQLite file at ``path`` opened read-only and immutable; ArchiveError
    naming the file when it cannot be opened or read."""
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise ArchiveError(f"{path}: cannot open read-only ({error})") from error
    try:
        return read(conn)
    except sqlite3.DatabaseError as error:
        raise ArchiveError(f"{path}: not a readable SQLite file ({error})") from error
    finally:
        conn.close()


class SnapshotCopies:
    """The snapshot part of :class:`~qiosk_scraper.archive.store.Archive`."""

    if TYPE_CHECKING:
        db: _Database

        def _table(self, name: str) -> Table: ...

        def article_record(self, url: str) -> dict[str, Any] | None: ...

    # --- snapshot export (issue 7) ---
    # Reading everything a snapshot is made of in one transaction, and writing a snapshot's own
    # archive.db (same schema, rows loaded as given, then sealed so its bytes are reproducible).

    def latest_fetch(self) -> str | None:
        """The latest time the archive records a fetch or what a fetch showed (captures,
        articles, revisions, URL aliases)."""
        sources = [
            "SELECT max(fetched_at) FROM captures",
            "SELECT max(last_fetched) FROM articles",
            "SELECT max(first_seen) FROM url_aliases",
        ]
        if "revisions" in self.db.table_names():
            sources.append("SELECT max(fetched_at) FROM revisions")
        times = [self.db.execute(sql).fetchone()[0] for sql in sources]
        return max((t for t in times if t is not None), default=None)

    def snapshot_rows(self, as_of: str) -> dict[str, Any]:
        """The rows a snapshot with cut-off ``as_of`` is made of, read in one transaction.

        ``has_revisions``: whether the archive keeps a revision history. ``revisions``: per
        article, every revision fetched by ``as_of``, ordered by article and revision number
        (``record`` and ``changed_fields`` as stored, JSON text). Without a ``revisions``
        table, an article row is its one revision, fetched at ``last_fetched`` (the only time
        its stored state is known to have been served). ``articles``: the stored rows of those
        articles (their latest state). ``captures``: those the revisions or the article rows
        point at, fetched by ``as_of``; ``capture_sources``: the provenance of those imported
        from web archives. ``url_aliases``: of those articles, first seen by
        ``as_of``. ``listed``: (article_id, section_id) pairs seen in listings. ``crawls``,
        ``authors``, ``tags``, ``sections``: every row.
        """
        with self.db.reading():  # one read transaction: a running crawl cannot interleave
            has_revisions = "revisions" in self.db.table_names()
            if has_revisions:
                revisions = list(
                    self.db.query(
                        "SELECT * FROM revisions WHERE fetched_at <= ? "
                        "ORDER BY article_id, revision",
                        [as_of],
                    )
                )
            else:
                revisions = []
                for row in self.db.query(
                    "SELECT * FROM articles WHERE last_fetched <= ? ORDER BY id", [as_of]
                ):
                    record = self.article_record(row["url"])
                    assert record is not None, row["url"]
                    revisions.append(
                        {
                            "article_id": row["id"],
                            "revision": 1,
                            "fetched_at": row["last_fetched"],
                            "content_hash": row["content_hash"],
                            "record": json.dumps(record, sort_keys=True, ensure_ascii=False),
                            "changed_fields": "[]",
                            "silent_edit": 0,
                            "extractor_version": row["extractor_version"],
                            "capture_id": row["capture_id"],
                        }
                    )
            ids = sorted({r["article_id"] for r in revisions})
            articles = [self._table("articles").get(i) for i in ids]
            wanted = {r["capture_id"] for r in [*revisions, *articles]}
            wanted |= {a["gone_capture_id"] for a in articles}
            wanted -= {None}
            captures = [
                row
                for row in self.db.query(
                    "SELECT * FROM captures WHERE fetched_at <= ? ORDER BY id", [as_of]
                )
                if row["id"] in wanted
            ]
            article_ids = set(ids)
            captured = {row["id"] for row in captures}
            return {
                "has_revisions": has_revisions,
                "revisions": revisions,
                "articles": articles,
                "captures": captures,
                "crawls": list(self.db.query("SELECT * FROM crawls ORDER BY id")),
                "url_aliases": [
                    row
                    for row in self.db.query(
                        "SELECT * FROM url_aliases WHERE first_seen <= ? ORDER BY url", [as_of]
                    )
                    if row["article_id"] in article_ids
                ],
                "listed": [
                    (a, s)
                    for a, s in self.db.execute(
                        "SELECT article_id, section_id FROM article_sections WHERE listed = 1 "
                        "ORDER BY article_id, section_id"
                    )
                    if a in article_ids
                ],
                "authors": list(self.db.query("SELECT * FROM authors ORDER BY id")),
                "tags": list(self.db.query("SELECT * FROM tags ORDER BY id")),
                "sections": list(self.db.query("SELECT * FROM sections ORDER BY id")),
                "capture_sources": [
                    row
                    for row in self.db.query("SELECT * FROM capture_sources ORDER BY capture_id")
                    if row["capture_id"] in captured
                ],
            }

    def table_schema(self, table: str) -> dict[str, Any]:
        """Columns (name, SQLite type, not null), primary key and foreign keys of ``table``."""
        target = self._table(table)
        return {
            "columns": [(c.name, c.type, bool(c.notnull)) for c in target.columns],
            "primary_key": list(target.pks),
            "foreign_keys": [
                (fk.column, fk.other_table, fk.other_column) for fk in target.foreign_keys
            ],
        }

    def copy_table_definition(self, source: Archive, table: str) -> None:
        """Create ``table`` as ``source`` defines it, when this archive lacks it (a table a
        newer schema adds, e.g. ``revisions``)."""
        if table in self.db.table_names():
            return
        row = source.db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
        ).fetchone()
        if row is None:
            raise ArchiveError(f"{source.path}: no table {table!r} to copy")
        self.db.execute(row[0])

    def load_rows(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert rows as given (primary keys included) in one transaction."""
        with self.db.atomic():
            self._table(table).insert_all((dict(row) for row in rows), alter=False)

    def seal(self) -> None:
        """Make the file self-contained and its bytes a function of its rows alone: leave WAL
        (rollback journal, no -wal/-shm files) and VACUUM."""
        self.db.execute("PRAGMA journal_mode = DELETE")
        self.db.execute("VACUUM")

    @staticmethod
    def count_rows_read_only(path: Path) -> dict[str, int]:
        """Row counts of every table of the SQLite file at ``path``, opened read-only and
        immutable (nothing is written, no journal or lock file is made)."""

        def counts(conn: sqlite3.Connection) -> dict[str, int]:
            names = [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            return {
                name: int(conn.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0])
                for name in names
            }

        return _read_only(path, counts)

    @staticmethod
    def records_read_only(path: Path) -> dict[str, dict[str, Any]]:
        """Every article record of the SQLite archive at ``path`` rebuilt from its rows
        (``Article.to_record(extras=False)``), by URL; opened read-only and immutable."""

        def records(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            db = sqlite_utils.Database(conn)
            ids = [article_id for (article_id,) in conn.execute("SELECT id FROM articles")]
            return {(r := _read_record(db, i))["url"]: r for i in ids}

        return _read_only(path, records)

    @staticmethod
    def source_rows_read_only(path: Path) -> dict[str, list[dict[str, Any]]]:
        """What the sources of a snapshot's captures are counted from, read from the SQLite
        archive at ``path`` (read-only, immutable): ``captures`` (id), ``revisions``
        (article_id, revision, capture_id), ``capture_sources`` (capture_id, source)."""

        def rows(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
            db = sqlite_utils.Database(conn)
            return {
                "captures": list(db.query("SELECT id FROM captures ORDER BY id")),
                "revisions": list(
                    db.query(
                        "SELECT article_id, revision, capture_id FROM revisions "
                        "ORDER BY article_id, revision"
                    )
                ),
                "capture_sources": list(
                    db.query("SELECT capture_id, source FROM capture_sources ORDER BY capture_id")
                ),
            }

        return _read_only(path, rows)
