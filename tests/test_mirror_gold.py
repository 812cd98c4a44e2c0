"""The mirror's gold records agree with its pages under the conventions its docstring states,
and every edge case of outlet-anatomy.md section 6 is covered by some gold record."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from qiosk_scraper.article import RECORD_FIELDS, Article, count_words
from qiosk_scraper.mirror import MirrorError, Site

BASE = "http://mirror.test"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def site() -> Site:
    return Site()


@pytest.fixture(scope="module")
def gold(site: Site) -> dict[str, dict[str, Any]]:
    return site.gold(BASE)


def _text(el: Any) -> str:
    return " ".join(el.text_content().split())


def _split_credit(text: str) -> tuple[str | None, str]:
    match = re.match(r"^(.*?)\s*\(([^()]*)\)$", text)
    if match:
        return (match.group(1) or None), match.group(2)
    return None, text


def _read_page(html: bytes, base: str) -> dict[str, Any]:
    """A small independent reader of the documented conventions (module docstring)."""
    root = lxml.html.fromstring(html)
    art = root.cssselect("article.page-article")[0]
    head = {m.get("property"): m.get("content") for m in root.cssselect("meta[property]")}
    labels = [_text(a) for a in art.cssselect(".widget__section-label a.widget__section")]
    authors = []
    for a in art.cssselect("div.social-author > a.social-author__name"):
        href = a.get("href")
        authors.append({"name": _text(a), "url": urljoin(base + "/", href) if href else None})
    blocks: list[str] = []
    links: list[dict[str, str]] = []
    images: list[dict[str, Any]] = []
    credit_text = None
    hero = art.cssselect("img.rm-hero-media")
    hero_credit = art.cssselect(".widget__head .photo-credit")
    if hero_credit:
        credit_text = _text(hero_credit[0])

    def block(el: Any) -> None:
        text = _text(el)
        if text:
            blocks.append(text)
            for a in el.iter("a"):
                links.append({"url": urljoin(base + "/", a.get("href")), "text": _text(a)})

    for child in art.cssselect("div.body-description")[0]:
        classes = child.get("class") or ""
        if child.tag == "p" and "shortcode-media" in classes:
            img = child.cssselect("img")[0]
            images.append(
                {
                    "url": urljoin(base + "/", img.get("src")),
                    "alt": img.get("alt") or "",
                    "caption": _text(child.cssselect(".media-caption")[0]) or None,
                    "credit": _text(child.cssselect(".media-photo-credit")[0]) or None,
                    "lead": False,
                }
            )
        elif child.tag == "p" and re.match(r"Top (photo|image) credit:", _text(child)):
            credit_text = re.sub(r"^Top (photo|image) credit:\s*", "", _text(child))
        elif child.tag in ("p", "h2", "h3"):
            block(child)
        elif child.tag in ("ul", "ol"):
            for li in child.iterchildren("li"):
                block(li)
        elif child.tag == "blockquote":
            for p in child.iterchildren("p"):
                block(p)
        elif child.tag == "table":
            for tr in child.iter("tr"):
                blocks.append(" | ".join(_text(c) for c in tr if c.tag in ("td", "th")))
        elif "rm-embed" in classes:
            quote = child.cssselect("blockquote.twitter-tweet")[0]
            p = quote.find("p")
            block(p)
            rest = " ".join(
                (
                    (p.tail or "")
                    + "".join(_text(a) for a in quote.iter("a") if a.getparent() is quote)
                ).split()
            )
            blocks.append(rest)
            for a in quote.iterchildren("a"):
                links.append({"url": a.get("href"), "text": _text(a)})
    if hero:
        caption, credit = _split_credit(credit_text) if credit_text else (None, None)
        lead = {
            "url": urljoin(base + "/", hero[0].get("src")),
            "alt": hero[0].get("alt") or "",
            "caption": caption,
            "credit": credit,
            "lead": True,
        }
        images.insert(0, lead)
    subtitle = art.cssselect("h2.widget__subheadline-text")
    published = head["article:published_time"]
    modified = head["article:modified_time"]
    body = "\n\n".join(blocks)
    return {
        "url": root.cssselect("link[rel=canonical]")[0].get("href"),
        "title": _text(art.cssselect("h1.widget__headline a.widget__headline-text")[0]),
        "subtitle": _text(subtitle[0]) if subtitle else None,
        "article_type": labels[0],
        "section": labels[1],
        "tags": [_text(a) for a in art.cssselect(".post-tags-primary a")],
        "authors": authors,
        "published": published,
        "modified": None if modified == published else modified,
        "body": body,
        "images": images,
        "links": links,
        "word_count": count_words(body),
        "language": root.get("lang"),
    }


def test_pages_carry_exactly_the_gold(site: Site, gold: dict[str, dict[str, Any]]) -> None:
    assert len(gold) == 120
    for slug, record in gold.items():
        assert list(record) == sorted(RECORD_FIELDS)
        assert Article.from_record(record).to_record(extras=False) == record
        page = site.respond(record["url"][len(BASE) :], BASE)
        assert page.status == 200, slug
        assert _read_page(page.body, BASE) == record, slug


def test_gold_values_follow_the_schema(gold: dict[str, dict[str, Any]]) -> None:
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
    for record in gold.values():
        assert record["url"].startswith(BASE + "/") and record["url"].endswith("/")
        assert stamp.match(record["published"])
        assert record["modified"] is None or record["modified"] > record["published"]
        assert record["article_type"] in ("Analysis", "Reporting", "Opinion", "News")
        assert "\n\n\n" not in record["body"] and record["body"] == record["body"].strip()
        assert "Top photo credit" not in record["body"] and "Top image credit" not in record["body"]
        assert "\xa0" not in record["body"]
        assert all(link["url"].startswith(("http://", "https://")) for link in record["links"])
        leads = [i["lead"] for i in record["images"]]
        assert leads.count(True) <= 1 and True not in leads[1:]


REQUIRED_CASES = (
    "type_analysis", "type_reporting", "type_opinion", "type_news",
    "section_qiosk", "diplomacy_watch",
    "section_middle-east", "section_europe", "section_asia-pacific", "section_africa",
    "section_latin-america", "section_north-america", "section_military-industrial-complex",
    "section_washington-politics", "section_global-crises",
    "authors_1", "authors_2", "authors_3", "author_without_link", "author_name_diacritics",
    "author_name_apostrophe", "no_dek", "updated", "published_2330_new_york",
    "date_short", "date_long", "date_relative",
    "credit_state", "credit_cc", "credit_dod", "credit_airforce", "credit_nocaption",
    "credit_reuters", "credit_shutterstock", "credit_inner", "credit_none",
    "credit_in_body", "credit_in_hero", "no_image", "alt_filename", "alt_headline", "alt_empty",
    "inbody_image_caption_credit", "several_sections", "several_tags",
    "old_slug_redirect", "legacy_date_path_redirect", "legacy_in_place", "teaser_to_deleted_post",
    "body_subheads", "body_lists", "body_quote", "body_tweet", "body_table", "very_long",
    "one_paragraph", "curly_quotes", "em_dash", "nbsp", "rtl_word", "body_ad_noise",
    "body_empty_paragraph",
)  # fmt: skip


def test_every_edge_case_has_a_gold_record(site: Site, gold: dict[str, dict[str, Any]]) -> None:
    cases = site.edge_cases()
    missing = [name for name in REQUIRED_CASES if not cases.get(name)]
    assert missing == []
    for slugs in cases.values():
        assert set(slugs) <= set(gold)


def _page(site: Site, record: dict[str, Any]) -> str:
    return site.respond(record["url"][len(BASE) :], BASE).body.decode()


def test_edge_cases_are_what_they_claim(site: Site, gold: dict[str, dict[str, Any]]) -> None:
    cases = {name: [gold[s] for s in slugs] for name, slugs in site.edge_cases().items()}
    for kind in ("analysis", "reporting", "opinion", "news"):
        assert all(r["article_type"] == kind.title() for r in cases[f"type_{kind}"])
    assert all(r["section"] == "QiOSK" for r in cases["diplomacy_watch"])
    assert all(r["title"].startswith("Diplomacy Watch: ") for r in cases["diplomacy_watch"])
    assert {len(r["authors"]) for r in cases["authors_3"]} == {3}
    assert all(any(a["url"] is None for a in r["authors"]) for r in cases["author_without_link"])
    # usernames are logins, not name slugs
    author_urls = {a["url"] for r in gold.values() for a in r["authors"] if a["url"]}
    assert f"{BASE}/author/jwhit/" in author_urls
    assert all(r["subtitle"] is None for r in cases["no_dek"])
    assert all(r["modified"] and r["modified"] > r["published"] for r in cases["updated"])
    for r in cases["updated"]:
        assert "social-date-modified__text" in _page(site, r)
    for r in cases["published_2330_new_york"]:
        published = datetime.fromisoformat(r["published"])
        local = published.astimezone(NEW_YORK)
        assert (local.hour, local.minute) == (23, 30)
        assert local.date() != published.astimezone(UTC).date()
        assert f">{local:%b %d, %Y}</span>" in _page(site, r)
    shown = {
        "date_short": r"social-date__text\">[A-Z][a-z]{2} \d\d, \d{4}<",
        "date_long": r"social-date__text\">[A-Z][a-z]{3,} \d\d, \d{4}<",
        "date_relative": r"social-date__text\">\d+[mh]<",
    }
    for name, pattern in shown.items():
        assert all(re.search(pattern, _page(site, r)) for r in cases[name]), name
    lead = {
        name: [r["images"][0] for r in cases[name]] for name in cases if name.startswith("credit_")
    }
    assert all(
        i["credit"].startswith("Official State Department photo by") for i in lead["credit_state"]
    )
    assert all(i["credit"] == "Creative Commons license" for i in lead["credit_cc"])
    assert all(i["credit"].startswith("DoD photo by") and i["caption"] for i in lead["credit_dod"])
    assert all(i["credit"].startswith("U.S. Air Force photo/") for i in lead["credit_airforce"])
    assert all(
        i["caption"] is None and "shutterstock.com" in i["credit"] for i in lead["credit_nocaption"]
    )
    assert all(i["credit"].endswith("via Reuters") for i in lead["credit_reuters"])
    assert all(i["credit"] == "Shutterstock" for i in lead["credit_shutterstock"])
    assert all("(center)" in i["caption"] for i in lead["credit_inner"])
    assert all(i["credit"] is None and i["caption"] is None for i in lead["credit_none"])
    assert all(r["images"] == [] for r in cases["no_image"])
    assert all(r["images"][0]["alt"].startswith("Shutterstock_") for r in cases["alt_filename"])
    assert all(r["images"][0]["alt"] == r["title"] for r in cases["alt_headline"])
    assert all(r["images"][0]["alt"] == "" for r in cases["alt_empty"])
    for r in cases["inbody_image_caption_credit"]:
        inbody = [i for i in r["images"] if not i["lead"]]
        assert inbody and all(i["caption"] and i["credit"] for i in inbody)
    assert all(r["word_count"] >= 5000 for r in cases["very_long"])
    assert all("\n" not in r["body"] for r in cases["one_paragraph"])
    assert all(" | " in r["body"] for r in cases["body_table"])
    assert all(
        re.search(r"^— .+ \(@\w+\) \w+ \d+, \d{4}$", r["body"], re.M) for r in cases["body_tweet"]
    )
    assert all("&nbsp;" in _page(site, r).split("body-description")[1] for r in cases["nbsp"])
    assert all(re.search("[\u0590-\u06ff]", r["body"]) for r in cases["rtl_word"])
    assert all("“" in r["body"] for r in cases["curly_quotes"])
    assert any("ü" in r["body"] or "Å" in r["body"] or "Ó" in r["body"] for r in gold.values())
    for r in cases["several_sections"]:
        assert len(site.listings_of(r["url"].rstrip("/").rsplit("/", 1)[1])) >= 3
    for r in cases["legacy_in_place"]:
        assert re.match(rf"^{BASE}/\d{{4}}/\d\d/\d\d/[a-z0-9-]+/$", r["url"])


def test_listings_of_names_displayed_section_labels(site: Site, gold: dict[str, Any]) -> None:
    for slug, record in gold.items():
        labels = site.listings_of(slug)
        assert labels[0] == record["article_type"] and labels[1] == record["section"]
        assert len(labels) == len(set(labels))


def test_gold_of_one_seed_is_stable_and_another_seed_differs() -> None:
    first = json.dumps(Site(articles=60, seed=3).gold(BASE), sort_keys=True)
    again = json.dumps(Site(articles=60, seed=3).gold(BASE), sort_keys=True)
    other = json.dumps(Site(articles=60, seed=4).gold(BASE), sort_keys=True)
    assert first == again
    assert first != other


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(MirrorError, match="at least"):
        Site(articles=10)
    with pytest.raises(MirrorError, match="edition"):
        Site(edition=0)
