"""What snapshots need of an archive (:class:`SnapshotCopies`, a part of
:class:`~qiosk_scraper.archive.store.Archive`): everything a snapshot is made of, read in one
transaction, with what the export keeps per article in a scratch database beside it (so its
memory does not grow with the archive), and a snapshot's own ``archive.db`` written (same
schema, rows loaded as given, then sealed so its bytes are reproducible)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

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

# The scratch database of an export (see SnapshotCopies.snapshot_reading): what it keeps per
# article selected, and the captures those articles need.
_SCRATCH = "snapshot_scratch"
_SCRATCH_SCHEMA = (
    "PRAGMA {s}.journal_mode = OFF",
    "PRAGMA {s}.synchronous = OFF",
    "CREATE TABLE {s}.articles (article_id INTEGER PRIMARY KEY, url TEXT NOT NULL, title TEXT, "
    "capture_id INTEGER, gone_capture_id INTEGER)",
    "CREATE INDEX {s}.articles_by_url ON articles (url, article_id)",
    "CREATE TABLE {s}.revisions (article_id INTEGER, revision INTEGER, capture_id INTEGER, "
    "PRIMARY KEY (article_id, revision))",
    "CREATE TABLE {s}.article_sections (article_id INTEGER, section_id INTEGER, "
    "is_primary INTEGER NOT NULL DEFAULT 0, listed INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (article_id, section_id))",
    "CREATE TABLE {s}.captures (id INTEGER PRIMARY KEY, crawl_id INTEGER, source TEXT, "
    "warc_file TEXT, warc_offset INTEGER, warc_length INTEGER)",
)
_WARC_COLUMNS = ("warc_file", "warc_offset", "warc_length")
WarcColumns = Literal["stored", "copied", "none"]  # what a kept capture's WARC columns hold
_CHUNK = 500  # rows read at a time from the scratch database
# Per source of the kept captures and of the revisions of the selected articles (a revision
# whose capture is not kept is the crawl's, as :func:`qiosk_scraper.snapshot.select.source_figures`
# counts it).
_KEPT_SOURCE_COUNTS = """
WITH revision_sources AS (
  SELECT r.article_id, r.revision, coalesce(k.source, :crawl) AS source
  FROM {s}.revisions r LEFT JOIN {s}.captures k ON k.id = r.capture_id
),
names AS (SELECT source FROM {s}.captures UNION SELECT source FROM revision_sources)
SELECT
  n.source AS name,
  (SELECT count(*) FROM {s}.captures k WHERE k.source = n.source) AS captures,
  (
    SELECT count(*) FROM revision_sources r
    WHERE r.source = n.source
    AND r.revision = (SELECT min(revision) FROM {s}.revisions f WHERE f.article_id = r.article_id)
  ) AS articles,
  (
    SELECT count(DISTINCT article_id) FROM revision_sources r WHERE r.source = n.source
  ) AS articles_with_a_revision,
  (SELECT count(*) FROM revision_sources r WHERE r.source = n.source) AS revisions
FROM names n
"""


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
    def snapshot_reading(self, scratch: Path) -> Iterator[None]:
        """One read transaction around a whole export: every ``snapshot_*`` read inside it sees
        the same state, so a running crawl cannot interleave. What the export keeps per article
        between its passes goes to a scratch SQLite file made at ``scratch`` (attached to this
        connection, never to the archive's file; the caller removes it), so the export's
        memory does not grow with the archive."""
        self.db.execute(f"ATTACH DATABASE ? AS {_SCRATCH}", [str(scratch)])
        for sql in _SCRATCH_SCHEMA:  # a throwaway file: no journal, no syncs
            self.db.execute(sql.format(s=_SCRATCH))
        try:
            with self.db.reading():
                yield
        finally:  # an export that fails leaves the connection as it found it
            self.db.execute(f"DETACH DATABASE {_SCRATCH}")

    def has_revision_history(self) -> bool:
        return "revisions" in self.db.table_names()

    def snapshot_index(self) -> dict[str, Any]:
        """The small tables a snapshot is planned from, whose size follows the site (its
        crawls, authors, tags and sections), not the number of articles: every row, by id,
        and ``has_revisions``. Read it inside :meth:`snapshot_reading`."""
        return {
            "has_revisions": self.has_revision_history(),
            "crawls": list(self.db.query("SELECT * FROM crawls ORDER BY id")),
            "authors": list(self.db.query("SELECT * FROM authors ORDER BY id")),
            "tags": list(self.db.query("SELECT * FROM tags ORDER BY id")),
            "sections": list(self.db.query("SELECT * FROM sections ORDER BY id")),
        }

    def snapshot_article_ids(self, as_of: str, after: int, limit: int) -> list[int]:
        """The next ``limit`` ids above ``after``, in id order, of the articles holding a
        revision fetched by ``as_of`` (without a ``revisions`` table: whose stored state was
        fetched by then)."""
        if self.has_revision_history():
            sql = "SELECT DISTINCT article_id FROM revisions WHERE fetched_at <= ? "
            sql += "AND article_id > ? ORDER BY article_id LIMIT ?"
        else:
            sql = "SELECT id FROM articles WHERE last_fetched <= ? AND id > ? ORDER BY id LIMIT ?"
        return [i for (i,) in self.db.execute(sql, [as_of, after, limit])]

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

    # What the export keeps of the articles it selected, in the scratch database (see
    # snapshot_reading), and the rows of the small tables that follow from them.

    def keep_selected(
        self,
        articles: Iterable[Mapping[str, Any]],
        revisions: Iterable[tuple[int, int, int | None]],
        sections: Iterable[tuple[int, int]],
    ) -> None:
        """Keep selected articles (article_id, url, title, capture_id, gone_capture_id),
        their revisions (article_id, revision, capture_id) and their primary sections
        (article_id, section_id)."""
        conn = self.db.conn
        conn.executemany(
            f"INSERT INTO {_SCRATCH}.articles VALUES "
            "(:article_id, :url, :title, :capture_id, :gone_capture_id)",
            articles,
        )
        conn.executemany(f"INSERT INTO {_SCRATCH}.revisions VALUES (?, ?, ?)", revisions)
        conn.executemany(
            f"INSERT INTO {_SCRATCH}.article_sections (article_id, section_id, is_primary) "
            "VALUES (?, ?, 1)",
            sections,
        )

    def selected_by_url(self, after: tuple[str, int] | None, limit: int) -> list[tuple[str, int]]:
        """The next ``limit`` (url, article_id) of the selected articles after ``after``, in
        URL order."""
        where = "" if after is None else "WHERE (url, article_id) > (?, ?)"
        sql = f"SELECT url, article_id FROM {_SCRATCH}.articles {where} "
        sql += "ORDER BY url, article_id LIMIT ?"
        return [(u, i) for u, i in self.db.execute(sql, [*(after or ()), limit])]

    def keep_captures(self, as_of: str, crawl: str) -> None:
        """After the last :meth:`keep_selected`: the captures the selected articles need
        (their revisions' and gone evidence's, fetched by ``as_of``) with their source (their
        ``capture_sources.source``, else ``crawl``), and the sections their articles are
        listed in."""
        self.db.execute(
            f"INSERT INTO {_SCRATCH}.captures (id, crawl_id, source) "
            "SELECT c.id, c.crawl_id, coalesce(s.source, ?) FROM captures c "
            "LEFT JOIN capture_sources s ON s.capture_id = c.id "
            "WHERE c.fetched_at <= ? AND c.id IN ("
            f"SELECT capture_id FROM {_SCRATCH}.revisions "
            f"UNION SELECT gone_capture_id FROM {_SCRATCH}.articles) ORDER BY c.id",
            [crawl, as_of],
        )
        self.db.execute(
            f"INSERT INTO {_SCRATCH}.article_sections (article_id, section_id, listed) "
            "SELECT article_id, section_id, 1 FROM article_sections WHERE listed = 1 "
            f"AND article_id IN (SELECT article_id FROM {_SCRATCH}.articles) "
            "ON CONFLICT (article_id, section_id) DO UPDATE SET listed = 1"
        )

    def kept_ids(self, what: str) -> set[int]:
        """The crawls of the kept captures (``crawl_id``) or the sections of the selected
        articles (``section_id``): as few as the site has."""
        table = {"crawl_id": "captures", "section_id": "article_sections"}[what]
        return {i for (i,) in self.db.execute(f"SELECT DISTINCT {what} FROM {_SCRATCH}.{table}")}

    def kept_rows(
        self, table: str, as_of: str, warc: WarcColumns = "stored"
    ) -> Iterator[dict[str, Any]]:
        """The kept rows of ``table`` (``captures``, ``article_sections``, ``url_aliases``
        first seen by ``as_of``, ``capture_sources``) in key order, read a chunk at a time.
        Captures' WARC columns: ``stored`` as in the archive, ``copied`` as
        :meth:`keep_copy` recorded them, ``none`` empty."""
        if table == "captures":
            columns = [name for name, _, _ in self.table_schema("captures")["columns"]]
            warc_column = {"stored": "t.{0}", "copied": "k.{0}", "none": "NULL"}[warc]
            select = ", ".join(
                (warc_column if name in _WARC_COLUMNS else "t.{0}").format(name) + f" AS {name}"
                for name in columns
            )
            source = f"captures t JOIN {_SCRATCH}.captures k ON k.id = t.id"
            return self._in_chunks(select, source, "", ["id"], [])
        if table == "article_sections":
            source = f"{_SCRATCH}.article_sections"
            return self._in_chunks("*", source, "", ["article_id", "section_id"], [])
        # EXISTS, not IN: SQLite then walks the table in key order, a chunk at a time, rather
        # than every kept row for each chunk
        if table == "url_aliases":
            where = f"first_seen <= ? AND EXISTS (SELECT 1 FROM {_SCRATCH}.articles a "
            where += "WHERE a.article_id = url_aliases.article_id)"
            return self._in_chunks("*", "url_aliases", where, ["url"], [as_of])
        assert table == "capture_sources", table
        where = f"EXISTS (SELECT 1 FROM {_SCRATCH}.captures k "
        where += "WHERE k.id = capture_sources.capture_id)"
        return self._in_chunks("*", "capture_sources", where, ["capture_id"], [])

    def _in_chunks(
        self, select: str, source: str, where: str, key: list[str], params: list[Any]
    ) -> Iterator[dict[str, Any]]:
        """The rows ``SELECT select FROM source WHERE where`` ordered by ``key`` (columns of
        those rows), read a chunk at a time: no statement stays open between chunks, so the
        caller may write meanwhile."""
        inner = f"SELECT {select} FROM {source}" + (f" WHERE {where}" if where else "")
        columns = ", ".join(key)
        after: list[Any] = []
        while True:
            sql = f"SELECT * FROM ({inner})"
            if after:
                sql += f" WHERE ({columns}) > ({', '.join('?' * len(key))})"
            sql += f" ORDER BY {columns} LIMIT {_CHUNK}"
            rows = list(self.db.query(sql, [*params, *after]))
            yield from rows
            if len(rows) < _CHUNK:
                return
            after = [rows[-1][name] for name in key]

    def keep_copy(self, capture_id: int, copy: Mapping[str, Any]) -> None:
        """Record where capture ``capture_id``'s record was copied (``warc_file``,
        ``warc_offset``, ``warc_length``)."""
        self.db.execute(
            f"UPDATE {_SCRATCH}.captures SET warc_file = ?, warc_offset = ?, warc_length = ? "
            "WHERE id = ?",
            [*(copy[name] for name in _WARC_COLUMNS), capture_id],
        )

    def kept_source_counts(self, crawl: str) -> list[dict[str, Any]]:
        """Per source of the kept captures and of the selected articles' revisions (a
        revision whose capture is not kept counts as the ``crawl`` source the captures were
        kept with, see :meth:`keep_captures`): ``name``, ``captures``, ``articles`` (whose
        first revision came from it), ``articles_with_a_revision``, ``revisions``."""
        return list(self.db.query(_KEPT_SOURCE_COUNTS.format(s=_SCRATCH), {"crawl": crawl}))

    def kept_pages(self) -> Iterator[dict[str, Any]]:
        """Per selected article with a kept capture, by article id: its capture's ``url``
        and ``fetched_at``, and its ``title``."""
        return self._in_chunks(
            "a.article_id AS article_id, c.url AS url, c.fetched_at AS fetched_at, "
            "a.title AS title",
            f"{_SCRATCH}.articles a JOIN {_SCRATCH}.captures k ON k.id = a.capture_id "
            "JOIN captures c ON c.id = a.capture_id",
            "",
            ["article_id"],
            [],
        )

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
