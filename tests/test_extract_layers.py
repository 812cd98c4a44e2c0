"""The small helpers of the extraction layers: byline splitting, caption/credit splitting,
same-asset crops, tolerant JSON-LD, microdata, the visible headline, teaser and furniture lines."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest

from qiosk_scraper.article import Author, Image, Link
from qiosk_scraper.extract import extract_article
from qiosk_scraper.extract.body import Body, _without_page_noise, is_promo
from qiosk_scraper.extract.credits import split_caption
from qiosk_scraper.extract.generic import headline, same_asset, split_authors, split_names
from qiosk_scraper.extract.structured import linked_data, microdata

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Ann Lee and Bo Park", ["Ann Lee", "Bo Park"]),
        ("Ann Lee, Bo Park and Cy Doe", ["Ann Lee", "Bo Park", "Cy Doe"]),
        ("Ann Lee, Bo Park, and Cy Doe", ["Ann Lee", "Bo Park", "Cy Doe"]),
        ("Ann Lee & Bo Park", ["Ann Lee", "Bo Park"]),
        ("By Ann Lee; Bo Park", ["Ann Lee", "Bo Park"]),
        ("Declan O'Rourke", ["Declan O'Rourke"]),
        ("Alexandra Anderson", ["Alexandra Anderson"]),  # "and" inside a word stays
        ("", []),
    ],
)
def test_bylines_are_split_into_names(text, names):
    assert split_names(text) == names


def test_a_joint_author_loses_the_url_it_cannot_belong_to():
    joint = [Author("Ann Lee and Bo Park", "https://x.org/team"), Author("Cy Doe", "/u/cy")]
    assert split_authors(joint) == [Author("Ann Lee"), Author("Bo Park"), Author("Cy Doe", "/u/cy")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Talks in Vienna. (AP Photo/Jo Doe)", ("Talks in Vienna.", "AP Photo/Jo Doe")),
        ("Troops gather. Jo Doe/Getty Images", ("Troops gather.", "Jo Doe/Getty Images")),
        ("Troops gather. Photo: Jo Doe", ("Troops gather.", "Jo Doe")),
        ("Troops gather. Photo by Jo Doe", ("Troops gather.", "Photo by Jo Doe")),
        ("Troops gather. Jo Doe via Reuters", ("Troops gather.", "Jo Doe via Reuters")),
        ("Inspired by maps via shutterstock.com", (None, "Inspired by maps via shutterstock.com")),
        ("Jo Doe/Getty Images", (None, "Jo Doe/Getty Images")),
        ("Aid arrives via the border crossing.", ("Aid arrives via the border crossing.", None)),
        ("A 50/50 split of the vote.", ("A 50/50 split of the vote.", None)),
        ("", (None, None)),
    ],
)
def test_captions_and_credits_are_split_by_the_credit_cues(text, expected):
    assert split_caption(text) == expected


def test_crops_of_one_asset_are_recognised():
    hero = "https://rs.org/media-library/a.jpg?id=7&width=1200&height=800&quality=90"
    crop = "https://assets.rbl.ms/media-library/a.jpg?id=7&width=1245&height=700&coordinates=0%2C62"
    assert same_asset(hero, crop)
    assert not same_asset(hero, "https://rs.org/media-library/a.jpg?id=8&width=1200")
    assert not same_asset(hero, "https://rs.org/media-library/b.jpg?id=7&width=1200")


def _tree(head: str, body: str = "") -> lxml.html.HtmlElement:
    return lxml.html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_json_ld_in_cdata_with_comments_and_id_references_is_read():
    script = (
        '<script type="application/ld+json"><![CDATA[\n/* plugin */\n// a line comment\n'
        '{"@graph": [{"@type": "Person", "@id": "#ann", "name": "Ann Lee"},'
        ' {"@type": "NewsArticle", "headline": "H", "author": [{"@id": "#ann"}],'
        ' "articleSection": ["Analysis", "Europe"], "keywords": "a, b"}]}\n]]></script>'
    )
    data = linked_data(_tree(script))
    assert data is not None and data.headline == "H"
    assert data.authors == [Author("Ann Lee")]
    assert data.section is None  # two sections in a list name no single one
    assert data.keywords == ["a", "b"]


def test_several_json_ld_blocks_of_one_article_complete_each_other():
    first = '{"@type": "NewsArticle", "url": "https://x.org/a", "headline": "H"}'
    second = '{"@type": "NewsArticle", "url": "https://x.org/a", "datePublished": "2024-01-02"}'
    other = '{"@type": "NewsArticle", "url": "https://x.org/other", "description": "no"}'
    scripts = "".join(
        f'<script type="application/ld+json">{s}</script>' for s in (first, second, other)
    )
    data = linked_data(_tree(scripts))
    assert data is not None
    assert (data.headline, data.date_published, data.description) == ("H", "2024-01-02", None)


def test_microdata_gives_an_article_without_json_ld():
    body = (
        '<div itemscope itemtype="https://schema.org/NewsArticle">'
        '<h1 itemprop="headline">Micro</h1><time itemprop="datePublished" '
        'datetime="2024-02-03T04:05:00Z">Feb 3</time><span itemprop="author" itemscope>'
        '<span itemprop="name">Ann Lee</span></span></div>'
    )
    data = microdata(_tree("", body))
    assert data is not None
    assert (data.headline, data.date_published) == ("Micro", "2024-02-03T04:05:00Z")
    assert data.authors == [Author("Ann Lee")]


def test_the_visible_headline_is_the_h1_naming_the_story():
    body = "<header><h1>Site</h1></header><h1>Logo</h1><article><h1>Cranes return to the quay</h1>"
    tree = _tree("", body + "</article>")
    assert headline(tree, ["Cranes return to the..."]) == "Cranes return to the quay"
    assert headline(tree, ["Something else entirely"]) is None
    assert headline(_tree("", "<h1>Only one</h1>"), []) == "Only one"


def test_a_truncated_og_title_never_wins():
    page = (
        '<html><head><meta property="og:title" content="Cranes return to the...">'
        "<title>Cranes return to the quay after ten years | Quay News</title>"
        '<meta property="og:type" content="article"></head><body><article>'
        "<h2>Cranes return to the quay after ten years</h2>"
        + "<p>The cranes on the old quay swung again this week after ten idle years.</p>" * 3
        + "</article></body></html>"
    )
    article = extract_article(page, "https://x.org/cranes/", FETCHED)
    assert article.title == "Cranes return to the quay after ten years"


def test_promo_lines_are_recognised():
    assert is_promo("ALSO READ: Why the debate keeps coming back")
    assert is_promo("Related: Moon Rush")
    assert not is_promo("Also read the fine print, she said.")


def test_runs_of_teaser_links_and_furniture_lines_leave_a_whole_page_body():
    body = Body()
    body.add("The story starts here and goes on for a while.", [])
    for n in range(3):
        body.add(f"Teaser {n}", [Link(f"https://x.org/{n}", f"Teaser {n}")])
    body.add("The story goes on, with a link to a source.", [Link("https://x.org/s", "source")])
    body.add("https://x.org/the-story-url", [])
    body.add("Related", [])
    cleaned = _without_page_noise(body)
    assert cleaned.blocks == [
        "The story starts here and goes on for a while.",
        "The story goes on, with a link to a source.",
    ]


def test_a_joint_byline_in_the_cms_markup_gives_two_authors():
    page = (
        '<html><head><meta property="og:type" content="article"></head><body>'
        '<div class="widget post-partial"><article class="page-article" elid="1">'
        '<h1 class="widget__headline h1"><a class="widget__headline-text">Cranes</a></h1>'
        '<div class="social-author"><a class="social-author__name" href="/u/team">'
        "Ann Lee and Bo Park</a></div>"
        '<div class="body-description"><p>The cranes on the quay swung again.</p></div>'
        "</article></div></body></html>"
    )
    article = extract_article(page, "https://x.org/cranes/", FETCHED)
    assert article.authors == [Author("Ann Lee"), Author("Bo Park")]
    assert article.provenance["authors"] == "markup"


def test_a_split_post_without_ids_is_read_from_its_second_block():
    page = (
        '<html><head><meta property="og:type" content="article"></head><body>'
        '<div class="post-head main-post-head"><div class="widget post-partial"><article>'
        '<h1 class="widget__headline h1"><a class="widget__headline-text">Cranes</a></h1>'
        "</article></div></div>"
        '<div class="post-head post-body"><div class="widget post-partial"><article>'
        '<picture><img class="rm-hero-media" src="/m/a.jpg?id=1" alt="Cranes"></picture>'
        '<div class="photo-credit">The quay at dawn (Jo Doe/Reuters)</div>'
        '<div class="body"><div class="body-description"><p>The cranes swung again.</p>'
        "</div></div></article></div></div></body></html>"
    )
    article = extract_article(page, "https://x.org/cranes/", FETCHED)
    assert article.body == "The cranes swung again."
    assert article.images == [
        Image("https://x.org/m/a.jpg?id=1", "Cranes", "The quay at dawn", "Jo Doe/Reuters", True)
    ]
