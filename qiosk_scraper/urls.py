"""URL canonicalisation: one spelling per page, so one article is one row.

``canonicalize`` lowercases scheme and host, drops the default port, the fragment and the
tracking parameters seen on the outlet's links (``utm_*``, ``ref``, ``ct``, ``mc_cid``,
``mc_eid``, ``fbclid``, plus ``gclid``), and gives every path that does not name a file
(``/golden-dome``, ``/2019/10/01/long-slug``) a trailing slash, the form the outlet's own
``rel=canonical`` links use. Other query parameters keep their order and spelling (image and
load-more URLs depend on them).
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit, urlunsplit

TRACKING_PARAMETERS = frozenset({"ref", "ct", "mc_cid", "mc_eid", "fbclid", "gclid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_parameter(name: str) -> bool:
    """True for a query parameter that only says where a reader came from."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith("utm_")


def canonicalize(url: str) -> str:
    """The canonical spelling of ``url`` (absolute http(s) URLs; others come back unchanged
    apart from white space).

    >>> canonicalize("HTTPS://ResponsibleStatecraft.org/golden-dome?utm_source=x#top")
    'https://responsiblestatecraft.org/golden-dome/'
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    last = path.rsplit("/", 1)[-1]
    if last and "." not in last:
        path += "/"
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not is_tracking_parameter(unquote_plus(pair.split("=", 1)[0]))
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def same_site(url: str, site: str) -> bool:
    """True when ``url`` is on the host (and port) of ``site``; ``www.`` is ignored."""
    a, b = urlsplit(canonicalize(url)), urlsplit(canonicalize(site))
    return a.scheme in _DEFAULT_PORTS and _bare(a.netloc) == _bare(b.netloc)


def _bare(netloc: str) -> str:
    return netloc.removeprefix("www.")
