"""What the crawl refuses to fetch or to hand on, and why: the policies behind the guard
middlewares (:mod:`qiosk_scraper.middlewares`), kept free of Scrapy plumbing so they can be
read and tested on their own.

- URLs (:func:`url_refusal`): only http(s), only the site's own host and port (``www.`` aside),
  and, when the site is public, never an address that is private, loopback, link-local or
  otherwise not globally reachable. A local site (the mirror on 127.0.0.1) is allowed because it
  *is* the site; another local name for it (``localhost``) is not.
- Redirects (:func:`redirect_refusal`): the same rules for the target, plus loops and chains
  longer than ``REDIRECT_MAX_TIMES``.
- Content codings (:func:`coding_refusal`): a gzip or deflate body must decode whole. Scrapy's
  own gunzip keeps whatever came out before a broken or cut stream, which would archive half a
  page; this check refuses such bodies instead, and bodies that decode to more than the cap.
- Pages (:func:`page_refusal`): an article or listing answer must be an HTML page with a body.
- Charsets (:func:`repair_charset`): bytes that contradict their declared charset (cp1252
  declared UTF-8), or a page with no charset whose bytes are not UTF-8, are decoded as
  Windows-1252 (what browsers do for a Western page without a usable declaration) and handed on
  as UTF-8, with a note that goes to ``errors``; bytes no charset explains are refused.

Every refusal is a :class:`Refused` (an ``IgnoreRequest``, so it reaches the request's
errback) carrying a stable ``kind`` for ``errors.kind`` (see :mod:`qiosk_scraper.failures`).
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from qiosk_scraper.urls import same_site

# The statuses of a redirect, which the crawl follows itself (and guards).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_META_CHARSET_TEXT = re.compile(_META_CHARSET.pattern.decode("ascii"), re.I)
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# Labels that mean Windows-1252 in every browser (the WHATWG Encoding standard).
_CP1252_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "ascii", "us-ascii"})


class Refused(IgnoreRequest):
    """A request or response the crawl will not follow or archive; ``kind`` names the rule."""

    def __init__(self, kind: str, reason: str, capture_id: int | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.capture_id = capture_id  # the response that showed it, when there was one


@dataclass(frozen=True)
class Refusal:
    kind: str
    reason: str


# -- URLs ----------------------------------------------------------------------------------


def address_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host name spells literally, or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address reachable on the public internet (not private, loopback,
    link-local, reserved, multicast or unspecified)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def is_local_host(host: str) -> bool:
    """True for a host that names this machine or a private network: an address that is not
    public, or a local name (``localhost``, ``*.localhost``, ``*.local``)."""
    host = host.lower().rstrip(".")
    address = address_of(host)
    if address is not None:
        return not is_public_address(address)
    return host in _LOCAL_NAMES or host.endswith((".localhost", ".local"))


def url_refusal(url: str, site: str) -> Refusal | None:
    """Why the crawl of ``site`` must not request ``url`` (None when it may)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = url if len(url) <= 80 else url[:77] + "..."
        return Refusal("scheme", f"not an http(s) URL: {shown}")
    host = (parts.hostname or "").lower()
    if not host:
        return Refusal("offsite", f"no host in {url}")
    site_host = (urlsplit(site).hostname or "").lower()
    local = is_local_host(host)
    if local and not is_local_host(site_host):
        return Refusal("private", f"{host} is a private, loopback or link-local address")
    if not same_site(url, site):
        what = "a private, loopback or link-local host" if local else "another host"
        return Refusal(
            "offsite", f"{parts.netloc} is {what}, not the site's {urlsplit(site).netloc}"
        )
    return None


def redirect_refusal(
    source: str, target: str, site: str, chain: list[str], max_hops: int
) -> Refusal | None:
    """Why a redirect from ``source`` to ``target`` must not be followed; ``chain`` is the
    URLs redirected through before ``source`` (Scrapy's ``redirect_urls``)."""
    refusal = url_refusal(target, site)
    if refusal is not None:
        kind = "redirect_scheme" if refusal.kind == "scheme" else "redirect_offsite"
        return Refusal(kind, f"redirect from {source} refused: {refusal.reason}")
    if target in (*chain, source):
        hops = " -> ".join([*chain, source, target])
        return Refusal("redirect_loop", f"redirect loop: {hops}")
    if len(chain) + 1 > max_hops:
        return Refusal(
            "too_many_redirects",
            f"more than {max_hops} redirects from {chain[0] if chain else source}",
        )
    return None


# -- bodies ----------------------------------------------------------------------------------


def coding_refusal(body: bytes, codings: list[str], max_size: int) -> Refusal | None:
    """Why a body sent with these ``Content-Encoding`` codings (in the order applied) is not
    usable: a gzip or deflate stream that is corrupt or cut short, or that decodes to more than
    ``max_size`` bytes (0: no cap). Other codings are left to Scrapy."""
    data = body
    for coding in reversed([c.strip().lower() for c in codings if c.strip()]):
        if coding in ("gzip", "x-gzip"):
            wbits = 16 + zlib.MAX_WBITS
        elif coding == "deflate":
            wbits = zlib.MAX_WBITS if data[:1] and (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS
        elif coding == "identity":
            continue
        else:
            return None
        try:
            data, whole = _inflate(data, wbits, max_size)
        except zlib.error as error:
            return Refusal("decode_error", f"corrupt {coding} body: {error}")
        except _TooLarge:
            return Refusal("oversized", f"{coding} body decodes to more than {max_size} bytes")
        if not whole:
            return Refusal("decode_error", f"{coding} body cut short: the stream does not end")
    return None


class _TooLarge(Exception):
    pass


def _inflate(data: bytes, wbits: int, max_size: int) -> tuple[bytes, bool]:
    """Decode one zlib-family stream in bounded chunks; (output, whether the stream ended)."""
    decoder = zlib.decompressobj(wbits)
    out = bytearray()
    chunk = decoder.decompress(data, 65536)
    while True:
        out += chunk
        if max_size and len(out) > max_size:
            raise _TooLarge
        if decoder.eof or not decoder.unconsumed_tail:
            break
        chunk = decoder.decompress(decoder.unconsumed_tail, 65536)
    if not decoder.eof:
        out += decoder.flush()
    return bytes(out), decoder.eof


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def page_refusal(body: bytes, content_type: str | None) -> Refusal | None:
    """Why an answer meant to be an HTML page (an article or a listing) is not one."""
    if not body.strip():
        return Refusal("empty_body", "the page has no body")
    declared = media_type(content_type)
    if declared is not None and declared not in HTML_TYPES:
        return Refusal("not_html", f"a {declared} answer, not an HTML page")
    if declared is None and not _looks_like_html(body):
        return Refusal("not_html", "no Content-Type and the body does not look like HTML")
    return None


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta"))


# -- charsets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CharsetRepair:
    """A page re-encoded as UTF-8: ``kind`` (``wrong_charset`` or ``missing_charset``) and what
    was wrong, for ``errors``."""

    body: bytes
    kind: str
    reason: str


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _CP1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charsets(body: bytes, content_type: str | None) -> list[tuple[str, str]]:
    """(where, codec) of each charset the answer declares: the Content-Type header, then the
    page's ``<meta>`` in its first 4 KB (codecs Python does not know are left out)."""
    found = []
    if content_type:
        for param in content_type.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and (codec := _codec(value)):
                found.append(("Content-Type header", codec))
    match = _META_CHARSET.search(body[:4096])
    if match and (codec := _codec(match.group(1).decode("ascii", "replace"))):
        found.append(("<meta> tag", codec))
    return found


def repair_charset(body: bytes, content_type: str | None) -> CharsetRepair | Refusal | None:
    """None when the page's bytes decode as it declares (or as UTF-8 when it declares
    nothing; a byte-order mark is always right). Otherwise the page re-encoded as UTF-8 (its
    ``<meta>`` charset rewritten to match) from the first declared charset that fits, else
    UTF-8, else Windows-1252; a refusal when none explains the bytes."""
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    declared = declared_charsets(body, content_type)
    wrong = [f"{where} says {codec}" for where, codec in declared if not _decodes(body, codec)]
    if not wrong and (declared or _decodes(body, "utf-8")):
        return None
    fitting = [codec for _, codec in declared if _decodes(body, codec)]
    codec = next((c for c in [*fitting, "utf-8", "cp1252"] if _decodes(body, c)), None)
    what = "; ".join(wrong) if wrong else "no charset declared"
    if codec is None:
        return Refusal("undecodable", f"{what}, and the bytes are neither UTF-8 nor cp1252")
    text = body.decode(codec)
    match = _META_CHARSET_TEXT.search(text[:4096])
    if match:
        text = text[: match.start(1)] + "utf-8" + text[match.end(1) :]
    kind = "wrong_charset" if wrong else "missing_charset"
    reason = f"{what}, but the bytes are not {'that' if wrong else 'UTF-8'}; decoded as {codec}"
    return CharsetRepair(text.encode("utf-8"), kind, reason)


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True
