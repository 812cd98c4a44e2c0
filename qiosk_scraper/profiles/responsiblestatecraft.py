"""Responsible Statecraft (responsiblestatecraft.org), and LobeLog (lobelog.com), the site its
editors ran until November 2019: see ``outlet-anatomy.md``.

Since about 2023 the outlet runs on RebelMouse: a sitemap index at ``/sitemap.xml``, the main
feed at ``/feeds/feed.rss``, section, region, tag and author listings with load-more JSON, and
the teaser stream under each article (:mod:`qiosk_scraper.discover.pages`). Pages of the
WordPress years (2019 to about 2023) survive at legacy date paths and in web archives; the
extractor tells the two apart by their markup.
"""

from __future__ import annotations

from qiosk_scraper.discover.pages import read_article_links, read_listing
from qiosk_scraper.profiles.base import SOURCES, Profile

RESPONSIBLE_STATECRAFT = Profile(
    name="responsiblestatecraft",
    description="Responsible Statecraft (RebelMouse since about 2023, WordPress before)",
    hosts=frozenset({"responsiblestatecraft.org", "lobelog.com"}),
    sources=SOURCES,
    sitemaps=("/sitemap.xml",),
    feeds=("/feeds/feed.rss",),
    read_article=read_article_links,
    read_listing=read_listing,
    outlet_layers=True,
)
