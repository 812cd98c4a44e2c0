"""The archive: the only module that talks to SQLite (through sqlite-utils).

Everything else hands records to :class:`Archive`; the schema below is its contract with the
Datasette, snapshot and re-crawl code. Times are ISO 8601 UTC strings
(``YYYY-MM-DDTHH:MM:SS+00:00``), JSON columns hold JSON text, booleans are 0/1.

Schema (version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``):

``crawls``
    id, site, arguments (JSON: the command's options), versions (JSON: toolkit, Python, SQLite
    and every installed distribution), started, ended, stats (JSON: the figures of the summary),
    status (``running``, then the finish reason: ``finished``, ``shutdown``, ``failed`` ...).
``captures``
    One row per HTTP response received (articles, listings, feeds, sitemaps, robots.txt,
    redirects, errors): id, crawl_id, url, method, status, fetched_at, content_type, location
    (redirect target), etag, last_modified, payload_sha256 (of the body as received, before any
    content decoding), payload_length, warc_file (path relative to the database's folder),
    warc_offset and warc_length (the gzip member holding the WARC response record).
``articles``
    One row per canonical URL, every field of the article record as a column: url, title,
    subtitle, article_type, section, published, modified, body, word_count, language; plus
    post_id (the CMS id, unique when known), content_hash (SHA-256 of the record's canonical
    JSON), first_seen, last_fetched, capture_id (the capture the record was extracted from),
    extractor_version, gone_at (when the site answered 404/410 for it; NULL while it is online),
    gone_capture_id (that 404/410 response: the evidence). Always the latest state: its history
    is in ``revisions``. ``articles_fts`` (FTS5, kept current by triggers) indexes title,
    subtitle and body.
``revisions``
    article_id, revision (1, 2, ...), fetched_at (when this state entered the archive: the
    fetch that showed it, or the re-extraction that produced it), content_hash, record (the
    full article record as JSON), changed_fields (JSON list of the record fields that differ
    from the previous revision; ``[]`` for revision 1), silent_edit (1 when the content changed
    but ``modified`` did not: the site edited without saying so), extractor_version,
    capture_id (the response the state was extracted from). A new revision only when the
    record differs from the latest one.
``authors`` / ``article_authors``
    authors: id, name, url (profile link or NULL; unique on name and url).
    article_authors: article_id, author_id, position (0 = first in the byline).
``tags`` / ``article_tags``
    tags: id, label (unique). article_tags: article_id, tag_id, position (page order).
``sections`` / ``article_sections``
    sections: id, label (unique, e.g. ``Middle East``, ``QiOSK``, ``Analysis``).
    article_sections: article_id, section_id, is_primary (1 when it is the section the article
    page names), listed (1 when the article was seen in that section's listing).
``listing_sightings``
    url (canonical article URL as the listing links it), post_id, section_id, crawl_id,
    seen_at: every (article, listing) pair seen, kept so a listing seen before its article was
    fetched is linked when the article is saved.
``images``
    article_id, position, url, alt, caption, credit, lead (the lead image first).
``links``
    article_id, position, url, text: the links inside the body, in page order.
``url_aliases``
    url (a variant: tracking parameters, missing slash, an old slug that redirects), target_url
    (the canonical URL it stands for), article_id (set once the article is archived), kind
    (``variant``, ``redirect``, ``canonical``), first_seen.
``errors``
    id, crawl_id, url, kind (e.g. ``http_404``, ``not_an_article``, ``dns``), message, at,
    capture_id (the response that showed the failure, when there was one).
``discoveries``
    crawl_id, url (canonical article URL as discovered), source (``sitemap``, ``feeds``,
    ``home``, ``sections``, ``tags``, ``authors``, ``stream``, ``body``): which discovery
    source named which article URL in which crawl (see ``qiosk coverage``).

Writes are transactions: :meth:`Archive.save_article` stores an article row, all its child
rows and its revision atomically, so a crash never leaves half an article. Every write
transaction begins IMMEDIATE (it takes the write lock first, so it never fails half-way turning
a read into a write); waiting for another process's lock is reported on stderr and bounded
(``QIOSK_LOCK_WAIT`` seconds, default 60: then :class:`ArchiveLocked`); a full disk ends a
write in :class:`DiskFull`. Opening an archive checks its tables and columns against its
schema version before anything reads or writes them. Schema version 2
(re-crawls) added ``revisions``, ``discoveries`` and ``articles.gone_capture_id``; opening a
version-1 archive migrates it, with revision 1 of every article made from its stored state.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlite_utils
from sqlite_utils.db import Table

from qiosk_scraper.article import RECORD_FIELDS

SCHEMA_VERSION = 2
SQLITE_VERSION = sqlite3.sqlite_version  # of the library the archive is written with
# What a damaged or foreign database file raises (for callers that do not import sqlite3).
DatabaseError = sqlite3.DatabaseError
_BUSY_SLICE_MS = 250

# url_aliases.kind (and errors.kind) of a URL whose page names itself canonical for a post
# archived, live, under another URL.
CONFLICTING_CANONICAL = "conflicting_canonical"

SaveOutcome = Literal["new", "updated", "unchanged", "conflicting"]

_T = TypeVar("_T")

_ARTICLE_COLUMNS = (
    "url",
    "title",
    "subtitle",
    "article_type",
    "section",
    "published",
    "modified",
    "body",
    "word_count",
    "language",
)


def _article_row(
    record: Mapping[str, Any],
    digest: str,
    fetched_at: str,
    capture_id: int | None,
    extractor_version: str | None,
) -> dict[str, Any]:
    """The ``articles`` columns for a record fetched at ``fetched_at`` (capture ``capture_id``)."""
    row = {column: record.get(column) for column in _ARTICLE_COLUMNS}
    row.update(
        content_hash=digest,
        last_fetched=fetched_at,
        capture_id=capture_id,
        extractor_version=extractor_version,
    )
    return row


class ArchiveError(Exception):
    """The archive file cannot be used (not SQLite, newer schema than this toolkit ...)."""


class StaleState(ArchiveError):
    """A write conditional on the state it was computed from found that state gone."""


class WriteFailed(ArchiveError):
    """A write to the archive (its database or a WARC file) could not be made; nothing of it
    was kept. ``kind`` names why, as an ``errors.kind``."""

    kind = "write_failed"


class ArchiveLocked(WriteFailed):
    """Another process held the database's write lock for longer than the wait allowed."""

    kind = "archive_locked"


class DiskFull(WriteFailed):
    """The disk (or the file size limit) had no room for a write."""

    kind = "disk_full"

    def __init__(self, path: str | Path, needed: int | None = None) -> None:
        self.path = str(path)
        self.needed = needed
        room = f" (a write of {needed:,} bytes did not fit)" if needed else ""
        super().__init__(
            f"{path}: the disk is full{room}; free some space and run the same command "
            "again: it finishes the crawl"
        )


def disk_full(error: BaseException) -> bool:
    """Whether an OSError or SQLite error says the disk (or the file size limit) is full."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
    return False


def _busy(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def _report_wait(message: str) -> None:
    """How a wait for another process's write lock is reported: one line on stderr."""
    print(message, file=sys.stderr, flush=True)


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


def now_iso() -> str:
    """The current time as the archive's ISO 8601 UTC string."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def content_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON (sorted keys, UTF-8)."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def _read_record(db: sqlite_utils.Database, article_id: int) -> dict[str, Any]:
    """The record of an article rebuilt from its rows (``Article.to_record(extras=False)``)."""
    row = db.table("articles").get(article_id)
    record: dict[str, Any] = {column: row[column] for column in _ARTICLE_COLUMNS}
    record["authors"] = [
        {"name": name, "url": author_url}
        for name, author_url in db.execute(
            "SELECT a.name, a.url FROM article_authors aa "
            "JOIN authors a ON a.id = aa.author_id "
            "WHERE aa.article_id = ? ORDER BY aa.position",
            [article_id],
        )
    ]
    record["tags"] = [
        label
        for (label,) in db.execute(
            "SELECT t.label FROM article_tags at JOIN tags t ON t.id = at.tag_id "
            "WHERE at.article_id = ? ORDER BY at.position",
            [article_id],
        )
    ]
    record["images"] = [
        {"url": u, "alt": alt, "caption": caption, "credit": credit, "lead": bool(lead)}
        for u, alt, caption, credit, lead in db.execute(
            "SELECT url, alt, caption, credit, lead FROM images WHERE article_id = ? "
            "ORDER BY position",
            [article_id],
        )
    ]
    record["links"] = [
        {"url": u, "text": text}
        for u, text in db.execute(
            "SELECT url, text FROM links WHERE article_id = ? ORDER BY position", [article_id]
        )
    ]
    return dict(sorted(record.items()))


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


def _record_json(record: Mapping[str, Any]) -> str:
    return json.dumps(dict(record), sort_keys=True, ensure_ascii=False)


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


# Schema version n is reached by running _MIGRATIONS[n - 1] on version n - 1.
_MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_create_v1, _create_v2]
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


class Archive:
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
        later = set(expected_schema(SCHEMA_VERSION)) - set(expected)
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
        """Insert one row; returns its integer primary key."""
        last_pk = self.db.table(name).insert(dict(row)).last_pk
        assert isinstance(last_pk, int), last_pk
        return last_pk

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
        if previous is None:
            number, changed = 1, []
        else:
            before = json.loads(previous[1])
            number = int(previous[0]) + 1
            changed = sorted(f for f in RECORD_FIELDS if before.get(f) != record.get(f))
        silent = not by_extractor and bool(set(changed) - {"url"}) and "modified" not in changed
        self._table("revisions").insert(
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
            }
        )
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
        authors = [
            {
                "article_id": article_id,
                "author_id": self._author_id(a["name"], a.get("url")),
                "position": i,
            }
            for i, a in enumerate(record.get("authors") or [])
        ]
        self._table("article_authors").insert_all(authors)
        tags = [
            {"article_id": article_id, "tag_id": self._label_id("tags", tag), "position": i}
            for i, tag in enumerate(record.get("tags") or [])
        ]
        self._table("article_tags").insert_all(tags)
        images = [
            {
                "article_id": article_id,
                "position": i,
                "url": image["url"],
                "alt": image.get("alt") or "",
                "caption": image.get("caption"),
                "credit": image.get("credit"),
                "lead": int(bool(image.get("lead"))),
            }
            for i, image in enumerate(record.get("images") or [])
        ]
        self._table("images").insert_all(images)
        links = [
            {"article_id": article_id, "position": i, "url": link["url"], "text": link["text"]}
            for i, link in enumerate(record.get("links") or [])
        ]
        self._table("links").insert_all(links)
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
        point at, fetched by ``as_of``. ``url_aliases``: of those articles, first seen by
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

    # -- backfill from web archives (issue 16) ----------------------------------------------
    # Two tables made on first use, outside the numbered migrations while the archive's schema
    # module is being reworked: ``capture_sources`` (the provenance of every imported capture)
    # and ``backfill_resume`` (a CDX query's resume key).

    def _backfill_tables(self) -> None:
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


def _changes(before: Mapping[str, Any] | None, record: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The fields ``record`` changed from ``before`` (none for a first revision), and whether it
    is a silent edit: content changed (not only the URL) without a newer ``modified``."""
    if before is None:
        return [], False
    changed = sorted(f for f in RECORD_FIELDS if before.get(f) != record.get(f))
    return changed, bool(set(changed) - {"url"}) and "modified" not in changed
