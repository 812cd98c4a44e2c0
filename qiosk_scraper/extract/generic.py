"""The generic layer: conventions of news pages on any CMS, tried after the outlet's own layers
(the RebelMouse layer in :mod:`markup`, the WordPress layer in :mod:`wordpress`) and before
trafilatura's metadata.

Each helper reads one field and returns a typed value or None.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from lxml.html import HtmlElement

from qiosk_scraper.article import Author, Image
from qiosk_scraper.extract.body import caption_and_credit
from qiosk_scraper.extract.dom import Elements, absolute, collapse, image_src, text_of

_WORD = re.compile(r"\w+")
_BY = re.compile(r"^\s*(?:written\s+)?by[:\s]+", re.I)
_AND = re.compile(r"\s*(?:,\s*and\s+|\s+and\s+|\s*&\s*|\s*,\s*|\s*;\s*)\s*", re.I)
_TRUNCATED = ("...", "…")
# h1 elements of the page that are not site chrome
_HEADLINES = Elements(
    "//h1[not(ancestor::header[not(ancestor::article)]) and not(ancestor::nav)"
    " and not(ancestor::footer) and not(ancestor::aside)]"
)
_BYLINE_NAMES = Elements(
    "//a[@rel='author']|//*[@itemprop='author']//*[@itemprop='name']"
    "|//*[contains(@class, 'byline')]//a[contains(@href, '/author')]"
)


def split_names(text: str | None) -> list[str]:
    """Author names of one byline string: "A and B", "A, B and C", "A & B", "By A; B"."""
    text = _BY.sub("", collapse(text))
    if not text:
        return []
    names = [collapse(n) for n in _AND.split(text)]
    return list(dict.fromkeys(n for n in names if n))


def split_authors(authors: list[Author]) -> list[Author]:
    """Authors with every "A and B" name split in two (the URL kept only on a lone name)."""
    out: list[Author] = []
    for author in authors:
        names = split_names(author.name)
        if len(names) == 1:
            out.append(Author(names[0], author.url))
        else:
            out.extend(Author(name) for name in names)
    return list(dict.fromkeys(out))


def is_truncated(title: str | None) -> bool:
    """True for a title cut short with an ellipsis (an og:title limited in length)."""
    return bool(title) and title.rstrip().endswith(_TRUNCATED)  # type: ignore[union-attr]


def _tokens(text: str) -> set[str]:
    return {t.casefold() for t in _WORD.findall(text)}


def _matches(visible: str, structured: str) -> bool:
    """A visible headline and a structured title name the same story: one's words are mostly
    the other's (a truncated title is compared on the words it kept)."""
    seen, told = _tokens(visible), _tokens(structured.rstrip(". …"))
    if not seen or not told:
        return False
    return len(seen & told) >= 0.6 * min(len(seen), len(told))


def headline(tree: HtmlElement, structured: list[str]) -> str | None:
    """The visible headline: the h1 that names the story the structured titles name; without
    structured titles, the page's only h1."""
    texts = [t for t in (text_of(h) for h in _HEADLINES(tree)) if t]
    if not structured:
        return texts[0] if len(texts) == 1 else None
    return next((t for t in texts if any(_matches(t, s) for s in structured)), None)


_TITLE = Elements("//head/title")
_SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{1,60}$")


def document_title(tree: HtmlElement) -> str | None:
    """The document's ``<title>`` without a trailing " | Site name"."""
    found = _TITLE(tree)
    text = text_of(found[0]) if found else ""
    return _SITE_SUFFIX.sub("", text) or None if not is_truncated(text) else None


def byline(tree: HtmlElement) -> list[Author]:
    """Author links marked as such (``rel=author``, microdata, a byline's author links)."""
    names = [text_of(e) for e in _BYLINE_NAMES(tree)]
    return [Author(n) for n in dict.fromkeys(n for n in names if n and len(n) < 80)]


_SIZE_PARAMS = frozenset({"width", "height", "w", "h", "quality", "q", "coordinates", "crop",
                          "resize", "fit", "format", "auto", "dpr", "size"})  # fmt: skip


def same_asset(one: str, other: str) -> bool:
    """True when two image URLs are one asset in other crops or sizes: the same path (any
    host), and the same query once the size and crop parameters are left out."""
    a, b = urlsplit(one), urlsplit(other)
    if a.path.rstrip("/") != b.path.rstrip("/"):
        return False
    keep_a = {k: v for k, v in parse_qsl(a.query) if k.lower() not in _SIZE_PARAMS}
    keep_b = {k: v for k, v in parse_qsl(b.query) if k.lower() not in _SIZE_PARAMS}
    return keep_a == keep_b


_DEK_CLASSES = ("dek", "deck", "subhead", "sub-head", "subline", "standfirst", "summary",
                "subtitle", "excerpt", "teaser")  # fmt: skip
_DEKS = Elements(
    "//h2|//h3|//h4|" + "|".join(f"//*[contains(@class, '{name}')]" for name in _DEK_CLASSES)
)


def shown_as_dek(tree: HtmlElement, text: str) -> bool:
    """True when the page shows ``text`` as a dek: a heading or an element whose class names a
    dek (``sub-head``, ``standfirst`` ...), not a paragraph of the story."""
    return any(text_of(element) == text for element in _DEKS(tree))


_SCOPES = Elements("//*[@itemprop='articleBody']|//article|//main")
_FIGURES = Elements(
    ".//figure[.//img]"
    "|.//*[contains(@class, 'caption')][count(.//img) = 1][not(ancestor::figure)][not(.//figure)]"
)
_OUT_OF_STORY = ("aside", "nav", "footer", "header")


def story(tree: HtmlElement) -> HtmlElement | None:
    """The element holding the story: of ``[itemprop=articleBody]``, ``article`` and ``main``,
    the one with the most paragraphs."""
    scopes = _SCOPES(tree)
    return max(scopes, key=lambda e: sum(1 for _ in e.iter("p")), default=None)


def figures(tree: HtmlElement, base_url: str) -> list[Image]:
    """The story's captioned images (``figure > img + figcaption``, ``[class*=caption]``), with
    caption and credit; an uncaptioned image is a teaser's or an icon, not the story's."""
    scope = story(tree)
    images: list[Image] = []
    for holder in _FIGURES(scope) if scope is not None else []:
        if any(a.tag in _OUT_OF_STORY for a in holder.iterancestors()):
            continue
        img = next(holder.iter("img"))
        src = absolute(base_url, image_src(img) or "") if image_src(img) else None
        caption, credit = caption_and_credit(holder)
        if src and (caption or credit) and all(i.url != src for i in images):
            images.append(Image(src, img.get("alt") or "", caption, credit))
    return images
