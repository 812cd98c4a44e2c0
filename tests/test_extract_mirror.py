"""Extraction against the mirror's gold: every field of every article, on the default mirror,
its second edition and (slow) a 2,000-article mirror; listings against the site's own lists."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from qiosk_scraper.discover.listing import extract_listing
from qiosk_scraper.evaluate import page_f1
from qiosk_scraper.extract import extract_article
from qiosk_scraper.mirror.build import build
from qiosk_scraper.mirror.site import Site

BASE = "http://127.0.0.1:8765"


def built(tmp_path_factory: pytest.TempPathFactory, **kwargs: int) -> Path:
    out = tmp_path_factory.mktemp("mirror")
    build(Site(**kwargs), out, BASE)
    return out


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory)


def gold_records(root: Path) -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (root / "gold").glob("*.json")
    }


def assert_every_article_matches(root: Path, fetched_at: datetime) -> None:
    """Every field equal to the gold (stronger than the acceptance's field list and F1)."""
    gold = gold_records(root)
    assert gold
    scores = []
    for slug, expected in gold.items():
        page = root / urlsplit(expected["url"]).path.strip("/") / "index.html"
        article = extract_article(page.read_bytes(), expected["url"], fetched_at)
        assert article.to_record(extras=False) == expected, slug
        assert article.warnings == [], slug
        scores.append(page_f1(expected["body"], article.body))
    assert min(scores) == 1.0


def test_every_article_of_the_default_mirror_matches_its_gold(mirror: Path) -> None:
    assert_every_article_matches(mirror, Site().now)


def test_every_article_of_the_second_edition_matches_its_gold(tmp_path_factory) -> None:
    assert_every_article_matches(built(tmp_path_factory, edition=2), Site(edition=2).now)


@pytest.mark.slow
def test_every_article_of_a_2000_article_mirror_matches_its_gold(tmp_path_factory) -> None:
    assert_every_article_matches(built(tmp_path_factory, articles=2000), Site(articles=2000).now)


def test_relative_dates_are_resolved_against_the_fetch_time(mirror: Path) -> None:
    # the newest articles show "23m" / "5h"; fetched a week later they would disagree
    gold = gold_records(mirror)
    newest = max(gold.values(), key=lambda r: r["published"])
    page = mirror / urlsplit(newest["url"]).path.strip("/") / "index.html"
    assert re.search(rb'social-date__text">\d+[mh]<', page.read_bytes())
    on_time = extract_article(page.read_bytes(), newest["url"], Site().now)
    late = datetime.fromisoformat(newest["published"]).astimezone(UTC).replace(year=2030)
    too_late = extract_article(page.read_bytes(), newest["url"], late)
    assert on_time.warnings == []
    assert too_late.published == newest["published"]  # structured data still wins
    assert any(w.startswith("published:") for w in too_late.warnings)


def _listing_pages(root: Path) -> list[Path]:
    pages = [
        root / "index.html",
        *root.glob("tag/*/index.html"),
        *root.glob("tag/*/page/*/index.html"),
    ]
    pages += [*root.glob("author/*/index.html"), *root.glob("regions/*/index.html")]
    pages += [root / name / "index.html" for name in ("analysis", "reporting", "qiosk")]
    return [p for p in pages if p.is_file()]


def test_listing_teasers_agree_with_the_gold(mirror: Path) -> None:
    by_url = {r["url"]: r for r in gold_records(mirror).values()}
    pages = _listing_pages(mirror)
    assert len(pages) > 20
    seen = 0
    for page in pages:
        url = BASE + "/" + str(page.parent.relative_to(mirror)).replace(".", "") + "/"
        for teaser in extract_listing(page.read_bytes(), url):
            record = by_url[teaser.url]
            lead = record["images"][0] if record["images"] and record["images"][0]["lead"] else {}
            assert teaser.title == record["title"]
            assert teaser.post_id is not None
            assert teaser.section in (None, record["section"])
            assert teaser.article_type in (None, record["article_type"])
            assert teaser.dek in (None, record["subtitle"])
            assert teaser.image_credit in (None, lead.get("credit"))
            assert teaser.image_caption in (None, lead.get("caption"))
            seen += 1
    assert seen > 100


def test_tag_pages_and_load_more_list_the_same_articles(mirror: Path) -> None:
    by_resource: dict[str, dict[int, list[str]]] = {}
    for path in (mirror / "res" / "load_more_posts").iterdir():
        query = parse_qs(path.name.partition("?")[2])
        teasers = extract_listing(path.read_bytes(), BASE + "/res/load_more_posts/" + path.name)
        posts = json.loads(path.read_text(encoding="utf-8"))["posts_by_source"]
        assert [t.post_id for t in teasers] == [p["id"] for post in posts.values() for p in post]
        pages = by_resource.setdefault(query["resource_id"][0], {})
        pages[int(query["pn"][0])] = [t.url for t in teasers]
    tags = sorted(p.parent.name for p in mirror.glob("tag/*/index.html"))
    assert len(tags) > 5
    for slug in tags:
        html_urls = []
        for page in [mirror / "tag" / slug / "index.html", *sorted(
            (mirror / "tag" / slug).glob("page/*/index.html"), key=lambda p: int(p.parent.name)
        )]:  # fmt: skip
            html_urls += [t.url for t in extract_listing(page.read_bytes(), BASE + "/tag/")]
        json_pages = by_resource[f"tag_{slug}"]
        assert html_urls == [u for n in sorted(json_pages) for u in json_pages[n]], slug
