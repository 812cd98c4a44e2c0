"""An archive with captures from three sources: a crawl of the site (the mirror) and two web
archives imported with ``qiosk import`` (``own-warc``, ``wayback``), with the figures each source
must show (``qiosk coverage --sources``, Datasette, the snapshot's datapackage)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from click.testing import CliRunner
from support.backfill import SITE, Page, Stored, iso, mirror_archive, write_warc
from support.backfill import edited as _edit
from support.backfill import warc_date_after as _at

from qiosk_scraper.archive import Archive
from qiosk_scraper.cli import main
from qiosk_scraper.mirror import Site
from qiosk_scraper.warc import WarcWriter

GONE_AT = "2026-02-01T00:00:00+00:00"


@dataclass(frozen=True)
class Sourced:
    db: Path
    stored: list[Stored]  # the crawled articles
    only: list[tuple[str, str]]  # (url, title) of the articles only web archives know
    # per source: captures, articles brought, articles with a revision, revisions
    figures: list[dict[str, Any]]
    archive_only: list[dict[str, Any]]  # as Archive.archive_only_captures gives them


def _import(db: Path, warc: Path, source: str) -> None:
    result = CliRunner().invoke(
        main, ["import", str(warc), "--source", source, "--db", str(db)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output


def sourced_archive(folder: Path) -> Sourced:
    """Four crawled articles a0..a3; own-warc brings an earlier revision of a0, a copy of a1
    (nothing new) and u1 twice (the same page); wayback a later revision of a2, u1 once more
    and u2, which a later crawl found gone (404)."""
    db, stored = mirror_archive(folder / "archive", count=4)
    a0, a1, a2, _ = stored
    site = Site(articles=60, seed=7)
    gold = sorted(site.gold(SITE).values(), key=lambda r: r["published"])
    unknown = [(r["url"], r["title"]) for r in gold[20:22]]
    (u1, _), (u2, _) = unknown
    body = {url: site.respond(urlsplit(url).path, SITE).body for url, _ in unknown}
    u1_dates = ["2024-03-03T03:03:03Z", "2024-09-09T09:09:09Z", "2025-05-05T05:05:05Z"]
    write_warc(
        folder / "own.warc.gz",
        [
            Page(a0.url, _edit(a0.body, "An earlier wording."), _at(a0, -timedelta(hours=20))),
            Page(a1.url, a1.body, _at(a1, -timedelta(hours=2))),
            Page(u1, body[u1], u1_dates[0]),
            Page(u1, body[u1], u1_dates[1]),
        ],
    )
    write_warc(
        folder / "wayback.warc.gz",
        [
            Page(a2.url, _edit(a2.body, "A correction."), _at(a2, timedelta(days=30))),
            Page(u1, body[u1], u1_dates[2]),
            Page(u2, body[u2], "2023-07-07T07:07:07Z"),
        ],
    )
    _import(db, folder / "own.warc.gz", "own-warc")
    _import(db, folder / "wayback.warc.gz", "wayback")
    writer = WarcWriter(db.parent / "warc", "gone", {"software": "tests"}, relative_to=db.parent)
    location = writer.write_exchange(
        url=u2,
        method="GET",
        request_headers=[],
        status=404,
        response_headers=[("Content-Type", "text/html")],
        body=b"<html><body>Not found</body></html>",
        fetched_at=datetime.fromisoformat(GONE_AT),
    )
    writer.close()
    with Archive(db) as archive:  # a crawl finds u2 gone
        crawl_id = archive.start_crawl(SITE, {}, {"qiosk-scraper": "test"})
        capture_id = archive.add_capture(
            crawl_id,
            {
                "url": u2,
                "method": "GET",
                "status": 404,
                "fetched_at": GONE_AT,
                "content_type": "text/html",
                "payload_sha256": location.payload_sha256,
                "payload_length": location.payload_length,
                "warc_file": location.file,
                "warc_offset": location.offset,
                "warc_length": location.length,
            },
        )
        article_id = archive.find_article(u2)
        assert article_id is not None
        archive.mark_gone(article_id, GONE_AT, capture_id)
        archive.finish_crawl(crawl_id, {}, "finished")
    figures = [
        {  # the four crawled articles and the 404 of u2; own-warc saw a0's earlier state and
            # a1's state first, so the crawl brought the revisions of a0 (its edit), a2 and a3
            "source": "crawl",
            "captures": 5,
            "articles_brought": 2,
            "articles_with_a_revision": 3,
            "revisions": 3,
        },
        {  # a0's earlier revision, a1's (seen two hours before the crawl) and u1 (its second
            # capture the same page)
            "source": "own-warc",
            "captures": 4,
            "articles_brought": 3,
            "articles_with_a_revision": 3,
            "revisions": 3,
        },
        {  # a2's later revision and u2 (u1's capture the same page again)
            "source": "wayback",
            "captures": 3,
            "articles_brought": 1,
            "articles_with_a_revision": 2,
            "revisions": 2,
        },
    ]
    titles = dict(unknown)
    archive_only = [
        {
            "url": u1,
            "title": titles[u1],
            "first_capture": iso(u1_dates[0]),
            "last_capture": iso(u1_dates[2]),
            "captures": 3,
            "sources": ["own-warc", "wayback"],
            "gone_at": None,
        },
        {
            "url": u2,
            "title": titles[u2],
            "first_capture": "2023-07-07T07:07:07+00:00",
            "last_capture": "2023-07-07T07:07:07+00:00",
            "captures": 1,
            "sources": ["wayback"],
            "gone_at": GONE_AT,
        },
    ]
    return Sourced(db, stored, sorted(unknown), figures, sorted(archive_only, key=_url))


def _url(row: dict[str, Any]) -> str:
    return str(row["url"])
