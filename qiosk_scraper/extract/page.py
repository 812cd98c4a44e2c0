"""From input bytes or text to one parsed lxml tree (parsed once, reused by every layer).

Bytes are decoded by the byte-order mark, else the page's declared charset (``<meta charset>``
or ``http-equiv`` content type in the first 4 KB), else UTF-8, else Windows-1252 (what browsers
assume for an English page whose bytes are not what it declares), else the best guess of
charset-normalizer, else Windows-1252 with replacement characters: never an exception.
"""

from __future__ import annotations

import codecs
import re

import lxml.html
from charset_normalizer import from_bytes
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import repair_faulty_html


class NotAnArticle(Exception):
    """The input is not an article page (a listing, an error page, not HTML at all ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
# HTML's encoding rules: these labels mean Windows-1252 in every browser.
_LATIN1_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "ascii", "us-ascii"})
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.I)
# trafilatura's parser settings, plus huge_tree: libxml2 otherwise stops at a text node over
# 10 MB (a page padded by a giant comment or inline script loses everything after it)
_PARSER = lxml.html.HTMLParser(
    collect_ids=False,
    remove_comments=True,
    remove_pis=True,
    huge_tree=True,
)


def declared_charset(data: bytes) -> str | None:
    """The codec named by the page's own ``<meta>`` in its first 4 KB, if Python knows it."""
    match = _META_CHARSET.search(data[:4096])
    if match is None:
        return None
    label = match.group(1).decode("ascii", "replace").lower()
    if label in _LATIN1_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_html(data: bytes) -> str:
    """Decode page bytes; see the module docstring for the order of evidence."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    for codec in (declared_charset(data) or "utf-8", "utf-8", "cp1252"):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):  # LookupError: a codec that is no text encoding
            continue
    guess = from_bytes(data[:20000]).best()
    if guess is not None and guess.encoding:
        return data.decode(guess.encoding, "replace")
    return data.decode("cp1252", "replace")


def parse_html(html: str | bytes) -> HtmlElement:
    """The page as an lxml tree; raises NotAnArticle when it is not HTML at all."""
    text = decode_html(html) if isinstance(html, bytes) else html
    text = _XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        raise NotAnArticle("empty page")
    text = repair_faulty_html(text, text[:50].lower())
    try:
        tree = lxml.html.fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as err:
        raise NotAnArticle(f"not an HTML page ({err})") from err
    if tree is None or len(tree) == 0:
        raise NotAnArticle("not an HTML page")
    if tree.tag != "html":  # a fragment: give it a document around it, as browsers do
        root = lxml.html.Element("html")
        etree.SubElement(root, "body").append(tree)
        tree = root
    return tree
