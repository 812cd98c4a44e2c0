"""What snapshots need of an archive (:class:`SnapshotCopies`, a part of
:class:`~qiosk_scraper.archive.store.Archive`): everything a snapshot is made of, read in one
transaction, and a snapshot's own ``archive.db`` written (same schema, rows loaded as given,
then sealed so its bytes are reproducible)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
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

    @contextlib.contextmanager
    def snapshot_reading(self) -> Iterator[None]:
        """One read transaction around a whole export: every ``snapshot_*`` read inside it sees
        the same state, so a running crawl cannot interleave."""
        with self.db.reading():
            yield

    def has_revision_history(self) -> bool:
        return "revisions" in self.db.table_names()

    def snapshot_index(self, as_of: str) -> dict[str, Any]:
        """The small rows a snapshot with cut-off ``as_of`` is planned from (no article text):
        ``has_revisions``; ``article_ids``, in id order, of the articles holding a revision
        fetched by ``as_of`` (without a ``revisions`` table: whose stored state was fetched
        by then); ``captures`` fetched by ``as_of``; ``url_aliases`` first seen by ``as_of``;
        ``listed``: (article_id, section_id) pairs seen in listings; ``crawls``, ``authors``,
        ``tags``, ``sections``, ``capture_sources``: every row. Read it inside
        :meth:`snapshot_reading`."""
        has_revisions = self.has_revision_history()
        if has_revisions:
            ids_sql = "SELECT DISTINCT article_id FROM revisions WHERE fetched_at <= ? "
            ids_sql += "ORDER BY article_id"
        else:
            ids_sql = "SELECT id FROM articles WHERE last_fetched <= ? ORDER BY id"
        return {
            "has_revisions": has_revisions,
            "article_ids": [i for (i,) in self.db.execute(ids_sql, [as_of])],
            "captures": list(
                self.db.query("SELECT * FROM captures WHERE fetched_at <= ? ORDER BY id", [as_of])
            ),
            "crawls": list(self.db.query("SELECT * FROM crawls ORDER BY id")),
            "url_aliases": list(
                self.db.query(
                    "SELECT * FROM url_aliases WHERE first_seen <= ? ORDER BY url", [as_of]
                )
            ),
            "listed": list(
                self.db.execute(
                    "SELECT article_id, section_id FROM article_sections WHERE listed = 1 "
                    "ORDER BY article_id, section_id"
                )
            ),
            "authors": list(self.db.query("SELECT * FROM authors ORDER BY id")),
            "tags": list(self.db.query("SELECT * FROM tags ORDER BY id")),
            "sections": list(self.db.query("SELECT * FROM sections ORDER BY id")),
            "capture_sources": list(
                self.db.query("SELECT * FROM capture_sources ORDER BY capture_id")
            ),
        }

    def snapshot_articles(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """The stored rows of the articles ``ids`` (their latest state), by id."""
        marks = ", ".join("?" * len(ids))
        sql = f"SELECT * FROM articles WHERE id IN ({marks}) ORDER BY id"
        return {row["id"]: row for row in self.db.query(sql, ids)}

    def snapshot_revisions(self, as_of: str, ids: list[int]) -> list[dict[str, Any]]:
        """Every revision of the articles ``ids`` fetched by ``as_of``, ordered by article and
        revision number (``record`` and ``changed_fields`` as stored, JSON text). Without a
        ``revisions`` table, an article row is its one revision, fetched at ``last_fetched``
        (the only time its stored state is known to have been served)."""
        marks = ", ".join("?" * len(ids))
        if self.has_revision_history():
            return list(
                self.db.query(
                    f"SELECT * FROM revisions WHERE fetched_at <= ? AND article_id IN ({marks}) "
                    "ORDER BY article_id, revision",
                    [as_of, *ids],
                )
            )
        revisions = []
        for row in self.snapshot_articles(ids).values():
            if row["last_fetched"] > as_of:
                continue
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
        return revisions

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

    @contextlib.contextmanager
    def loading_in_any_order(self) -> Iterator[None]:
        """Rows loaded inside may reference rows loaded later (foreign keys are checked at the
        end, not on each insert); ArchiveError naming the first reference left dangling."""
        self.db.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
            dangling = self.db.execute("PRAGMA foreign_key_check").fetchone()
            if dangling is not None:
                table, rowid, parent, _ = dangling
                raise ArchiveError(
                    f"{self.db._path()}: row {rowid} of {table} refers to a missing row of {parent}"
                )
        finally:
            self.db.execute("PRAGMA foreign_keys = ON")

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
