"""Reading sitemaps and feeds: pure functions of their bytes (no network, no crawl state).

Any news site publishes these, so they serve every profile: the sitemap protocol's
``urlset`` / ``sitemapindex`` (with Google News and image extensions), RSS and Atom.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

from lxml import etree

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=True)
_MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A sitemap ``lastmod`` (W3C datetime: a date, or a date and time with offset)."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local(tag: object) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def sitemap_entries(body: bytes) -> tuple[str, list[dict[str, str]]]:
    """The kind (``sitemapindex`` or ``urlset``) and entries (loc, lastmod, news date)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)[:_MAX_SITEMAP_BYTES]
    root = etree.fromstring(body, parser=_XML_PARSER)
    if root is None:
        return "", []
    entries = []
    for element in root:
        entry: dict[str, str] = {}
        for child in element.iter():
            name = _local(child.tag)
            if name in ("loc", "lastmod", "publication_date") and child.text:
                if name == "loc" and child.getparent() is not element:
                    continue  # image:loc, video:loc ... inside the entry: not a page
                entry[name] = child.text.strip()
        if "loc" in entry:
            entries.append(entry)
    return _local(root.tag), entries


def feed_links(body: bytes) -> list[str]:
    """Item links of an RSS or Atom feed, in feed order."""
    root = etree.fromstring(body, parser=_XML_PARSER)
    if root is None:
        return []
    found = root.xpath(
        "//*[local-name()='item']/*[local-name()='link']/text()"
        " | //*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
    )
    assert isinstance(found, list)
    return [str(link).strip() for link in found if str(link).strip()]
