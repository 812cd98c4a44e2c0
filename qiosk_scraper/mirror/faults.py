"""Fault modes of the mirror (issue 8): the ways a real site fails, injected at chosen URLs so
that a crawler meets them through its normal discovery.

SPEC (``qiosk mirror serve --faults SPEC``, ``running_mirror(faults=SPEC)``): ``all``, or a
comma list of fault kinds, each optionally ``kind=value``; ``all`` can be combined with values
(``all,timeout=2,http_500=always``). Without faults the mirror is unchanged, byte for byte.

Kinds (stable names, meant to be compared with the crawler's ``errors.kind``), the URLs they
hit and what those answer; *N* counts requests to that exact path, GET and HEAD alike:

==================== ====================================================== ===================
kind                 answer                                                 value (default)
==================== ====================================================== ===================
http_500             500 for the first N requests, then the right page;     N or ``always`` (2)
                     2 articles and a tag page
http_503             the same with 503; 2 articles and ``/feeds/feed.rss``  N or ``always`` (2)
http_429             429 with ``Retry-After: S`` once, then the page;       S, whole seconds (1)
                     an article and ``/sitemap.xml``
timeout              the first answer only after S seconds, later ones at   S seconds (5)
                     once; an article
connection_reset     headers, half the body, then a TCP reset (RST), N      N or ``always`` (1)
                     times; an article
truncated_body       headers, half the body, then a clean close (so fewer   N or ``always`` (1)
                     bytes than Content-Length), N times; an article
wrong_charset        always: two articles in cp1252 bytes, one declared     -
                     UTF-8 (header and meta), one with no charset anywhere
malformed_html       always: an article whose page has a NUL byte, an       -
                     unclosed attribute quote, stray and mismatched tags,
                     invalid JSON-LD and no end (article markup intact)
oversized            always: an article padded to S MiB by an HTML comment  S MiB, >= 1 (10)
                     after ``<body>``, sent uncompressed
redirect_chain       an extra URL redirecting N times (301, 302, 307, 308,  N hops, 2-30 (4)
                     ...) to an article, which is served correctly
redirect_loop        an extra URL: A -> B -> A (301, 302)                   -
redirect_offsite     3 extra URLs: 301 to https://www.example.com/..., to   -
                     the mirror by another name (``localhost`` for
                     127.0.0.1; a request arriving there is in ``hits``),
                     to the link-local http://169.254.169.254/...
redirect_scheme      3 extra URLs: 301 to ``ftp:``, ``javascript:`` and    -
                     ``data:`` URLs
not_html             always: a PDF at one article's URL, a JPEG at          -
                     another's
corrupt_gzip         always: an article sent with ``Content-Encoding:       -
                     gzip`` (whatever the client accepts), its gzip
                     stream broken in the middle
empty_body           always: an article answering 200 with no body          -
conflicting_canonical an extra URL ``/<slug>-2/`` serving an article's page   -
                     whose rel=canonical, og:url and JSON-LD url name that
                     extra URL, not the article's own
==================== ====================================================== ===================

Reachability: faults on an article sit on its canonical path, which sitemaps, feeds and
listings link as usual; extra URLs are entered in the numbered sitemap right after the entry of
the article they are named after. Articles and extras are drawn from the plain articles (no
legacy or old-slug redirects), one kind per article, in an order fixed by the site's seed: the
same SPEC and site always give the same faults, and a kind hits the same URLs whatever else the
SPEC enables.

An article is *served correctly* when its canonical URL eventually answers the clean mirror's
bytes: every article except those with an ``always`` fault on that URL
(``FaultPlan.broken_slugs``); transient faults give the right page after their N failures, so
a crawler retrying at least ``FaultPlan.max_failures`` times gets them.

Python API::

    with running_mirror(articles=60, faults="all,timeout=2") as mirror:
        plan = mirror.faults                # FaultPlan
        plan.urls(mirror.base_url)          # {kind: [absolute URLs discovery finds]}
        plan.faults                         # (Fault(kind, path, slug, failures, note), ...)
        plan.broken_slugs()                 # never served correctly
        plan.gold(mirror.base_url)          # gold of the articles served correctly
"""

from __future__ import annotations

import gzip
import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from qiosk_scraper.mirror import render, vocab
from qiosk_scraper.mirror.answer import Served, serve
from qiosk_scraper.mirror.body import gold_body
from qiosk_scraper.mirror.images import colour_of, jpeg_bytes
from qiosk_scraper.mirror.model import Meta
from qiosk_scraper.mirror.site import _SITEMAP_PATH, MirrorError, Response, Site

KINDS = (
    "http_500",
    "http_503",
    "http_429",
    "timeout",
    "connection_reset",
    "truncated_body",
    "wrong_charset",
    "malformed_html",
    "oversized",
    "redirect_chain",
    "redirect_loop",
    "redirect_offsite",
    "redirect_scheme",
    "not_html",
    "corrupt_gzip",
    "empty_body",
    "conflicting_canonical",
)


class FaultSpecError(ValueError):
    """A fault SPEC that cannot be read; the message names the bad part."""


# ---------------------------------------------------------------------------- SPEC
def _failures(text: str) -> int | None:
    if text == "always":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError("expected a whole number of failures >= 1, or 'always'")


def _whole_seconds(text: str) -> int:
    if text.isdigit():
        return int(text)
    raise ValueError("expected whole seconds >= 0 (Retry-After takes no fractions)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 3600:
        raise ValueError("expected seconds, a number above 0 and below 3600")
    return value


def _mebibytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1 <= value <= 1024:
        raise ValueError("expected a size in MiB from 1 to 1024")
    return value


def _hops(text: str) -> int:
    if text.isdigit() and 2 <= int(text) <= 30:
        return int(text)
    raise ValueError("expected a whole number of redirects from 2 to 30")


Value = int | float | None
# kind -> (default, parser) for the kinds that take a value
PARAMETERS: dict[str, tuple[Value, Callable[[str], Value]]] = {
    "http_500": (2, _failures),
    "http_503": (2, _failures),
    "http_429": (1, _whole_seconds),
    "timeout": (5.0, _seconds),
    "connection_reset": (1, _failures),
    "truncated_body": (1, _failures),
    "oversized": (10.0, _mebibytes),
    "redirect_chain": (4, _hops),
}


@dataclass(frozen=True)
class FaultSpec:
    """The enabled kinds (in ``KINDS`` order) and every enabled kind's value."""

    kinds: tuple[str, ...]
    values: dict[str, Value] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        items = [item.strip() for item in text.split(",")]
        if items == [""]:
            raise FaultSpecError("empty: give 'all' or a comma list of fault kinds")
        chosen: set[str] = set()
        given: dict[str, Value] = {}
        seen: set[str] = set()
        for item in items:
            if not item:
                raise FaultSpecError(f"{text!r}: empty item between commas")
            name, has_value, raw = (part.strip() for part in item.partition("="))
            if name != "all" and name not in KINDS:
                raise FaultSpecError(
                    f"{item!r}: unknown fault kind; choose from all, {', '.join(KINDS)}"
                )
            if name in seen:
                raise FaultSpecError(f"{item!r}: {name} given twice")
            seen.add(name)
            if name == "all":
                if has_value:
                    raise FaultSpecError(f"{item!r}: all takes no value")
                chosen.update(KINDS)
                continue
            chosen.add(name)
            if has_value:
                if name not in PARAMETERS:
                    raise FaultSpecError(f"{item!r}: {name} takes no value")
                try:
                    given[name] = PARAMETERS[name][1](raw)
                except ValueError as error:
                    raise FaultSpecError(f"{item!r}: {error}") from error
        kinds = tuple(k for k in KINDS if k in chosen)
        values = {k: given.get(k, PARAMETERS[k][0]) for k in kinds if k in PARAMETERS}
        return cls(kinds, values)

    def __str__(self) -> str:
        parts = []
        for kind in self.kinds:
            if kind in self.values:
                value = self.values[kind]
                parts.append(f"{kind}={'always' if value is None else value}")
            else:
                parts.append(kind)
        return ",".join(parts)


# ---------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Fault:
    """One faulty URL. ``path`` is what discovery finds (the article's canonical path, a
    listing, or an extra URL); ``slug`` the article it serves or breaks (None for a listing,
    feed or sitemap, and for redirects that lead nowhere); ``failures`` the faulty answers
    before the right one (None: every answer is faulty; 0 for a redirect chain and a
    duplicate page, which answer as planned from the first request)."""

    kind: str
    path: str
    slug: str | None
    failures: int | None
    note: str

    @property
    def breaks_article(self) -> bool:
        """The article's canonical URL never answers its clean page."""
        return self.failures is None and self.slug is not None and self.kind in ARTICLE_KINDS


# Kinds whose faults sit on the article's own canonical path (the others are extra URLs).
ARTICLE_KINDS = frozenset(KINDS) - {
    "redirect_chain", "redirect_loop", "redirect_offsite", "redirect_scheme",
    "conflicting_canonical",
}  # fmt: skip
# Articles each kind takes from the pool (extra-URL kinds are named after theirs).
ARTICLES_PER_KIND = {"http_500": 2, "http_503": 2, "wrong_charset": 2, "not_html": 2}
ERROR_PAGES = {
    500: "500 Internal Server Error",
    503: "503 Service Temporarily Unavailable",
    429: "429 Too Many Requests",
}
PROBE_BASE = "http://mirror.invalid"


@dataclass
class Wire:
    """How to put an answer on the wire: after ``delay`` seconds, the status and headers, then
    the body, or only its first ``send`` bytes followed by a close (``reset``: a TCP RST)."""

    served: Served
    delay: float = 0.0
    send: int | None = None
    reset: bool = False


class Attempts:
    """Requests seen per path, for transient faults (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def next(self, path: str) -> int:
        """Count one more request to ``path``; returns its number (1 for the first)."""
        with self._lock:
            self._counts[path] += 1
            return self._counts[path]


def _plain(meta: Meta) -> bool:
    return (
        not meta.legacy_path
        and not meta.old_slugs
        and not meta.features & {"legacy_in_place", "legacy_redirect", "new_in_edition"}
        and "ghost_teaser" not in meta.flags
    )


class FaultPlan:
    """Which URLs of ``site`` fail how under ``spec``, and the answers they give."""

    def __init__(self, site: Site, spec: FaultSpec | str) -> None:
        self.site = site
        self.spec = FaultSpec.parse(spec) if isinstance(spec, str) else spec
        self._used = set(site.by_path) | set(site.redirects) | site.gone
        self._articles: dict[str, list[Meta]] = self._draw()
        self._content: dict[str, Content] = {}
        self._wire: dict[str, Fault] = {}
        self.extras: dict[str, list[str]] = {}  # article path -> extra sitemap entries
        faults: list[Fault] = []
        for kind in self.spec.kinds:
            faults.extend(getattr(self, f"_plan_{kind}")(self._articles[kind]))
        self.faults = tuple(faults)

    # -- what the crawler tests read -------------------------------------------------------
    def urls(self, base_url: str) -> dict[str, list[str]]:
        """Kind -> the absolute URLs of its faults, as discovery finds them."""
        base = base_url.rstrip("/")
        out: dict[str, list[str]] = {}
        for fault in self.faults:
            out.setdefault(fault.kind, []).append(base + fault.path)
        return out

    def broken_slugs(self) -> dict[str, str]:
        """Slug -> kind, for the articles never served correctly."""
        return {f.slug: f.kind for f in self.faults if f.breaks_article and f.slug}

    def correct_slugs(self) -> set[str]:
        """The live articles served correctly, at once or after their transient failures."""
        return set(self.site.by_slug) - set(self.broken_slugs())

    def gold(self, base_url: str) -> dict[str, dict[str, object]]:
        """``Site.gold`` of the articles served correctly."""
        broken = self.broken_slugs()
        return {s: r for s, r in self.site.gold(base_url).items() if s not in broken}

    @property
    def max_failures(self) -> int:
        """The most faulty answers a transient fault gives before the right one."""
        return max((f.failures or 0 for f in self.faults), default=0)

    def describe(self) -> Iterator[str]:
        for fault in self.faults:
            yield f"{fault.kind:<22} {fault.path}  {fault.note}"

    # -- serving -----------------------------------------------------------------------------
    def respond(self, target: str, base_url: str) -> Response:
        """``Site.respond`` with the content faults and the sitemap entries of extra URLs."""
        base = base_url.rstrip("/")
        path = urlsplit(target).path or "/"
        content = self._content.get(path)
        if content is not None:
            return self._content_answer(content, base)
        sitemap = _SITEMAP_PATH.match(path)
        if sitemap and self.extras:
            number = int(sitemap.group(1))
            if 1 <= number <= self.site.sitemap_pages() and sitemap.group(1) == str(number):
                return self.site.sitemap_response(number, base, self.extras)
        return self.site.respond(target, base)

    def answer(self, target: str, headers: dict[str, str], base_url: str, attempt: int) -> Wire:
        """The answer to request number ``attempt`` for this target's path."""
        fault = self._wire.get(urlsplit(target).path or "/")
        if fault is None or (fault.failures is not None and attempt > fault.failures):
            return Wire(serve(self.site, base_url, target, headers, self.respond))
        if fault.kind in ("http_500", "http_503", "http_429"):
            status = int(fault.kind[5:])
            title = ERROR_PAGES[status]
            body = (
                f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>\n"
            )
            out = [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
            if status == 429:
                out.append(("Retry-After", str(self.spec.values["http_429"])))
            return Wire(Served(status, out, body.encode()))
        fresh = {k: v for k, v in headers.items() if not k.startswith("if-")}
        served = serve(self.site, base_url, target, fresh, self.respond)
        if fault.kind == "timeout":
            delay = self.spec.values["timeout"]
            assert isinstance(delay, float)
            return Wire(served, delay=delay)
        half = len(served.body) // 2
        return Wire(served, send=half, reset=fault.kind == "connection_reset")

    # -- drawing the articles ----------------------------------------------------------------
    def _draw(self) -> dict[str, list[Meta]]:
        """Articles for every kind (enabled or not, so that a kind's URLs never depend on the
        rest of the SPEC), from the plain articles shuffled by the site's seed."""
        pool = sorted((m for m in self.site.metas if _plain(m)), key=lambda m: m.index)
        random.Random(f"qiosk-mirror-faults/{self.site.seed}").shuffle(pool)
        drawn: dict[str, list[Meta]] = {}
        for kind in KINDS:
            wanted = ARTICLES_PER_KIND.get(kind, 1)
            test = self._cp1252_safe if kind == "wrong_charset" else None
            chosen = list(itertools.islice((m for m in pool if test is None or test(m)), wanted))
            if len(chosen) < wanted:
                raise MirrorError(f"faults: too few plain articles for {kind}; serve more articles")
            drawn[kind] = chosen
            pool = [m for m in pool if m not in chosen]
        return drawn

    def _cp1252_safe(self, meta: Meta) -> bool:
        """The page encodes in cp1252 and its body has non-ASCII text (so a wrong decoding
        shows)."""
        page = render.article_page(self.site, meta, PROBE_BASE)
        try:
            page.encode("cp1252")
        except UnicodeEncodeError:
            return False
        body, _ = gold_body(self.site.body(meta.index), PROBE_BASE)
        return not body.isascii()

    def _extra(self, meta: Meta, name: str) -> str:
        """A free path ``/<slug>-<name>/`` for an extra URL named after the article."""
        return self._free(f"/{meta.slug}-{name}/")

    def _free(self, path: str) -> str:
        while path in self._used:
            path = path[:-1] + "-x/"
        self._used.add(path)
        return path

    # -- one method per kind: registers the answers, returns the faults ------------------------
    def _transient(self, kind: str, metas: list[Meta], others: list[str]) -> list[Fault]:
        value = self.spec.values[kind]
        failures: int | None = 1  # http_429 and timeout: once
        if kind in ("http_500", "http_503", "connection_reset", "truncated_body"):
            assert value is None or isinstance(value, int)
            failures = value
        what = {
            "http_500": "500",
            "http_503": "503",
            "http_429": f"429 with Retry-After: {value}",
            "timeout": f"answer after {value} s",
            "connection_reset": "half the body, then a TCP reset",
            "truncated_body": "half the body, then a close",
        }[kind]
        note = f"{what}, {'always' if failures is None else f'x{failures}, then the page'}"
        faults = [Fault(kind, m.path, m.slug, failures, note) for m in metas]
        faults += [Fault(kind, path, None, failures, note) for path in others]
        for fault in faults:
            self._wire[fault.path] = fault
        return faults

    def _plan_http_500(self, metas: list[Meta]) -> list[Fault]:
        tag = next(t for t in sorted(vocab.TAG_BY_SLUG) if self.site.listing(f"tag:{t}"))
        return self._transient("http_500", metas, [f"/tag/{tag}/"])

    def _plan_http_503(self, metas: list[Meta]) -> list[Fault]:
        return self._transient("http_503", metas, ["/feeds/feed.rss"])

    def _plan_http_429(self, metas: list[Meta]) -> list[Fault]:
        return self._transient("http_429", metas, ["/sitemap.xml"])

    def _plan_timeout(self, metas: list[Meta]) -> list[Fault]:
        return self._transient("timeout", metas, [])

    def _plan_connection_reset(self, metas: list[Meta]) -> list[Fault]:
        return self._transient("connection_reset", metas, [])

    def _plan_truncated_body(self, metas: list[Meta]) -> list[Fault]:
        return self._transient("truncated_body", metas, [])

    def _content_fault(self, kind: str, meta: Meta, how: str, note: str) -> Fault:
        self._content[meta.path] = Content(how, meta)
        return Fault(kind, meta.path, meta.slug, None, note)

    def _plan_wrong_charset(self, metas: list[Meta]) -> list[Fault]:
        declared, undeclared = metas
        return [
            self._content_fault("wrong_charset", declared, "cp1252_declared_utf8",
                                "cp1252 bytes declared UTF-8"),
            self._content_fault("wrong_charset", undeclared, "cp1252_undeclared",
                                "cp1252 bytes, no charset declared"),
        ]  # fmt: skip

    def _plan_malformed_html(self, metas: list[Meta]) -> list[Fault]:
        return [self._content_fault("malformed_html", metas[0], "malformed", "broken markup")]

    def _plan_oversized(self, metas: list[Meta]) -> list[Fault]:
        note = f"{self._oversized_bytes()} bytes, uncompressed"
        return [self._content_fault("oversized", metas[0], "oversized", note)]

    def _oversized_bytes(self) -> int:
        mib = self.spec.values["oversized"]
        assert isinstance(mib, float)
        return int(mib * 1024 * 1024)

    def _plan_not_html(self, metas: list[Meta]) -> list[Fault]:
        return [
            self._content_fault("not_html", metas[0], "pdf", "a PDF"),
            self._content_fault("not_html", metas[1], "jpeg", "a JPEG image"),
        ]

    def _plan_corrupt_gzip(self, metas: list[Meta]) -> list[Fault]:
        note = "Content-Encoding: gzip, broken mid-stream"
        return [self._content_fault("corrupt_gzip", metas[0], "corrupt_gzip", note)]

    def _plan_empty_body(self, metas: list[Meta]) -> list[Fault]:
        return [self._content_fault("empty_body", metas[0], "empty", "200 with no body")]

    def _redirect(self, meta: Meta, name: str, status: int, location: str) -> str:
        path = self._extra(meta, name)
        self._content[path] = Content("redirect", meta, status, location)
        return path

    def _plan_redirect_chain(self, metas: list[Meta]) -> list[Fault]:
        (meta,) = metas
        hops = self.spec.values["redirect_chain"]
        assert isinstance(hops, int)
        paths = [self._extra(meta, f"hop-{n}") for n in range(1, hops + 1)] + [meta.path]
        for n, (source, target) in enumerate(itertools.pairwise(paths)):
            self._content[source] = Content("redirect", meta, (301, 302, 307, 308)[n % 4], target)
        self.extras.setdefault(meta.path, []).append(paths[0])
        note = f"{hops} redirects (301, 302, 307, 308, ...) to {meta.path}"
        return [Fault("redirect_chain", paths[0], meta.slug, 0, note)]

    def _plan_redirect_loop(self, metas: list[Meta]) -> list[Fault]:
        (meta,) = metas
        first, second = self._extra(meta, "loop-a"), self._extra(meta, "loop-b")
        self._content[first] = Content("redirect", meta, 301, second)
        self._content[second] = Content("redirect", meta, 302, first)
        self.extras.setdefault(meta.path, []).append(first)
        return [Fault("redirect_loop", first, None, None, f"301 to {second}, which 302s back")]

    def _plan_redirect_offsite(self, metas: list[Meta]) -> list[Fault]:
        (meta,) = metas
        targets = {
            "offsite-host": f"https://www.example.com/{meta.slug}/",
            "offsite-loopback": f"{LOOPBACK}/offsite-landing/{meta.slug}/",
            "offsite-link-local": "http://169.254.169.254/latest/meta-data/",
        }
        return self._redirects("redirect_offsite", meta, targets)

    def _plan_redirect_scheme(self, metas: list[Meta]) -> list[Fault]:
        (meta,) = metas
        targets = {
            "ftp": f"ftp://ftp.example.com/pub/{meta.slug}.pdf",
            "javascript": "javascript:alert(document.domain)",
            "data": "data:text/html;base64,PGgxPmhlbGxvPC9oMT4=",
        }
        return self._redirects("redirect_scheme", meta, targets)

    def _redirects(self, kind: str, meta: Meta, targets: dict[str, str]) -> list[Fault]:
        faults = []
        for name, location in targets.items():
            path = self._extra(meta, name)
            self._content[path] = Content("redirect", meta, 301, location)
            self.extras.setdefault(meta.path, []).append(path)
            shown = location.replace(LOOPBACK, "http://localhost:PORT")
            faults.append(Fault(kind, path, None, None, f"301 to {shown}"))
        return faults

    def _plan_conflicting_canonical(self, metas: list[Meta]) -> list[Fault]:
        (meta,) = metas
        path = self._free(f"/{meta.slug}-2/")
        self._content[path] = Content("duplicate", meta, location=path)
        self.extras.setdefault(meta.path, []).append(path)
        note = f"{meta.path} again, its canonical naming {path}"
        return [Fault("conflicting_canonical", path, meta.slug, 0, note)]

    # -- the content answers -------------------------------------------------------------------
    def _content_answer(self, content: Content, base: str) -> Response:
        meta = content.meta
        if content.how == "redirect":
            location = content.location.replace(LOOPBACK, loopback_alias(base))
            if location.startswith("/"):
                location = base + location
            return Response(content.status, b"", location=location)
        page = render.article_page(self.site, meta, base)
        body: bytes
        content_type = "text/html; charset=utf-8"
        headers: list[tuple[str, str]] = []
        compress = True
        if content.how == "cp1252_declared_utf8":
            body = page.encode("cp1252")
        elif content.how == "cp1252_undeclared":
            body = page.replace(META_CHARSET, "", 1).encode("cp1252")
            content_type = "text/html"
        elif content.how == "malformed":
            body = malform(page).encode()
        elif content.how == "oversized":
            body = pad(page.encode(), self._oversized_bytes())
            compress = False
        elif content.how == "pdf":
            body, content_type = pdf_bytes(meta.title), "application/pdf"
        elif content.how == "jpeg":
            body, content_type = jpeg_bytes(colour_of(meta.slug)), "image/jpeg"
        elif content.how == "corrupt_gzip":
            body, compress = corrupt_gzip(page.encode()), False
            headers.append(("Content-Encoding", "gzip"))
        elif content.how == "empty":
            body = b""
        elif content.how == "duplicate":
            page = render.article_page(self.site, meta, base, canonical=base + content.location)
            body = page.encode()
        else:
            raise ValueError(f"unknown content fault {content.how!r}")
        return Response(200, body, content_type, last_modified=meta.last_change,
                        extra_headers=headers, compress=compress)  # fmt: skip


@dataclass(frozen=True)
class Content:
    """A content fault's answer: ``how`` names it (see ``FaultPlan._content_answer``);
    ``location`` is a redirect's target (a path on the site, or an absolute URL) or the URL
    path a duplicate names as canonical."""

    how: str
    meta: Meta
    status: int = 200
    location: str = ""


LOOPBACK = "http://loopback-alias"  # replaced by the mirror's address under another name
META_CHARSET = '<meta charset="utf-8"/>\n'


def loopback_alias(base_url: str) -> str:
    """The mirror's own address under another host name: ``localhost`` for 127.0.0.1, and
    127.0.0.1 for any other host."""
    parts = urlsplit(base_url)
    host = "localhost" if parts.hostname == "127.0.0.1" else "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def malform(page: str) -> str:
    """The page with its markup broken the ways real pages are, the article's own markup
    untouched: a NUL byte, an attribute quote never closed, stray and mismatched end tags, a
    second ``<head>``, JSON-LD cut in half, and no end (after the footer)."""
    start = page.index('<script type="application/ld+json">') + len(
        '<script type="application/ld+json">'
    )
    end = page.index("</script>", start)
    page = page[: start + (end - start) // 2] + page[end:]
    page = page.replace('<a class="topbar__logo" href="/">', '<a class="topbar__logo" href="/>', 1)
    page = page.replace('<div class="layout">', '<div class="layout">\x00</span></em></table>'
                        "<head><title>x</title></head><p><b><i>unclosed</b></i>", 1)  # fmt: skip
    return page[: page.rindex("</footer>") + len("</footer>")]


def pad(page: bytes, size: int) -> bytes:
    """The page grown to ``size`` bytes by an HTML comment right after ``<body ...>``."""
    at = page.index(b">", page.index(b"<body")) + 1
    filler = max(0, size - len(page) - len(b"<!--  -->"))
    return page[:at] + b"<!-- " + b"x" * filler + b" -->" + page[at:]


def corrupt_gzip(data: bytes) -> bytes:
    """``data`` gzipped, then 64 bytes in the middle of the stream flipped."""
    packed = gzip.compress(data, compresslevel=6, mtime=0)
    middle = len(packed) // 2
    flipped = bytes(b ^ 0x5A for b in packed[middle : middle + 64])
    return packed[:middle] + flipped + packed[middle + 64 :]


def pdf_bytes(title: str) -> bytes:
    """A one-page PDF showing ``title`` (Helvetica, non-Latin-1 characters as '?')."""
    text = title.encode("latin-1", "replace")
    text = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out
