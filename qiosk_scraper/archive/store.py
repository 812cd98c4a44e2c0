"""The :class:`Archive` (see the package's documentation for the schema it keeps): opening,
checking and migrating a file, and every read and write of crawls, captures, articles, their
revisions and children, discoveries, snapshots and imported captures."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlite_utils
from sqlite_utils.db import Table, jsonify_if_needed

from qiosk_scraper.archive.copies import SnapshotCopies
from qiosk_scraper.archive.errors import (
    _BUSY_SLICE_MS,
    ArchiveError,
    ArchiveLocked,
    DiskFull,
    StaleState,
    WriteFailed,
    _busy,
    _report_wait,
    disk_full,
)
from qiosk_scraper.archive.imports import ImportedCaptures
from qiosk_scraper.archive.rows import (
    _ARTICLE_COLUMNS,
    _article_row,
    _read_record,
    _record_json,
    _revision_row,
    _changes,
    child_rows,
    content_hash,
    now_iso,
)
from qiosk_scraper.archive.schema import (
    _MIGRATIONS,
    MADE_ON_FIRST_USE,
    SCHEMA_VERSION,
    _names,
    expected_schema,
)
from qiosk_scraper.article import RECORD_FIELDS
from qiosk_scraper.health import FieldCount

# url_aliases.kind (and errors.kind) of a URL whose page names itself canonical for a post
# archived, live, under another URL.
CONFLICTING_CANONICAL = "conflicting_canonical"


SaveOutcome = Literal["new", "updated", "unchanged", "conflicting"]


# Types of the values sqlite-utils' jsonify_if_needed leaves as they are (a subclass of one may
# not be: it goes through jsonify_if_needed).
_AS_THEY_ARE = frozenset({str, int, float, bool, bytes, type(None)})


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return (
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )


class _Database(sqlite_utils.Database):
    """sqlite-utils' database whose write transactions begin IMMEDIATE: they take the write
    lock first, waiting for another writer (reported, bounded by ``lock_wait`` seconds), so a
    transaction never fails half-way trying to turn its read into a write. A write that finds
    the disk full ends in :class:`DiskFull`, rolled back."""

    lock_wait: float = 60.0
    on_wait: Callable[[str], None] = staticmethod(_report_wait)
    refused: WriteFailed | None = None  # set: every write fails with it (a crawl stopping)

    @contextlib.contextmanager
    def atomic(self) -> Generator[sqlite_utils.Database, None, None]:
        if self.refused is not None:
            raise self.refused
        if self.conn.in_transaction:
            with super().atomic() as db:
                yield db
            return
        self._begin_immediate()
        try:
            yield self
            self.conn.execute("COMMIT")
        except BaseException as error:
            self.rollback()
            if disk_full(error):
                raise DiskFull(self._path()) from error
            raise

    @contextlib.contextmanager
    def reading(self) -> Generator[sqlite_utils.Database, None, None]:
        """One read transaction (a consistent view; no write lock taken)."""
        self.conn.execute("BEGIN")
        try:
            yield self
        finally:
            self.rollback()

    def _path(self) -> str:
        row = self.conn.execute("PRAGMA database_list").fetchone()
        return str(row[2]) if row else "the archive"

    def _begin_immediate(self) -> None:
        started = time.monotonic()
        reported = False
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
                waited = time.monotonic() - started
                if waited >= self.lock_wait:
                    raise ArchiveLocked(
                        f"{self._path()}: another process held the write lock for "
                        f"{waited:.0f} s (the wait allowed, QIOSK_LOCK_WAIT); nothing was written"
                    ) from error
                if not reported:
                    self.on_wait(
                        f"{self._path()}: waiting for another process's write lock "
                        f"(up to {self.lock_wait:g} s)"
                    )
                    reported = True
                continue
            if reported:
                self.on_wait(
                    f"{self._path()}: got the write lock after {time.monotonic() - started:.1f} s"
                )
            return


class Archive(SnapshotCopies, ImportedCaptures):
    """A SQLite archive file, created or migrated to :data:`SCHEMA_VERSION` on open.

    >>> archive = Archive(tmp / "qiosk.db")  # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = _Database(self.path)
        self.db.lock_wait = float(os.environ.get("QIOSK_LOCK_WAIT") or _Database.lock_wait)
        # Each BEGIN IMMEDIATE waits this long in SQLite, then _begin_immediate reports the
        # wait and tries again until lock_wait has passed.
        self.db.execute(f"PRAGMA busy_timeout = {_BUSY_SLICE_MS}")
        try:
            self.db.enable_wal()
        except sqlite3.DatabaseError as error:  # not a database, encrypted, corrupt ...
            self.db.close()
            raise ArchiveError(f"{self.path}: not a usable SQLite archive ({error})") from error
        self.db.conn.isolation_level = None  # no implicit transactions: atomic() makes them
        self.db.execute("PRAGMA foreign_keys = ON")
        # WAL + NORMAL: a commit survives a killed process; only a power cut may lose the last.
        self.db.execute("PRAGMA synchronous = NORMAL")
        try:
            self._migrate()
            self.check_schema()
        except BaseException:
            self.db.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def check_integrity(self) -> None:
        """Raise ArchiveError when SQLite finds the file damaged (``PRAGMA quick_check``: every
        page read once), so nothing is written into a damaged archive."""
        try:
            problems = [row[0] for row in self.db.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as error:
            problems = [str(error)]
        if problems != ["ok"]:
            raise ArchiveError(
                f"{self.path}: the archive is damaged ({problems[0]}); restore it from a copy "
                "or a snapshot before writing to it"
            )

    def check_schema(self, version: int = SCHEMA_VERSION) -> None:
        """Raise ArchiveError naming what is wrong when the tables and columns are not those
        of schema ``version`` (a table or column dropped, tables of a later version in a file
        whose version number says otherwise), before anything reads or writes them."""
        expected = expected_schema(version)
        actual = {
            name: {c.name for c in self.db.table(name).columns} for name in self.db.table_names()
        }
        later = set(expected_schema(SCHEMA_VERSION)) - set(expected) - MADE_ON_FIRST_USE
        if ahead := later & set(actual):
            raise ArchiveError(
                f"{self.path}: the file says schema version {version} but holds the tables of a "
                f"later version ({_names(ahead)}): its version number was changed by hand; "
                "restore the archive from a copy or a snapshot"
            )
        problems = [f"no table {name}" for name in sorted(set(expected) - set(actual))]
        problems += [
            f"no column {name}.{column}"
            for name in sorted(set(expected) & set(actual))
            for column in sorted(expected[name] - actual[name])
        ]
        if problems:
            raise ArchiveError(
                f"{self.path}: the archive's schema (version {version}) is damaged: "
                f"{'; '.join(problems)}; restore it from a copy or a snapshot"
            )

    def check_writable(self) -> None:
        """Take and give back the write lock: waits (reported, bounded) while another process
        holds it, then :class:`ArchiveLocked` in one line, before any work starts."""
        with self.db.atomic():
            pass

    @property
    def folder(self) -> Path:
        """The database's folder (the real file's, whatever symlink named it): WARC paths in
        ``captures`` are relative to it."""
        return self.path.resolve().parent

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise ArchiveError(
                f"{self.path}: schema version {version} is newer than this toolkit's "
                f"{SCHEMA_VERSION}; upgrade qiosk-scraper"
            )
        if version == 0 and self.db.table_names():
            raise ArchiveError(f"{self.path}: a SQLite file that is not a qiosk archive")
        if 0 < version < SCHEMA_VERSION:
            self.check_schema(version)  # what a migration starts from must be that version
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.db.atomic():
                _MIGRATIONS[target - 1](self.db)
                self.db.execute(f"PRAGMA user_version = {target}")

    def _table(self, name: str) -> Table:
        return self.db.table(name)

    def _insert(self, name: str, row: Mapping[str, Any]) -> int:
        """Insert one row into a table of the schema; returns its integer primary key."""
        last_pk = self._insert_rows(name, [row])
        assert isinstance(last_pk, int), last_pk
        return last_pk

    def _insert_rows(self, name: str, rows: Iterable[Mapping[str, Any]]) -> int | None:
        """Insert rows (each with the columns of the first) into a table of the schema, as
        sqlite-utils' ``insert_all`` would (lists and dicts as JSON text) but without its checks
        of the table on every call (which cost more than the insert when a crawl or an import
        stores thousands of articles); returns the last row's rowid. Only a row holding a value
        of a type SQLite does not take as it is goes through sqlite-utils' conversion."""
        rows = list(rows)
        if not rows:
            return None
        columns = tuple(rows[0])
        sql = _insert_sql(name, columns)
        table = [[row[c] for c in columns] for row in rows]
        if not all(_AS_THEY_ARE.issuperset(map(type, values)) for values in table):
            table = [[jsonify_if_needed(value) for value in values] for values in table]
        if len(table) == 1:
            return self.db.conn.execute(sql, table[0]).lastrowid
        self.db.conn.executemany(sql, table)
        return int(self.db.conn.execute("SELECT last_insert_rowid()").fetchone()[0])

    # -- crawls --------------------------------------------------------------------------

    def start_crawl(
        self, site: str, arguments: Mapping[str, Any], versions: Mapping[str, str]
    ) -> int:
        """Record a crawl as running; returns its id."""
        row = {
            "site": site,
            "arguments": json.dumps(dict(arguments), sort_keys=True, default=str),
            "versions": json.dumps(dict(versions), sort_keys=True),
            "started": now_iso(),
            "status": "running",
        }
        with self.db.atomic():
            return self._insert("crawls", row)

    def finish_crawl(
        self,
        crawl_id: int,
        stats: Mapping[str, Any],
        status: str,
        errors: Iterable[tuple[str, str, str, int | None]] = (),
    ) -> None:
        """Store a crawl's end time, figures and finish reason, with the ``errors`` rows (url,
        kind, message, capture id) it could not write before, in one transaction (the least
        room a full disk must leave)."""
        with self.db.atomic():
            for url, kind, message, capture_id in errors:
                self.add_error(crawl_id, url, kind, message, capture_id=capture_id)
            self._table("crawls").update(
                crawl_id,
                {
                    "ended": now_iso(),
                    "stats": json.dumps(dict(stats), sort_keys=True, default=str),
                    "status": status,
                },
            )

    def interrupt_running_crawls(self) -> list[int]:
        """Mark every crawl still ``running`` as ``interrupted`` (its process died: the caller
        holds the archive's crawl lock, so none is really running), ended at its last
        capture; returns their ids."""
        with self.db.atomic():
            ids = [
                int(crawl_id)
                for (crawl_id,) in self.db.execute(
                    "SELECT id FROM crawls WHERE status = 'running' ORDER BY id"
                )
            ]
            for crawl_id in ids:
                self.db.execute(
                    "UPDATE crawls SET status = 'interrupted', ended = coalesce("
                    "(SELECT max(fetched_at) FROM captures WHERE crawl_id = ?), started) "
                    "WHERE id = ?",
                    [crawl_id, crawl_id],
                )
            return ids

    def latest_crawl(self) -> dict[str, Any] | None:
        row = self.db.execute("SELECT max(id) FROM crawls").fetchone()
        return None if row[0] is None else self.crawl(int(row[0]))

    def capture_offsets(self, warc_file: str) -> set[int]:
        """Offsets of the response records of ``warc_file`` that ``captures`` indexes."""
        return {
            int(offset)
            for (offset,) in self.db.execute(
                "SELECT warc_offset FROM captures WHERE warc_file = ?", [warc_file]
            )
        }

    def crawl_warc_files(self, crawl_id: int) -> list[str]:
        """The WARC files (relative to the folder) that captures of crawl ``crawl_id`` name."""
        return [
            str(name)
            for (name,) in self.db.execute(
                "SELECT DISTINCT warc_file FROM captures WHERE crawl_id = ? "
                "AND warc_file IS NOT NULL ORDER BY 1",
                [crawl_id],
            )
        ]

    def crawl(self, crawl_id: int) -> dict[str, Any]:
        row = self._table("crawls").get(crawl_id)
        for key in ("arguments", "versions", "stats"):
            row[key] = json.loads(row[key]) if row[key] else None
        return row

    # -- captures and errors -------------------------------------------------------------

    def add_capture(self, crawl_id: int, capture: Mapping[str, Any]) -> int:
        """Index one received response (see the ``captures`` columns); returns its id."""
        with self.db.atomic():
            return self._insert("captures", {**capture, "crawl_id": crawl_id})

    def latest_capture(self, url: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM captures WHERE url = ? ORDER BY id DESC LIMIT 1", [url])
        return next(iter(rows), None)

    def add_error(
        self,
        crawl_id: int,
        url: str,
        kind: str,
        message: str,
        *,
        capture_id: int | None = None,
        at: str | None = None,
    ) -> int:
        """Record a failure with its reason; returns its id."""
        row = {
            "crawl_id": crawl_id,
            "url": url,
            "kind": kind,
            "message": message,
            "at": at or now_iso(),
            "capture_id": capture_id,
        }
        with self.db.atomic():
            return self._insert("errors", row)

    def errors(self, crawl_id: int | None = None) -> list[dict[str, Any]]:
        if crawl_id is None:
            return list(self.db.query("SELECT * FROM errors ORDER BY id"))
        return list(
            self.db.query("SELECT * FROM errors WHERE crawl_id = ? ORDER BY id", [crawl_id])
        )

    # -- articles ------------------------------------------------------------------------

    def find_article(self, url: str | None = None, post_id: str | None = None) -> int | None:
        """The id of the archived article at ``url`` (or one of its aliases) or with
        ``post_id``; None when unknown."""
        if url is not None:
            row = self.db.execute(
                "SELECT id FROM articles WHERE url = ? UNION ALL "
                "SELECT article_id FROM url_aliases WHERE url = ? AND article_id IS NOT NULL",
                [url, url],
            ).fetchone()
            if row:
                return int(row[0])
        if post_id is not None:
            row = self.db.execute("SELECT id FROM articles WHERE post_id = ?", [post_id]).fetchone()
            if row:
                return int(row[0])
        return None

    def save_article(
        self,
        record: Mapping[str, Any],
        *,
        crawl_id: int,
        capture_id: int | None,
        fetched_at: str,
        post_id: str | None = None,
        extractor_version: str | None = None,
        aliases: Iterable[tuple[str, str]] = (),
    ) -> SaveOutcome:
        """Store an article record (``Article.to_record(extras=False)``), all its child rows
        and, when the content differs from the latest revision (or the article is new), a new
        revision, in one transaction; ``aliases`` are (url, kind) pairs that stand for the same
        article (redirected URLs, variants). Returns whether the article was new, updated (a
        new revision) or unchanged (only ``last_fetched`` and ``capture_id`` move on), or
        conflicting: the post is archived, live, under another canonical URL that did not
        redirect here, so nothing changes (the caller records ``url`` as a
        ``conflicting_canonical`` alias and the error, once it knows the other URL is live)."""
        url = record["url"]
        digest = content_hash(record)
        alias_list = [(alias, kind) for alias, kind in aliases if alias != url]
        with self.db.atomic():
            found = self.find_article(url, post_id)
            existing = None if found is None else self._table("articles").get(found)
            if existing is not None and self._conflicting(existing, url, alias_list):
                return "conflicting"
            if existing is not None and existing["content_hash"] == digest:
                outcome: SaveOutcome = "unchanged"
                article_id = existing["id"]
                self._table("articles").update(
                    article_id,
                    {
                        "last_fetched": fetched_at,
                        "capture_id": capture_id,
                        "gone_at": None,
                        "gone_capture_id": None,
                    },
                )
            else:
                row = _article_row(record, digest, fetched_at, capture_id, extractor_version)
                row.update(post_id=post_id, gone_at=None, gone_capture_id=None)
                if existing is None:
                    outcome = "new"
                    row["first_seen"] = fetched_at
                    article_id = self._insert("articles", row)
                else:
                    outcome = "updated"
                    article_id = existing["id"]
                    if existing["url"] != url:
                        alias_list.append((existing["url"], "redirect"))
                    if post_id is None:
                        row["post_id"] = existing["post_id"]
                    self._table("articles").update(article_id, row)
                    self._delete_children(article_id)
                self._insert_children(article_id, record)
                self._add_revision(
                    article_id,
                    record,
                    digest,
                    at=fetched_at,
                    extractor_version=extractor_version,
                    capture_id=capture_id,
                    by_extractor=False,
                )
            # The article's own URL is no alias (it may have been a conflicting one).
            self.db.execute("DELETE FROM url_aliases WHERE url = ?", [url])
            for alias, kind in alias_list:
                self._alias(alias, url, kind, article_id)
            self._link_aliases_and_sightings(article_id, url, [a for a, _ in alias_list], post_id)
        return outcome

    def first_archived_in(self, article_id: int, crawl_id: int) -> bool:
        """Whether crawl ``crawl_id`` archived the article first and has not revised it."""
        rows = self.db.execute(
            "SELECT c.crawl_id FROM revisions r LEFT JOIN captures c ON c.id = r.capture_id "
            "WHERE r.article_id = ?",
            [article_id],
        ).fetchall()
        return [tuple(row) for row in rows] == [(crawl_id,)]

    def take_over(
        self,
        article_id: int,
        record: Mapping[str, Any],
        *,
        capture_id: int | None,
        fetched_at: str,
        extractor_version: str | None,
        aliases: Iterable[tuple[str, str]] = (),
    ) -> str:
        """Give an article first archived in this crawl to another URL of its post that names
        itself canonical (``record``): its row, child rows and first revision become that
        page's, as if the crawl had met it first; the URL it had becomes its
        ``conflicting_canonical`` alias. Returns that URL."""
        url, digest = record["url"], content_hash(record)
        with self.db.atomic():
            loser = self._table("articles").get(article_id)["url"]
            row = _article_row(record, digest, fetched_at, capture_id, extractor_version)
            self._table("articles").update(article_id, row)
            self._delete_children(article_id)
            self._insert_children(article_id, record)
            self.db.execute(
                "UPDATE revisions SET fetched_at = ?, content_hash = ?, record = ?, "
                "extractor_version = ?, capture_id = ? WHERE article_id = ? AND revision = 1",
                [fetched_at, digest, _record_json(record), extractor_version, capture_id,
                 article_id],
            )  # fmt: skip
            self.db.execute("DELETE FROM url_aliases WHERE url IN (?, ?)", [url, loser])
            self._alias(loser, url, CONFLICTING_CANONICAL, article_id)
            for alias, kind in aliases:
                if alias not in (url, loser):
                    self._alias(alias, url, kind, article_id)
            post_id = self._table("articles").get(article_id)["post_id"]
            self._link_aliases_and_sightings(article_id, url, [loser], post_id)
        return str(loser)

    def _conflicting(
        self, existing: Mapping[str, Any], url: str, aliases: list[tuple[str, str]]
    ) -> bool:
        """Whether a page at ``url`` claims the archived ``existing`` article (by post id, or
        as an earlier conflicting URL) while its own URL is neither gone, nor redirected, nor
        (through ``aliases``) redirected here: the same post under two canonical URLs."""
        old = existing["url"]
        if old == url or existing["gone_at"] is not None or any(a == old for a, _ in aliases):
            return False
        kind = self.db.execute("SELECT kind FROM url_aliases WHERE url = ?", [url]).fetchone()
        if kind is not None and kind[0] != CONFLICTING_CANONICAL:
            return False  # a known alias of the article (a redirect, a variant)
        moved = self.db.execute(
            "SELECT 1 FROM url_aliases WHERE url = ? AND kind = 'redirect'", [old]
        ).fetchone()
        return moved is None

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
    ) -> list[str]:
        """Append the next revision of an article; returns its changed fields. A silent edit:
        the site changed the content (not only the URL) without changing ``modified``; a
        re-extraction (``by_extractor``) is never one."""
        previous = self.db.execute(
            "SELECT revision, record FROM revisions WHERE article_id = ? "
            "ORDER BY revision DESC LIMIT 1",
            [article_id],
        ).fetchone()
        number = 1 if previous is None else int(previous[0]) + 1
        changed, silent = _changes(None if previous is None else json.loads(previous[1]), record)
        row = _revision_row(
            article_id,
            number,
            record,
            digest,
            (changed, silent and not by_extractor),
            at=at,
            extractor_version=extractor_version,
            capture_id=capture_id,
        )
        self._insert("revisions", row)
        return changed

    def save_reextracted(
        self,
        article_id: int,
        record: Mapping[str, Any],
        *,
        extractor_version: str,
        at: str,
        read: Mapping[str, Any] | None = None,
    ) -> list[str] | None:
        """Store ``record``, extracted again from the article's stored capture, as a new
        revision when it differs from the latest state; returns the changed fields, None when
        nothing changed. ``last_fetched`` and ``capture_id`` stay: nothing was fetched.

        ``read``: the article's ``capture_id`` and ``content_hash`` when the capture was read;
        if either has moved on since (a crawl stored a newer state), :class:`StaleState` is
        raised and nothing changes: old content is never written back over a newer one."""
        digest = content_hash(record)
        with self.db.atomic():
            existing = self._table("articles").get(article_id)
            if read is not None and (
                existing["capture_id"] != read["capture_id"]
                or existing["content_hash"] != read["content_hash"]
            ):
                raise StaleState(
                    f"article {article_id} changed since its capture was read (now capture "
                    f"{existing['capture_id']}, was {read['capture_id']}); left as it is"
                )
            if existing["content_hash"] == digest:
                return None
            row: dict[str, Any] = {column: record.get(column) for column in _ARTICLE_COLUMNS}
            row.update(content_hash=digest, extractor_version=extractor_version)
            self._table("articles").update(article_id, row)
            self._delete_children(article_id)
            self._insert_children(article_id, record)
            if existing["url"] != record["url"]:
                self._alias(existing["url"], record["url"], "canonical", article_id)
            return self._add_revision(
                article_id,
                record,
                digest,
                at=at,
                extractor_version=extractor_version,
                capture_id=existing["capture_id"],
                by_extractor=True,
            )

    def known_article(self, url: str, post_id: str | None = None) -> dict[str, Any] | None:
        """What the archive knows of the article at ``url`` (or an alias, or with ``post_id``),
        for deciding whether to fetch it again: id, url (canonical now), published, modified,
        gone_at and the capture its state came from (capture_id, etag, last_modified); None
        if unknown."""
        article_id = self.find_article(url, post_id)
        if article_id is None:
            return None
        rows = self.db.query(
            "SELECT a.id, a.url, a.published, a.modified, a.gone_at, a.capture_id, "
            "c.status, c.etag, c.last_modified FROM articles a "
            "LEFT JOIN captures c ON c.id = a.capture_id WHERE a.id = ?",
            [article_id],
        )
        return next(iter(rows))

    def validators(self, url: str) -> dict[str, Any] | None:
        """The latest 200 capture of ``url`` that carries an ETag or Last-Modified (id, etag,
        last_modified), for a conditional request; None without one."""
        rows = self.db.query(
            "SELECT id, etag, last_modified FROM captures WHERE url = ? AND status = 200 "
            "AND (etag IS NOT NULL OR last_modified IS NOT NULL) ORDER BY id DESC LIMIT 1",
            [url],
        )
        return next(iter(rows), None)

    def captured_in(self, crawl_id: int, url: str) -> bool:
        """Whether crawl ``crawl_id`` has received an answer from ``url``."""
        row = self.db.execute(
            "SELECT 1 FROM captures WHERE url = ? AND crawl_id = ? LIMIT 1", [url, crawl_id]
        ).fetchone()
        return row is not None

    def capture(self, capture_id: int) -> dict[str, Any]:
        return dict(self._table("captures").get(capture_id))

    def mark_unchanged(self, article_id: int, fetched_at: str) -> None:
        """The site confirmed the stored state (304 Not Modified) at ``fetched_at``."""
        with self.db.atomic():
            self._table("articles").update(
                article_id, {"last_fetched": fetched_at, "gone_at": None, "gone_capture_id": None}
            )

    def mark_gone(self, article_id: int, at: str, capture_id: int | None) -> bool:
        """The site answered 404/410 for the article: keep every row, note when and the
        response; True when it was not already marked gone (the first time counts)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE articles SET gone_at = ?, gone_capture_id = ? "
                "WHERE id = ? AND gone_at IS NULL",
                [at, capture_id, article_id],
            )
            return cursor.rowcount > 0

    def live_articles(self) -> list[tuple[int, str]]:
        """(id, url) of every article not marked gone."""
        return [
            (int(i), u)
            for i, u in self.db.execute("SELECT id, url FROM articles WHERE gone_at IS NULL")
        ]

    def revisions(self, url: str) -> list[dict[str, Any]]:
        """The revisions of the article at ``url`` (or an alias), oldest first, with
        ``record`` and ``changed_fields`` decoded."""
        article_id = self.find_article(url)
        rows = self.db.query(
            "SELECT * FROM revisions WHERE article_id = ? ORDER BY revision", [article_id]
        )
        return [
            {
                **row,
                "record": json.loads(row["record"]),
                "changed_fields": json.loads(row["changed_fields"]),
            }
            for row in rows
        ]

    def reextract_targets(self) -> list[dict[str, Any]]:
        """Per article with a stored capture: article id, url and content_hash, the capture's
        id, url, time, WARC file, offset and length, payload digest and length, and the site
        and profile of the crawl that made it (profile None for crawls made before profiles,
        which all used the outlet's knowledge)."""
        return list(
            self.db.query(
                "SELECT a.id AS article_id, a.url, a.content_hash, c.id AS capture_id, "
                "c.url AS capture_url, c.fetched_at, c.warc_file, c.warc_offset, c.warc_length, "
                "c.payload_sha256, c.payload_length, cr.site, "
                "json_extract(cr.arguments, '$.profile') AS profile FROM articles a "
                "JOIN captures c ON c.id = a.capture_id JOIN crawls cr ON cr.id = c.crawl_id "
                "WHERE c.warc_file IS NOT NULL ORDER BY a.id"
            )
        )

    # -- discovery sources -----------------------------------------------------------------

    def record_discoveries(self, crawl_id: int, pairs: Iterable[tuple[str, str]]) -> None:
        """Note that each (url, source) pair was discovered in crawl ``crawl_id``."""
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO discoveries (crawl_id, url, source) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(crawl_id, url, source) for url, source in pairs],
            )

    def discovered_articles(self, crawl_id: int) -> list[tuple[str, int]]:
        """(source, article id) pairs of crawl ``crawl_id``: discovered URLs resolved to the
        archived articles they stand for (URLs that are no article are left out)."""
        return [
            (source, int(article_id))
            for source, article_id in self.db.execute(
                "SELECT DISTINCT d.source, coalesce(a.id, u.article_id) AS article_id "
                "FROM discoveries d LEFT JOIN articles a ON a.url = d.url "
                "LEFT JOIN url_aliases u ON u.url = d.url "
                "WHERE d.crawl_id = ? AND coalesce(a.id, u.article_id) IS NOT NULL "
                "ORDER BY 1, 2",
                [crawl_id],
            )
        ]

    def crawls_with_discoveries(self) -> list[int]:
        return [
            int(crawl_id)
            for (crawl_id,) in self.db.execute(
                "SELECT DISTINCT crawl_id FROM discoveries ORDER BY crawl_id"
            )
        ]

    def article_urls_by_id(self) -> dict[int, str]:
        return {int(i): u for i, u in self.db.execute("SELECT id, url FROM articles")}

    def _delete_children(self, article_id: int) -> None:
        for table in ("article_authors", "article_tags", "images", "links"):
            self.db.execute(f"DELETE FROM {table} WHERE article_id = ?", [article_id])
        self.db.execute(
            "UPDATE article_sections SET is_primary = 0 WHERE article_id = ?", [article_id]
        )
        self.db.execute(
            "DELETE FROM article_sections WHERE article_id = ? AND is_primary = 0 AND listed = 0",
            [article_id],
        )

    def _insert_children(self, article_id: int, record: Mapping[str, Any]) -> None:
        rows = child_rows(
            article_id, record, self._author_id, lambda label: self._label_id("tags", label)
        )
        for table, table_rows in rows.items():
            self._insert_rows(table, table_rows)
        if record.get("section"):
            self._mark_section(
                article_id, self._label_id("sections", record["section"]), "is_primary"
            )

    def _author_id(self, name: str, url: str | None) -> int:
        row = self.db.execute(
            "SELECT id FROM authors WHERE name = ? AND url IS ?", [name, url]
        ).fetchone()
        if row:
            return int(row[0])
        return self._insert("authors", {"name": name, "url": url})

    def _label_id(self, table: str, label: str) -> int:
        row = self.db.execute(f"SELECT id FROM {table} WHERE label = ?", [label]).fetchone()
        if row:
            return int(row[0])
        return self._insert(table, {"label": label})

    def _mark_section(self, article_id: int, section_id: int, flag: str) -> None:
        self.db.execute(
            "INSERT INTO article_sections (article_id, section_id, is_primary, listed) "
            "VALUES (?, ?, 0, 0) ON CONFLICT DO NOTHING",
            [article_id, section_id],
        )
        self.db.execute(
            f"UPDATE article_sections SET {flag} = 1 WHERE article_id = ? AND section_id = ?",
            [article_id, section_id],
        )

    def _alias(self, url: str, target_url: str, kind: str, article_id: int | None) -> None:
        self.db.execute(
            "INSERT INTO url_aliases (url, target_url, article_id, kind, first_seen) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET "
            "article_id = coalesce(excluded.article_id, article_id)",
            [url, target_url, article_id, kind, now_iso()],
        )

    def _link_aliases_and_sightings(
        self, article_id: int, url: str, aliases: list[str], post_id: str | None
    ) -> None:
        urls = [url, *aliases]
        marks = ", ".join("?" * len(urls))
        self.db.execute(
            f"UPDATE url_aliases SET article_id = ? WHERE article_id IS NULL "
            f"AND target_url IN ({marks})",
            [article_id, *urls],
        )
        sightings = self.db.execute(
            f"SELECT DISTINCT section_id FROM listing_sightings WHERE url IN ({marks}) "
            "OR (post_id IS NOT NULL AND post_id = ?)",
            [*urls, post_id],
        ).fetchall()
        for (section_id,) in sightings:
            self._mark_section(article_id, section_id, "listed")

    def add_alias(self, url: str, target_url: str, kind: str = "variant") -> None:
        """Record that ``url`` stands for the article at ``target_url`` (which may not be
        archived yet: the link is made when it is). A URL equal to its target is ignored."""
        if url == target_url:
            return
        with self.db.atomic():
            self._alias(url, target_url, kind, self.find_article(target_url))

    def record_listing(
        self,
        article_url: str,
        section_label: str,
        *,
        crawl_id: int | None = None,
        post_id: str | None = None,
    ) -> None:
        """Record that the listing of ``section_label`` links the article at ``article_url``;
        ``article_sections`` shows it once the article is archived."""
        with self.db.atomic():
            section_id = self._label_id("sections", section_label)
            self.db.execute(
                "INSERT INTO listing_sightings (url, section_id, post_id, crawl_id, seen_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "post_id = coalesce(excluded.post_id, post_id), crawl_id = excluded.crawl_id, "
                "seen_at = excluded.seen_at",
                [article_url, section_id, post_id, crawl_id, now_iso()],
            )
            article_id = self.find_article(article_url, post_id)
            if article_id is not None:
                self._mark_section(article_id, section_id, "listed")

    # -- reading -------------------------------------------------------------------------

    def article_urls(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT url FROM articles ORDER BY url")]

    def article_record(self, url: str) -> dict[str, Any] | None:
        """The article record rebuilt from the rows, as ``Article.to_record(extras=False)``
        gives it; None when no article has that URL (or alias)."""
        article_id = self.find_article(url)
        return None if article_id is None else _read_record(self.db, article_id)

    def article_row(self, url: str) -> dict[str, Any] | None:
        article_id = self.find_article(url)
        return None if article_id is None else self._table("articles").get(article_id)

    def listed_sections(self, url: str) -> list[str]:
        """Labels of the listings the article at ``url`` was seen in, sorted."""
        return [
            label
            for (label,) in self.db.execute(
                "SELECT s.label FROM article_sections x JOIN sections s ON s.id = x.section_id "
                "JOIN articles a ON a.id = x.article_id WHERE a.url = ? AND x.listed = 1 "
                "ORDER BY s.label",
                [url],
            )
        ]

    def count(self, table: str) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])

    def search(self, query: str, limit: int = 20) -> Iterator[dict[str, Any]]:
        """Full-text search over title, subtitle and body, best match first."""
        return self._table("articles").search(query, columns=["url", "title"], limit=limit)

    # -- extraction health (issue 15) --------------------------------------------------------
    # ``fill_rates`` (schema version 3): crawl_id, field (a name of
    # qiosk_scraper.health.FIELDS), articles (extracted in the crawl), filled (with the field),
    # fallback (of those, from a fallback layer; NULL when the layer is not told apart).

    def record_extraction_health(self, crawl_id: int, counts: Mapping[str, FieldCount]) -> None:
        """Store crawl ``crawl_id``'s counts per field (replacing any it had)."""
        with self.db.atomic():
            self._table("fill_rates").upsert_all(
                [
                    {"crawl_id": crawl_id, "field": name, "articles": count.articles,
                     "filled": count.filled, "fallback": count.fallback}
                    for name, count in sorted(counts.items())
                ],
                pk=("crawl_id", "field"),
            )  # fmt: skip

    def extraction_health(self, crawl_ids: Iterable[int]) -> dict[int, dict[str, FieldCount]]:
        """Crawl id -> field -> counts, for those of ``crawl_ids`` that recorded them."""
        ids = sorted(set(crawl_ids))
        if not ids:
            return {}
        found: dict[int, dict[str, FieldCount]] = {}
        rows = self.db.execute(
            "SELECT crawl_id, field, articles, filled, fallback FROM fill_rates "
            f"WHERE crawl_id IN ({', '.join('?' * len(ids))}) ORDER BY crawl_id, field",
            ids,
        )
        for crawl_id, name, articles, filled, fallback in rows:
            found.setdefault(crawl_id, {})[name] = FieldCount(articles, filled, fallback)
        return found

    def previous_health_crawls(self, crawl_id: int, limit: int) -> list[int]:
        """The latest ``limit`` crawls before ``crawl_id`` of the same site with the same
        profile (another profile reads other layers) that recorded their extraction health,
        latest first."""
        return [
            int(previous)
            for (previous,) in self.db.execute(
                "SELECT DISTINCT f.crawl_id FROM fill_rates f JOIN crawls c ON c.id = f.crawl_id "
                "JOIN crawls this ON this.id = ? WHERE f.crawl_id < this.id "
                "AND c.site = this.site AND json_extract(c.arguments, '$.profile') IS "
                "json_extract(this.arguments, '$.profile') ORDER BY f.crawl_id DESC LIMIT ?",
                [crawl_id, limit],
            )
        ]
