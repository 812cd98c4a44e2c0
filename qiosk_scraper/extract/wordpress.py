"""The WordPress layer: the conventions of WordPress themes (outlet-anatomy.md section 8), for
captures of the outlet's pages from before its move to RebelMouse and for any WordPress site.

``post`` finds the post element (``article.hentry`` / the element around ``h1.entry-title``);
every other helper reads one field inside it and returns a typed value or None.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from qiosk_scraper.article import Author
from qiosk_scraper.extract.dom import Elements, absolute, first_text, has_class, text_of
from qiosk_scraper.extract.markup import ARTICLE_TYPES

_TITLE = f"h1[{has_class('entry-title')}]"
_POST = Elements(
    f"//article[.//{_TITLE}]|//*[{has_class('hentry')}][.//{_TITLE}]"
    f"|//*[{has_class('post')}][.//{_TITLE}][.//div[{has_class('entry-content')}]]"
)
_HEADLINE = Elements(f".//{_TITLE}")
_DEK = Elements(
    f".//*[{has_class('wp-subtitle')} or {has_class('entry-subtitle')}"
    f" or {has_class('subtitle')}][not(ancestor::div[{has_class('entry-content')}])]"
)
_AUTHORS = Elements(
    f".//*[{has_class('author')} and {has_class('vcard')}]"
    f"//*[{has_class('fn')} or {has_class('url')}][1]"
)
_PUBLISHED = Elements(f".//time[{has_class('published')} or {has_class('entry-date')}][@datetime]")
_UPDATED = Elements(f".//time[{has_class('updated')}][@datetime]")
_CATEGORIES = Elements(".//a[contains(concat(' ', normalize-space(@rel), ' '), ' category ')]")
_TAGS = Elements(
    ".//a[contains(concat(' ', normalize-space(@rel), ' '), ' tag ')]"
    "[not(contains(concat(' ', normalize-space(@rel), ' '), ' category '))]"
    f"[not(ancestor::div[{has_class('entry-content')}])]"
)
_CONTENT = Elements(f".//div[{has_class('entry-content')}]")
_HERO = Elements(
    f".//img[{has_class('wp-post-image')}][not(ancestor::div[{has_class('entry-content')}])]"
)
_HERO_CAPTION = Elements(
    "ancestor::figure[1]//figcaption"
    f"|ancestor::*[{has_class('wp-caption')}][1]//*[{has_class('wp-caption-text')}]"
)


def post(tree: HtmlElement) -> HtmlElement | None:
    """The innermost element holding the post's ``h1.entry-title``, if the page has one."""
    found = _POST(tree)
    return found[-1] if found else None


def headline(post: HtmlElement) -> str | None:
    return first_text(_HEADLINE(post))


def dek(post: HtmlElement) -> str | None:
    return first_text(_DEK(post))


def authors(post: HtmlElement, base_url: str) -> list[Author]:
    """``span.author.vcard`` names in order, with their profile links."""
    byline: list[Author] = []
    for element in _AUTHORS(post):
        name, href = text_of(element), (element.get("href") or "").strip()
        if name and all(a.name != name for a in byline):
            byline.append(Author(name, absolute(base_url, href) if href else None))
    return byline


def published(post: HtmlElement) -> str | None:
    """The ``datetime`` of ``time.entry-date.published`` (ISO 8601)."""
    found = _PUBLISHED(post)
    return found[0].get("datetime") if found else None


def modified(post: HtmlElement) -> str | None:
    found = _UPDATED(post)
    return found[0].get("datetime") if found else None


def label(post: HtmlElement) -> tuple[str | None, str | None]:
    """``(type, section)`` from the category links: a category naming an article type is the
    type, the first other one the section."""
    names = [n for n in (text_of(a) for a in _CATEGORIES(post)) if n]
    kind = next((n for n in names if n in ARTICLE_TYPES), None)
    section = next((n for n in names if n != kind), None)
    return kind, section


def tags(post: HtmlElement) -> list[str]:
    return [t for t in (text_of(a) for a in _TAGS(post)) if t]


def body_container(post: HtmlElement) -> HtmlElement | None:
    found = _CONTENT(post)
    return found[0] if found else None


def hero_image(post: HtmlElement) -> tuple[etree._Element | None, str | None]:
    """The featured image and its caption text (``figcaption`` / ``.wp-caption-text``)."""
    heroes = _HERO(post)
    if not heroes:
        return None, None
    captions = [text_of(e) for e in _HERO_CAPTION(heroes[0])]
    return heroes[0], next((c for c in captions if c), None)
