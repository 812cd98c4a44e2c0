"""Articles and captures for archive tests: a full sample article and a capture row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qiosk_scraper.archive import (
    Archive,
)
from qiosk_scraper.article import Article, Author, Image, Link
from qiosk_scraper.warc import WarcWriter

SITE = "https://responsiblestatecraft.org"


def make_article(slug: str = "golden-dome", **changes: Any) -> Article:
    fields: dict[str, Any] = {
        "url": f"{SITE}/{slug}/",
        "title": "Golden Dome: a trillion-dollar shield",
        "subtitle": "The plan assumes what it should prove.",
        "article_type": "Analysis",
        "section": "Military Industrial Complex",
        "tags": ["Missile defense", "U.S. foreign policy", "Pentagon budget"],
        "authors": [
            Author("Zoë O'Brien", f"{SITE}/author/zobrien/"),
            Author("Ali Ahmadi", None),
            Author("Trita Parsi", f"{SITE}/author/tparsi/"),
        ],
        "published": "2024-12-06T17:05:00+00:00",
        "modified": "2024-12-07T09:00:00+00:00",
        "body": "First paragraph — with an em dash.\n\nA subhead\n\nSecond paragraph.",
        "images": [
            Image(
                f"{SITE}/media-library/a.jpg?id=1", "Golden Dome", "A launch.", "DoD photo", True
            ),
            Image(f"{SITE}/media-library/b.jpg?id=2", "", None, "Shutterstock", False),
        ],
        "links": [Link(f"{SITE}/tag/missile-defense/", "missile defense"), Link(f"{SITE}/x/", "x")],
    }
    fields.update(changes)
    return Article(**fields)


def capture(archive: Archive, crawl_id: int, url: str, status: int = 200) -> int:
    return archive.add_capture(
        crawl_id,
        {
            "url": url,
            "method": "GET",
            "status": status,
            "fetched_at": "2025-01-01T00:00:00+00:00",
            "content_type": "text/html; charset=utf-8",
            "payload_sha256": "0" * 64,
            "payload_length": 10,
            "warc_file": "warc/x.warc.gz",
            "warc_offset": 0,
            "warc_length": 100,
        },
    )


def crawled(
    archive: Archive,
    crawl_id: int,
    writer: WarcWriter,
    record: dict[str, Any],
    body: bytes,
    when: str,
    extractor_version: str,
    content_type: str = "text/html; charset=utf-8",
) -> int:
    """Archive ``record`` as a crawl would: ``body`` written to WARC as the page of its URL
    fetched at ``when``, its capture row, the article saved from it. Returns the capture's id."""
    location = writer.write_exchange(
        url=record["url"],
        method="GET",
        request_headers=[],
        status=200,
        response_headers=[("Content-Type", content_type)],
        body=body,
        fetched_at=datetime.fromisoformat(when),
    )
    capture_id = archive.add_capture(
        crawl_id,
        {
            "url": record["url"],
            "method": "GET",
            "status": 200,
            "fetched_at": when,
            "content_type": content_type,
            "payload_sha256": location.payload_sha256,
            "payload_length": location.payload_length,
            "warc_file": location.file,
            "warc_offset": location.offset,
            "warc_length": location.length,
        },
    )
    archive.save_article(
        record,
        crawl_id=crawl_id,
        capture_id=capture_id,
        fetched_at=when,
        post_id=record["url"].rstrip("/").rsplit("/", 1)[-1],
        extractor_version=extractor_version,
    )
    return capture_id
