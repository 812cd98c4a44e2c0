"""Any news site, from what every site publishes: robots.txt's ``Sitemap:`` lines, the
sitemap at ``/sitemap.xml`` and the feeds a page links with ``rel=alternate``; articles are
extracted by the generic path (structured data, trafilatura, htmldate), no outlet's CMS layer.
"""

from __future__ import annotations

from qiosk_scraper.discover.pages import read_feed_links
from qiosk_scraper.profiles.base import Profile

GENERIC = Profile(
    name="generic",
    description="any news site, from its sitemaps and feeds",
    hosts=frozenset(),
    sources=("robots", "sitemap", "feeds"),
    sitemaps=("/sitemap.xml",),
    feeds=(),
    read_article=read_feed_links,
    read_listing=None,
    outlet_layers=False,
)
