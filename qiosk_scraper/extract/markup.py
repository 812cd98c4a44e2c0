"""The RebelMouse layer: the outlet's own markup (RebelMouse conventions, outlet-anatomy.md
sections 4 and 7), scoped to the page's main post so that teaser cards further down never leak
into the record. The post may be rendered twice (the "split layout": a head copy with the
headline and byline, a second copy with the hero and the body): :func:`main_posts` gives every
copy, and the field helpers are tried on each in turn."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from qiosk_scraper.article import Author
from qiosk_scraper.extract.credits import split_caption, split_credit, unwrap
from qiosk_scraper.extract.dom import (
    Elements,
    Strings,
    absolute,
    collapse,
    first_text,
    has_class,
    text_of,
)

ARTICLE_TYPES = ("Analysis", "Reporting", "Opinion", "News")
_HEADLINE = f"h1[{has_class('widget__headline')}]"
_MAIN_POST = Elements(
    f"//article[{has_class('page-article')}][.//{_HEADLINE}]"
    f"|//div[{has_class('post-partial')}][.//{_HEADLINE}]"
)
_HEADLINES = Elements(f".//{_HEADLINE}")
_DEK = Elements(
    f".//h2[{has_class('widget__subheadline-text')}]|.//*[{has_class('widget__subheadline')}]//p"
)
_AUTHOR_NAMES = Elements(
    f".//*[{has_class('social-author')}]//*[{has_class('social-author__name')}]"
)
_DATA_AUTHORS = Strings(".//*[@data-authors]/@data-authors")
_SHOWN_DATE = Elements(f".//*[{has_class('social-date__text')}]")
_SHOWN_MODIFIED = Elements(f".//*[{has_class('social-date-modified__text')}]")
_SECTION = Elements(f".//a[{has_class('widget__section')}]")
_BODY_DESCRIPTION = Elements(f".//div[{has_class('body-description')}]")
_BODY = Elements(f".//div[{has_class('body')}]")
_HERO = Elements(
    f".//picture//img[{has_class('rm-hero-media')}]|.//img[{has_class('rm-hero-media')}]"
)
_PHOTO_CREDIT = Elements(f".//*[{has_class('photo-credit')}]")
_LISTING = Elements(f"//div[{has_class('posts-custom')}]//a[{has_class('widget__headline-text')}]")


def main_post(tree: HtmlElement) -> HtmlElement | None:
    """The innermost element wrapping the page's article (headline and body), if any."""
    posts = _MAIN_POST(tree)
    if not posts:
        return None
    # a post-partial div wraps the article element: prefer the innermost match
    return posts[-1] if len(posts) > 1 and posts[0] in posts[-1].iterancestors() else posts[0]


_COPIES = Elements("//article[@elid]")


_POST_HEADS = Elements(f"//div[{has_class('post-head')}]")


def _apart(one: HtmlElement, other: HtmlElement) -> bool:
    """Neither element holds the other."""
    return (
        one is not other and one not in other.iterancestors() and other not in one.iterancestors()
    )


def main_posts(tree: HtmlElement) -> list[HtmlElement]:
    """The main post, then the other copies of it on the page: the articles with its ``elid``,
    else (a copy without ids) the other ``div.post-head`` blocks of a split layout."""
    main = main_post(tree)
    if main is None:
        return []
    elid = main.get("elid") or next(
        (a.get("elid") for a in main.iter("article") if a.get("elid")), None
    )
    copies = [a for a in _COPIES(tree) if elid and a.get("elid") == elid and _apart(a, main)]
    if not copies:
        copies = [head for head in _POST_HEADS(tree) if _apart(head, main)]
    return [main, *copies]


def headline(post: HtmlElement) -> str | None:
    return first_text(_HEADLINES(post))


def dek(post: HtmlElement) -> str | None:
    return first_text(_DEK(post))


def authors(post: HtmlElement, base_url: str) -> list[Author]:
    """Byline authors in order: a linked name gets its absolute profile URL, others None."""
    byline: list[Author] = []
    for element in _AUTHOR_NAMES(post):
        name = text_of(element)
        href = (element.get("href") or "").strip() if element.tag == "a" else ""
        author = Author(name, absolute(base_url, href) if href else None)
        if name and all(a.name != name for a in byline):
            byline.append(author)
    if not byline:
        for value in _DATA_AUTHORS(post)[:1]:
            byline = [Author(n) for n in (collapse(p) for p in value.split(",")) if n]
    return byline


def shown_dates(post: HtmlElement) -> tuple[str | None, str | None]:
    """The published and updated dates as the page shows them (raw text)."""
    published = [text_of(e) for e in _SHOWN_DATE(post)]
    modified = [text_of(e) for e in _SHOWN_MODIFIED(post)]
    return (published[0] if published else None), (modified[0] if modified else None)


def label(post: HtmlElement) -> tuple[str | None, str | None]:
    """``(type, section)`` of the ``<Type> | <Section>`` label (``a.widget__section`` links).

    Two links are type and section; a lone link is the type when it names one, else the
    section; a label written as text is split at its bar.
    """
    links = _SECTION(post)
    names = [text_of(a) for a in links]
    names = [n for n in names if n]
    if len(names) >= 2:
        return names[0], names[-1]
    if len(names) == 1:
        holder = links[0].getparent()
        kind, bar, _ = text_of(holder).partition("|") if holder is not None else ("", "", "")
        if bar and collapse(kind) and collapse(kind) != names[0]:
            return collapse(kind), names[0]
        return (names[0], None) if names[0] in ARTICLE_TYPES else (None, names[0])
    return None, None


def body_container(post: HtmlElement) -> HtmlElement | None:
    """``div.body-description``, else ``div.body``, inside the post."""
    found = _BODY_DESCRIPTION(post) or _BODY(post)
    return found[0] if found else None


_HERO_HOLDER = Elements(
    f"ancestor::*[{has_class('widget__image')} or {has_class('widget__head')} or self::figure][1]"
)
_HERO_SMALL_CAPTION = Elements(f".//small[{has_class('media-caption')}]")
_HERO_SMALL_CREDIT = Elements(f".//small[{has_class('media-photo-credit')}]")
_FIGCAPTION = Elements(".//figcaption")


def hero_image(post: HtmlElement) -> etree._Element | None:
    """The lead image element (``img.rm-hero-media``), if shown."""
    heroes = _HERO(post)
    return heroes[0] if heroes else None


def hero_credit(post: HtmlElement) -> tuple[str | None, str | None]:
    """``(caption, credit)`` of the lead image: ``.photo-credit`` (the outlet's rule), the
    hero's ``small.media-caption`` / ``small.media-photo-credit``, or its ``figcaption``."""
    credits = [text_of(e) for e in _PHOTO_CREDIT(post)]
    line = next((c for c in credits if c), None)
    if line:
        return split_credit(line)
    hero = hero_image(post)
    holders = _HERO_HOLDER(hero) if hero is not None else []
    if not holders:
        return None, None
    credit = " ".join(t for t in map(text_of, _HERO_SMALL_CREDIT(holders[0])) if t)
    caption = " ".join(t for t in map(text_of, _HERO_SMALL_CAPTION(holders[0])) if t)
    if credit or caption:
        return caption or None, unwrap(credit) or None
    figcaption = next((t for t in map(text_of, _FIGCAPTION(holders[0])) if t), None)
    return split_caption(figcaption)


def is_listing(tree: HtmlElement) -> bool:
    """True when a listing wrapper (``div.posts-custom``) holds teaser headlines."""
    return bool(_LISTING(tree))


_BOOTSTRAP = Elements("//script[contains(text(), 'REBELMOUSE_BOOTSTRAP_DATA')]")
_WIDGETS = Elements(
    f"//*[{has_class('post-partial')} or {has_class('widget__headline')}"
    f" or {has_class('posts-custom')}][1]"
)
_OUTSIDE_BODY = f"[not(ancestor::*[{has_class('body-description')}])]"
_TAGS = Elements(
    f".//*[{has_class('post-tags-primary')} or {has_class('tags')}]//a"
    f"|.//a[{has_class('tags-primary-link')}]"
    f"|.//a[contains(concat(' ', normalize-space(@rel), ' '), ' tag ')]{_OUTSIDE_BODY}"
    "|.//*[contains(@class, 'tag') or contains(@class, 'topic')]//a[contains(@href, '/tag/')]"
    + _OUTSIDE_BODY
)


def is_rebelmouse(tree: HtmlElement) -> bool:
    """True for a page of the outlet's CMS (bootstrap data or RebelMouse widget markup)."""
    return bool(_BOOTSTRAP(tree) or _WIDGETS(tree))


def tags(post: HtmlElement) -> list[str]:
    return [t for t in (text_of(a) for a in _TAGS(post)) if t]
