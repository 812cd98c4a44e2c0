"""Fault modes of the mirror (issue 8): the SPEC, the plan the crawler tests read, and what each
fault kind does on the wire, against running faulty mirrors."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest
from click.testing import CliRunner

from qiosk_scraper.cli import main
from qiosk_scraper.mirror import (
    KINDS,
    FaultPlan,
    FaultSpec,
    FaultSpecError,
    RunningMirror,
    Site,
    running_mirror,
)
from qiosk_scraper.mirror.build import site_targets

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def fetch(
    base: str,
    target: str,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
    method: str = "GET",
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection, redirects not followed."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def raw_get(base: str, target: str) -> tuple[dict[str, str], bytes, BaseException | None]:
    """A GET over a plain socket, read until the server closes: the headers, the body bytes
    received, and the error that ended the read (None for a clean close)."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30) as sock:
        request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        data, error = b"", None
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError as exc:
                error = exc
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    headers[":status"] = lines[0].split()[1]
    return headers, body, error


@pytest.fixture(scope="module")
def site() -> Site:
    return Site(articles=60, seed=4)


@pytest.fixture
def faulty(site: Site) -> Iterator[RunningMirror]:
    """Every fault kind, the slow answer 2 s late."""
    with running_mirror(site=site, faults="all,timeout=2") as running:
        yield running


def clean(site: Site, base: str, path: str) -> bytes:
    response = site.respond(path, base)
    assert response.status == 200
    return response.body


def plan_of(mirror: RunningMirror) -> FaultPlan:
    assert mirror.faults is not None
    return mirror.faults


def _loc(line: bytes) -> str:
    found = re.search(rb"<loc>(.*?)</loc>", line)
    return found.group(1).decode() if found else ""


def paths_of(plan: FaultPlan, kind: str) -> list[str]:
    return [f.path for f in plan.faults if f.kind == kind]


# ---------------------------------------------------------------------------- SPEC
def test_spec_reads_kinds_and_values() -> None:
    every = FaultSpec.parse("all")
    assert every.kinds == KINDS
    assert every.values["http_500"] == 2 and every.values["timeout"] == 5.0
    spec = FaultSpec.parse(" timeout=2.5 , http_500=always,empty_body,http_429=0 ")
    assert spec.kinds == ("http_500", "http_429", "timeout", "empty_body")
    assert spec.values == {"http_500": None, "http_429": 0, "timeout": 2.5}
    assert FaultSpec.parse(str(spec)) == spec
    mixed = FaultSpec.parse("all,oversized=2,redirect_chain=6")
    assert mixed.kinds == KINDS
    assert (mixed.values["oversized"], mixed.values["redirect_chain"]) == (2.0, 6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty: give 'all' or a comma list"),
        ("http_500,,timeout", "'http_500,,timeout': empty item"),
        ("http_500,slow=2", "'slow=2': unknown fault kind; choose from all, http_500"),
        ("empty_body=1", "'empty_body=1': empty_body takes no value"),
        ("all=3", "'all=3': all takes no value"),
        ("http_500=0", "'http_500=0': expected a whole number of failures >= 1, or 'always'"),
        ("truncated_body=two", "'truncated_body=two': expected a whole number of failures"),
        ("http_429=1.5", "'http_429=1.5': expected whole seconds >= 0"),
        ("timeout=0", "'timeout=0': expected seconds, a number above 0"),
        ("timeout=soon", "'timeout=soon': expected seconds"),
        ("oversized=0.5", "'oversized=0.5': expected a size in MiB from 1 to 1024"),
        ("redirect_chain=1", "'redirect_chain=1': expected a whole number of redirects"),
        ("http_503,http_503=4", "'http_503=4': http_503 given twice"),
    ],
)
def test_spec_errors_name_the_bad_part(text: str, message: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        FaultSpec.parse(text)
    assert str(caught.value).startswith(message)


def test_cli_rejects_a_bad_spec_in_one_line() -> None:
    result = CliRunner().invoke(main, ["mirror", "serve", "--port", "0", "--faults", "all,x=1"])
    assert result.exit_code == 2
    assert "Invalid value for '--faults': 'x=1': unknown fault kind" in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------- the plan
def test_plan_is_deterministic_and_a_kind_keeps_its_urls(site: Site) -> None:
    one, two = FaultPlan(site, "all"), FaultPlan(Site(articles=60, seed=4), "all")
    assert one.faults == two.faults
    base = "http://127.0.0.1:9"
    for fault in one.faults:
        first, second = one.respond(fault.path, base), two.respond(fault.path, base)
        assert (first.status, first.body, first.location) == (
            second.status,
            second.body,
            second.location,
        )
    for kind in KINDS:
        alone = FaultPlan(site, kind)
        assert alone.faults == tuple(f for f in one.faults if f.kind == kind)
    other = FaultPlan(Site(articles=60, seed=5), "all")
    assert [f.path for f in other.faults] != [f.path for f in one.faults]


def test_plan_names_every_kind_and_the_articles_never_served_correctly(site: Site) -> None:
    plan = FaultPlan(site, "all,http_500=always")
    base = "http://127.0.0.1:9"
    urls = plan.urls(base)
    assert list(urls) == list(KINDS)
    assert all(url.startswith(base + "/") for found in urls.values() for url in found)
    article_paths = {m.path: m.slug for m in site.metas}
    slugs = [f.slug for f in plan.faults if f.path in article_paths]
    assert len(slugs) == len(set(slugs))  # one kind per article
    broken = plan.broken_slugs()
    expected = {
        f.slug: f.kind
        for f in plan.faults
        if f.path in article_paths
        and f.kind in ("http_500", "wrong_charset", "malformed_html", "oversized", "not_html",
                       "corrupt_gzip", "empty_body")
    }  # fmt: skip
    assert broken == expected
    assert len([k for k in broken.values() if k == "http_500"]) == 2
    assert plan.correct_slugs() == set(site.by_slug) - set(broken)
    assert set(plan.gold(base)) == plan.correct_slugs()
    assert plan.max_failures == 2  # http_503's default; http_500 never succeeds here


def test_faulty_urls_are_reachable_and_nothing_else_changes(faulty: RunningMirror) -> None:
    """Articles and extra URLs are sitemap entries (extras right after their article's entry),
    the other faulty pages are linked the way they always are; every other page, and every
    sitemap apart from its added entries, is the clean mirror's."""
    base, site, plan = faulty.base_url, faulty.site, plan_of(faulty)
    locs: list[str] = []
    status, _, index = fetch(base, "/sitemap.xml")
    assert status == 429  # the first answer of a transient fault
    status, _, index = fetch(base, "/sitemap.xml")
    assert status == 200
    for sitemap in ET.fromstring(index).iter(SM + "loc"):
        path = urlsplit(sitemap.text or "").path
        status, _, body = fetch(base, path)
        assert status == 200
        locs += [urlsplit(loc.text or "").path for loc in ET.fromstring(body).iter(SM + "loc")]
        if path.startswith("/feeds/sitemaps/sitemap_"):
            extras = {p for found in plan.extras.values() for p in found}
            kept = b"".join(
                line
                for line in body.splitlines(keepends=True)
                if urlsplit(_loc(line)).path not in extras
            )
            assert kept == clean(site, base, path)
    robots, home = clean(site, base, "/robots.txt").decode(), clean(site, base, "/").decode()
    for fault in plan.faults:
        if fault.path in site.by_path:
            assert fault.path in locs
        elif fault.path == "/sitemap.xml":
            assert f"Sitemap: {base}/sitemap.xml" in robots
        elif fault.path == "/feeds/feed.rss":
            assert f'href="{base}/feeds/feed.rss"' in home
        elif fault.path.startswith("/tag/"):
            assert any(
                f'href="{fault.path}"' in clean(site, base, m.path).decode() for m in site.order
            )
        else:
            article = next(p for p, found in plan.extras.items() if fault.path in found)
            assert locs.index(fault.path) > locs.index(article)
    faulted = {f.path for f in plan.faults}
    for target in site_targets(site):
        path = urlsplit(target).path
        if path in faulted or path.startswith("/feeds/sitemaps/sitemap_"):
            continue
        assert plan.respond(target, base).body == site.respond(target, base).body, target


# ---------------------------------------------------------------------------- transient faults
def test_http_errors_come_the_announced_number_of_times_then_the_page(site: Site) -> None:
    with running_mirror(site=site, faults="http_500=3,http_503,http_429=2") as mirror:
        base, plan = mirror.base_url, plan_of(mirror)
        assert {f.kind for f in plan.faults} == {"http_500", "http_503", "http_429"}
        for fault in plan.faults:
            status = int(fault.kind[5:])
            assert fault.failures == {500: 3, 503: 2, 429: 1}[status]
            for _ in range(fault.failures):
                got, headers, _ = fetch(base, fault.path)
                assert got == status
                assert headers.get("retry-after") == ("2" if status == 429 else None)
            got, _, body = fetch(base, fault.path)
            assert got == 200
            assert body == clean(site, base, fault.path)
        assert plan.broken_slugs() == {}


def test_always_failing_urls_never_answer_their_page(site: Site) -> None:
    with running_mirror(site=site, faults="http_503=always,truncated_body=always") as mirror:
        base, plan = mirror.base_url, plan_of(mirror)
        for fault in plan.faults:
            assert fault.failures is None
            for _ in range(6):
                if fault.kind == "http_503":
                    assert fetch(base, fault.path)[0] == 503
                else:
                    headers, body, _ = raw_get(base, fault.path)
                    assert len(body) < int(headers["content-length"])
        assert set(plan.broken_slugs()) == {f.slug for f in plan.faults if f.slug}


def test_connection_reset_mid_body_then_the_page(site: Site) -> None:
    with running_mirror(site=site, faults="connection_reset=2") as mirror:
        base, plan = mirror.base_url, plan_of(mirror)
        (fault,) = plan.faults
        full = clean(site, base, fault.path)
        for _ in range(2):
            headers, body, error = raw_get(base, fault.path)
            assert headers[":status"] == "200"
            assert int(headers["content-length"]) == len(full)
            assert isinstance(error, ConnectionResetError)  # a reset, not a clean close
            assert len(body) < len(full)
        headers, body, error = raw_get(base, fault.path)
        assert (error, body) == (None, full)


def test_truncated_body_ends_cleanly_short_of_its_length(site: Site) -> None:
    with running_mirror(site=site, faults="truncated_body=2") as mirror:
        base, plan = mirror.base_url, plan_of(mirror)
        (fault,) = plan.faults
        full = clean(site, base, fault.path)
        headers, body, error = raw_get(base, fault.path)
        assert error is None
        assert int(headers["content-length"]) == len(full)
        assert body == full[: len(full) // 2]
        with pytest.raises(http.client.IncompleteRead):
            fetch(base, fault.path)
        assert fetch(base, fault.path)[2] == full


def test_the_slow_answer_outlasts_a_shorter_timeout_once(site: Site) -> None:
    with running_mirror(site=site, faults="timeout=2") as mirror:
        base, plan = mirror.base_url, plan_of(mirror)
        (fault,) = plan.faults
        assert (fault.kind, fault.failures) == ("timeout", 1)
        with pytest.raises(TimeoutError):
            fetch(base, fault.path, timeout=1)
        status, _, body = fetch(base, fault.path, timeout=1)
        assert (status, body) == (200, clean(site, base, fault.path))


# ---------------------------------------------------------------------------- content faults
def test_wrong_charsets(faulty: RunningMirror) -> None:
    base, site, plan = faulty.base_url, faulty.site, plan_of(faulty)
    declared, undeclared = paths_of(plan, "wrong_charset")
    page = clean(site, base, declared).decode()
    status, headers, body = fetch(base, declared)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<meta charset="utf-8"/>' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert body.decode("cp1252") == page
    page = clean(site, base, undeclared).decode()
    status, headers, body = fetch(base, undeclared, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-type"] == "text/html"
    body = gzip.decompress(body)  # a transport coding as usual
    assert b"charset" not in body.lower()
    assert body.decode("cp1252") == page.replace('<meta charset="utf-8"/>\n', "")
    assert not body.isascii()


def test_malformed_html_keeps_the_article_markup(faulty: RunningMirror) -> None:
    base, site, plan = faulty.base_url, faulty.site, plan_of(faulty)
    (path,) = paths_of(plan, "malformed_html")
    status, _, body = fetch(base, path)
    assert status == 200
    assert b"\x00" in body and not body.rstrip().endswith(b"</html>")
    with pytest.raises(lxml.etree.XMLSyntaxError):
        lxml.etree.fromstring(body)
    script = re.search(rb'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert script is not None
    with pytest.raises(json.JSONDecodeError):
        json.loads(script.group(1))

    def article(html: bytes) -> str:
        found = lxml.html.fromstring(html.replace(b"\x00", b"")).cssselect("article.page-article")
        return lxml.html.tostring(found[0], encoding="unicode")

    assert article(body) == article(clean(site, base, path))


def test_oversized_page(faulty: RunningMirror) -> None:
    base, site, plan = faulty.base_url, faulty.site, plan_of(faulty)
    (path,) = paths_of(plan, "oversized")
    status, headers, body = fetch(base, path, {"Accept-Encoding": "gzip"})
    assert status == 200 and "content-encoding" not in headers
    assert len(body) == int(headers["content-length"]) == 10 * 1024 * 1024
    assert re.sub(rb"<!-- x+ -->", b"", body) == clean(site, base, path)


def test_a_pdf_and_an_image_at_article_urls(faulty: RunningMirror) -> None:
    base, plan = faulty.base_url, plan_of(faulty)
    pdf_path, image_path = paths_of(plan, "not_html")
    assert pdf_path in faulty.site.by_path and image_path in faulty.site.by_path
    status, headers, pdf = fetch(base, pdf_path)
    assert (status, headers["content-type"]) == (200, "application/pdf")
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    entries = pdf[xref:].split(b"\n")[3:8]  # "xref", "0 6", the free entry, then objects 1-5
    for number, entry in enumerate(entries, 1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    status, headers, image = fetch(base, image_path)
    assert (status, headers["content-type"]) == (200, "image/jpeg")
    assert image.startswith(b"\xff\xd8") and image.endswith(b"\xff\xd9")


def test_corrupt_gzip_whatever_the_client_accepts(faulty: RunningMirror) -> None:
    base, plan = faulty.base_url, plan_of(faulty)
    (path,) = paths_of(plan, "corrupt_gzip")
    for headers_sent in ({}, {"Accept-Encoding": "gzip"}):
        status, headers, body = fetch(base, path, headers_sent)
        assert status == 200 and headers["content-encoding"] == "gzip"
        assert body[:2] == b"\x1f\x8b" and len(body) == int(headers["content-length"])
        with pytest.raises((OSError, EOFError, zlib.error)):
            gzip.decompress(body)


def test_empty_200(faulty: RunningMirror) -> None:
    (path,) = paths_of(plan_of(faulty), "empty_body")
    status, headers, body = fetch(faulty.base_url, path)
    assert (status, headers["content-length"], body) == (200, "0", b"")
    assert headers["content-type"].startswith("text/html")


def test_one_article_at_two_urls_with_different_canonicals(faulty: RunningMirror) -> None:
    base, site, plan = faulty.base_url, faulty.site, plan_of(faulty)
    (fault,) = [f for f in plan.faults if f.kind == "conflicting_canonical"]
    assert fault.slug is not None
    own = site.by_slug[fault.slug].path

    def named(path: str) -> tuple[set[str], str]:
        status, _, body = fetch(base, path)
        assert status == 200
        root = lxml.html.fromstring(body)
        data = json.loads(root.cssselect('script[type="application/ld+json"]')[0].text)
        items = data if isinstance(data, list) else data.get("@graph", [data])
        urls = {
            root.cssselect('link[rel="canonical"]')[0].get("href"),
            root.cssselect('meta[property="og:url"]')[0].get("content"),
            next(i["url"] for i in items if i["@type"] == "NewsArticle"),
        }
        text = root.cssselect("div.body-description")[0].text_content()
        return urls, root.cssselect("article")[0].get("class") + text

    first, second = named(own), named(fault.path)
    assert first[0] == {base + own} and second[0] == {base + fault.path}
    assert first[1] == second[1]  # the same post, the same body


# ---------------------------------------------------------------------------- redirects
def test_redirect_chain_ends_at_the_article(site: Site) -> None:
    with running_mirror(site=site, faults="redirect_chain=5") as mirror:
        base, plan = mirror.base_url, plan_of(mirror)
        (fault,) = plan.faults
        assert fault.slug is not None
        path, statuses = fault.path, []
        while True:
            status, headers, body = fetch(base, path)
            if status != 200:
                statuses.append(status)
                assert headers["location"].startswith(base + "/")
                path = headers["location"][len(base) :]
                continue
            break
        assert statuses == [301, 302, 307, 308, 301]
        assert path == site.by_slug[fault.slug].path
        assert body == clean(site, base, path)


def test_redirect_loop_and_redirects_off_the_site(faulty: RunningMirror) -> None:
    base, plan = faulty.base_url, plan_of(faulty)
    (loop,) = paths_of(plan, "redirect_loop")
    status, headers, _ = fetch(base, loop)
    other = headers["location"][len(base) :]
    assert status == 301 and other != loop
    status, headers, _ = fetch(base, other)
    assert status == 302 and headers["location"] == base + loop
    offsite = [fetch(base, path)[1]["location"] for path in paths_of(plan, "redirect_offsite")]
    port = urlsplit(base).port
    assert [urlsplit(url).netloc for url in offsite] == [
        "www.example.com",
        f"localhost:{port}",
        "169.254.169.254",
    ]
    landing = urlsplit(offsite[1]).path
    assert fetch(offsite[1], landing)[0] == 404  # the mirror itself, by another name
    assert faulty.hits[landing] == 1
    schemes = [fetch(base, path)[1]["location"] for path in paths_of(plan, "redirect_scheme")]
    assert [url.split(":", 1)[0] for url in schemes] == ["ftp", "javascript", "data"]


# ---------------------------------------------------------------------------- command line
def test_serve_command_lists_and_serves_the_faults() -> None:
    command = [sys.executable, "-c", "from qiosk_scraper.cli import main; main()"]
    options = ["--port", "0", "--articles", "60", "--seed", "4", "--quiet"]
    with subprocess.Popen(
        [*command, "mirror", "serve", *options, "--faults", "http_500,empty_body"],
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert line.startswith("mirror serving 60 articles at "), line + proc.stderr.read()
            base = line.rsplit(" ", 1)[1].strip().rstrip("/")
            assert proc.stderr.readline() == "faults: http_500=2,empty_body\n"
            listed = [proc.stderr.readline().split() for _ in range(4)]
            plan = FaultPlan(Site(articles=60, seed=4), "http_500,empty_body")
            assert [line[:2] for line in listed] == [[f.kind, f.path] for f in plan.faults]
            assert fetch(base, plan.faults[0].path)[0] == 500
            assert fetch(base, plan.faults[-1].path)[2] == b""
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(timeout=10)
