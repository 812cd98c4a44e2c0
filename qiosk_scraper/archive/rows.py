"""The record-to-rows mapping: an article record's ``articles`` columns, its content hash and
JSON form, a record read back from its rows, and the fields two records differ in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from qiosk_scraper.article import RECORD_FIELDS

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


def child_rows(
    article_id: int,
    record: Mapping[str, Any],
    author_id: Callable[[str, str | None], int],
    tag_id: Callable[[str], int],
) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``article_authors``, ``article_tags``, ``images`` and ``links`` for a
    record, in the record's order; ``author_id`` (name, URL) and ``tag_id`` (label) give the
    ids of the authors and tags."""
    return {
        "article_authors": [
            {"article_id": article_id, "author_id": author_id(a["name"], a.get("url")),
             "position": i}
            for i, a in enumerate(record.get("authors") or [])
        ],
        "article_tags": [
            {"article_id": article_id, "tag_id": tag_id(label), "position": i}
            for i, label in enumerate(record.get("tags") or [])
        ],
        "images": [
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
        ],
        "links": [
            {"article_id": article_id, "position": i, "url": link["url"], "text": link["text"]}
            for i, link in enumerate(record.get("links") or [])
        ],
    }  # fmt: skip


def now_iso() -> str:
    """The current time as the archive's ISO 8601 UTC string."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def content_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON (sorted keys, UTF-8)."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def _record_json(record: Mapping[str, Any]) -> str:
    return json.dumps(dict(record), sort_keys=True, ensure_ascii=False)


def _revision_row(
    article_id: int,
    number: int,
    record: Mapping[str, Any],
    digest: str,
    changes: tuple[list[str], bool],
    *,
    at: str,
    extractor_version: str | None,
    capture_id: int | None,
) -> dict[str, Any]:
    """The ``revisions`` row of revision ``number`` of an article: ``record`` fetched at ``at``
    (capture ``capture_id``), with its changed fields and silent-edit flag (``changes``)."""
    changed, silent = changes
    return {
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


def _changes(before: Mapping[str, Any] | None, record: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The fields ``record`` changed from ``before`` (none for a first revision), and whether it
    is a silent edit: content changed (not only the URL) without a newer ``modified``."""
    if before is None:
        return [], False
    changed = sorted(f for f in RECORD_FIELDS if before.get(f) != record.get(f))
    return changed, bool(set(changed) - {"url"}) and "modified" not in changed
