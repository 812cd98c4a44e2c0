"""Articles and captures for archive tests: a full sample article and a capture row."""

from __future__ import annotations

from typing import Any

from qiosk_scraper.archive import (
    Archive,
)
from qiosk_scraper.article import Article, Author, Image, Link

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
