"""Writing the mirror as files: every page the site serves with a 200, ``404.html``, a
``_redirects`` list of the 301/410 answers, and ``gold/<slug>.json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from qiosk_scraper.mirror import vocab
from qiosk_scraper.mirror.model import PAGE_SIZE
from qiosk_scraper.mirror.site import Site

DEFAULT_BASE_URL = "http://127.0.0.1:8765"


class BuildError(RuntimeError):
    """A page that should exist did not answer 200."""


def load_more_target(resource_id: str, page: int) -> str:
    return (
        f"/res/load_more_posts/data.js?site_id={vocab.SITE_ID}&resource_id={resource_id}"
        f"&pn={page}&exclude_post_ids=&rm_lazy_load=1"
    )


def site_targets(site: Site) -> Iterator[str]:
    """Every request target that answers 200, in a stable order."""
    yield "/"
    yield "/robots.txt"
    yield "/about/"
    yield "/sitemap.xml"
    yield "/feeds/feed.rss"
    yield "/feeds/sitemaps/news_1.xml"
    for n in range(1, site.sitemap_pages() + 1):
        yield f"/feeds/sitemaps/sitemap_{n}.xml"
    listings = list(site.section_listings())
    for slug in sorted(vocab.TAG_BY_SLUG):
        tag = site.tag_listing(slug)
        assert tag is not None
        listings.append(tag)
    for person in vocab.AUTHORS:
        assert person.username is not None
        author = site.author_listing(person.username)
        assert author is not None
        listings.append(author)
    for listing in listings:
        items = site.listing_items(listing)
        pages = max(1, -(-len(items) // PAGE_SIZE))
        if listing.kind == "section" and listing.key in vocab.SECTION_BY_KEY:
            yield listing.path
            yield vocab.SECTION_BY_KEY[listing.key].feed_path
        elif listing.kind == "tag":
            yield listing.path
            for n in range(2, pages + 1):
                yield f"{listing.path}page/{n}/"
        elif listing.kind == "author":
            yield listing.path
        for n in range(1, pages + 1):
            yield load_more_target(listing.resource_id, n)
    images: dict[str, None] = {}
    for meta in site.order:
        yield meta.path
        if meta.lead is not None:
            images[meta.lead.src] = None
        for block in site.body(meta.index):
            if block.image is not None:
                images[block.image.src] = None
    from qiosk_scraper.mirror.render import CTA_IMG, LOGO_IMG

    images[CTA_IMG] = None
    images[LOGO_IMG] = None
    yield from images


def file_for(target: str) -> str:
    """Relative file path of a target: directories get index.html, media files lose their
    query, load-more answers keep theirs in the file name (as wget does)."""
    path, _, query = target.partition("?")
    if path.startswith("/media-library/"):
        return path.lstrip("/")
    if query:
        return path.lstrip("/") + "?" + query
    if path.endswith("/"):
        return path.lstrip("/") + "index.html"
    return path.lstrip("/")


def build(site: Site, out_dir: Path, base_url: str = DEFAULT_BASE_URL) -> int:
    """Write the site under ``out_dir``; returns the number of files written."""
    base = base_url.rstrip("/")
    written = 0

    def write(rel: str, data: bytes) -> None:
        nonlocal written
        dest = out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        written += 1

    for target in site_targets(site):
        response = site.respond(target, base)
        if response.status != 200:
            raise BuildError(f"{target} answered {response.status}, expected 200")
        write(file_for(target), response.body)
    write("404.html", site.respond("/404-not-found/", base).body)
    lines = [f"{source} {target} 301" for source, target in sorted(site.redirects.items())]
    lines += [f"{path} - 410" for path in sorted(site.gone)]
    write("_redirects", ("\n".join(lines) + "\n").encode())
    for slug, record in site.gold(base).items():
        text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        write(f"gold/{slug}.json", text.encode())
    return written
