"""Datasette for analysts: serving an archive read-only with the project's configuration.

``qiosk serve`` calls :func:`serve`, which builds a :class:`datasette.app.Datasette` on one
archive with the files shipped inside the package (package data, so an installed wheel serves
as the repository does) under ``qiosk_scraper/serve_files/``:

- ``metadata.yml``: title, source, licence note, a description of every table and
  column, facets, sort orders, label columns and the canned queries (all read-only);
- ``templates/``: ``row.html`` makes the articles row page readable (the body as
  paragraphs, byline, dates, credits, revisions; other tables keep Datasette's page) and
  ``_table-archive-articles.html`` leaves the long and technical columns out of the articles
  table page until the reader picks columns.

The archive is always mounted as the database ``archive`` (``/archive/articles``), whatever the
file is called, so links and the metadata do not depend on the file name. It is opened
immutable by default (SQLite never writes to it; the file must not change while served) or, with
``live``, read-only (``mode=ro``: a running crawl's commits show up). Every connection is also
``PRAGMA query_only`` (and, immutable, memory-mapped: ``PRAGMA mmap_size``). There are no
writable canned queries and no write plugins. Facet suggestions are off (see :data:`SETTINGS`).

This module is also a small Datasette plugin (registered in-process by :func:`build_datasette`):

- SQL functions ``credit_source(credit)`` and ``credit_photographer(credit)`` used by the image
  credit queries (see :func:`credit_source`);
- ``snippet`` columns (FTS5 ``snippet()`` with the markers ``⟦`` and ``⟧``) are rendered with
  those terms in ``<mark>``: the text is escaped first, only the markers become tags;
- facet types ``month`` (``{"month": "published"}``: year-month of an ISO date column, toggled
  with ``published__startswith``) and ``through`` (``{"through": "article_authors"}``: counts
  over a many-to-many link table, labelled by the other table's label column), since Datasette
  0.65 facets only plain and JSON columns, and the ``_via`` filter they toggle
  (``?_via=article_authors.author_id:3``), since Datasette's ``_through`` breaks when combined
  with a column filter;
- the data of the readable article page (:func:`_article_page`);
- searches that stay fast on a large archive: Datasette's search clause reads the matches
  along an index (:func:`scanned_search`), and on an immutable archive the configured facets
  of a page are counted once from its matching rows instead of by a query each
  (:class:`Counting`, also behind Datasette's column facet: :class:`QioskColumnFacet`).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import errno
import hashlib
import ipaddress
import json
import re
import socket
import sqlite3
import threading
import urllib.parse
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database, QueryInterrupted, Results
from datasette.facets import ColumnFacet, Facet
from datasette.filters import FilterArguments
from datasette.utils import (
    await_me_maybe,
    escape_sqlite,
    parse_metadata,
    path_with_removed_args,
    sqlite_timelimit,
    tilde_decode,
)
from datasette.utils.asgi import BadRequest
from markupsafe import Markup, escape

from qiosk_scraper.article import is_web_url

CONFIG_DIR = Path(__file__).resolve().parent / "serve_files"
DATABASE_NAME = "archive"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001

# Datasette settings (https://docs.datasette.io/en/0.65/settings.html): safe and usable.
SETTINGS: dict[str, Any] = {
    "sql_time_limit_ms": 3000,  # a runaway query stops after 3 s
    "facet_time_limit_ms": 1000,
    "facet_suggest_time_limit_ms": 200,
    "max_returned_rows": 1000,
    "default_page_size": 50,
    "truncate_cells_html": 280,  # article bodies stay readable in tables
    "allow_download": False,  # the citable copy is a snapshot (qiosk snapshot export)
    "default_allow_sql": True,  # read-only SQL is an analyst's tool
    # Suggestions cost three queries per column of the table (column, date and JSON-array
    # checks: 57 on articles, each repeating the search) on every table page, four fifths of
    # the time of a search of the articles. Every column can still be faceted from its column
    # menu ("Facet by this") or ?_facet= / ?_facet_date=; the articles' facets are configured.
    "suggest_facets": False,
}

# Memory-mapped reads of an immutable archive (at most this many bytes of it): the facets of a
# search look every matching article up again, and each page read is then a memory access, not
# a read() system call. Only immutable: the file cannot change (let alone shrink) while mapped.
MMAP_SIZE = 1 << 30

# -- what one query may cost and reach ---------------------------------------------------------

# No single value larger than this (SQLITE_LIMIT_LENGTH on Datasette's connections):
# ``zeroblob(200000000)`` fails at once with "string or blob too big" instead of allocating.
# The largest value an archive holds (a revision's record JSON) is tens of kilobytes.
MAX_VALUE_BYTES = 4 << 20
# No result larger than this (text and blob bytes of its rows, counted as they are fetched):
# 1,000 rows of 4 MB values would still be 4 GB held and sent. Larger results are an error.
MAX_RESULT_BYTES = 32 << 20
# fts3_tokenizer('simple') answers the address of a tokenizer in the server's memory (and with
# a second argument installs one): no query may call it.
DENIED_FUNCTIONS = frozenset({"fts3_tokenizer"})


def budgeted_row_factory(limit: int) -> Callable[[sqlite3.Cursor, tuple[Any, ...]], sqlite3.Row]:
    """A row factory (``sqlite3.Row`` rows, as Datasette uses) that raises
    ``sqlite3.OperationalError`` once the rows a cursor fetched exceed ``limit`` bytes of text
    and blobs (numbers count 8)."""
    spent: weakref.WeakKeyDictionary[sqlite3.Cursor, int] = weakref.WeakKeyDictionary()

    def row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> sqlite3.Row:
        size = sum(len(v) if isinstance(v, str | bytes) else 8 for v in values)
        total = spent.get(cursor, 0) + size
        if total > limit:
            raise sqlite3.OperationalError(
                f"result larger than {limit >> 20} MB: ask for fewer rows or shorter values"
            )
        spent[cursor] = total
        return sqlite3.Row(cursor, values)

    return row


def deny_functions(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    """SQLite authorizer: refuse the statements calling a function of DENIED_FUNCTIONS."""
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


# Content-Security-Policy of every page: scripts only from this server, plus Datasette's own
# inline scripts by their hash (the SQL editor, menus, the facet flag); no other inline script,
# event handler attribute or javascript: URL runs, whatever a crawled page put in the archive.
# 'unsafe-eval': datasette-vega's charts compile their expressions with Function().
_DATASETTE_INLINE = ("_close_open_menus.html", "_codemirror_foot.html")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def content_security_policy() -> str:
    """The policy, with the hashes of Datasette's inline scripts as its templates hold them."""
    import datasette

    templates = Path(datasette.__file__).parent / "templates"
    scripts = [f"DATASETTE_ALLOW_FACET = {flag};" for flag in ("true", "false")]
    for name in _DATASETTE_INLINE:
        scripts += _INLINE_SCRIPT.findall((templates / name).read_text(encoding="utf-8"))
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in scripts
    )
    return (
        f"default-src 'self'; script-src 'self' 'unsafe-eval' {hashes}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


SNIPPET_OPEN = "⟦"
SNIPPET_CLOSE = "⟧"


class ServeError(Exception):
    """The archive cannot be served (missing, not an archive, being written ...)."""


# -- image credits ---------------------------------------------------------------------------

# (pattern, source): agencies and institutions named anywhere in a credit, first match wins.
_NAMED_SOURCES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), source)
    for pattern, flags, source in (
        (r"shutterstock", re.I, "Shutterstock"),
        (r"\breuters\b", re.I, "Reuters"),
        (r"\bAP\b|associated press", 0, "AP"),
        (r"\bAFP\b|agence france", 0, "AFP"),
        (r"\bgetty\b", re.I, "Getty Images"),
        (r"\bEPA\b", 0, "EPA"),
        (r"creative commons", re.I, "Creative Commons"),
        (r"wikimedia|wikipedia", re.I, "Wikimedia Commons"),
        (r"\bflickr\b", re.I, "Flickr"),
        (r"\bDoD\b|department of defen[cs]e", 0, "DoD"),
        (r"state department", re.I, "State Department"),
        (r"white house", re.I, "White House"),
    )
)
_ORG_PHOTO = re.compile(r"^(?:official\s+)?(?P<org>\S.*?)\s+photo(?:graph)?\b", re.I)
_PHOTO_BY = re.compile(r"\b(?:photo(?:graph)?|image)\s+by\s+(?P<name>.+)$", re.I)
_COURTESY = re.compile(r"^courtesy(?:\s+of)?\s+(?P<name>.+)$", re.I)
_VIA = re.compile(r"^(?P<before>.+?)\s+via\s+(?P<after>.+)$", re.I)
_SLASH = re.compile(r"^(?P<before>[^/]+?)\s*/\s*(?P<after>[^/]+)$")
_NAME = re.compile(r"^[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){1,3}$")


def _clean(text: str) -> str:
    return text.strip().strip(".,;:").strip()


def credit_source(credit: str | None) -> str | None:
    """The agency, institution or photographer an image credit names, for grouping.

    ``DoD photo by Sgt. X`` -> ``DoD``; ``X via Reuters`` and ``X/Reuters`` -> ``Reuters``;
    ``Inspired by maps via shutterstock.com`` -> ``Shutterstock``; ``U.S. Air Force photo/X`` ->
    ``U.S. Air Force``; ``Photo by X`` -> ``X``; ``Creative Commons license`` -> ``Creative
    Commons``. Otherwise the text after ``via`` or ``/``, else the credit itself; None when
    there is no credit.
    """
    if credit is None or not credit.strip():
        return None
    text = " ".join(credit.split())
    for pattern, source in _NAMED_SOURCES:
        if pattern.search(text):
            return source
    if match := _ORG_PHOTO.match(text):
        return _clean(match["org"])
    for pattern in (_PHOTO_BY, _COURTESY):
        if match := pattern.search(text):
            return _clean(match["name"])
    for pattern in (_VIA, _SLASH):
        if match := pattern.match(text):
            return _clean(match["after"])
    return _clean(text) or None


def credit_photographer(credit: str | None) -> str | None:
    """The person an image credit names, as written (ranks kept), when it names one:
    ``DoD photo by Sgt. X`` -> ``Sgt. X``, ``X via Reuters`` / ``X/Shutterstock`` -> ``X``,
    ``U.S. Air Force photo/X`` -> ``X``. None for agency-only credits."""
    if credit is None:
        return None
    text = " ".join(credit.split())
    if match := _PHOTO_BY.search(text):
        return _clean(match["name"])
    for pattern in (_VIA, _SLASH):
        if match := pattern.match(text):
            before, after = _clean(match["before"]), _clean(match["after"])
            if re.search(r"\bphoto\b", before, re.I) and _NAME.match(after):
                return after  # U.S. Air Force photo/Name
            if _NAME.match(before):
                return before
    return None


# -- search snippets -------------------------------------------------------------------------


def highlight(text: str) -> Markup:
    """Escape ``text``, then turn the snippet markers ``⟦``/``⟧`` into ``<mark>`` tags."""
    escaped = str(escape(text))
    return Markup(escaped.replace(SNIPPET_OPEN, "<mark>").replace(SNIPPET_CLOSE, "</mark>"))


# -- facets ----------------------------------------------------------------------------------


def _config_column(config: Mapping[str, Any]) -> str:
    column = config.get("column") or config.get("simple")
    if not isinstance(column, str) or not column:
        raise ValueError(f"facet config {dict(config)!r} names no column")
    return column


# A search's facets, counted once. Datasette computes each facet with its own query over the
# filtered rows (``select ... from (<the page's query>) group by ...``): on a search matching
# most of 50,000 articles, every one of the five facets looked each matching article up again
# and grouped it in a temporary b-tree (seven passes a page, 320 ms; benchmarks/bench_scale.py).
# On an immutable archive the facets instead read the matching primary keys once per request
# (:meth:`Counting.matching`) and count them against the rows of each value, read once per
# served file (:class:`FacetValues`, bitmasks; the first search after starting pays for it). Live
# archives (the data changes while served) and facets picked by the reader from a column menu
# (``_facet=body`` would hold every text in memory) keep Datasette's queries. Both ways give
# the same values, counts and order (tests/test_datasette_search.py).


def sqlite_order(value: Any) -> tuple[int, Any]:
    """Sort key of a value as SQLite orders them: NULL, numbers, text (binary), blobs."""
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, value) if isinstance(value, str) else (3, value)


def _plain_rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> sqlite3.Cursor:
    """The rows of our own reads as plain tuples (no per-row result budget)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, params)


class FacetValues:
    """Per table of an immutable database: each row's position (by its primary key), and for
    each facet, which rows have each value: a bitmask of positions (an int), read once by an
    SQL of two columns, a primary key and its value (or each value linked to it). The rows a
    search matches are a bitmask too: a value's count is ``(matching & rows).bit_count()``."""

    def __init__(self, conn: sqlite3.Connection, table: str, pk: str) -> None:
        keys = _plain_rows(conn, f"select {escape_sqlite(pk)} from {escape_sqlite(table)}")
        self.positions = {key: i for i, (key,) in enumerate(keys)}
        self._masks: dict[str, dict[Any, int]] = {}
        self._labels: dict[str, dict[Any, Any]] = {}
        self._lock = threading.Lock()

    def mask(self, keys: Iterable[Any]) -> int:
        """The rows of ``keys`` (others ignored) as a bitmask of positions. A search matching
        40,000 articles: one byte a row set without a Python loop, then packed eight to a
        byte (the byte of row ``8j + b``, 0 or 1, shifted by ``b``, lands on bit ``b`` of
        byte ``j``)."""
        rows = len(self.positions)
        flags = bytearray(rows + 1)  # the last byte takes the keys of no row
        at = map(self.positions.get, keys, repeat(rows))
        deque(map(flags.__setitem__, at, repeat(1)), maxlen=0)
        del flags[rows:]
        flags.extend(bytes(-rows % 8))
        return sum(int.from_bytes(flags[b::8], "little") << b for b in range(8))

    def masks(self, conn: sqlite3.Connection, sql: str) -> dict[Any, int]:
        """Each value ``sql`` reads (NULL left out) with the rows that have it."""
        with self._lock:
            if sql not in self._masks:
                size = (len(self.positions) >> 3) + 1
                bits: dict[Any, bytearray] = {}
                for key, value in _plain_rows(conn, sql):
                    i = self.positions.get(key)
                    if i is not None and value is not None:
                        row_bits = bits.get(value) or bits.setdefault(value, bytearray(size))
                        row_bits[i >> 3] |= 1 << (i & 7)
                self._masks[sql] = {v: int.from_bytes(b, "little") for v, b in bits.items()}
            return self._masks[sql]

    def labels(self, conn: sqlite3.Connection, sql: str) -> dict[Any, Any]:
        """The labels of another table's rows by key (``sql``: key, label)."""
        with self._lock:
            if sql not in self._labels:
                self._labels[sql] = dict(_plain_rows(conn, sql))
            return self._labels[sql]


_FACET_VALUES: weakref.WeakKeyDictionary[Database, dict[tuple[str, str], FacetValues]] = (
    weakref.WeakKeyDictionary()
)
_FACET_VALUES_LOCK = threading.Lock()


def facet_values(db: Database, conn: sqlite3.Connection, table: str, pk: str) -> FacetValues:
    """The :class:`FacetValues` of a served table, read on first use."""
    with _FACET_VALUES_LOCK:
        tables = _FACET_VALUES.setdefault(db, {})
        if (table, pk) not in tables:
            tables[(table, pk)] = FacetValues(conn, table, pk)
        return tables[(table, pk)]


def read_matching(
    db: Database, table: str, pk: str, sql: str, params: Any, limit_ms: int
) -> Awaitable[int | None]:
    """The rows whose keys ``sql`` reads, as a bitmask (None past ``limit_ms``), read in
    Datasette's SQL thread."""

    def read(conn: sqlite3.Connection) -> int | None:
        values = facet_values(db, conn, table, pk)
        with sqlite_timelimit(conn, limit_ms):
            try:
                return values.mask(map(itemgetter(0), _plain_rows(conn, sql, params)))
            except sqlite3.OperationalError as error:
                if str(error) == "interrupted":
                    return None
                raise

    rows: Awaitable[int | None] = asyncio.ensure_future(db.execute_fn(read))
    return rows


@dataclass
class EarlySearch:
    """The rows a search matches, read from the full-text index while Datasette computes the
    page and its count: the facets' rows when the search is the page's only filter."""

    table: str
    where: str  # the page's where clause when the search is its only filter
    params: str  # its parameters, as :meth:`Counting.matching` keys them
    rows: Awaitable[int | None]


# The search of the request being answered, set by the search hook (:func:`start_early_search`)
# in the request's task: the page's count and facets, computed later in that task, read it.
EARLY_SEARCH: contextvars.ContextVar[EarlySearch | None] = contextvars.ContextVar(
    "qiosk_early_search", default=None
)


def _params_key(params: Any) -> str:
    return json.dumps(params, sort_keys=True, default=repr)


@dataclass
class Counting:
    """How a facet counts without SQL: its database, table and primary key column."""

    facet: Facet
    db: Database
    pk: str

    async def labels(self, sql: str) -> dict[Any, Any]:
        table = self.facet.table or ""
        labels: dict[Any, Any] = await self.db.execute_fn(
            lambda conn: facet_values(self.db, conn, table, self.pk).labels(conn, sql)
        )
        return labels

    async def matching(self) -> int | None:
        """The rows the facets count (the page's filtered rows) as a bitmask, read once per
        request (or early, see :class:`EarlySearch`); None when that ran past
        ``facet_time_limit_ms``."""
        facet = self.facet
        table = facet.table or ""
        memo = facet.request.scope.setdefault("qiosk_matching_rows", {})
        key = (facet.sql, _params_key(facet.params))
        if key not in memo:
            early = EARLY_SEARCH.get()
            if (
                early is not None
                and early.table == table
                and facet.sql.endswith(f" {early.where} ")
                and early.params == key[1]
            ):
                memo[key] = early.rows
            else:
                memo[key] = read_matching(
                    self.db,
                    table,
                    self.pk,
                    f"select {escape_sqlite(self.pk)} from ({facet.sql})",
                    facet.params,
                    facet.ds.setting("facet_time_limit_ms"),
                )
        matching: int | None = await memo[key]
        return matching

    async def count(self, sql: str) -> dict[Any, int] | None:
        """How many of the matching rows have each value ``sql`` reads (key, value: one row
        per value a key has; NULLs and values no matching row has left out); None when
        reading the matching rows timed out."""
        matching = await self.matching()
        if matching is None:
            return None
        table = self.facet.table or ""
        masks: dict[Any, int] = await self.db.execute_fn(
            lambda conn: facet_values(self.db, conn, table, self.pk).masks(conn, sql)
        )
        counts = {value: (matching & rows).bit_count() for value, rows in masks.items()}
        return {value: n for value, n in counts.items() if n}


async def counting(facet: Facet) -> Counting | None:
    """How ``facet`` counts without SQL, when it can: an immutable database, a table (not a
    view) with a single-column primary key."""
    if facet.table is None:
        return None
    db = facet.ds.get_database(facet.database)
    if db.is_mutable or not await db.table_exists(facet.table):
        return None
    pks = await db.primary_keys(facet.table)
    if len(pks) != 1:
        return None
    return Counting(facet, db, pks[0])


def ranked(
    counts: Mapping[Any, int], limit: int, label: Callable[[Any], Any] | None = None
) -> list[dict[str, Any]]:
    """The ``limit`` values counted most, ties by label (or value) as SQLite orders them:
    ``order by count desc, label limit <limit>``."""
    name = label or (lambda value: value)
    top = sorted(
        counts.items(), key=lambda vc: (-vc[1], sqlite_order(name(vc[0])), sqlite_order(vc[0]))
    )
    return [{"value": v, "label": name(v), "count": c} for v, c in top[:limit]]


def newest_first(counts: Mapping[Any, int], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` greatest values with their counts: ``order by value desc limit <limit>``."""
    top = sorted(counts.items(), key=lambda vc: sqlite_order(vc[0]), reverse=True)
    return [{"value": v, "count": c} for v, c in top[:limit]]


class QioskColumnFacet(ColumnFacet):
    """Datasette's column facet (``_facet=section``): the facets configured in the metadata
    counted once per search on an immutable archive (see :class:`Counting`), the others by
    Datasette's query."""

    configured: bool | None = None  # which configs get_configs answers (None: all)

    def get_configs(self) -> list[dict[str, Any]]:
        configs: list[dict[str, Any]] = super().get_configs()
        if self.configured is None:
            return configs
        return [c for c in configs if (c["source"] == "metadata") == self.configured]

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        how = await counting(self)
        if how is None:
            results: tuple[list[dict[str, Any]], list[str]] = await super().facet_results()
            return results
        try:
            self.configured = True
            counted = await self._counted(how)
            self.configured = False
            queried = await super().facet_results()
        finally:
            self.configured = None
        return counted[0] + queried[0], counted[1] + queried[1]

    async def _counted(self, how: Counting) -> tuple[list[dict[str, Any]], list[str]]:
        facet_results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        size = self.get_facet_size()
        for source_and_config in self.get_configs():
            column = _config_column(source_and_config["config"])
            counts = await how.count(
                f"select {escape_sqlite(how.pk)}, {escape_sqlite(column)} "
                f"from {escape_sqlite(self.table)}"
            )
            if counts is None:
                timed_out.append(column)
                continue
            rows = ranked(counts, size + 1)
            expanded = await self.ds.expand_foreign_keys(
                self.database, self.table, column, [row["value"] for row in rows[:size]]
            )
            for row in rows:
                row["label"] = expanded.get((column, row["value"]), row["value"])
            column_qs = f"{column}__exact" if column.startswith("_") else column
            facet_results.append(
                facet_result(
                    self,
                    source_and_config,
                    column,
                    {"_facet": column},
                    rows,
                    column_qs,
                    [str(row["value"]) for row in rows],
                    "label",
                )
            )
        return facet_results, timed_out


def facet_result(
    facet: Facet,
    source_and_config: Mapping[str, Any],
    name: str,
    facet_arg: dict[str, str],
    rows: list[Any],
    filter_key: str,
    filter_values: list[str],
    label: str = "value",
) -> dict[str, Any]:
    """One facet in Datasette's shape: each of the first ``get_facet_size()`` rows toggles the
    filter ``filter_key`` with its value in ``filter_values`` (one a row) on or off, and the
    facet itself is hidden by removing ``facet_arg`` from the page's query string."""
    size = facet.get_facet_size()
    request = facet.request
    pairs = set(facet.get_querystring_pairs())
    # Datasette's path_with_added_args, absolute: this page's URL and query string built once
    # (as plain strings: Datasette's URL strings look up dir(str) at every method call)
    here = facet.ds.absolute_url(request, str(facet.ds.urls.path(request.path)))
    kept = urllib.parse.urlencode(urllib.parse.parse_qsl(request.query_string))
    values = []
    for row, filter_value in zip(rows[:size], filter_values, strict=False):
        arg = (filter_key, filter_value)
        selected = arg in pairs
        if selected:
            removed = facet.ds.urls.path(path_with_removed_args(request, dict([arg])))
            toggle = facet.ds.absolute_url(request, str(removed))
        else:
            toggle = f"{here}?{'&'.join(filter(None, (kept, urllib.parse.urlencode([arg]))))}"
        values.append(
            {
                "value": row["value"],
                "label": row[label],
                "count": row["count"],
                "toggle_url": toggle,
                "selected": selected,
            }
        )
    return {
        "name": name,
        "type": facet.type,
        "results": values,
        "hideable": source_and_config["source"] != "metadata",
        "toggle_url": facet.ds.urls.path(path_with_removed_args(facet.request, facet_arg)),
        "truncated": len(rows) > size,
    }


class _ToggleFacet(Facet):
    """What the month and through facets share: no suggestions, a time-limited query per
    configured facet, and values that toggle one filter each, in Datasette's shape."""

    async def suggest(self) -> list[dict[str, Any]]:
        return []

    async def _rows(self, sql: str) -> list[Any] | None:
        """The facet query's rows, or None when it ran past ``facet_time_limit_ms``."""
        try:
            results = await self.ds.execute(
                self.database,
                sql,
                self.params,
                truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )
        except QueryInterrupted:
            return None
        return list(results.rows)

    def _result(
        self,
        source_and_config: Mapping[str, Any],
        name: str,
        configured: str,
        rows: list[Any],
        filter_key: str,
        filter_values: list[str],
        label: str = "value",
    ) -> dict[str, Any]:
        """One facet (see :func:`facet_result`), hidden by removing ``_facet_<type>``."""
        facet_arg = {f"_facet_{self.type}": configured}
        return facet_result(
            self, source_and_config, name, facet_arg, rows, filter_key, filter_values, label
        )


class MonthFacet(_ToggleFacet):
    """Year-month of an ISO 8601 date column (``YYYY-MM``), newest first; selecting a month
    filters with ``<column>__startswith=YYYY-MM``."""

    type = "month"

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        size = self.get_facet_size()
        how = await counting(self)
        for source_and_config in self.get_configs():
            column = _config_column(source_and_config["config"])
            col = escape_sqlite(column)
            month = f"{col} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]*'"
            if how is None:
                rows = await self._rows(
                    f"select substr({col}, 1, 7) as value, count(*) as count from ({self.sql}) "
                    f"where {month} group by value order by value desc limit {size + 1}"
                )
            else:
                counts = await how.count(
                    f"select {escape_sqlite(how.pk)}, case when {month} then substr({col}, 1, 7) "
                    f"end from {escape_sqlite(self.table or '')}"
                )
                rows = None if counts is None else newest_first(counts, size + 1)
            if rows is None:
                timed_out.append(column)
                continue
            results.append(
                self._result(
                    source_and_config,
                    f"{column} month",
                    column,
                    rows,
                    f"{column}__startswith",
                    [row["value"] for row in rows],
                )
            )
        return results, timed_out


VIA_ARG = "_via"
_VIA_VALUE = re.compile(r"([A-Za-z_]\w*)\.([A-Za-z_]\w*):(.*)", re.S)


def via_value(link_table: str, column: str, value: object) -> str:
    """The ``_via`` filter value ``<link table>.<column>:<value>``, e.g.
    ``article_authors.author_id:3`` (the articles of author 3)."""
    return f"{link_table}.{column}:{value}"


async def link_keys(db: Database, link_table: str, table: str) -> tuple[dict[str, Any], ...]:
    """The foreign keys of a link table: (the one to ``table``, the one to the other table)."""
    if not await db.table_exists(link_table):
        raise BadRequest(f"no table {link_table!r}")
    keys = await db.foreign_keys_for_table(link_table)
    ours = [fk for fk in keys if fk["other_table"] == table]
    others = [fk for fk in keys if fk["other_table"] != table]
    if len(ours) != 1 or len(others) != 1:
        raise BadRequest(f"{link_table} is not a link table between {table} and one other table")
    return ours[0], others[0]


class ThroughFacet(_ToggleFacet):
    """Counts over a many-to-many link table (``article_authors``): for each row of the other
    table (authors), how many of the listed rows link to it, labelled by its label column;
    selecting one filters with ``_via`` (see :func:`filters_from_request`)."""

    type = "through"

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        size = self.get_facet_size()
        db = self.ds.get_database(self.database)
        how = await counting(self)
        for source_and_config in self.get_configs():
            link_table = _config_column(source_and_config["config"])
            our, other = await link_keys(db, link_table, self.table)
            label = await db.label_column_for_table(other["other_table"])
            if how is not None and our["other_column"] == how.pk:
                rows = await self._counted(how, link_table, our, other, label, size + 1)
            else:
                rows = await self._queried(link_table, our, other, label, size + 1)
            if rows is None:
                timed_out.append(link_table)
                continue
            results.append(
                self._result(
                    source_and_config,
                    other["other_table"],
                    link_table,
                    rows,
                    VIA_ARG,
                    [via_value(link_table, other["column"], row["value"]) for row in rows],
                    label="label",
                )
            )
        return results, timed_out

    async def _counted(
        self,
        how: Counting,
        link_table: str,
        our: Mapping[str, Any],
        other: Mapping[str, Any],
        label: str | None,
        limit: int,
    ) -> list[dict[str, Any]] | None:
        """The facet's rows counted from the matching keys (see :class:`Counting`): each
        matching row counts once per linked row of the other table that exists."""
        other_table, other_pk = (
            escape_sqlite(other["other_table"]),
            escape_sqlite(other["other_column"]),
        )
        counts = await how.count(
            f"select l.{escape_sqlite(our['column'])}, l.{escape_sqlite(other['column'])} "
            f"from {escape_sqlite(link_table)} l join {other_table} o "
            f"on o.{other_pk} = l.{escape_sqlite(other['column'])}",
        )
        if counts is None:
            return None
        labels = await how.labels(
            f"select {other_pk}, {escape_sqlite(label) if label else other_pk} from {other_table}"
        )
        return ranked(counts, limit, labels.get)

    async def _queried(
        self,
        link_table: str,
        our: Mapping[str, Any],
        other: Mapping[str, Any],
        label: str | None,
        limit: int,
    ) -> list[Any] | None:
        """The facet's rows by one query over the link table."""
        label_sql = f"o.{escape_sqlite(label)}" if label else "t.value"
        # Counted per value of the link table first, labelled after: one label lookup per
        # value, not one per link (a third of the facet's time on a 50,000-article search
        # matching most articles, benchmarks/bench_scale.py).
        return await self._rows(
            f"select t.value, {label_sql} as label, t.count from ("
            f"select {escape_sqlite(other['column'])} as value, "
            f"count(distinct {escape_sqlite(our['column'])}) as count "
            f"from {escape_sqlite(link_table)} "
            f"where {escape_sqlite(our['column'])} in "
            f"(select {escape_sqlite(our['other_column'])} from ({self.sql})) "
            f"group by value) t "
            f"join {escape_sqlite(other['other_table'])} o "
            f"on o.{escape_sqlite(other['other_column'])} = t.value "
            f"order by t.count desc, label limit {limit}"
        )


async def via_filters(
    request: Any, database: str, table: str, datasette: Datasette
) -> FilterArguments | None:
    """``?_via=article_authors.author_id:3``: rows of ``table`` linked to row 3 of the other
    table through the link table. Like Datasette 0.65's ``_through``, whose parameter name
    (always ``p0``) clashes with column filters such as ``published__startswith``."""
    raws = request.args.getlist(VIA_ARG)
    if not raws:
        return None
    db = datasette.get_database(database)
    where: list[str] = []
    params: dict[str, str] = {}
    described: list[str] = []
    for i, raw in enumerate(raws):
        match = _VIA_VALUE.fullmatch(raw)
        if match is None:
            raise BadRequest(
                f"{VIA_ARG}={raw!r}: expected <link table>.<column>:<value>, "
                "e.g. article_authors.author_id:3"
            )
        link_table, column, value = match.groups()
        await datasette.ensure_permissions(
            request.actor,
            [("view-table", (database, link_table)), ("view-database", database), "view-instance"],
        )
        our, other = await link_keys(db, link_table, table)
        if column != other["column"]:
            raise BadRequest(f"{VIA_ARG}: {link_table}.{column} is not its link to another table")
        name = f"qiosk_via_{i}"
        where.append(
            f"{escape_sqlite(our['other_column'])} in (select {escape_sqlite(our['column'])} "
            f"from {escape_sqlite(link_table)} where {escape_sqlite(column)} = :{name})"
        )
        params[name] = value
        label_column = await db.label_column_for_table(other["other_table"])
        label = value
        if label_column:
            found = await db.execute(
                f"select {escape_sqlite(label_column)} from {escape_sqlite(other['other_table'])} "
                f"where {escape_sqlite(other['other_column'])} = ?",
                [value],
            )
            label = str(found.first()[0]) if found.rows else value
        described.append(f'{other["other_table"]} is "{label}"')
    return FilterArguments(where, params, described)


# -- the readable article page ---------------------------------------------------------------


async def _article_page(datasette: Datasette, database: str, pks: str) -> dict[str, Any] | None:
    """Everything the articles row page shows, read through Datasette's read-only connection."""
    db = datasette.get_database(database)
    try:
        article_id = int(tilde_decode(pks))
    except ValueError:
        return None
    rows = (await db.execute("select * from articles where id = ?", [article_id])).rows
    if not rows:
        return None
    article = dict(rows[0])
    article["columns"] = [(k, v) for k, v in article.items() if k != "body"]

    async def query(sql: str) -> list[dict[str, Any]]:
        return [dict(r) for r in (await db.execute(sql, [article_id])).rows]

    article["paragraphs"] = [p for p in (article.get("body") or "").split("\n\n") if p.strip()]
    article["authors"] = await query(
        "select a.id, a.name, a.url from article_authors x join authors a on a.id = x.author_id "
        "where x.article_id = ? order by x.position"
    )
    article["tags"] = await query(
        "select t.id, t.label from article_tags x join tags t on t.id = x.tag_id "
        "where x.article_id = ? order by x.position"
    )
    article["sections"] = await query(
        "select s.id, s.label, x.is_primary, x.listed from article_sections x "
        "join sections s on s.id = x.section_id where x.article_id = ? "
        "order by x.is_primary desc, s.label"
    )
    article["images"] = await query(
        "select position, url, alt, caption, credit, lead from images where article_id = ? "
        "order by position"
    )
    for image in article["images"]:
        image["source"] = credit_source(image["credit"])
    article["aliases"] = await query(
        "select url, kind, first_seen from url_aliases where article_id = ? "
        "order by first_seen, url"
    )
    articles_url = datasette.urls.table(database, "articles")
    for author in article["authors"]:
        author["row_url"] = datasette.urls.row(database, "authors", str(author["id"]))
    for link_table, column, items in (
        ("article_tags", "tag_id", article["tags"]),
        ("article_sections", "section_id", article["sections"]),
    ):
        for item in items:
            via = urllib.parse.urlencode({VIA_ARG: via_value(link_table, column, item["id"])})
            item["articles_url"] = f"{articles_url}?{via}"
    for column in ("capture_id", "gone_capture_id"):
        if article.get(column) is not None:
            article[column.replace("_id", "_url")] = datasette.urls.row(
                database, "captures", str(article[column])
            )
    article["links_url"] = (
        f"{datasette.urls.table(database, 'links')}?article_id={article_id}&_sort=position"
    )
    article["link_count"] = (
        await db.execute("select count(*) from links where article_id = ?", [article_id])
    ).first()[0]
    article["has_revisions"] = await db.table_exists("revisions")
    article["revisions"] = (
        await query("select * from revisions where article_id = ? order by revision")
        if article["has_revisions"]
        else []
    )
    for revision in article["revisions"]:
        try:
            changed = json.loads(revision.get("changed_fields") or "[]")
        except ValueError:
            changed = [revision.get("changed_fields")]
        revision["changed"] = ", ".join(str(c) for c in changed)
    return article


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Datasette) -> None:
    conn.create_function("credit_source", 1, credit_source, deterministic=True)
    conn.create_function("credit_photographer", 1, credit_photographer, deterministic=True)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.set_authorizer(deny_functions)
    conn.row_factory = budgeted_row_factory(MAX_RESULT_BYTES)
    if database == DATABASE_NAME:
        conn.execute("PRAGMA query_only = 1")
        if not datasette.get_database(database).is_mutable:
            conn.execute(f"PRAGMA mmap_size = {MMAP_SIZE}")


@hookimpl
def render_cell(
    value: Any, column: str, table: str | None, database: str, datasette: Datasette
) -> Markup | None:
    if isinstance(value, str) and (column == "snippet" or column.endswith("_snippet")):
        return highlight(value)
    if column == "article_id" and table is None and isinstance(value, int):
        # On query pages (table pages label their foreign keys themselves): link the article.
        url = datasette.urls.row(database, "articles", str(value))
        return Markup(f'<a href="{escape(url)}">{value}</a>')
    return None


@hookimpl
def filters_from_request(request: Any, database: str, table: str, datasette: Datasette) -> Any:
    async def inner() -> FilterArguments | None:
        return await via_filters(request, database, table, datasette)

    return inner


# Datasette's full-text filter: ``<pk> in (select rowid from <fts> where <fts or column> match``.
_SQL_NAME = r"(?:\w+|\[[^\]]+\])"
_SEARCH_CLAUSE = re.compile(
    rf"{_SQL_NAME} in \(select rowid from {_SQL_NAME} where {_SQL_NAME} match "
)


def scanned_search(clause: str) -> str:
    """Datasette's search clause with its key behind a unary ``+`` (the same value): SQLite
    then reads the matching rows along an index (the newest first of the articles page stop
    after a page of them; the count scans the small published index) instead of looking
    every match up in the table by its key: on 50,000 articles a search matching most of them
    spent 35 ms on its first page and 25 ms on its count that way, 11 and 18 ms this way.
    Other clauses are returned as they are."""
    return f"+{clause}" if _SEARCH_CLAUSE.match(clause) else clause


_SEARCH_PARTS = re.compile(
    rf"\+(?P<key>{_SQL_NAME}) in \((?P<rows>select rowid from {_SQL_NAME} where .*)\)", re.S
)


async def start_early_search(
    request: Any, database: str, table: str, datasette: Datasette, arguments: FilterArguments
) -> None:
    """When a search is all a page of an immutable archive filters by (no column filter, no
    other page), start reading the rows it matches from the full-text index alone: the count
    and the facets take them (see :class:`EarlySearch`, :class:`ArchiveDatabase`) instead of
    reading them back through the table after the page."""
    parts = (
        _SEARCH_PARTS.fullmatch(arguments.where_clauses[0])
        if len(arguments.where_clauses) == 1
        else None
    )
    filtered = any(not k.startswith("_") or "__" in k for k in request.args)
    no_facets = "_nofacet" in request.args or request.args.get("_shape") in ("array", "object")
    if parts is None or filtered or no_facets or "_next" in request.args:
        return
    db = datasette.get_database(database)
    if db.is_mutable or EARLY_SEARCH.get() is not None:
        return
    pks = await db.primary_keys(table)
    if len(pks) != 1 or escape_sqlite(pks[0]) != parts["key"]:
        return
    EARLY_SEARCH.set(
        EarlySearch(
            table,
            f"where {arguments.where_clauses[0]}",
            _params_key(arguments.params),
            read_matching(
                db,
                table,
                pks[0],
                parts["rows"],
                arguments.params,
                datasette.setting("facet_time_limit_ms"),
            ),
        )
    )


@hookimpl(specname="filters_from_request", wrapper=True)
def scan_searches(
    request: Any, database: str, table: str, datasette: Datasette
) -> Generator[None, list[Any], list[Any]]:
    """Every filter hook's answer (Datasette's search among them) through :func:`scanned_search`."""
    answers = yield

    def scanned(answer: Any) -> Callable[[], Any]:
        async def inner() -> Any:
            arguments = await await_me_maybe(answer)
            if isinstance(arguments, FilterArguments):
                arguments.where_clauses = [scanned_search(c) for c in arguments.where_clauses]
                await start_early_search(request, database, table, datasette, arguments)
            return arguments

        return inner

    return [scanned(answer) for answer in answers]


def without_blank_search(query_string: bytes) -> bytes:
    """The query string without blank ``_search`` / ``_search_<column>`` parameters (an empty
    search box sent): Datasette would run ``MATCH ''``, an FTS5 syntax error answered 400,
    where an analyst expects every row."""
    pairs = urllib.parse.parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    kept = [
        (key, value)
        for key, value in pairs
        if not (key.startswith("_search") and key != "_searchmode" and not value.strip())
    ]
    if len(kept) == len(pairs):
        return query_string
    return urllib.parse.urlencode(kept).encode("latin-1")


@hookimpl
def asgi_wrapper(datasette: Datasette) -> Any:
    policy = (b"content-security-policy", content_security_policy().encode())

    def wrap(app: Any) -> Any:
        async def qiosk_app(scope: Any, receive: Any, send: Any) -> None:
            # A blank search box means no search; every response carries the policy.
            if scope.get("type") == "http" and b"_search" in scope.get("query_string", b""):
                scope = {**scope, "query_string": without_blank_search(scope["query_string"])}

            async def with_policy(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), policy]}
                await send(message)

            await app(scope, receive, with_policy)

        return qiosk_app

    return wrap


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Datasette) -> None:
    # ``{% if url is web_url %}``: the templates link only http(s) URLs (see row.html).
    env.tests["web_url"] = is_web_url


@hookimpl
def register_facet_classes() -> list[type[Facet]]:
    return [MonthFacet, ThroughFacet]


@hookimpl(specname="register_facet_classes", wrapper=True)
def count_column_facets_once() -> Generator[None, list[list[type[Facet]]], list[list[type[Facet]]]]:
    """Datasette's column facet replaced by :class:`QioskColumnFacet` (the same facet, counted
    once per search on an immutable archive)."""
    registered = yield
    return [
        [QioskColumnFacet if cls is ColumnFacet else cls for cls in classes]
        for classes in registered
    ]


@hookimpl
def extra_template_vars(
    view_name: str, database: str | None, table: str | None, request: Any, datasette: Datasette
) -> Any:
    if view_name != "row" or table != "articles" or database is None or request is None:
        return {}
    pks = request.url_vars.get("pks") or ""

    async def inner() -> dict[str, Any]:
        return {"qiosk_article": await _article_page(datasette, database, pks)}

    return inner


# -- building and serving --------------------------------------------------------------------

_TABLE_REFERENCE = re.compile(r"\b(?:from|join)\s+\[?([A-Za-z_]\w*)\b\]?(?!\s*\()", re.I)
_CTE_NAME = re.compile(r"\b([A-Za-z_]\w*)\s+as\s*\(", re.I)


def tables_referenced(sql: str) -> set[str]:
    """Tables and views a canned query reads (``from``/``join`` targets that are not
    table-valued functions or CTE names)."""
    return set(_TABLE_REFERENCE.findall(sql)) - set(_CTE_NAME.findall(sql))


def load_metadata(config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """``metadata.yml`` of the configuration folder, parsed as Datasette parses it."""
    path = config_dir / "metadata.yml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ServeError(f"{path}: cannot read the Datasette metadata ({error})") from error
    try:
        metadata = parse_metadata(text)
    except Exception as error:  # BadMetadataError and the YAML/JSON parsers' own errors
        raise ServeError(f"{path}: not valid Datasette metadata ({error})") from error
    if DATABASE_NAME not in (metadata.get("databases") or {}):
        raise ServeError(f"{path}: no databases.{DATABASE_NAME} section")
    return dict(metadata)


def prune(metadata: dict[str, Any], tables: set[str]) -> dict[str, list[str]]:
    """Drop, in place, the canned queries that read tables the archive does not have (yet):
    e.g. the edit history needs ``revisions`` (re-crawls). Notes them in the database
    description and returns them with the missing tables."""
    database = metadata["databases"][DATABASE_NAME]
    queries = database.get("queries") or {}
    pending: dict[str, list[str]] = {}
    for name in list(queries):
        sql = queries[name]["sql"] if isinstance(queries[name], dict) else queries[name]
        missing = sorted(tables_referenced(sql) - tables)
        if missing:
            pending[name] = missing
            del queries[name]
    if pending:
        notes = "; ".join(f"{name} (needs {', '.join(t)})" for name, t in sorted(pending.items()))
        database["description"] = (
            database.get("description", "").rstrip()
            + f" Not available in this archive yet: {notes}."
        )
    return pending


def check_archive(db_path: Path, *, live: bool) -> None:
    """Refuse what cannot be served correctly, with the reason."""
    if not db_path.is_file():
        raise ServeError(f"{db_path}: no such archive (crawl one first: qiosk crawl --db ...)")
    if any(char in str(db_path) for char in "?#"):
        raise ServeError(f"{db_path}: '?' or '#' in the path cannot be opened as a SQLite URI")
    wal = db_path.with_name(db_path.name + "-wal")
    if not live and wal.exists() and wal.stat().st_size > 0:
        raise ServeError(
            f"{db_path}: its write-ahead log {wal.name} holds commits not yet in the file (a "
            "crawl is running or was interrupted); served immutable they would be missing. "
            "Let the crawl finish (or resume it), or serve with --live to read it as it changes."
        )


def table_names(database: Database) -> set[str]:
    """Tables and views of a served database, read through Datasette's own read-only
    (``mode=ro``) or immutable connection; ServeError when SQLite finds the file damaged."""
    conn = database.connect()
    try:
        names = {
            name
            for (name,) in conn.execute(
                "select name from sqlite_master where type in ('table', 'view')"
            )
        }
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as error:
        raise ServeError(f"{database.path}: not a readable SQLite file ({error})") from error
    finally:
        conn.close()
    if problems != ["ok"]:  # every page read once: a damaged file is refused, not half served
        raise ServeError(f"{database.path}: the archive is damaged ({problems[0]})")
    return names


class ArchiveDatabase(Database):
    """The served archive: the count of a page that a search alone filters is the number of
    rows the search matched (:class:`EarlySearch`, read while the page was computed), not a
    second pass over them (``select count(*) from articles where <the search>``, 14 ms of a
    search matching most of 50,000 articles). Every other statement runs as it is."""

    async def execute(self, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Results:
        early = EARLY_SEARCH.get()
        if (
            early is not None
            and sql == f"select count(*) from {escape_sqlite(early.table)} {early.where} "
            and _params_key(params) == early.params
        ):
            rows = await early.rows
            if rows is not None:
                return Results([(rows.bit_count(),)], False, [("count(*)",)])
        results: Results = await super().execute(sql, params, *args, **kwargs)
        return results


class ArchiveDatasette(Datasette):
    """Datasette whose ``/-/databases.json`` names each file without its folders: where the
    archive lives on the server (a home directory, a user name) is nobody's business."""

    def _connected_databases(self) -> list[dict[str, Any]]:
        databases: list[dict[str, Any]] = super()._connected_databases()
        return [{**d, "path": d["path"] and Path(d["path"]).name} for d in databases]


def build_datasette(
    db_path: Path, *, live: bool = False, config_dir: Path = CONFIG_DIR
) -> tuple[Datasette, dict[str, list[str]]]:
    """A Datasette serving ``db_path`` as ``/archive`` with the project's configuration, and
    the canned queries left out (see :func:`prune`)."""
    import sys

    from datasette.plugins import pm

    db_path = db_path.resolve()
    check_archive(db_path, live=live)
    metadata = load_metadata(config_dir)
    module = sys.modules[__name__]
    if not pm.is_registered(module):
        pm.register(module, name="qiosk_scraper.datasette")
    datasette = ArchiveDatasette(
        metadata=metadata, template_dir=str(config_dir / "templates"), settings=SETTINGS
    )
    datasette.remove_database("_memory")  # Datasette adds it when given no files
    database = datasette.add_database(
        ArchiveDatabase(datasette, path=str(db_path), is_mutable=live), name=DATABASE_NAME
    )
    tables = table_names(database)
    if "articles" not in tables:
        raise ServeError(f"{db_path}: not a qiosk archive (no articles table)")
    # Datasette reads the metadata dict it was given on every request: pruned in place here,
    # once the tables are known through its own connection.
    pending = prune(metadata, tables)
    return datasette, pending


def is_loopback(host: str) -> bool:
    """True for an address (or ``localhost``) only this machine can reach."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def network_warning(host: str) -> str | None:
    """What serving on ``host`` exposes, when it is not a loopback address; None otherwise."""
    if is_loopback(host):
        return None
    return (
        f"warning: --host {host} makes the archive visible to every machine that can reach this "
        "one, and Datasette has no authentication: anyone who can connect reads every table and "
        "runs read-only SQL. Use the default 127.0.0.1 unless that is what you want."
    )


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (0: a free port), or ServeError naming why not
    (a port in use, a host that is not an address of this machine)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address[:2], family=family)
    except socket.gaierror as error:
        raise ServeError(f"--host {host}: not an address of this machine ({error})") from error
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {host} is in use (another server?): pick another with --port"
            ) from error
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error


@dataclass
class Server:
    """A Datasette ready to serve: the archive checked and opened, the port bound."""

    datasette: Datasette
    sock: socket.socket

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return url_for(host, port)

    def run(self) -> None:
        """Serve until interrupted (uvicorn, one worker), as ``datasette serve`` does;
        Datasette's ASGI app runs its startup hooks before the first request."""
        import uvicorn

        config = uvicorn.Config(
            self.datasette.app(), log_level="warning", lifespan="on", access_log=False
        )
        with self.sock:
            uvicorn.Server(config).run(sockets=[self.sock])


def open_server(
    db_path: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, live: bool = False
) -> Server:
    """Everything that can fail before serving, in order: the archive (exists, readable, an
    archive), then the port. Nothing is announced before this returns."""
    datasette, _ = build_datasette(db_path, live=live)
    return Server(datasette, listen(host, port))


def url_for(host: str, port: int) -> str:
    """The articles page of a served archive."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{DATABASE_NAME}/articles"


def quote_query(name: str, params: Mapping[str, str]) -> str:
    """The path of a canned query with parameters (used by the docs and tests)."""
    return f"/{DATABASE_NAME}/{name}?{urllib.parse.urlencode(params)}"
