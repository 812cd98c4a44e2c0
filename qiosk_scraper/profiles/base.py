"""The :class:`Profile` record (see :mod:`qiosk_scraper.profiles`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from qiosk_scraper.discover.pages import ArticleLinks, ListingPage

SOURCES = ("robots", "sitemap", "feeds", "home", "sections", "tags", "authors", "links")


class UnknownProfile(ValueError):
    """A profile name no profile has."""


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    hosts: frozenset[str]  # bare hosts (no ``www.``) this profile is chosen by
    sources: tuple[str, ...]  # the discovery sources the outlet offers, of :data:`SOURCES`
    sitemaps: tuple[str, ...]  # paths of the sitemaps (besides robots.txt's ``Sitemap:``)
    feeds: tuple[str, ...]  # paths of the main feeds
    # An article page's post id and links (pure, module-level: run in the crawl's workers).
    read_article: Callable[[str, str], ArticleLinks]
    # A listing page's teasers and links; None where the outlet has no listings to read.
    read_listing: Callable[[str, str, str], ListingPage] | None
    outlet_layers: bool  # extract with the outlet's CMS layers (else the generic path only)

    def knows(self, site: str) -> bool:
        return _bare_host(site) in self.hosts


def _bare_host(site: str) -> str:
    host = (urlsplit(site).hostname or "").lower()
    return host.removeprefix("www.")
