"""``extract_article``: one pure function from a page to an article record.

Each field is read from every signal that can carry it, in a fixed rank, and the first found
wins; its layer is written to ``Article.provenance``, disagreements worth an analyst's eye go to
``Article.warnings``. The layers: structured data (JSON-LD, microdata, OpenGraph/``article:*``
meta, canonical link: :mod:`structured`), the CMS's markup (the RebelMouse layer
:mod:`markup`, in any of its layouts; the WordPress layer :mod:`wordpress`), text cues ("Top
image credit:" lines), the generic conventions of news pages (:mod:`generic`), then trafilatura
(body; fallback metadata), dateparser for shown dates, htmldate last.

What is seen on the page wins over what the page says of itself where the two can differ: the
visible headline over ``og:title`` (a truncated one never wins), the byline over JSON-LD
authors, visible tag links over keywords, the hero over ``og:image``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import TypeVar

from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura import extract_metadata
from trafilatura.settings import Document

from qiosk_scraper.article import Article, Author, Image, count_words, iso_utc
from qiosk_scraper.extract import generic, markup, wordpress
from qiosk_scraper.extract.body import Body, container_body, date_params, page_body
from qiosk_scraper.extract.credits import split_caption, split_credit
from qiosk_scraper.extract.dates import (
    OUTLET_ZONE,
    ShownDate,
    disagree,
    parse_shown,
    parse_timestamp,
)
from qiosk_scraper.extract.dom import absolute, canonical, image_src
from qiosk_scraper.extract.generic import is_truncated, same_asset, split_authors, split_names
from qiosk_scraper.extract.page import NotAnArticle, parse_html
from qiosk_scraper.extract.structured import (
    LinkedData,
    MetaTags,
    linked_data,
    meta_tags,
    microdata,
)
from qiosk_scraper.urls import same_site

T = TypeVar("T")


@dataclass
class _Page:
    """Everything read from one page, shared by the field helpers."""

    tree: HtmlElement
    url: str
    fetched_at: datetime
    ld: LinkedData | None
    meta: MetaTags
    posts: list[HtmlElement]  # the RebelMouse post and its other copies (split layout)
    wp: HtmlElement | None  # the WordPress post
    micro: LinkedData | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    trafilatura: Document | None = None

    @property
    def post(self) -> HtmlElement | None:
        return self.posts[0] if self.posts else None

    def rm(self, read: Callable[[HtmlElement], T | None]) -> T | None:
        """The first value ``read`` finds in a copy of the RebelMouse post."""
        for post in self.posts:
            value = read(post)
            if isinstance(value, etree._Element) or value:  # an element may have no children
                return value
        return None

    def wpress(self, read: Callable[[HtmlElement], T | None]) -> T | None:
        return read(self.wp) if self.wp is not None else None

    @cached_property
    def shown(self) -> tuple[ShownDate | None, ShownDate | None]:
        """Published and updated dates as the page shows them."""
        if self.post is None:
            return None, None
        published, modified = markup.shown_dates(self.post)
        return parse_shown(published, self.fetched_at), parse_shown(modified, self.fetched_at)

    def pick(self, name: str, *layers: tuple[str, Callable[[], T | None]]) -> T | None:
        """The first non-empty value among ``layers`` (tried in order), its layer recorded."""
        for layer, get in layers:
            value = get()
            if value:
                self.provenance[name] = layer
                return value
        return None

    def fallback(self) -> Document | None:
        """trafilatura's metadata of the page, computed once and only when a field needs it."""
        if self.trafilatura is None:
            self.trafilatura = _trafilatura_metadata(self.tree, self.url, self.fetched_at)
        return self.trafilatura


def extract_article(
    html: str | bytes, url: str, fetched_at: datetime, *, outlet_layers: bool = True
) -> Article:
    """The article record of one page fetched from ``url`` at ``fetched_at``; without
    ``outlet_layers``, by the generic path alone (structured data, trafilatura, htmldate), as
    for a site no profile knows.

    Raises :class:`NotAnArticle` for anything that is not an article page; no other exception.
    """
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    tree = parse_html(html)
    # The CMS layers (RebelMouse, then WordPress) only with the profile's outlet layers.
    posts = markup.main_posts(tree) if outlet_layers else []
    wp = wordpress.post(tree) if outlet_layers and not posts else None
    page = _Page(tree, url, fetched_at, linked_data(tree), meta_tags(tree), posts, wp)
    page.micro = microdata(tree) if page.ld is None else None
    _check_is_article(page)
    body = _body(page)
    title = _title(page)
    if not title:
        raise NotAnArticle("no title")
    body.drop(title)  # the headline is a field of its own, not a body block
    subtitle = _subtitle(page)
    if subtitle and page.provenance["body"] == "trafilatura":
        _drop_dek(page, body, subtitle)
    if count_words(body.text) == 0:
        raise NotAnArticle("no body text")
    published = _published(page)
    if body.links:
        page.provenance["links"] = page.provenance["body"]
    article = Article(
        url=_url(page),
        title=title,
        subtitle=subtitle,
        article_type=_article_type(page),
        section=_section(page),
        tags=_tags(page),
        authors=_authors(page),
        published=iso_utc(published) if published else None,
        modified=_modified(page, published),
        body=body.text,
        images=_images(page, body),
        links=body.links,
        provenance={
            **page.provenance,
            **({"links": page.provenance["body"]} if body.links else {}),
        },
        warnings=page.warnings,
    )
    return article


def _check_is_article(page: _Page) -> None:
    if page.posts or page.wp is not None or page.ld is not None or page.micro is not None:
        return
    if (page.meta.get("og:type") or "").lower() == "article":
        return
    if markup.is_listing(page.tree):
        raise NotAnArticle("listing page")
    if markup.is_rebelmouse(page.tree):
        raise NotAnArticle("page of the outlet without an article")


def _body(page: _Page) -> Body:
    """The post's body block wherever it sits (any copy of the post), else trafilatura."""
    extra = [label for label in [_label(page)] if label]
    for layer, container in (
        ("markup", page.rm(markup.body_container)),
        ("wordpress", page.wpress(wordpress.body_container)),
    ):
        if container is not None:
            page.provenance["body"] = f"{layer}+trafilatura"
            return container_body(container, page.url, extra)
    body, document = page_body(page.tree, page.url, page.fetched_at, extra)
    body.images = generic.figures(page.tree, page.url)
    page.trafilatura = document
    page.provenance["body"] = "trafilatura"
    return body


def _drop_dek(page: _Page, body: Body, subtitle: str) -> None:
    """A page's dek that trafilatura took for the first paragraph is not body text."""
    lead = [block for block in body.blocks[:3] if block.casefold() == subtitle.casefold()]
    if lead and generic.shown_as_dek(page.tree, lead[0]):
        body.drop(lead[0])


def _label(page: _Page) -> str | None:
    """The ``<Type> | <Section>`` label shown around the article, as plain text."""
    kind, section = _article_type(page), _section(page)
    return f"{kind} | {section}" if kind and section else None


def _url(page: _Page) -> str:
    """The page's canonical/og:url when it stays on the fetched host, else the fetched URL.

    A fetched URL that is not absolute http(s) (a local file, nothing) defers to the page.
    """
    fetched = canonical(page.url)
    fetched = fetched if fetched and _is_web(fetched) else None
    for layer, candidate in (
        ("meta", page.meta.canonical),
        ("meta", page.meta.get("og:url")),
        ("json-ld", page.ld.url if page.ld else None),
    ):
        if candidate:
            resolved = canonical(absolute(page.url, candidate) or "")
            if (
                resolved
                and _is_web(resolved)
                and (fetched is None or _same_site(resolved, fetched))
            ):
                page.provenance["url"] = layer
                return resolved
    if fetched is None:
        raise NotAnArticle(f"no absolute URL for the page (fetched as {page.url!r})")
    page.provenance["url"] = "url"
    return fetched


def _is_web(url: str) -> bool:
    return url.startswith(("http://", "https://")) and len(url) > len("https://")


def _same_site(url: str, site: str) -> bool:
    try:
        return same_site(url, site)
    except ValueError:  # the fetched URL itself does not parse
        return False


def _title(page: _Page) -> str | None:
    """The visible headline, else structured titles (never a truncated one)."""
    titles = (page.ld.headline if page.ld else None, page.meta.get("og:title"))
    structured = [t for t in titles if t]

    def whole(title: str | None) -> str | None:
        return None if is_truncated(title) else title

    return page.pick(
        "title",
        ("markup", lambda: page.rm(markup.headline)),
        ("wordpress", lambda: page.wpress(wordpress.headline)),
        ("generic", lambda: generic.headline(page.tree, structured)),
        ("json-ld", lambda: whole(page.ld.headline if page.ld else None)),
        ("microdata", lambda: whole(page.micro.headline if page.micro else None)),
        ("meta", lambda: whole(page.meta.get("og:title"))),
        ("trafilatura", lambda: whole(_fallback_field(page, "title"))),
        ("generic", lambda: generic.document_title(page.tree)),
        ("meta", lambda: page.meta.get("og:title")),  # cut short, but better than no record
    )


def _subtitle(page: _Page) -> str | None:
    """The dek as marked up; description meta only on pages without a CMS layer's post (the
    outlet's description of a dek-less article is an excerpt, not a dek)."""
    if page.posts:
        return page.pick("subtitle", ("markup", lambda: page.rm(markup.dek)))
    if page.wp is not None:
        return page.pick("subtitle", ("wordpress", lambda: page.wpress(wordpress.dek)))
    return page.pick(
        "subtitle",
        ("json-ld", lambda: page.ld.description if page.ld else None),
        ("microdata", lambda: page.micro.description if page.micro else None),
        ("meta", lambda: page.meta.get("og:description")),
    )


def _article_type(page: _Page) -> str | None:
    def from_ld() -> str | None:
        names = {"AnalysisNewsArticle": "Analysis", "OpinionNewsArticle": "Opinion"}
        names["ReportageNewsArticle"] = "Reporting"
        types = page.ld.types if page.ld else frozenset()
        return next((names[t] for t in sorted(types) if t in names), None)

    return page.pick(
        "article_type",
        ("markup", lambda: page.rm(lambda p: markup.label(p)[0])),
        ("wordpress", lambda: page.wpress(lambda p: wordpress.label(p)[0])),
        ("json-ld", from_ld),
    )


def _section(page: _Page) -> str | None:
    return page.pick(
        "section",
        ("json-ld", lambda: page.ld.section if page.ld else None),
        ("meta", lambda: page.meta.get("article:section")),
        ("markup", lambda: page.rm(lambda p: markup.label(p)[1])),
        ("wordpress", lambda: page.wpress(lambda p: wordpress.label(p)[1])),
        ("microdata", lambda: page.micro.section if page.micro else None),
    )


def _tags(page: _Page) -> list[str]:
    """Visible tag links, else ``article:tag``, else keywords (JSON-LD, meta, microdata)."""
    tags = page.pick(
        "tags",
        ("markup", lambda: page.rm(markup.tags)),
        ("wordpress", lambda: page.wpress(wordpress.tags)),
        ("meta", lambda: page.meta.tags),
        ("json-ld", lambda: page.ld.keywords if page.ld else None),
        ("meta", lambda: page.meta.keywords),
        ("microdata", lambda: page.micro.keywords if page.micro else None),
    )
    unique: dict[str, str] = {}
    for tag in tags or []:
        unique.setdefault(tag.casefold(), tag)
    return list(unique.values())


def _authors(page: _Page) -> list[Author]:
    """Byline order from the markup, checked against JSON-LD (names only)."""
    byline = split_authors(page.rm(lambda p: markup.authors(p, page.url)) or [])
    layer = "markup"
    if not byline and page.wp is not None:
        byline, layer = split_authors(wordpress.authors(page.wp, page.url)), "wordpress"
    structured = split_authors(page.ld.authors) if page.ld else []
    if byline and structured and [a.name for a in byline] != [a.name for a in structured]:
        page.warnings.append(
            "authors: byline "
            + ", ".join(a.name for a in byline)
            + " differs from JSON-LD "
            + ", ".join(a.name for a in structured)
        )
    return (
        page.pick(
            "authors",
            (layer, lambda: byline),
            ("json-ld", lambda: [_absolute_author(a, page.url) for a in structured]),
            ("microdata", lambda: split_authors(page.micro.authors) if page.micro else None),
            ("meta", lambda: _meta_authors(page.meta)),
            ("generic", lambda: generic.byline(page.tree)),
            ("trafilatura", lambda: _trafilatura_authors(page)),
        )
        or []
    )


def _absolute_author(author: Author, base: str) -> Author:
    return Author(author.name, absolute(base, author.url) if author.url else None)


def _meta_authors(meta: MetaTags) -> list[Author]:
    value = meta.get("author") or meta.get("article:author") or ""
    if value.startswith(("http://", "https://")):
        return []
    return [Author(name) for name in split_names(value)]


def _trafilatura_authors(page: _Page) -> list[Author]:
    value = _fallback_field(page, "author") or ""
    return [Author(n) for part in value.split(";") for n in split_names(part)]


def _fallback_field(page: _Page, name: str) -> str | None:
    document = page.fallback()
    value = getattr(document, name, None) if document is not None else None
    return value if isinstance(value, str) and value.strip() else None


def _published(page: _Page) -> datetime | None:
    shown, _ = page.shown
    structured = page.pick(
        "published",
        ("json-ld", lambda: parse_timestamp(page.ld.date_published if page.ld else None)),
        ("meta", lambda: parse_timestamp(page.meta.get("article:published_time"))),
        ("microdata", lambda: parse_timestamp(page.micro.date_published if page.micro else None)),
        ("wordpress", lambda: parse_timestamp(page.wpress(wordpress.published))),
    )
    if structured is not None:
        if shown is not None and disagree(structured, shown):
            page.warnings.append(
                f"published: structured {iso_utc(structured)} and shown "
                f"{shown.local_day.isoformat()} differ by more than a day"
            )
        return structured
    return page.pick(
        "published",
        ("dateparser", lambda: shown.moment if shown else None),
        ("htmldate", lambda: _htmldate(page)),
    )


def _modified(page: _Page, published: datetime | None) -> str | None:
    """The last update, None when absent or equal to the publication."""
    _, shown = page.shown
    modified = page.pick(
        "modified",
        ("json-ld", lambda: parse_timestamp(page.ld.date_modified if page.ld else None)),
        ("meta", lambda: parse_timestamp(page.meta.get("article:modified_time"))),
        ("microdata", lambda: parse_timestamp(page.micro.date_modified if page.micro else None)),
        ("wordpress", lambda: parse_timestamp(page.wpress(wordpress.modified))),
        ("dateparser", lambda: shown.moment if shown else None),
    )
    if modified is None or (published is not None and iso_utc(modified) == iso_utc(published)):
        page.provenance.pop("modified", None)
        return None
    return iso_utc(modified)


def _htmldate(page: _Page) -> datetime | None:
    """htmldate's original publication day (New York midnight), bounded by the fetch day."""
    found = find_date(
        page.tree,
        original_date=True,
        extensive_search=True,
        max_date=page.fetched_at.strftime("%Y-%m-%d"),
        url=page.url,
    )
    if not found:
        return None
    day = datetime.strptime(found, "%Y-%m-%d")
    return day.replace(tzinfo=OUTLET_ZONE)


def _hero(page: _Page) -> tuple[str, etree._Element | None, tuple[str | None, str | None]]:
    """The layer, lead image element and ``(caption, credit)`` of the CMS's hero markup."""
    hero = page.rm(markup.hero_image)
    if hero is not None or page.posts:
        credit = next((c for c in map(markup.hero_credit, page.posts) if any(c)), (None, None))
        return "markup", hero, credit
    hero, caption = page.wpress(wordpress.hero_image) or (None, None)
    return "wordpress", hero, split_caption(caption)


def _images(page: _Page, body: Body) -> list[Image]:
    """The lead image (the CMS's hero, else a structured image) and the in-body images."""
    layer, hero, (caption, credit) = _hero(page)
    if caption is None and credit is None:
        caption, credit = split_credit(body.lead_credit)
    images = list(body.images)
    if images:
        page.provenance["images"] = _shown_images_layer(page)
    src = image_src(hero) if hero is not None else None
    src = absolute(page.url, src) if src else None
    alt = hero.get("alt") or "" if hero is not None else ""
    if src:
        page.provenance["images"] = layer
        return [Image(src, alt, caption, credit, lead=True), *images]
    # a hero marked up without a usable source still gives its alt and credit
    return _structured_lead(page, images, Image("", alt, caption, credit, lead=True))


def _structured_lead(page: _Page, images: list[Image], lead: Image) -> list[Image]:
    """og:image / JSON-LD / microdata image as the lead: the page's own copy of it (caption
    and all) when it is another crop of an image the page shows."""
    url = page.pick(
        "images",
        ("meta", lambda: page.meta.get("og:image")),
        ("json-ld", lambda: page.ld.image if page.ld else None),
        ("microdata", lambda: page.micro.image if page.micro else None),
    )
    url = absolute(page.url, url) if url else None
    if not url:
        return images
    shown = next((image for image in images if same_asset(url, image.url)), None)
    if shown is None:
        return [replace(lead, url=url), *images]
    page.provenance["images"] = _shown_images_layer(page)
    return [replace(shown, lead=True), *(image for image in images if image is not shown)]


def _shown_images_layer(page: _Page) -> str:
    """The layer the in-body images came from: the body's CMS layer, else the generic one."""
    layer = page.provenance["body"].split("+")[0]
    return "generic" if layer == "trafilatura" else layer


def _trafilatura_metadata(tree: HtmlElement, url: str, fetched_at: datetime) -> Document | None:
    return extract_metadata(tree, url, date_params(fetched_at))
