"""What a snapshot directory holds: file names, and the documented fields of every file.

Shared by the export (which writes the files and describes them in ``datapackage.json``) and the
verification (which checks the files against that description).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class SnapshotError(Exception):
    """The snapshot cannot be made; the message says why."""


FORMAT_VERSION = 1  # of the snapshot layout, in datapackage.json's "qiosk" section

DATAPACKAGE = "datapackage.json"
SUMS = "SHA256SUMS"
README = "README.md"
ARTICLES_JSONL = "articles.jsonl"
REVISIONS_JSONL = "revisions.jsonl"
ARTICLES_PARQUET = "articles.parquet"
ARCHIVE_DB = "archive.db"
CSV_FOLDER = "csv"
WARC_FOLDER = "warc"

# The archive tables an analyst uses: one CSV each, and the tables of the snapshot's archive.db
# (with ``revisions`` when the archive keeps a revision history), in foreign-key order.
TABLES = (
    "crawls",
    "captures",
    "authors",
    "tags",
    "sections",
    "articles",
    "article_authors",
    "article_tags",
    "article_sections",
    "images",
    "links",
    "url_aliases",
)

# The fields of each entry of datapackage.json's ``qiosk.sources`` (written beside it as
# ``qiosk.sources_fields``): one entry per source of the snapshot's captures.
SOURCES_FIELDS = {
    "name": "crawl (the site's own crawls), or the name of a web archive the captures were "
    "imported from (qiosk import / backfill --source: wayback, common-crawl, own-warc ...).",
    "captures": "Captures of this snapshot (captures.csv) that came from it.",
    "articles": "Articles whose first revision in this snapshot came from it.",
    "articles_with_a_revision": "Articles holding at least one revision that came from it.",
    "revisions": "Revisions (revisions.jsonl) that came from it.",
}

# Frictionless Data Package names (v1 pattern); the snapshot's --name must match it.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")

_RECORD_DOCS: dict[str, tuple[str, str]] = {
    "url": ("string", "Canonical URL of the article on the outlet's site."),
    "title": ("string", "Headline."),
    "subtitle": ("string", "Dek (sub-headline); null when the article has none."),
    "article_type": ("string", "Type label shown on the page (News, Analysis, Opinion ...)."),
    "section": ("string", "Primary section the article page names."),
    "tags": ("array", "Tag labels, in page order."),
    "authors": ("array", "Byline, first author first: objects {name, url (profile or null)}."),
    "published": ("datetime", "First publication, ISO 8601 UTC."),
    "modified": ("datetime", "Last update the outlet shows, ISO 8601 UTC; null if never updated."),
    "body": (
        "string",
        "Plain text, one block per paragraph, subhead, list item, quote "
        "paragraph or table row; blocks separated by a blank line.",
    ),
    "images": (
        "array",
        "Lead image first, then in-body images: objects {url, alt, caption, credit, lead}.",
    ),
    "links": ("array", "Links inside the body, in page order: objects {url, text}."),
    "word_count": ("integer", "Number of \\w+ tokens in body."),
    "language": ("string", "Language code of the text."),
}

_REVISION_DOCS: dict[str, tuple[str, str]] = {
    "url": ("string", "URL of the article in this snapshot (its state at the cut-off)."),
    "article_id": ("integer", "Id of the article (articles.id in archive.db and the CSVs)."),
    "revision": ("integer", "Revision number, 1 for the first state archived."),
    "fetched_at": ("datetime", "Fetch that first stored this state, ISO 8601 UTC."),
    "content_hash": ("string", "SHA-256 of the record's canonical JSON (sorted keys, UTF-8)."),
    "record": ("object", "The article record of this revision (as in articles.jsonl)."),
    "changed_fields": ("array", "Record fields that differ from the previous revision."),
    "silent_edit": ("boolean", "True when the content changed without a newer 'modified'."),
    "extractor_version": ("string", "Toolkit version whose extractor made the record."),
    "capture_id": ("integer", "Capture (HTTP response) the record was extracted from."),
}

_TABLE_DOCS: dict[str, dict[str, str]] = {
    "crawls": {
        "id": "Crawl id.",
        "site": "Site crawled (base URL).",
        "arguments": "Options of the crawl command (JSON object).",
        "versions": "Toolkit, Python, SQLite and library versions of the crawl (JSON object).",
        "started": "Start of the crawl, ISO 8601 UTC.",
        "ended": "End of the crawl, ISO 8601 UTC; null while running or after a crash.",
        "stats": "Figures of the crawl summary (JSON object).",
        "status": "running, or the finish reason (finished, shutdown, failed ...).",
    },
    "captures": {
        "id": "Capture id.",
        "crawl_id": "Crawl that received the response (crawls.id).",
        "url": "URL fetched.",
        "method": "HTTP method.",
        "status": "HTTP status code.",
        "fetched_at": "Time of the response, ISO 8601 UTC.",
        "content_type": "Content-Type header.",
        "location": "Redirect target (absolute), for redirects.",
        "etag": "ETag header.",
        "last_modified": "Last-Modified header, as sent.",
        "payload_sha256": "SHA-256 (hex) of the body as received.",
        "payload_length": "Length in bytes of the body as received.",
        "warc_file": "WARC file of this snapshot holding the response record (relative to the "
        "snapshot directory); null when the snapshot has no WARC files.",
        "warc_offset": "Byte offset of the record's gzip member in warc_file.",
        "warc_length": "Byte length of the record's gzip member.",
    },
    "authors": {
        "id": "Author id.",
        "name": "Name as shown in bylines.",
        "url": "Author profile URL; null for contributors without a profile.",
    },
    "tags": {"id": "Tag id.", "label": "Tag label."},
    "sections": {"id": "Section id.", "label": "Section (or type) label."},
    "articles": {
        "id": "Article id.",
        "post_id": "The outlet's CMS post id, when known.",
        **{name: doc for name, (_, doc) in _RECORD_DOCS.items()},
        "content_hash": "SHA-256 of the record's canonical JSON (sorted keys, UTF-8).",
        "first_seen": "First fetch of the article, ISO 8601 UTC.",
        "last_fetched": "Fetch that stored the state in this snapshot, ISO 8601 UTC.",
        "capture_id": "Capture the state was extracted from (captures.id).",
        "extractor_version": "Toolkit version whose extractor made the record.",
        "gone_at": "When the site stopped serving the article (by the cut-off), else null.",
        "gone_capture_id": "The 404/410 response that showed it gone (captures.id), else null.",
    },
    "article_authors": {
        "article_id": "articles.id",
        "author_id": "authors.id",
        "position": "0 for the first author of the byline.",
    },
    "article_tags": {
        "article_id": "articles.id",
        "tag_id": "tags.id",
        "position": "Page order, from 0.",
    },
    "article_sections": {
        "article_id": "articles.id",
        "section_id": "sections.id",
        "is_primary": "1 when it is the section the article page names.",
        "listed": "1 when the article was seen in that section's listing.",
    },
    "images": {
        "article_id": "articles.id",
        "position": "0 for the lead image, then in-body images in page order.",
        "url": "Image URL.",
        "alt": "alt attribute as written (empty when missing).",
        "caption": "Caption, null when none.",
        "credit": "Photo credit, null when none.",
        "lead": "1 for the lead image.",
    },
    "links": {
        "article_id": "articles.id",
        "position": "Page order, from 0.",
        "url": "Link target, absolute.",
        "text": "Link text.",
    },
    "url_aliases": {
        "url": "A URL that stands for an article (variant, old slug, canonical redirect).",
        "target_url": "The canonical URL it stands for.",
        "article_id": "articles.id",
        "kind": "variant, redirect or canonical.",
        "first_seen": "When the alias was first seen, ISO 8601 UTC.",
    },
}

# Columns holding ISO 8601 times or JSON objects (TEXT in SQLite).
_DATETIME_COLUMNS = frozenset(
    {"published", "modified", "first_seen", "last_fetched", "gone_at", "started", "ended"}
    | {"fetched_at"}
)
_JSON_COLUMNS = {"crawls": frozenset({"arguments", "versions", "stats"})}
_SQLITE_TYPES = {"INTEGER": "integer", "TEXT": "string", "FLOAT": "number", "REAL": "number"}


def record_schema() -> dict[str, Any]:
    """Table Schema of articles.jsonl and articles.parquet (one article record per row)."""
    return {
        "fields": [
            {"name": name, "type": kind, "description": doc}
            for name, (kind, doc) in _RECORD_DOCS.items()
        ]
    }


def revision_schema() -> dict[str, Any]:
    """Table Schema of revisions.jsonl."""
    return {
        "fields": [
            {"name": name, "type": kind, "description": doc}
            for name, (kind, doc) in _REVISION_DOCS.items()
        ]
    }


def undocumented(table: str, columns: list[str]) -> list[str]:
    """Columns of ``table`` that have no description here (the tests keep this empty)."""
    docs = _TABLE_DOCS.get(table, {})
    return [name for name in columns if name not in docs]


def table_schema(table: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Table Schema of a CSV from an :meth:`Archive.table_schema` description."""
    docs = _TABLE_DOCS.get(table, {})
    fields = []
    for name, sqlite_type, not_null in schema["columns"]:
        if name in _JSON_COLUMNS.get(table, ()):
            kind = "object"
        elif name in _DATETIME_COLUMNS:
            kind = "datetime"
        else:
            kind = _SQLITE_TYPES.get(sqlite_type.upper(), "string")
        field: dict[str, Any] = {"name": name, "type": kind}
        if name in docs:
            field["description"] = docs[name]
        # An empty string and null are one thing in CSV, so only non-text columns are required.
        if not_null and kind != "string":
            field["constraints"] = {"required": True}
        fields.append(field)
    result: dict[str, Any] = {"fields": fields, "primaryKey": list(schema["primary_key"])}
    foreign = [
        {"fields": [column], "reference": {"resource": csv_resource(other), "fields": [key]}}
        for column, other, key in sorted(schema["foreign_keys"])
        if other in TABLES
    ]
    if foreign:
        result["foreignKeys"] = foreign
    return result


def csv_path(table: str) -> str:
    return f"{CSV_FOLDER}/{table}.csv"


def csv_resource(table: str) -> str:
    return f"{table.replace('_', '-')}-csv"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(sums: Mapping[str, str]) -> str:
    """SHA-256 over the ``SHA256SUMS`` lines of the data files (every file but README.md,
    datapackage.json and SHA256SUMS, which name the fingerprint): one value to cite."""
    lines = "".join(
        f"{digest}  {name}\n"
        for name, digest in sorted(sums.items())
        if name not in (README, DATAPACKAGE, SUMS)
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
