"""The running mirror over HTTP: its link graph, redirects and errors, sitemaps, feeds, the
load-more JSON, images, validators and content coding."""

from __future__ import annotations

import gzip
import http.client
import json
import struct
import xml.etree.ElementTree as ET
from collections import deque
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import lxml.html
import pytest

from qiosk_scraper.mirror import RunningMirror, Site, running_mirror
from qiosk_scraper.mirror.vocab import SECTIONS, SITE_ID

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def fetch(
    base: str, target: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _links(base: str, content_type: str, body: bytes) -> list[str]:
    if content_type.startswith("text/html"):
        root = lxml.html.fromstring(body)
        raw = [el.get("href") for el in root.cssselect("a[href], link[href]")]
        raw += [el.get("src") for el in root.cssselect("img[src]")]
    elif "xml" in content_type:
        raw = [
            el.text
            for el in ET.fromstring(body).iter()
            if el.tag.endswith(("loc", "link")) and el.text
        ]
    else:
        return []
    return [urljoin(base + "/", href) for href in raw if href]


def test_every_link_resolves_as_intended(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    seen: dict[str, int] = {}
    queue = deque(["/", "/robots.txt", "/sitemap.xml"])
    while queue:
        target = queue.popleft()
        if target in seen:
            continue
        status, headers, body = fetch(base, target)
        seen[target] = status
        if status == 301:
            location = headers["location"]
            assert location.startswith(base)
            queue.append(location[len(base) :])
            continue
        for link in _links(base, headers.get("content-type", ""), body):
            if link.startswith(base + "/") and "#" not in link:
                queue.append(link[len(base) :])
    unexpected = {}
    for target, status in seen.items():
        path = urlsplit(target).path
        if status == 301:
            ok = path in site.redirects
        elif status == 404:
            ok = path == site.ghost.path
        else:
            ok = status == 200
        if not ok:
            unexpected[target] = status
    assert unexpected == {}
    assert site.ghost.path in seen  # the teaser to a deleted post is reachable
    reached = {urlsplit(t).path for t, s in seen.items() if s == 200}
    assert {m.path for m in site.order} <= reached
    redirected = {urlsplit(t).path for t, s in seen.items() if s == 301}
    assert "/feed/" in redirected
    assert any(m.legacy_path in redirected for m in site.order if m.legacy_path)
    assert any(f"/{m.old_slugs[0]}/" in redirected for m in site.order if m.old_slugs)


def test_one_article_many_urls_one_canonical(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    meta = site.order[5]
    variants = [
        meta.path,
        meta.path.rstrip("/"),
        meta.path + "?ref=readtangle.com",
        meta.path + "?ct=t(RSS_EMAIL_CAMPAIGN)&mc_cid=4f1e2d&mc_eid=9a8b7c",
        meta.path + "?utm_source=twitter&utm_medium=social",
    ]
    bodies = set()
    for target in variants:
        status, _, body = fetch(base, target)
        assert status == 200, target
        canonical = lxml.html.fromstring(body).cssselect("link[rel=canonical]")[0].get("href")
        assert canonical == base + meta.path
        bodies.add(body)
    assert len(bodies) == 1
    legacy = next(m for m in site.order if "legacy_in_place" in m.features)
    for target in (legacy.path, legacy.path.rstrip("/")):
        status, _, body = fetch(base, target)
        assert status == 200
        assert f'<link rel="canonical" href="{base}{legacy.path}"/>' in body.decode()


def test_redirects_and_errors(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    assert fetch(base, "/feed/")[:2][0] == 301
    assert fetch(base, "/feed/")[1]["location"] == base + "/feeds/feed.rss"
    renamed = next(m for m in site.order if m.old_slugs)
    status, headers, _ = fetch(base, f"/{renamed.old_slugs[0]}/")
    assert (status, headers["location"]) == (301, base + renamed.path)
    migrated = next(m for m in site.order if m.legacy_path)
    for target in (migrated.legacy_path, migrated.legacy_path.rstrip("/")):
        status, headers, _ = fetch(base, target)
        assert (status, headers["location"]) == (301, base + migrated.path)
    for target in (
        site.ghost.path,
        "/tag/no-such-tag/",
        "/feeds/sitemaps/sitemap_999.xml",
        "/feeds/sitemaps/news_2.xml",
        "/no-such-story/",
        "/author/nobody/",
        "/tag/iran/page/999/",
    ):
        status, headers, body = fetch(base, target)
        assert status == 404, target
        assert headers["content-type"].startswith("text/html")
        assert b'class="rebelmouse-header"' in body and b"Page not found" in body
    status, headers, _ = fetch(base, "/tag/iran/page/1/")
    assert (status, headers["location"]) == (301, base + "/tag/iran/")


def test_sitemaps_list_exactly_the_articles(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    gold = site.gold(base)
    status, _, body = fetch(base, "/sitemap.xml")
    assert status == 200
    children = [el.findtext(f"{SM}loc") for el in ET.fromstring(body).iter(f"{SM}sitemap")]
    numbered = [c for c in children if c and "/sitemap_" in c]
    assert numbered[0] == base + "/feeds/sitemaps/sitemap_1.xml"
    assert len(numbered) == 3  # 120 articles, 50 a sitemap
    pages: list[str] = []
    media = 0
    lastmods = []
    for child in numbered:
        status, _, xml = fetch(base, child[len(base) :])
        assert status == 200
        for url in ET.fromstring(xml).iter(f"{SM}url"):
            loc = url.findtext(f"{SM}loc") or ""
            if "/media-library/" in loc:
                media += 1
                continue
            pages.append(loc)
            lastmods.append(url.findtext(f"{SM}lastmod"))
    assert sorted(pages) == sorted(r["url"] for r in gold.values())
    assert media > 0 and all(lastmods)
    newest = max(gold.values(), key=lambda r: r["published"])
    assert pages[0] == newest["url"]  # sitemap_1 holds the newest
    status, _, xml = fetch(base, "/feeds/sitemaps/news_1.xml")
    news = [el.findtext(f"{SM}loc") for el in ET.fromstring(xml).iter(f"{SM}url")]
    cutoff = site.now - timedelta(hours=48)
    expected = [r["url"] for r in gold.values() if datetime.fromisoformat(r["published"]) >= cutoff]
    assert sorted(news) == sorted(expected) and news


def _rss_links(base: str, target: str) -> list[str]:
    status, headers, body = fetch(base, target)
    assert status == 200 and headers["content-type"].startswith("application/rss+xml")
    return [item.findtext("link") or "" for item in ET.fromstring(body).iter("item")]


def test_feeds_list_the_newest_articles(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    gold = site.gold(base)
    by_date = sorted(gold.values(), key=lambda r: r["published"], reverse=True)
    assert _rss_links(base, "/feeds/feed.rss") == [r["url"] for r in by_date[:30]]
    for section in SECTIONS:
        newest_first = sorted(gold.items(), key=lambda kv: kv[1]["published"], reverse=True)
        members = [r["url"] for slug, r in newest_first if section.label in site.listings_of(slug)]
        assert _rss_links(base, section.feed_path) == members[:30], section.label
    assert fetch(base, "/feeds/no-such-section.rss")[0] == 404


def _load_more(base: str, resource_id: str, **extra: str) -> list[dict[str, Any]]:
    pages = []
    pn = 1
    while True:
        query = f"site_id={SITE_ID}&resource_id={resource_id}&pn={pn}&rm_lazy_load=1"
        query += "".join(f"&{k}={v}" for k, v in extra.items())
        status, headers, body = fetch(base, f"/res/load_more_posts/data.js?{query}")
        assert status == 200 and headers["content-type"].startswith("application/json")
        data = json.loads(body)
        pages.append(data)
        if not data["has_more"]:
            return pages
        pn += 1


def test_tag_listings_paginate_in_html_and_load_more(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    gold = site.gold(base)
    tagged = sorted(
        (r for r in gold.values() if "U.S. foreign policy" in r["tags"]),
        key=lambda r: r["published"], reverse=True,
    )  # fmt: skip
    pages = _load_more(base, "tag_u-s-foreign-policy")
    assert len(pages) >= 3 and pages[-1]["has_more"] is False
    listed = [p["url"] for page in pages for p in page["posts_by_source"]["tag_u-s-foreign-policy"]]
    assert listed == [r["url"] for r in tagged]
    html_listed: list[str] = []
    target: str | None = "/tag/u-s-foreign-policy/"
    count = 0
    while target:
        status, _, body = fetch(base, target)
        assert status == 200
        root = lxml.html.fromstring(body)
        holder = root.cssselect("div.posts-custom.section-holder[data-has-more][data-source]")[0]
        html_listed += [
            urljoin(base, a.get("href")) for a in holder.cssselect("a.widget__headline-text")
        ]
        nxt = root.cssselect("a[rel=next]")
        assert holder.get("data-has-more") == ("true" if nxt else "false")
        target = nxt[0].get("href") if nxt else None
        count += 1
    assert count >= 3 and html_listed == listed
    status, _, body = fetch(base, "/tag/intermediate-range-missiles/")
    assert status == 200 and b'data-has-more="false"' in body
    assert _load_more(base, "tag_intermediate-range-missiles")[0]["posts_by_source"] == {
        "tag_intermediate-range-missiles": []
    }


def test_section_load_more_matches_listings_of(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    gold = site.gold(base)
    for section in SECTIONS:
        listed = [p["url"] for page in _load_more(base, section.resource_id)
                  for p in page["posts_by_source"][section.resource_id]]  # fmt: skip
        expected = {r["url"] for slug, r in gold.items() if section.label in site.listings_of(slug)}
        assert sorted(listed) == sorted(expected), section.label
        assert len(listed) == len(set(listed))
    first = _load_more(base, vocab_qiosk := "section_2271170")[0]["posts_by_source"][vocab_qiosk]
    excluded = _load_more(base, vocab_qiosk, exclude_post_ids=str(first[0]["id"]))
    assert excluded[0]["posts_by_source"][vocab_qiosk][0]["id"] == first[1]["id"]
    status, _, _ = fetch(base, "/res/load_more_posts/data.js?site_id=1&resource_id=tag_iran&pn=1")
    assert status == 404
    status, _, _ = fetch(base, "/res/load_more_posts/data.js?resource_id=tag_iran")
    assert status == 400


def test_sidebars_are_empty_in_html(mirror: RunningMirror) -> None:
    _, _, body = fetch(mirror.base_url, mirror.site.order[0].path)
    root = lxml.html.fromstring(body)
    for heading in ("LATEST", "QIOSK"):
        block = root.xpath(f"//aside//h3[normalize-space()='{heading}']/..")[0]
        holder = block.cssselect("div.posts-custom.section-holder")[0]
        assert len(holder) == 0 and not holder.text_content().strip()


def _jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    pos = 2
    while pos < len(data):
        marker, length = struct.unpack(">HH", data[pos : pos + 4])
        if marker == 0xFFC0:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise AssertionError("no SOF0 segment")


def test_images_are_real_files_with_their_type(mirror: RunningMirror) -> None:
    base, site = mirror.base_url, mirror.site
    jpeg = next(m.lead for m in site.order if m.lead and m.lead.file.endswith(".jpg"))
    png = next(m.lead for m in site.order if m.lead and m.lead.file.endswith(".png"))
    assert jpeg is not None and png is not None
    status, headers, body = fetch(base, jpeg.src)
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert _jpeg_size(body) == (48, 32)
    status, headers, body = fetch(base, png.src)
    assert status == 200 and headers["content-type"] == "image/png"
    assert body.startswith(b"\x89PNG\r\n\x1a\n") and body[12:16] == b"IHDR"
    assert fetch(base, "/media-library/file.gif")[0] == 404


def test_robots_txt(mirror: RunningMirror) -> None:
    status, headers, body = fetch(mirror.base_url, "/robots.txt")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    for path in ("/core/", "/r/", "/mnt/"):
        assert f"Disallow: {path}\n" in text
    assert f"Sitemap: {mirror.base_url}/sitemap.xml" in text


def test_conditional_requests_get_304(mirror: RunningMirror) -> None:
    base = mirror.base_url
    for target in (mirror.site.order[7].path, "/analysis/", "/feeds/feed.rss", "/sitemap.xml"):
        status, headers, body = fetch(base, target)
        assert status == 200 and body
        before = mirror.hits.not_modified
        status, _, body = fetch(base, target, {"If-None-Match": headers["etag"]})
        assert (status, body) == (304, b"")
        status, _, body = fetch(base, target, {"If-Modified-Since": headers["last-modified"]})
        assert (status, body) == (304, b"")
        assert mirror.hits.not_modified >= before + 2
        assert fetch(base, target, {"If-None-Match": '"stale"'})[0] == 200
        early = "Mon, 01 Jan 2018 00:00:00 GMT"
        assert fetch(base, target, {"If-Modified-Since": early})[0] == 200
    assert mirror.hits[mirror.site.order[7].path] >= 5


def test_gzip_when_accepted(mirror: RunningMirror) -> None:
    target = mirror.site.order[1].path
    _, plain_headers, plain = fetch(mirror.base_url, target)
    status, headers, packed = fetch(mirror.base_url, target, {"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed) == plain
    assert headers["etag"] != plain_headers["etag"]
    assert "content-encoding" not in plain_headers


def test_responses_are_deterministic_across_servers(mirror: RunningMirror) -> None:
    targets = ["/", mirror.site.order[3].path, "/feeds/feed.rss", "/tag/iran/page/2/"]

    def neutral(base: str, body: bytes) -> bytes:
        return body.replace(base.encode(), b"BASE").replace(quote(base, safe="").encode(), b"BASE")

    with running_mirror() as other:
        for target in targets:
            first = neutral(mirror.base_url, fetch(mirror.base_url, target)[2])
            second = neutral(other.base_url, fetch(other.base_url, target)[2])
            assert first == second, target


@pytest.mark.slow
def test_a_20000_article_mirror_serves() -> None:
    site = Site(articles=20000)
    with running_mirror(site=site) as big:
        meta = site.order[12345]
        status, _, body = fetch(big.base_url, meta.path)
        assert status == 200 and meta.title.encode() in body.replace(b"&#x27;", b"'")
        status, _, body = fetch(big.base_url, "/sitemap.xml")
        assert status == 200 and body.count(b"<sitemap>") == 20000 // 50 + 1
