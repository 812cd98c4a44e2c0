"""The body: trafilatura run on the article's body container (or on the whole page when the
markup has none), turned into the record's blocks, links and in-body images.

Before trafilatura sees the container, a copy of it loses what is not body text: scripts,
share/ad/pager widgets, in-body image captions and credits (kept as :class:`Image` records)
and the "Top photo credit:" line (kept as the lead image's credit). After it, blocks are read
from its XML (``p``, ``head``, list ``item``, quote paragraphs, table ``row``) and every
boilerplate block of the outlet is dropped.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.settings import Document

from qiosk_scraper.article import Image, Link
from qiosk_scraper.extract.credits import (
    is_lead_credit_line,
    split_caption,
    split_credit,
    strip_label,
    unwrap,
)
from qiosk_scraper.extract.dom import Elements, absolute, collapse, has_class, image_src, text_of

# Boilerplate of the outlet's templates (outlet-anatomy.md section 5), compared case-blind
# against whole blocks.
BOILERPLATE = frozenset(
    s.casefold()
    for s in (
        "Follow us on social",
        "google cta",
        "Want more of our stories on Google?",
        "Click here to make us a Preferred Source.",
        "LATEST",
        "QIOSK",
        "Newsletter",
        "keep reading",
        "Show less",
        "keep readingShow less",
        "keep reading Show less",
        "More from",
    )
)
_BOILERPLATE_PREFIXES = ("subscribe now to our weekly round-up",)
# Promo lines inside a body ("ALSO READ: <linked headline>"): links to other stories, not text
_PROMO = re.compile(
    r"^(?:also\s+read|read\s+(?:more|also|next)|related(?:\s+(?:story|stories|articles?))?"
    r"|see\s+(?:also|more)|more\s+(?:from|on)\s+[^:]{1,40}|recommended|don'?t\s+miss)\s*:\s*\S",
    re.I,
)

_NOISE = Elements(
    "|".join(
        [
            ".//script",
            ".//style",
            ".//noscript",
            ".//template",
            f".//*[{has_class('widget__shares')}]",
            f".//*[{has_class('share-panel')}]",
            f".//*[{has_class('ad-tag')}]",
            ".//*[contains(@class, 'rblad-')]",
            f".//*[{has_class('around-the-web')}]",
            f".//*[{has_class('post-pager')}]",
            f".//*[{has_class('regwall-container')}]",
        ]
    )
)
_IMAGES = Elements(".//img")
_CAPTION = Elements(f".//small[{has_class('media-caption')}]")
_PHOTO_CREDIT = Elements(f".//small[{has_class('media-photo-credit')}]")
_IMAGE_SMALLS = Elements(f".//small[{has_class('image-media')}]")
# generic captions and credits of a figure: figcaption, [class*=caption], .credit, .photo-credit
_CREDITS = Elements(".//*[contains(@class, 'credit')][not(self::small)]")
_CAPTIONS = Elements(".//figcaption|.//*[contains(@class, 'caption')][not(self::small)]")

_WORD = re.compile(r"\w+")
_BLOCK_TAGS = frozenset({"p", "head", "item", "quote", "list", "table", "code", "div", "row"})


@dataclass
class Body:
    blocks: list[str] = field(default_factory=list)
    block_links: list[list[Link]] = field(default_factory=list)  # the links of each block
    images: list[Image] = field(default_factory=list)
    lead_credit: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.blocks)

    @property
    def links(self) -> list[Link]:
        return [link for links in self.block_links for link in links]

    def add(self, block: str, links: list[Link]) -> None:
        self.blocks.append(block)
        self.block_links.append(links)

    def drop(self, text: str) -> None:
        """Remove every block that is exactly ``text`` (case-blind), with its links."""
        folded = text.casefold()
        kept = [
            (b, k)
            for b, k in zip(self.blocks, self.block_links, strict=True)
            if b.casefold() != folded
        ]
        self.blocks = [b for b, _ in kept]
        self.block_links = [k for _, k in kept]


def is_boilerplate(block: str, extra: Iterable[str] = ()) -> bool:
    """True for a block that is one of the outlet's boilerplate strings (or one of ``extra``)."""
    folded = block.casefold()
    if folded in BOILERPLATE or folded.startswith(_BOILERPLATE_PREFIXES):
        return True
    return any(folded == e.casefold() for e in extra)


def is_promo(block: str) -> bool:
    """True for a promo line ("ALSO READ: ...", "Related: ...") inside a body."""
    return _PROMO.match(block) is not None


def _image_holder(img: etree._Element, stop: etree._Element) -> etree._Element:
    """The nearest block around an in-body image (its ``p.shortcode-media`` or figure)."""
    for ancestor in img.iterancestors():
        if ancestor is stop:
            break
        if ancestor.tag in ("p", "figure", "div"):
            return ancestor
    parent = img.getparent()
    return parent if parent is not None else stop


def is_figure(holder: etree._Element) -> bool:
    """A holder that is only an image with its caption (``figure``, ``div.wp-caption``)."""
    return holder.tag == "figure" or "caption" in (holder.get("class") or "")


def caption_and_credit(holder: etree._Element) -> tuple[str | None, str | None]:
    """Caption and credit of an in-body image: the CMS's ``small.image-media`` elements, else
    a figure's credit element (``.credit``, ``.photo-credit``) and caption (``figcaption``,
    ``[class*=caption]``), split by :func:`split_caption` when no credit element says it."""
    captions = [text_of(e) for e in _CAPTION(holder)]
    credits = [text_of(e) for e in _PHOTO_CREDIT(holder)]
    caption_text = " ".join(c for c in captions if c) or None
    credit_text = " ".join(c for c in credits if c) or None
    if caption_text or credit_text or not is_figure(holder):
        if credit_text is None:
            return split_credit(caption_text)
        return caption_text, unwrap(credit_text)
    credit_text = next((t for t in map(text_of, _CREDITS(holder)) if t), None)
    caption_text = next((t for t in map(text_of, _CAPTIONS(holder)) if t), None)
    if credit_text is None:
        return split_caption(caption_text)
    if caption_text:
        caption_text = collapse(caption_text.replace(credit_text, "")) or None
    return caption_text, strip_label(unwrap(credit_text))


def _take_images(container: etree._Element, base_url: str) -> list[Image]:
    """Record the in-body images and remove them with their captions and credits."""
    images = []
    for img in _IMAGES(container):
        if not any(a is container for a in img.iterancestors()):  # in a figure already taken
            continue
        src = absolute(base_url, image_src(img) or "")
        holder = _image_holder(img, container)
        if src and image_src(img):
            caption, credit = caption_and_credit(holder)
            images.append(Image(src, img.get("alt") or "", caption, credit))
        _drop(holder if holder is not container and is_figure(holder) else img)
    for small in _IMAGE_SMALLS(container):
        _drop(small)
    return images


def _drop(element: etree._Element) -> None:
    """Remove an element, keeping its tail text in place."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _take_lead_credit(container: etree._Element) -> str | None:
    """Remove the "Top photo credit: ..." line(s); return the first one's text."""
    found = None
    # iter(), not an XPath union: libxml2 merges union node-sets in quadratic time
    for element in list(container.iter("p", "div", "figcaption", "small")):
        if element.getparent() is None:  # inside an element already removed
            continue
        text = text_of(element)
        if text and is_lead_credit_line(text):
            found = found or text
            _drop(element)
    return found


def _strip_classes(container: etree._Element) -> None:
    """Drop class and id attributes: inside the chosen container every element left is body
    text, and trafilatura's class heuristics would throw out e.g. an embedded tweet
    (``div.rm-embed``) or the ``div.body.js-expandable`` container itself; and figures left
    (tweets, tables of the block editor) become plain blocks, which trafilatura keeps."""
    for element in container.iter(tag=etree.Element):
        element.attrib.pop("class", "")
        element.attrib.pop("id", "")
        if element.tag == "figure":  # an embed or table block, its image already taken
            element.tag = "div"


def _absolutize(container: etree._Element, base_url: str) -> None:
    for anchor in container.iter("a"):
        href = (anchor.get("href") or "").strip()
        resolved = absolute(base_url, href) if href else None
        if resolved:
            anchor.set("href", resolved)


def container_body(container: HtmlElement, base_url: str, extra: Iterable[str] = ()) -> Body:
    """The body of a RebelMouse body container (``div.body-description`` / ``div.body``)."""
    clone = copy.deepcopy(container)
    for element in _NOISE(clone):
        _drop(element)
    images = _take_images(clone, base_url)
    lead_credit = _take_lead_credit(clone)
    _absolutize(clone, base_url)
    _strip_classes(clone)
    root = lxml.html.Element("html")
    article = etree.SubElement(etree.SubElement(root, "body"), "article")
    article.append(clone)
    document = _trafilatura(root, fast=True, url=None, metadata=None)
    body = blocks_from_xml(document.body if document is not None else None, extra)
    body.images = images
    body.lead_credit = body.lead_credit or lead_credit
    return body


def _trafilatura(
    tree: etree._Element, *, fast: bool, url: str | None, metadata: dict[str, Any] | None
) -> Document | None:
    """trafilatura's extraction; ``metadata``: extract it too, with these htmldate settings.
    On a whole page (not fast) it favours precision: the page's teasers and widgets are the
    usual surplus, and the record's body is cited."""
    result = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        favor_precision=False,
        include_comments=False,
        include_tables=True,
        include_links=True,
        with_metadata=metadata is not None,
        date_extraction_params=metadata,
    )
    return result if isinstance(result, Document) else None


def date_params(fetched_at: datetime) -> dict[str, Any]:
    """htmldate settings bounded by the fetch day (htmldate would otherwise read the clock)."""
    return {"original_date": True, "extensive_search": False, "max_date": f"{fetched_at:%Y-%m-%d}"}


def page_body(
    tree: HtmlElement, url: str, fetched_at: datetime, extra: Iterable[str] = ()
) -> tuple[Body, Document | None]:
    """The body of a page without the outlet's body container: trafilatura on the whole page
    (it copies the tree), with its metadata as the fallback layer."""
    document = _trafilatura(tree, fast=False, url=url, metadata=date_params(fetched_at))
    body = blocks_from_xml(document.body if document is not None else None, extra)
    return _without_page_noise(body), document


# Lines of a page's furniture that trafilatura may keep: a lone link or timestamp, a call to act,
# a widget's heading
_STRAY = re.compile(
    r"^(?:https?://\S+|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?"
    r"|(?:follow|subscribe|sign up|click here|like this story|share this|tell us what you think"
    r"|order reprints|print article|have a tip)\b.{0,200})$",
    re.I,
)
_FURNITURE = frozenset(
    (
        "don't miss", "don’t miss", "you may also like", "you might also like", "related",
        "related articles", "related stories", "recommended", "advertisement", "comments",
        "share", "tags", "thank you", "sorry!", "leave a reply", "leave a comment", "trending",
    )
)  # fmt: skip
_LINK_RUN = 3  # this many link-only blocks in a row are a list of teasers


def _is_stray(block: str) -> bool:
    return _STRAY.match(block) is not None or block.casefold().rstrip(" .…:") in _FURNITURE


def _link_only(block: str, links: list[Link]) -> bool:
    """True when every word of ``block`` is the text of one of its links."""
    words = len(_WORD.findall(block))
    return bool(links) and words <= len(_WORD.findall(" ".join(k.text for k in links)))


def _teaser_runs(flags: list[bool]) -> set[int]:
    """Indexes of the blocks in lists of teasers: at least ``_LINK_RUN`` link-only blocks, each
    within two blocks of the previous one (a headline link, then maybe its one-line dek)."""
    linked = [i for i, flag in enumerate(flags) if flag]
    groups: list[list[int]] = []
    for index in linked:
        if groups and index - groups[-1][-1] <= 2:
            groups[-1].append(index)
        else:
            groups.append([index])
    dropped: set[int] = set()
    for group in (g for g in groups if len(g) >= _LINK_RUN):
        contiguous = group[-1] - group[0] + 1 == len(group)
        trailing = group[-1] >= len(flags) - 2  # teasers closing the page, deks between
        if contiguous or trailing:
            dropped.update(range(group[0], len(flags) if trailing else group[-1] + 1))
    return dropped


def _without_page_noise(body: Body) -> Body:
    """The body of a whole page without stray furniture lines and lists of teasers."""
    flags = [_link_only(b, k) for b, k in zip(body.blocks, body.block_links, strict=True)]
    teasers = _teaser_runs(flags)
    cleaned = Body(images=body.images, lead_credit=body.lead_credit)
    for index, (block, links) in enumerate(zip(body.blocks, body.block_links, strict=True)):
        if index not in teasers and not _is_stray(block):
            cleaned.add(block, links)
    return cleaned


def blocks_from_xml(xml: etree._Element | None, extra: Iterable[str] = ()) -> Body:
    """Blocks and links from trafilatura's XML body: one block per paragraph, heading, list
    item, quote paragraph, code block and table row (cells joined by `` | ``)."""
    body = Body()
    if xml is None:
        return body
    extra = tuple(extra)
    parts: list[str] = []
    pending: list[Link] = []

    def flush() -> None:
        block = collapse("".join(parts))
        parts.clear()
        if not block:
            pending.clear()
            return
        if is_lead_credit_line(block):
            body.lead_credit = body.lead_credit or block
        elif not is_boilerplate(block, extra) and not is_promo(block):
            body.add(block, list(pending))
        pending.clear()

    walker = etree.iterwalk(xml, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if event == "start":
            if tag in _BLOCK_TAGS:
                flush()
            if tag == "row":
                parts.append(" | ".join(text_of(cell) for cell in element.iter("cell")))
                pending.extend(_links(element.iter("ref")))
                walker.skip_subtree()
                continue
            if tag == "lb":
                parts.append(" ")
            elif tag == "ref":
                pending.extend(_links([element]))
            parts.append(element.text or "")
        else:
            if tag in _BLOCK_TAGS:
                flush()
            if element is not xml:
                parts.append(element.tail or "")
    flush()
    return body


def _links(refs: Iterable[etree._Element]) -> list[Link]:
    return [Link(ref.get("target", ""), text_of(ref)) for ref in refs if ref.get("target")]
