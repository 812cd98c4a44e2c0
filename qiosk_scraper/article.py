"""The article record: the one schema the mirror's gold, the extractor, the archive and the
snapshots share.

Conventions (the gold records of the mirror follow them, and so does the extractor):

- ``url``: canonical URL, absolute, ``https://<host>/<slug>/`` on the real site.
- ``published`` / ``modified``: ISO 8601 in UTC, ``YYYY-MM-DDTHH:MM:SS+00:00``; ``modified`` is
  None when the article was never updated (absent, or equal to ``published``).
- ``body``: plain text, one block per paragraph, subhead, list item, quote paragraph or table row
  (cells joined by `` | ``); blocks joined by one blank line; white space inside a block collapsed
  to single spaces; no boilerplate, no image captions or credits.
- ``images``: lead image first (``lead`` true), then in-body images in page order. ``alt`` is the
  attribute as written ("" when empty or missing). Caption and credit follow the outlet's rule: a
  trailing parenthesis is the credit and the text before it the caption; without one the whole
  text is the credit and the caption is None.
- ``links``: every ``<a href>`` inside the body blocks, made absolute, in page order.
- ``word_count``: the number of ``\\w+`` tokens in ``body``.
- Every URL an author, image or link carries is an absolute ``http(s)`` URL: a page's
  ``javascript:``, ``data:`` or ``mailto:`` link is not stored as a link (it would be rendered
  clickable); the author keeps no profile URL, the image and the link are left out (a link's
  text stays in the body), each with a warning naming the URL (see :meth:`Article.__post_init__`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

_WORD = re.compile(r"\w+")

RECORD_FIELDS = (
    "url",
    "title",
    "subtitle",
    "article_type",
    "section",
    "tags",
    "authors",
    "published",
    "modified",
    "body",
    "images",
    "links",
    "word_count",
    "language",
)


def count_words(text: str) -> int:
    """Number of ``\\w+`` tokens, the record's ``word_count``."""
    return len(_WORD.findall(text))


def iso_utc(moment: datetime) -> str:
    """Format an aware datetime as the record's ``YYYY-MM-DDTHH:MM:SS+00:00``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the record needs a time zone")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def is_web_url(url: object) -> bool:
    """True for an absolute ``http``/``https`` URL with a host: the only URLs the record keeps as
    links (and the templates render as links)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True)
class Author:
    name: str
    url: str | None = None


@dataclass(frozen=True)
class Image:
    url: str
    alt: str = ""
    caption: str | None = None
    credit: str | None = None
    lead: bool = False


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass
class Article:
    url: str
    title: str
    subtitle: str | None = None
    article_type: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    body: str = ""
    images: list[Image] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    language: str = "en"
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Keep only web URLs as links, whoever built the record (the extractor, a stored
        record read back): anything else is dropped from its URL field with a warning."""
        authors = []
        for author in self.authors:
            if author.url is not None and not is_web_url(author.url):
                self._not_web("author profile", author.url, f"kept {author.name!r} without it")
                author = Author(author.name, None)
            authors.append(author)
        self.authors = authors
        self.images = [
            i for i in self.images if is_web_url(i.url) or self._not_web("image", i.url, "dropped")
        ]
        self.links = [
            k
            for k in self.links
            if is_web_url(k.url) or self._not_web("link", k.url, "dropped; its text is in the body")
        ]

    def _not_web(self, what: str, url: str, outcome: str) -> bool:
        warning = f"{what} URL {url!r} is not an http(s) URL: {outcome}"
        if warning not in self.warnings:
            self.warnings.append(warning)
        return False

    @property
    def word_count(self) -> int:
        return count_words(self.body)

    def to_record(self, *, extras: bool = True) -> dict[str, Any]:
        """The record as a JSON-ready dict with sorted keys; ``extras`` adds provenance and
        warnings (the gold records of the mirror have neither)."""
        record: dict[str, Any] = {
            "url": self.url,
            "title": self.title,
            "subtitle": self.subtitle,
            "article_type": self.article_type,
            "section": self.section,
            "tags": list(self.tags),
            "authors": [{"name": a.name, "url": a.url} for a in self.authors],
            "published": self.published,
            "modified": self.modified,
            "body": self.body,
            "images": [
                {
                    "url": i.url,
                    "alt": i.alt,
                    "caption": i.caption,
                    "credit": i.credit,
                    "lead": i.lead,
                }
                for i in self.images
            ],
            "links": [{"url": link.url, "text": link.text} for link in self.links],
            "word_count": self.word_count,
            "language": self.language,
        }
        if extras:
            record["provenance"] = dict(sorted(self.provenance.items()))
            record["warnings"] = list(self.warnings)
        return dict(sorted(record.items()))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Article:
        """Inverse of :meth:`to_record` (``word_count`` is derived from ``body``)."""
        return cls(
            url=record["url"],
            title=record["title"],
            subtitle=record.get("subtitle"),
            article_type=record.get("article_type"),
            section=record.get("section"),
            tags=list(record.get("tags") or []),
            authors=[Author(a["name"], a.get("url")) for a in record.get("authors") or []],
            published=record.get("published"),
            modified=record.get("modified"),
            body=record.get("body") or "",
            images=[
                Image(
                    url=i["url"],
                    alt=i.get("alt") or "",
                    caption=i.get("caption"),
                    credit=i.get("credit"),
                    lead=bool(i.get("lead")),
                )
                for i in record.get("images") or []
            ],
            links=[Link(k["url"], k["text"]) for k in record.get("links") or []],
            language=record.get("language") or "en",
            provenance=dict(record.get("provenance") or {}),
            warnings=list(record.get("warnings") or []),
        )
