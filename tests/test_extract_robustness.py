"""Never crashes: whatever the bytes, extraction returns a record or raises NotAnArticle.

Property-based (hypothesis): random bytes, random markup built from the outlet's own pieces,
golden pages truncated and mangled at random points; plus deeply nested markup and a 10 MB page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiosk_scraper.article import Article
from qiosk_scraper.discover.listing import extract_listing
from qiosk_scraper.extract import NotAnArticle, extract_article
from qiosk_scraper.extract.dates import parse_shown

GOLDEN = Path(__file__).parent / "golden"
PAGES = sorted(p.read_bytes() for p in GOLDEN.glob("**/*.html"))
FETCHED = datetime(2025, 6, 18, 16, 20, tzinfo=UTC)
URL = "https://responsiblestatecraft.org/some-story/"

# Markup pieces of the outlet's templates and of the structured data layers, shuffled by
# hypothesis into arbitrary (mostly broken) pages.
PIECES = [
    "<html>", "</html>", "<head>", "</head>", "<body>", "</body>", "<div>", "</div>", "<p>",
    "</p>", "<br>", "<table><tr><td>", "</td></tr></table>", "<ul><li>", "</li></ul>",
    "<blockquote>", "</blockquote>", '<meta charset="rot13">', '<meta charset="utf-16">',
    '<div class="widget post-partial">', '<article class="page-article post-1" elid="1">',
    '<h1 class="widget__headline h1"><a class="widget__headline-text" href="/x/">',
    "</a></h1>", '<h2 class="widget__subheadline-text h2">', "</h2>",
    '<div class="widget__section-label"><a class="widget__section" href="/analysis/">Analysis</a>',
    '<a class="widget__section" href="http://[::1">Europe</a>',
    '<div class="social-author"><a class="social-author__name" href="http://x:99999/">',
    '<span class="social-date__text">', '<span class="social-date-modified__text">',
    "</span>", "Dec 06, 2024", "5h", "Updated", "0001-01-01", "99999d",
    '<div class="body js-expandable"><div class="body-description">',
    '<p class="shortcode-media"><img src="/a.jpg" alt="x">',
    '<small class="image-media media-caption">',
    '<small class="image-media media-photo-credit">', "</small>", "Top photo credit: A (B)",
    '<picture><img class="rm-hero-media" src="http://[bad">', '<div class="photo-credit">',
    '<script type="application/ld+json">', "</script>", '{"@type": "NewsArticle", ',
    '"headline": "H", ', '"datePublished": "0001-01-01T00:00:00+05:00", ',
    '"dateModified": "9999-12-31T23:59:59-05:00", ', '"author": [{"name": 5}, "x"]', "}",
    '{"@graph": [[[[', "]]]]}", '<link rel="canonical" href="http://[::1/">',
    '<meta property="og:url" content="//other.example/x">',
    '<meta property="article:published_time" content="2024-02-30T00:00:00Z">',
    '<div class="posts-custom section-holder">', "keep reading", "Show less", "\x00", "\ufeff",
    "&nbsp;", "&#0;", "&#xD800;", "\u202e", "الميناء", " words words words ", "\n",
]  # fmt: skip

ROBUST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def extract_or_refuse(html: str | bytes, url: str = URL) -> Article | None:
    """The only allowed outcomes: a record with its basic invariants, or NotAnArticle."""
    try:
        article = extract_article(html, url, FETCHED)
    except NotAnArticle as refused:
        assert refused.reason
        return None
    record = article.to_record()
    assert record["title"]
    assert record["word_count"] >= 1
    assert all(image["url"] for image in record["images"])
    return article


def listing_or_refuse(data: str | bytes) -> None:
    try:
        teasers = extract_listing(data, "https://responsiblestatecraft.org/tag/x/")
    except NotAnArticle as refused:
        assert refused.reason
        return
    assert all(t.url and t.title for t in teasers)


@ROBUST
@given(st.binary(max_size=4000))
def test_random_bytes(data):
    extract_or_refuse(data)
    listing_or_refuse(data)


@ROBUST
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=20), max_size=80), st.booleans())
def test_random_markup_from_the_outlets_pieces(pieces, as_bytes):
    page = "".join(pieces)
    extract_or_refuse(page.encode("utf-8", "surrogatepass") if as_bytes else page)
    listing_or_refuse(page)


@ROBUST
@given(
    st.sampled_from(PAGES),
    st.floats(0, 1),
    st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=8)), max_size=6),
)
def test_truncated_and_mangled_pages(page, cut, edits):
    truncated = page[: int(len(page) * cut)]
    extract_or_refuse(truncated)
    mangled = bytearray(page)
    for where, junk in edits:
        at = int(len(mangled) * where)
        mangled[at : at + len(junk)] = junk
    extract_or_refuse(bytes(mangled))


@ROBUST
@given(st.text(max_size=40))
def test_any_shown_date_text(text):
    shown = parse_shown(text, FETCHED)
    assert shown is None or shown.moment.tzinfo is not None


@ROBUST
@given(st.text(max_size=60))
def test_any_fetched_url(url):
    page = (GOLDEN / "rm-full.html").read_bytes()
    article = extract_or_refuse(page, url)
    assert article is not None  # the page's own canonical link stands in for a useless URL
    assert article.url.startswith(("http://", "https://"))


@pytest.mark.parametrize("depth", [300, 5000, 100_000])
def test_deeply_nested_markup(depth):
    nested = "<div><span>" * depth + "deep text" + "</span></div>" * depth
    extract_or_refuse(f"<html><body>{nested}</body></html>")
    page = (GOLDEN / "rm-full.html").read_text(encoding="utf-8")
    article = extract_or_refuse(page.replace("<p>Locals call", nested + "<p>Locals call", 1))
    assert article is not None and article.title == "Harbor talks stall again"


def test_a_ten_megabyte_page():
    """What makes the outlet's pages big: inline bootstrap data and long teaser streams."""
    page = (GOLDEN / "rm-full.html").read_text(encoding="utf-8")
    posts = [{"id": n, "headline": f"Story {n}", "body": "text " * 40} for n in range(33_000)]
    bootstrap = f"<script>window.REBELMOUSE_BOOTSTRAP_DATA = {json.dumps(posts)};</script>"
    card = (
        '<div class="widget post-partial"><article class="post-{0}" elid="{0}">'
        '<div class="widget__body"><h2 class="widget__headline h3">'
        '<a class="widget__headline-text" href="/story-{0}/">Story number {0}</a></h2>'
        '<div class="widget__brief"><p>A teaser paragraph for story {0}.</p></div>'
        "</div></article></div>\n"
    )
    stream = "".join(card.format(n) for n in range(6_000))
    paragraphs = "".join(
        f"<p>Paragraph {n} of a long report on harbor number {n * 7} and its dues.</p>\n"
        for n in range(600)
    )
    big = page.replace("</head>", bootstrap + "</head>", 1)
    big = big.replace('data-section-id="1">', 'data-section-id="1">' + stream, 1)
    big = big.replace("<p>Locals call", paragraphs + "<p>Locals call", 1)
    assert len(big) > 10_000_000
    article = extract_or_refuse(big.encode())
    assert article is not None and article.title == "Harbor talks stall again"
    assert article.word_count > 600 * 12
    teasers = extract_listing(big, "https://responsiblestatecraft.org/harbor-talks/")
    assert len(teasers) == 6_001


def test_a_page_padded_by_a_ten_megabyte_comment_keeps_its_article():
    page = (GOLDEN / "rm-full.html").read_text(encoding="utf-8")
    padded = page.replace("<main>", "<!--" + "padding " * 1_400_000 + "--><main>", 1)
    assert len(padded) > 10_000_000
    article = extract_or_refuse(padded.encode())
    assert article is not None and article.word_count == 117
