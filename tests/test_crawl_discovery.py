"""Discovery parsing (sitemaps, feeds, arguments) and ``scrapy crawl outlet`` from the repo root."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.spidermiddlewares.httperror import HttpError
from support.crawl import REPO, run
from twisted.internet.error import DNSLookupError, TimeoutError
from twisted.python.failure import Failure

from qiosk_scraper.archive import Archive
from qiosk_scraper.discover.pages import load_more_url, page_post_id
from qiosk_scraper.discover.sitemaps import feed_links, parse_w3c_datetime, sitemap_entries
from qiosk_scraper.mirror import RunningMirror
from qiosk_scraper.spiders.outlet import (
    SpiderArgumentError,
    failure_kind,
    parse_since,
    parse_sources,
)

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://rs.example/golden-dome/</loc><lastmod>2024-12-06T17:05:00+00:00</lastmod>
<image:image><image:loc>https://rs.example/media-library/a.jpg?id=1</image:loc></image:image></url>
<url><loc>https://rs.example/iran-talks/</loc><news:news><news:publication_date>2025-06-17T10:00:00Z
</news:publication_date></news:news></url>
</urlset>"""


def test_sitemap_entries_keep_pages_and_dates_and_ignore_image_locations() -> None:
    for body in (URLSET, gzip.compress(URLSET)):
        kind, entries = sitemap_entries(body)
        assert kind == "urlset"
        assert entries == [
            {"loc": "https://rs.example/golden-dome/", "lastmod": "2024-12-06T17:05:00+00:00"},
            {"loc": "https://rs.example/iran-talks/", "publication_date": "2025-06-17T10:00:00Z"},
        ]


def test_sitemap_index_entries() -> None:
    index = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://rs.example/feeds/sitemaps/sitemap_1.xml</loc>"
        b"<lastmod>2025-01-01</lastmod></sitemap></sitemapindex>"
    )
    assert sitemap_entries(index) == (
        "sitemapindex",
        [{"loc": "https://rs.example/feeds/sitemaps/sitemap_1.xml", "lastmod": "2025-01-01"}],
    )


def test_w3c_datetimes() -> None:
    assert parse_w3c_datetime("2025-01-01").isoformat() == "2025-01-01T00:00:00+00:00"
    assert parse_w3c_datetime("2025-06-17T10:00:00Z").hour == 10
    assert parse_w3c_datetime("yesterday") is None


def test_feed_links_from_rss_and_atom() -> None:
    rss = (
        b'<rss version="2.0"><channel><item><title>A</title><link>https://rs.example/a/</link>'
        b"</item><item><link> https://rs.example/b/ </link></item></channel></rss>"
    )
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="alternate" '
        b'href="https://rs.example/c/"/><link rel="enclosure" href="https://rs.example/c.mp3"/>'
        b"</entry></feed>"
    )
    assert feed_links(rss) == ["https://rs.example/a/", "https://rs.example/b/"]
    assert feed_links(atom) == ["https://rs.example/c/"]


def test_spider_arguments_are_checked() -> None:
    assert parse_sources(None)[0] == "robots"
    assert parse_sources("sitemap, feeds") == ("sitemap", "feeds")
    with pytest.raises(SpiderArgumentError, match="choose from"):
        parse_sources("sitemap,rumours")
    assert parse_since("2025-02-03").isoformat() == "2025-02-03T00:00:00+00:00"
    with pytest.raises(SpiderArgumentError, match="YYYY-MM-DD"):
        parse_since("03/02/2025")


def test_failure_kinds() -> None:
    request = Request("https://rs.example/gone/")
    response = HtmlResponse("https://rs.example/gone/", status=404, request=request)
    assert failure_kind(Failure(HttpError(response, "Ignoring"))) == "http_404"
    assert failure_kind(Failure(DNSLookupError())) == "dns"
    assert failure_kind(Failure(TimeoutError())) == "timeout"
    assert failure_kind(Failure(ValueError("odd"))) == "value_error"


def test_post_id_and_load_more_from_rebelmouse_markup() -> None:
    page = HtmlResponse(
        "https://rs.example/analysis/",
        body=b"""<html><head><script>window.REBELMOUSE_BOOTSTRAP_DATA = {"siteId": 7,
        "resourceId": "section_9", "postId": 55};</script></head><body>
        <main><article class="page-article post-4242" elid="4242"></article>
        <div class="posts-custom" data-has-more="true" data-source="section_9"></div></main>
        <aside><div class="posts-custom" data-has-more="true" data-source="section_1"></div>
        </aside></body></html>""",
        encoding="utf-8",
    )
    assert page_post_id(page.text) == "4242"
    assert load_more_url(page.text, page.url, 2) == (
        "https://rs.example/res/load_more_posts/data.js"
        "?site_id=7&resource_id=section_9&pn=2&rm_lazy_load=1"
    )
    done = HtmlResponse(
        "https://rs.example/tag/x/",
        body=b'<main><div data-has-more="false" data-source="tag_x"></div></main>',
        encoding="utf-8",
    )
    assert load_more_url(done.text, done.url, 2) is None


def test_scrapy_crawl_outlet_works_from_the_repo_root(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    db = tmp_path / "qiosk.db"
    scrapy = str(Path(sys.executable).parent / "scrapy")
    run([scrapy, "crawl", "outlet", "-a", f"site={mirror.base_url}", "-a", f"db={db}",
         "-a", "delay=0", "-a", "sources=feeds", "-a", "max_articles=3",
         "-a", "profile=responsiblestatecraft"])  # fmt: skip
    assert (REPO / "scrapy.cfg").exists()
    with Archive(db) as archive:
        assert archive.count("articles") == 3
        assert archive.crawl(1)["status"] == "finished"
