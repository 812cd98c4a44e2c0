"""The mirror site as data: its articles, listings, redirects, and the answer to any request
target (``Site.respond``). No clock is read anywhere: the site's "now" is fixed by its seed and
edition."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from qiosk_scraper.article import Article, Author, Image, Link, iso_utc
from qiosk_scraper.mirror import render, vocab
from qiosk_scraper.mirror.body import Block, gold_body
from qiosk_scraper.mirror.images import image_for
from qiosk_scraper.mirror.layouts import ERAS, LAYOUT_NAMES, WORDPRESS
from qiosk_scraper.mirror.model import (
    BASE_NOW,
    DELETED_RANK,
    EDITED_RANKS,
    EDITION_STEP,
    MIN_ARTICLES,
    MOVED_RANK,
    NEW_PER_EDITION,
    PAGE_SIZE,
    SITEMAP_SIZE,
    Meta,
    SiteShape,
    legacy_date_path,
    make_meta,
    slugify,
    with_layout,
)
from qiosk_scraper.mirror.textgen import LinkTargets, make_body

FEED_SIZE = 30
STREAM_SIZE = 4
MAX_EDITION = 7
SITE_EPOCH = datetime(2023, 3, 1, 12, 0, tzinfo=UTC)  # static pages' Last-Modified


SLUG_EXTRAS = (
    "deal", "vote", "crisis", "plan", "bill", "talks", "strategy", "budget", "escalation",
    "summit", "truce", "debate", "gamble", "pivot", "risks", "hawks", "envoy", "pullout",
)  # fmt: skip


class MirrorError(ValueError):
    """Invalid mirror arguments."""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    last_modified: datetime | None = None
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    compress: bool = True  # False: never gzip it, whatever the client accepts


@dataclass(frozen=True)
class Listing:
    """A listing section (type, QiOSK, region, topic), the home page, a tag or an author."""

    kind: str  # "section", "home", "tag", "author"
    key: str
    label: str
    path: str
    resource_id: str
    section_id: int


_DATE_PATH = re.compile(r"^/(\d{4})/(\d{2})/(\d{2})/([a-z0-9-]+)/?$")
_TAG_PATH = re.compile(r"^/tag/([a-z0-9-]+)(?:/page/(\d+))?/?$")
_AUTHOR_PATH = re.compile(r"^/author/([a-z0-9_-]+)/?$")
_MEDIA_PATH = re.compile(r"^/media-library/([A-Za-z0-9_-]+\.(?:jpg|jpeg|png))$")
_SITEMAP_PATH = re.compile(r"^/feeds/sitemaps/sitemap_(\d+)\.xml$")
_SLUG_PATH = re.compile(r"^/([a-z0-9-]+)/?$")


class Site:
    """A deterministic imitation of responsiblestatecraft.org.

    ``articles`` is the edition-1 article count; each later edition adds three articles, edits
    three, deletes one (410) and moves one to a new slug (301)."""

    def __init__(
        self,
        articles: int = 120,
        seed: int = 1,
        edition: int = 1,
        layout: str = "single",
        era: str = "rebelmouse",
    ) -> None:
        if layout not in LAYOUT_NAMES:
            raise MirrorError(f"layout={layout!r}: not one of {', '.join(LAYOUT_NAMES)}")
        if era not in ERAS:
            raise MirrorError(f"era={era!r}: not one of {', '.join(ERAS)}")
        if articles < MIN_ARTICLES:
            raise MirrorError(f"articles={articles}: the mirror needs at least {MIN_ARTICLES}")
        if not 1 <= edition <= MAX_EDITION:
            raise MirrorError(f"edition={edition}: editions run from 1 to {MAX_EDITION}")
        self.articles = articles
        self.seed = seed
        self.edition = edition
        self.layout = layout
        now1 = BASE_NOW + timedelta(days=seed % 97)
        self.shape = SiteShape(seed=seed, articles=articles, now1=now1, era=era)
        self.now = now1 + EDITION_STEP * (edition - 1)
        self._changes: dict[str, Any] = {"edited": [], "new": [], "deleted": [], "moved": {}}
        self._build_metas()

    # ------------------------------------------------------------------ construction
    def _build_metas(self) -> None:
        shape = self.shape
        used: set[str] = set(vocab.SECTION_BY_KEY) | {
            "about", "tag", "author", "feeds", "feed", "res", "media-library", "regions",
            "sitemap", "core", "r", "mnt", "page",
        }  # fmt: skip
        metas: list[Meta] = []
        for index in range(shape.articles):
            metas.append(self._place(self._make(index), used))
        self.ghost = self._place(make_meta(shape, -1), used)
        self.gone: set[str] = set()
        self.redirects: dict[str, str] = {"/feed/": "/feeds/feed.rss", "/feed": "/feeds/feed.rss"}
        for step in range(1, self.edition):
            offset = 3 * (step - 1)
            prev_now = shape.now1 + EDITION_STEP * (step - 1)
            for j, rank in enumerate(EDITED_RANKS):
                meta = metas[shape.articles - 1 - (rank + offset)]
                meta.body_version += 1
                meta.modified = prev_now + timedelta(hours=5 + 2 * j)
                self._changes["edited"].append(meta.slug)
            for j in range(NEW_PER_EDITION):
                index = shape.articles + (step - 1) * NEW_PER_EDITION + j
                new = self._make(index, new_after=prev_now)
                new.published = prev_now + timedelta(hours=3 + 7 * j)
                new.modified = None
                new.features.add("new_in_edition")
                metas.append(self._place(new, used))
                self._changes["new"].append(new.slug)
            deleted = metas[shape.articles - 1 - (DELETED_RANK + offset)]
            self._changes["deleted"].append(deleted.slug)
            self.gone.add(deleted.path)
            moved = metas[shape.articles - 1 - (MOVED_RANK + offset)]
            extra = next(kw for _, kw in vocab.ACTORS if kw not in moved.slug)
            new_slug = self._unique(f"{moved.slug}-{extra}", used)
            old_path = moved.path
            moved.old_slugs = (*moved.old_slugs, moved.slug)
            moved.slug = new_slug
            moved.path = f"/{new_slug}/"
            self._changes["moved"][old_path] = moved.path
        if self.edition == 1:
            self._changes = {}
        self.metas = [m for m in metas if m.path not in self.gone]
        self.all_metas = metas
        for meta in self.metas:
            for old in meta.old_slugs:
                self.redirects[f"/{old}/"] = meta.path
            if meta.legacy_path:
                self.redirects[meta.legacy_path] = meta.path
        self._old_slug_path = next(
            (f"/{m.old_slugs[0]}/" for m in metas if "old_slug" in m.flags), None
        )
        self._legacy_path = next((m.legacy_path for m in metas if m.legacy_path), None)
        self.by_path = {m.path: m for m in self.metas}
        self.by_slug = {m.slug: m for m in self.metas}
        self.order = sorted(self.metas, key=lambda m: (m.published, m.index), reverse=True)
        self._rank = {m.index: pos for pos, m in enumerate(self.order)}
        self._listings: dict[str, list[Meta]] = {}
        for meta in self.order:
            for key in dict.fromkeys(meta.sections):
                self._listings.setdefault(f"section:{key}", []).append(meta)
            for tag in meta.tags:
                self._listings.setdefault(f"tag:{vocab.tag_slug(tag)}", []).append(meta)
            for person in meta.authors:
                if person.username:
                    self._listings.setdefault(f"author:{person.username}", []).append(meta)
        self._listings["home"] = self.order

    def _make(self, index: int, new_after: datetime | None = None) -> Meta:
        return with_layout(make_meta(self.shape, index, new_after), self.shape, self.layout)

    def _unique(self, slug: str, used: set[str], index: int = 0) -> str:
        """``slug``, or with one more keyword, or with a number, whichever is free first."""
        candidate = slug
        for k in range(3):
            if candidate not in used:
                break
            word = SLUG_EXTRAS[(index * 7 + k * 11 + self.seed) % len(SLUG_EXTRAS)]
            candidate = f"{slug}-{word}"
        n = 2
        while candidate in used:
            candidate = f"{slug}-{n}"
            n += 1
        used.add(candidate)
        return candidate

    def _place(self, meta: Meta, used: set[str]) -> Meta:
        """Give an article its slug and canonical path."""
        shape = self.shape
        if 0 <= meta.index < shape.legacy_count:
            long_slug = self._unique(slugify(meta.title), used)
            date_path = legacy_date_path(meta.published, long_slug)
            if meta.index % 2 == 0 or shape.era == WORDPRESS:
                meta.slug, meta.path = long_slug, date_path
                meta.features.add("legacy_in_place")
            else:
                meta.slug = self._unique("-".join(meta.keywords), used, meta.index)
                meta.path = f"/{meta.slug}/"
                meta.legacy_path = date_path
                meta.features.add("legacy_redirect")
            meta.first_path = meta.path
            return meta
        meta.slug = self._unique("-".join(meta.keywords), used, meta.index)
        meta.path = f"/{meta.slug}/"
        if "old_slug" in meta.flags:
            meta.old_slugs = (self._unique(slugify(meta.title), used),)
        meta.first_path = meta.path
        return meta

    # ------------------------------------------------------------------ public API
    def changes(self) -> dict[str, Any]:
        """What this edition changed relative to edition 1 ({} for edition 1): slugs edited,
        new, deleted (410), and moved ({old path: new path}, 301)."""
        return self._changes

    def listing(self, key: str) -> list[Meta]:
        return self._listings.get(key, [])

    def listing_of_section(self, key: str) -> list[Meta]:
        return self.listing(f"section:{key}")

    def listings_of(self, slug: str) -> list[str]:
        """Labels of every section listing (type, QiOSK, region, topic) the article is on."""
        meta = self.by_slug[slug]
        return [vocab.SECTION_BY_KEY[k].label for k in dict.fromkeys(meta.sections)]

    def url(self, meta: Meta, base: str) -> str:
        return base + meta.path

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the Site lives as long as its cache
    def body(self, index: int) -> tuple[Block, ...]:
        meta = self._meta_by_index(index)
        return make_body(meta, self._targets(meta), self.seed, self.now)

    def _meta_by_index(self, index: int) -> Meta:
        if index == -1:
            return self.ghost
        for meta in self.all_metas[index : index + 1]:
            if meta.index == index:
                return meta
        for meta in self.all_metas:
            if meta.index == index:
                return meta
        raise KeyError(index)

    def _targets(self, meta: Meta) -> LinkTargets:
        older = [
            m.first_path for m in self.all_metas[max(0, meta.index - 12) : max(0, meta.index)]
        ][-4:]
        return LinkTargets(
            articles=tuple(older),
            old_slug_path=self._old_slug_path,
            legacy_path=self._legacy_path,
            empty_tag_path=f"/tag/{vocab.tag_slug(vocab.EMPTY_TAG)}/",
        )

    def gold_article(self, meta: Meta, base: str) -> Article:
        body_text, links = gold_body(self.body(meta.index), base)
        images: list[Image] = []
        if meta.lead is not None:
            images.append(
                Image(
                    url=base + meta.lead.src,
                    alt=meta.lead.alt,
                    caption=meta.lead.caption,
                    credit=meta.lead.credit,
                    lead=True,
                )
            )
        for block in self.body(meta.index):
            if block.image is not None:
                im = block.image
                images.append(Image(base + im.src, im.alt, im.caption, im.credit, False))
        return Article(
            url=base + meta.path,
            title=meta.title,
            subtitle=meta.dek,
            article_type=meta.type_label,
            section=meta.section_label,
            tags=list(meta.tags),
            authors=[
                Author(p.name, f"{base}/author/{p.username}/" if p.username else None)
                for p in meta.authors
            ],
            published=iso_utc(meta.published),
            modified=iso_utc(meta.modified) if meta.modified else None,
            body=body_text,
            images=images,
            links=[Link(url, text) for url, text in links],
        )

    def gold(self, base_url: str) -> dict[str, dict[str, Any]]:
        """The true record of every live article, keyed by slug."""
        base = base_url.rstrip("/")
        return {m.slug: self.gold_article(m, base).to_record(extras=False) for m in self.order}

    def wordpress_capture(self, slug: str, base_url: str) -> tuple[str, bytes, dict[str, Any]]:
        """A web archive's capture of legacy article ``slug`` (one of the oldest, published in
        the WordPress years) from before the move: the URL of its date path, the page in the
        WordPress theme (anatomy section 8), and the true record of that capture."""
        meta = self.by_slug[slug]
        if not 0 <= meta.index < self.shape.legacy_count:
            raise MirrorError(f"{slug}: not an article of the WordPress years")
        base = base_url.rstrip("/")
        old = dataclasses.replace(meta, layout=WORDPRESS, path=meta.legacy_path or meta.path)
        page = render.article_page(self, old, base)
        return base + old.path, page.encode(), self.gold_article(old, base).to_record(extras=False)

    def edge_cases(self) -> dict[str, list[str]]:
        """Edge case name -> slugs of the gold records that cover it (anatomy section 6)."""
        cases: dict[str, list[str]] = {}

        def add(name: str, meta: Meta) -> None:
            slugs = cases.setdefault(name, [])
            if not slugs or slugs[-1] != meta.slug:
                slugs.append(meta.slug)

        for meta in self.order:
            add(f"type_{meta.type_key}", meta)
            for key in dict.fromkeys(meta.sections):
                add(f"section_{key}", meta)
            if meta.kind == "dw":
                add("diplomacy_watch", meta)
            add(f"authors_{len(meta.authors)}", meta)
            for p in meta.authors:
                if p.username is None:
                    add("author_without_link", meta)
                if any(ord(ch) > 127 for ch in p.name):
                    add("author_name_diacritics", meta)
                if "'" in p.name:
                    add("author_name_apostrophe", meta)
            if meta.dek is None:
                add("no_dek", meta)
            if meta.modified:
                add("updated", meta)
            add(f"date_{render.date_form(meta, self.now)}", meta)
            if meta.lead is None:
                add("no_image", meta)
            for feature in sorted(meta.features):
                add(feature, meta)
            if len(meta.sections) > 2:
                add("several_sections", meta)
            if len(meta.tags) > 1:
                add("several_tags", meta)
            if meta.old_slugs:
                add("old_slug_redirect", meta)
            if meta.legacy_path:
                add("legacy_date_path_redirect", meta)
            body = self.body(meta.index)
            kinds = {b.kind for b in body}
            for kind, name in (
                ("h2", "body_subheads"),
                ("h3", "body_subheads"),
                ("ul", "body_lists"),
                ("ol", "body_lists"),
                ("quote", "body_quote"),
                ("tweet", "body_tweet"),
                ("table", "body_table"),
                ("image", "inbody_image_caption_credit"),
                ("ad", "body_ad_noise"),
                ("empty", "body_empty_paragraph"),
            ):
                if kind in kinds:
                    add(name, meta)
            if "ghost_teaser" in meta.flags:
                add("teaser_to_deleted_post", meta)
            record_text = gold_body(body, "")[0]
            words = len(re.findall(r"\w+", record_text))
            if words >= 5000:
                add("very_long", meta)
            if len([b for b in body if b.kind == "p"]) == 1:
                add("one_paragraph", meta)
            for marker, name in (("“", "curly_quotes"), ("—", "em_dash")):
                if marker in record_text:
                    add(name, meta)
            if any(0x0590 <= ord(ch) <= 0x06FF for ch in record_text):
                add("rtl_word", meta)
            if "nbsp" in meta.flags:
                add("nbsp", meta)
        return cases

    # ------------------------------------------------------------------ listings
    def section_listings(self) -> Iterator[Listing]:
        yield Listing(
            "home", "home", "Home", "/", f"section_{vocab.HOME_SECTION_ID}", vocab.HOME_SECTION_ID
        )
        for s in vocab.SECTIONS:
            yield Listing("section", s.key, s.label, s.path, s.resource_id, s.section_id)

    def tag_listing(self, slug: str) -> Listing | None:
        label = vocab.TAG_BY_SLUG.get(slug)
        if label is None:
            return None
        return Listing("tag", slug, label, f"/tag/{slug}/", f"tag_{slug}", 0)

    def author_listing(self, username: str) -> Listing | None:
        for person in vocab.AUTHORS:
            if person.username == username:
                return Listing(
                    "author", username, person.name, f"/author/{username}/",
                    f"author_{username}", 0,
                )  # fmt: skip
        return None

    def listing_items(self, listing: Listing) -> list[Meta]:
        if listing.kind == "home":
            return self.listing("home")
        return self.listing(f"{listing.kind}:{listing.key}")

    def resource(self, resource_id: str) -> Listing | None:
        for listing in self.section_listings():
            if listing.resource_id == resource_id:
                return listing
        if resource_id.startswith("tag_"):
            return self.tag_listing(resource_id[4:])
        if resource_id.startswith("author_"):
            return self.author_listing(resource_id[7:])
        return None

    def stream_for(self, meta: Meta) -> list[Meta]:
        """Teaser cards after an article: newest of its primary section, itself excluded."""
        items = [
            m for m in self.listing_of_section(meta.primary)[: STREAM_SIZE + 1] if m is not meta
        ]
        items = items[:STREAM_SIZE]
        if "ghost_teaser" in meta.flags:
            items.insert(1, self.ghost)
        return items

    def neighbours(self, meta: Meta) -> tuple[Meta | None, Meta | None]:
        pos = self._rank[meta.index]
        newer = self.order[pos - 1] if pos > 0 else None
        older = self.order[pos + 1] if pos + 1 < len(self.order) else None
        return newer, older

    def sitemap_pages(self) -> int:
        return max(1, -(-len(self.order) // SITEMAP_SIZE))

    def news_items(self) -> list[Meta]:
        cutoff = self.now - timedelta(hours=48)
        keys = [-m.published.timestamp() for m in self.order]
        end = bisect.bisect_right(keys, -cutoff.timestamp())
        return self.order[:end]

    # ------------------------------------------------------------------ requests
    def respond(self, target: str, base_url: str) -> Response:
        """The answer to a GET of ``target`` (path and query) when served at ``base_url``."""
        base = base_url.rstrip("/")
        parts = urlsplit(target)
        path = parts.path or "/"
        query = parse_qs(parts.query)
        try:
            return self._route(path, query, base)
        except NotFoundError:
            return Response(404, render.not_found_page(self, base, path).encode())

    def _route(self, path: str, query: dict[str, list[str]], base: str) -> Response:
        if path in self.redirects:
            return _redirect(base, self.redirects[path], 301)
        if path == "/":
            return self._listing_response(next(self.section_listings()), base, 1)
        if path == "/robots.txt":
            return Response(200, render.robots(base).encode(), "text/plain; charset=utf-8",
                            last_modified=SITE_EPOCH)  # fmt: skip
        if path == "/sitemap.xml":
            return _xml(render.sitemap_index(self, base), self.order[0].last_change)
        if path == "/feeds/sitemaps/news_1.xml":
            return _xml(render.news_sitemap(self, base), self.order[0].last_change)
        m = _SITEMAP_PATH.match(path)
        if m:
            number = int(m.group(1))
            if not 1 <= number <= self.sitemap_pages() or m.group(1) != str(number):
                raise NotFoundError(path)
            return self.sitemap_response(number, base)
        if path.startswith("/feeds/") and path.endswith(".rss"):
            return self._feed(path, base)
        if path == "/res/load_more_posts/data.js":
            return self._load_more(query, base)
        m = _MEDIA_PATH.match(path)
        if m:
            found = image_for(m.group(1))
            if found is None:
                raise NotFoundError(path)
            cache = [("Cache-Control", "public, max-age=31536000")]
            return Response(200, found[0], found[1], last_modified=SITE_EPOCH, extra_headers=cache)
        if path in ("/about/", "/about"):
            return Response(200, render.about_page(self, base).encode(), last_modified=SITE_EPOCH)
        m = _TAG_PATH.match(path)
        if m:
            return self._tag(m.group(1), m.group(2), path, base)
        m = _AUTHOR_PATH.match(path)
        if m:
            listing = self.author_listing(m.group(1))
            if listing is None:
                raise NotFoundError(path)
            return self._listing_response(listing, base, 1)
        with_slash = path if path.endswith("/") else path + "/"
        section = vocab.SECTION_BY_PATH.get(with_slash)
        if section is not None:
            listing = next(x for x in self.section_listings() if x.key == section.key)
            return self._listing_response(listing, base, 1)
        if with_slash in self.gone:
            return Response(410, render.not_found_page(self, base, path, gone=True).encode())
        if with_slash in self.redirects:
            return _redirect(base, self.redirects[with_slash], 301)
        meta = self.by_path.get(with_slash)
        if meta is not None:
            page = render.article_page(self, meta, base)
            return Response(200, page.encode(), last_modified=meta.last_change)
        raise NotFoundError(path)

    def sitemap_response(
        self, number: int, base: str, extras: dict[str, list[str]] | None = None
    ) -> Response:
        """Numbered sitemap ``number`` (1..sitemap_pages()); ``extras`` lists more paths to
        enter right after an article's own entry ({article path: [paths]})."""
        chunk = self.order[(number - 1) * SITEMAP_SIZE : number * SITEMAP_SIZE]
        text = render.sitemap_child(self, base, chunk, extras or {})
        return _xml(text, max(x.last_change for x in chunk))

    def _listing_response(self, listing: Listing, base: str, page: int) -> Response:
        items = self.listing_items(listing)
        html = render.listing_page(self, listing, items, base, page)
        newest = items[0].last_change if items else SITE_EPOCH
        return Response(200, html.encode(), last_modified=newest)

    def _tag(self, slug: str, page_text: str | None, path: str, base: str) -> Response:
        listing = self.tag_listing(slug)
        if listing is None:
            raise NotFoundError(path)
        page = int(page_text) if page_text else 1
        if page_text is not None and page == 1:
            return _redirect(base, listing.path, 301)
        items = self.listing_items(listing)
        pages = max(1, -(-len(items) // PAGE_SIZE))
        if page < 1 or page > pages:
            raise NotFoundError(path)
        html = render.tag_page(self, listing, items, base, page, pages)
        newest = items[0].last_change if items else SITE_EPOCH
        return Response(200, html.encode(), last_modified=newest)

    def _feed(self, path: str, base: str) -> Response:
        if path == "/feeds/feed.rss":
            items = self.order[:FEED_SIZE]
            title, link = vocab.SITE_NAME, "/"
        else:
            section_path = "/" + path[len("/feeds/") : -len(".rss")] + "/"
            section = vocab.SECTION_BY_PATH.get(section_path)
            if section is None:
                raise NotFoundError(path)
            items = self.listing_of_section(section.key)[:FEED_SIZE]
            title, link = f"{section.label} - {vocab.SITE_NAME}", section.path
        last = items[0].last_change if items else SITE_EPOCH
        return Response(200, render.rss(self, base, items, title, link, path).encode(),
                        "application/rss+xml; charset=utf-8", last_modified=last)  # fmt: skip

    def _load_more(self, query: dict[str, list[str]], base: str) -> Response:
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        resource_id = one("resource_id")
        site_id = one("site_id")
        pn = one("pn")
        if resource_id is None or pn is None or not pn.isdigit() or int(pn) < 1:
            return Response(400, b'{"error": "resource_id and pn are required"}',
                            "application/json; charset=utf-8")  # fmt: skip
        if site_id is not None and site_id != str(vocab.SITE_ID):
            raise NotFoundError("load_more")
        listing = self.resource(resource_id)
        if listing is None:
            raise NotFoundError("load_more")
        excluded = {
            int(x) for x in ",".join(query.get("exclude_post_ids", [])).split(",") if x.isdigit()
        }
        items = [m for m in self.listing_items(listing) if m.post_id not in excluded]
        page = int(pn)
        chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        has_more = len(items) > page * PAGE_SIZE
        body = render.load_more_json(self, base, listing, chunk, has_more)
        last = chunk[0].last_change if chunk else SITE_EPOCH
        return Response(200, body.encode(), "application/json; charset=utf-8", last_modified=last)


class NotFoundError(LookupError):
    """No page at this path."""


def _redirect(base: str, target: str, status: int) -> Response:
    return Response(status, b"", location=base + target)


def _xml(text: str, last: datetime) -> Response:
    return Response(200, text.encode(), "application/xml; charset=utf-8", last_modified=last)
