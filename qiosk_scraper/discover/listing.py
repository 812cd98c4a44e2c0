"""``extract_listing``: the teasers of a section, tag, author or home page, or of the CMS's
load-more JSON (``{"has_more": ..., "posts_by_source": {...: [posts]}}``)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from lxml.html import HtmlElement

from qiosk_scraper.extract import markup
from qiosk_scraper.extract.credits import is_lead_credit_line, split_credit
from qiosk_scraper.extract.dom import Elements, absolute, canonical, collapse, has_class, text_of
from qiosk_scraper.extract.page import NotAnArticle, decode_html, parse_html


@dataclass(frozen=True)
class Teaser:
    """One story card of a listing."""

    url: str
    title: str
    post_id: int | None = None
    dek: str | None = None
    article_type: str | None = None
    section: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None

    def to_record(self) -> dict[str, Any]:
        return dict(sorted(asdict(self).items()))


_HEADLINE_LINKS = Elements(f"//a[{has_class('widget__headline-text')}][not(ancestor::h1)]")
_CARD = Elements(
    f"ancestor::article[1]|ancestor::*[{has_class('post-partial')} or {has_class('widget')}][1]"
)
_DEK = Elements(
    f".//*[{has_class('widget__subheadline-text')}]|.//*[{has_class('widget__subheadline')}]//p"
)
_CREDIT_LINES = Elements(f".//*[{has_class('photo-credit')}]|.//p|.//div|.//small")
_POST_CLASS = re.compile(r"(?:^|\s)post-(\d+)(?:\s|$)")


def extract_listing(html: str | bytes, url: str) -> list[Teaser]:
    """Teasers in page order, one per story (the first card wins when a story repeats).

    Raises :class:`NotAnArticle` when the input is neither HTML nor load-more JSON.
    """
    text = decode_html(html) if isinstance(html, bytes) else html
    if text.lstrip().startswith("{"):
        return _dedupe(_json_teasers(text, url))
    tree = parse_html(text)
    return _dedupe(_html_teasers(tree, url))


def _dedupe(teasers: list[Teaser]) -> list[Teaser]:
    seen: set[str] = set()
    unique = []
    for teaser in teasers:
        if teaser.url not in seen:
            seen.add(teaser.url)
            unique.append(teaser)
    return unique


def _html_teasers(tree: HtmlElement, base: str) -> list[Teaser]:
    teasers = []
    for link in _HEADLINE_LINKS(tree):
        href, title = (link.get("href") or "").strip(), text_of(link)
        url = canonical(absolute(base, href) or "") if href else None
        if not url or not title:
            continue
        card = _card(link)
        caption, credit = split_credit(_credit_line(card))
        kind, section = markup.label(card)
        teasers.append(
            Teaser(
                url=url,
                title=title,
                post_id=_post_id(card),
                dek=_first_text(_DEK(card)),
                article_type=kind,
                section=section,
                image_caption=caption,
                image_credit=credit,
            )
        )
    return teasers


def _card(link: HtmlElement) -> HtmlElement:
    """The innermost teaser card around a headline link."""
    found = _CARD(link)
    return found[-1] if found else link


def _first_text(elements: list[HtmlElement]) -> str | None:
    return next((t for t in (text_of(e) for e in elements) if t), None)


def _credit_line(card: HtmlElement) -> str | None:
    for element in _CREDIT_LINES(card):
        text = text_of(element)
        if text and (is_lead_credit_line(text) or has_class_name(element, "photo-credit")):
            return text
    return None


def has_class_name(element: HtmlElement, name: str) -> bool:
    return name in (element.get("class") or "").split()


def _post_id(card: HtmlElement) -> int | None:
    for element in (card, *card.iterancestors()):
        for value in (element.get("elid"), element.get("data-post-id")):
            if value and value.strip().isdigit():
                return int(value)
        match = _POST_CLASS.search(element.get("class") or "")
        if match:
            return int(match.group(1))
    return None


def _json_teasers(text: str, base: str) -> list[Teaser]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise NotAnArticle(f"not load-more JSON: {err}") from err
    sources = data.get("posts_by_source") if isinstance(data, dict) else None
    if not isinstance(sources, dict):
        raise NotAnArticle("not load-more JSON: no posts_by_source")
    teasers = []
    for posts in sources.values():
        for post in posts if isinstance(posts, list) else []:
            if isinstance(post, dict):
                teaser = _json_teaser(post, base)
                if teaser is not None:
                    teasers.append(teaser)
    return teasers


def _field(post: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = post.get(name)
        if isinstance(value, str) and collapse(value):
            return collapse(value)
    return None


def _json_teaser(post: dict[str, Any], base: str) -> Teaser | None:
    href = _field(post, "post_url", "url", "permalink", "link")
    url = canonical(absolute(base, href) or "") if href else None
    title = _field(post, "headline", "title")
    if not url or not title:
        return None
    post_id = post.get("id", post.get("post_id"))
    if isinstance(post_id, str) and post_id.isdigit():
        post_id = int(post_id)
    caption, credit = split_credit(_field(post, "photo_credit", "image_credit"))
    section = post.get("section")
    if isinstance(section, dict):
        section = section.get("title") or section.get("name")
    return Teaser(
        url=url,
        title=title,
        post_id=post_id if isinstance(post_id, int) and not isinstance(post_id, bool) else None,
        dek=_field(post, "subheadline", "dek", "description"),
        section=_field({"section": section}, "section") or _field(post, "section_label"),
        image_caption=caption,
        image_credit=credit,
    )
