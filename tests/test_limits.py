"""Limits and guards (issue 8): size caps on bodies as received and as decoded, content codings
checked whole, redirects and requests kept on the site and off private addresses, charsets
repaired, failures named. The policies in isolation, then through a real crawler."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from support.crawl import QuietHandler, crawl_with_settings, serving
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed
from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.archive import Archive
from qiosk_scraper.failures import error_kind, error_message
from qiosk_scraper.guard import (
    CharsetRepair,
    Refusal,
    coding_refusal,
    page_refusal,
    redirect_refusal,
    repair_charset,
    url_refusal,
)
from qiosk_scraper.mirror.site import Site

PUBLIC = "https://responsiblestatecraft.org"
LOCAL = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("url", "site", "kind"),
    [
        ("https://responsiblestatecraft.org/golden-dome/", PUBLIC, None),
        ("https://www.responsiblestatecraft.org/golden-dome/", PUBLIC, None),
        ("http://10.1.2.3/admin", PUBLIC, "private"),
        ("http://192.168.0.1/", PUBLIC, "private"),
        ("http://169.254.169.254/latest/meta-data/", PUBLIC, "private"),
        ("http://[::1]:8080/", PUBLIC, "private"),
        ("http://[::ffff:127.0.0.1]/", PUBLIC, "private"),
        ("http://localhost/", PUBLIC, "private"),
        ("http://printer.local/", PUBLIC, "private"),
        ("http://8.8.8.8/", PUBLIC, "offsite"),
        ("https://cdn.responsiblestatecraft.org/x.js", PUBLIC, "offsite"),
        ("https://responsiblestatecraft.org:8443/", PUBLIC, "offsite"),
        ("ftp://responsiblestatecraft.org/file.pdf", PUBLIC, "scheme"),
        ("file:///etc/passwd", PUBLIC, "scheme"),
        # The mirror on 127.0.0.1 is allowed because it is the site, and only under that name.
        ("http://127.0.0.1:8765/golden-dome/", LOCAL, None),
        ("http://localhost:8765/golden-dome/", LOCAL, "offsite"),
        ("http://127.0.0.1:9999/", LOCAL, "offsite"),
        ("http://169.254.169.254/", LOCAL, "offsite"),
    ],
)
def test_which_request_urls_are_refused(url: str, site: str, kind: str | None) -> None:
    refusal = url_refusal(url, site)
    assert (refusal.kind if refusal else None) == kind
    if refusal:
        assert refusal.reason


def test_redirects_are_refused_off_the_site_off_http_in_loops_and_long_chains() -> None:
    a, b = f"{PUBLIC}/a/", f"{PUBLIC}/b/"

    def kind(target: str, chain: list[str], source: str = a) -> str | None:
        refusal = redirect_refusal(source, target, PUBLIC, chain, max_hops=3)
        return refusal.kind if refusal else None

    assert kind(b, []) is None
    assert kind("https://example.com/", []) == "redirect_offsite"
    assert kind("http://10.0.0.7/", []) == "redirect_offsite"
    assert kind("javascript:alert(1)", []) == "redirect_scheme"
    assert kind("data:text/html;base64,PGgxPg==", []) == "redirect_scheme"
    assert kind(a, [], source=b) is None  # b -> a, a first seen: not a loop yet
    assert kind(a, [a], source=b) == "redirect_loop"
    assert kind(a, [], source=a) == "redirect_loop"
    assert kind(f"{PUBLIC}/e/", [f"{PUBLIC}/{n}/" for n in "xyz"], source=b) == (
        "too_many_redirects"
    )


def test_codings_must_decode_whole_and_within_the_cap() -> None:
    page = b"<html><body>" + b"word " * 20_000 + b"</body></html>"
    packed = gzip.compress(page)
    assert coding_refusal(packed, ["gzip"], 0) is None
    assert coding_refusal(zlib.compress(page), ["deflate"], 0) is None
    raw_deflate = zlib.compressobj(wbits=-15)
    assert coding_refusal(raw_deflate.compress(page) + raw_deflate.flush(), ["deflate"], 0) is None
    cut = coding_refusal(packed[: len(packed) // 2], ["gzip"], 0)
    assert cut == Refusal("decode_error", "gzip body cut short: the stream does not end")
    # Scrapy's own gunzip would have kept the first half of this page:
    from scrapy.utils.gz import gunzip

    assert 0 < len(gunzip(packed[: len(packed) // 2])) < len(page)
    corrupt = packed[:100] + bytes(b ^ 0x5A for b in packed[100:164]) + packed[164:]
    refusal = coding_refusal(corrupt, ["gzip"], 0)
    assert refusal is not None and refusal.kind == "decode_error"
    bomb = gzip.compress(b" " * 5_000_000)
    assert len(bomb) < 10_000
    refusal = coding_refusal(bomb, ["gzip"], 1_000_000)
    assert refusal is not None and refusal.kind == "oversized"
    assert coding_refusal(gzip.compress(gzip.compress(page)), ["gzip", "gzip"], 0) is None
    assert coding_refusal(b"anything", ["br"], 0) is None  # left to Scrapy (not requested)


def test_pages_must_be_html_with_a_body() -> None:
    assert page_refusal(b"<!DOCTYPE html><html></html>", "text/html; charset=utf-8") is None
    assert page_refusal(b"<html></html>", None) is None
    assert page_refusal(b"", "text/html") == Refusal("empty_body", "the page has no body")
    assert page_refusal(b" \n", "text/html") == Refusal("empty_body", "the page has no body")
    refusal = page_refusal(b"%PDF-1.4", "application/pdf")
    assert refusal == Refusal("not_html", "a application/pdf answer, not an HTML page")
    assert page_refusal(b"\xff\xd8\xff\xe0", None) is not None


def test_charsets_are_repaired_from_what_the_bytes_are() -> None:
    text = "<html><head>{meta}</head><body><p>Karin Åberg said “no” – café</p></body></html>"
    declared = text.format(meta='<meta charset="utf-8"/>')
    assert repair_charset(declared.encode(), "text/html; charset=utf-8") is None
    assert repair_charset(text.format(meta="").encode(), "text/html") is None  # UTF-8 undeclared
    wrong = repair_charset(declared.encode("cp1252"), "text/html; charset=utf-8")
    assert isinstance(wrong, CharsetRepair) and wrong.kind == "wrong_charset"
    assert wrong.body == declared.encode()  # the page as its author wrote it, in UTF-8
    missing = repair_charset(text.format(meta="").encode("cp1252"), "text/html")
    assert isinstance(missing, CharsetRepair) and missing.kind == "missing_charset"
    assert missing.body.decode() == text.format(meta="")
    # The first declaration that fits the bytes is used, and the <meta> label is rewritten to
    # match the UTF-8 handed on, so later readers of the page agree.
    other = text.format(meta='<meta charset="windows-1250"/>').encode("cp1250", "replace")
    fitted = repair_charset(other, "text/html; charset=utf-8")
    assert isinstance(fitted, CharsetRepair) and fitted.kind == "wrong_charset"
    assert "decoded as cp1250" in fitted.reason
    assert fitted.body.decode() == text.format(meta='<meta charset="utf-8"/>').replace("Å", "?")
    refused = repair_charset(b"<html>\x81\x8d\x8f\x90\x9d</html>", "text/html")
    assert isinstance(refused, Refusal) and refused.kind == "undecodable"
    assert repair_charset(b"\xef\xbb\xbf<html>ok</html>", "text/html; charset=cp1252") is None


def test_scrapy_failures_get_stable_kinds() -> None:
    reset = ResponseDataLossError()
    reset.__cause__ = ResponseFailed([Failure(ConnectionLost()), Failure(ValueError("loss"))])
    closed = ResponseDataLossError()
    closed.__cause__ = ResponseFailed([Failure(ConnectionDone()), Failure(ValueError("loss"))])
    size = DownloadCancelledError(
        "Expected to receive 10485760 bytes which is larger than download max size (8388608)"
    )
    decoded = IgnoreRequest(
        "Ignored response <200 x> because its body (9 B compressed, 99 B decompressed so far) "
        "exceeded DOWNLOAD_MAXSIZE (50 B) during decompression."
    )
    kinds = {
        "connection_reset": reset,
        "truncated": closed,
        "oversized": size,
        "timeout": DownloadTimeoutError("Getting x took longer than 2 seconds."),
        "decode_error": zlib.error("Error -3 while decompressing data"),
        "robots_disallowed": IgnoreRequest("Forbidden by robots.txt"),
    }
    for kind, error in kinds.items():
        assert error_kind(error) == kind
        assert error_message(error)
    assert error_kind(decoded) == "oversized"
    assert "reset" in error_message(reset) and "Content-Length" in error_message(closed)


# -- through a real crawler --------------------------------------------------------------------


def routed(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> type[QuietHandler]:
    """A handler answering ``routes[path]`` (status, headers, body); 404 elsewhere. The routes
    may be filled in once the base URL is known."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path = self.path if self.path in routes else self.path.split("?")[0]
            self.answer(*routes.get(path, (404, {}, b"not here")))

    return Handler


def test_a_crawl_keeps_the_caps_and_refuses_broken_codings(tmp_path: Path) -> None:
    site = Site(articles=60, seed=5)
    fine, cut, bomb, big = (meta.path for meta in site.order[:4])
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    cap = 200_000
    with serving(routed(routes)) as base:
        page = site.respond(fine, base).body
        cut_page = gzip.compress(site.respond(cut, base).body)
        html = {"Content-Type": "text/html; charset=utf-8"}
        urls = [fine, cut, bomb, big, "/moved/"]
        padding = "<!-- " + "x" * (cap + 50_000) + " -->"  # a sitemap over the page cap
        sitemap = (
            '<?xml version="1.0" encoding="UTF-8"?>' + padding
            + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>{base}{path}</loc></url>" for path in urls)
            + "</urlset>"
        )  # fmt: skip
        routes.update(
            {
                "/sitemap.xml": (200, {"Content-Type": "application/xml"}, sitemap.encode()),
                fine: (200, html, page),
                cut: (200, {**html, "Content-Encoding": "gzip"}, cut_page[: len(cut_page) // 2]),
                bomb: (200, {**html, "Content-Encoding": "gzip"}, gzip.compress(b" " * 5_000_000)),
                big: (200, html, page + b"<!-- " + b"x" * cap + b" -->"),
                "/moved/": (301, {"Location": "http://169.254.169.254/latest/"}, b""),
            }
        )
        db = tmp_path / "qiosk.db"
        crawl_with_settings(
            {"site": base, "db": str(db), "delay": 0, "sources": "sitemap"},
            {"DOWNLOAD_MAXSIZE": cap, "DOWNLOAD_WARNSIZE": cap // 2},
        )
    gold = site.gold(base)
    with Archive(db) as archive:
        assert archive.article_urls() == [base + fine]
        assert archive.article_record(base + fine) == next(
            r for r in gold.values() if r["url"] == base + fine
        )
        errors = {e["url"].removeprefix(base): (e["kind"], e["message"]) for e in archive.errors()}
        requests = []
        for path in (db.parent / "warc").glob("*.warc.gz"):
            with path.open("rb") as handle:
                requests += [
                    r.http_headers for r in ArchiveIterator(handle) if r.rec_type == "request"
                ]
    assert {path: kind for path, (kind, _) in errors.items()} == {
        cut: "decode_error",  # not half an article
        bomb: "oversized",  # 5 MB out of 5 KB
        big: "oversized",
        "/moved/": "redirect_offsite",
    }
    assert "169.254.169.254" in errors["/moved/"][1]
    # Only the codings the guard checks whole are asked for.
    assert {h.get_header("Accept-Encoding") for h in requests} == {"gzip, deflate"}


def test_a_page_the_spider_cannot_read_is_an_error_and_the_crawl_goes_on(tmp_path: Path) -> None:
    site = Site(articles=60, seed=6)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routed(routes)) as base:
        home = site.respond("/", base).body
        assert b'data-has-more="true"' in home  # the home page asks for a load-more page
        routes["/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, home)
        broken = b'{"has_more": true, "posts_by_source": {'  # cut JSON
        routes["/res/load_more_posts/data.js"] = (200, {"Content-Type": "text/javascript"}, broken)
        db = tmp_path / "qiosk.db"
        crawl_with_settings({"site": base, "db": str(db), "delay": 0, "sources": "home"}, {})
    with Archive(db) as archive:
        crawl = archive.crawl(1)
        [error] = [e for e in archive.errors() if e["kind"] == "parse_error"]
    assert crawl["status"] == "finished"
    assert error["url"].startswith(base + "/res/load_more_posts/data.js?")
    assert "parse_load_more: JSONDecodeError" in error["message"]
    assert error["capture_id"] is not None
    assert crawl["stats"]["qiosk/errors/parse_error"] == 1
    assert "spider_exceptions/JSONDecodeError" not in crawl["stats"]
