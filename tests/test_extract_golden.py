"""Golden pages: stored pages with their reviewed expected output. Every extraction bug found
becomes one more page here.

- ``golden/<name>.html`` + ``<name>.json``: the full record (provenance and warnings included),
  plus the ``fetched_url`` and ``fetched_at`` the page is extracted with;
- ``golden/not-articles/<name>.html``: pages that must raise NotAnArticle (reasons below);
- ``golden/listings/``: listing pages and load-more JSON with their teasers in ``expected.json``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from qiosk_scraper.discover.listing import extract_listing
from qiosk_scraper.extract import NotAnArticle, extract_article

GOLDEN = Path(__file__).parent / "golden"
ARTICLES = sorted(p.stem for p in GOLDEN.glob("*.json"))
NOT_ARTICLES = {
    "about.html": "page of the outlet without an article",
    "error-404.html": "page of the outlet without an article",
}
EPOCH = datetime.fromisoformat("2025-01-01T00:00:00+00:00")
LISTINGS = json.loads((GOLDEN / "listings" / "expected.json").read_text(encoding="utf-8"))


def test_golden_directory_is_complete():
    assert len(ARTICLES) >= 8
    assert all((GOLDEN / f"{name}.html").is_file() for name in ARTICLES)
    assert sorted(p.name for p in (GOLDEN / "not-articles").glob("*.html")) == sorted(NOT_ARTICLES)


@pytest.mark.parametrize("name", ARTICLES)
def test_golden_article(name):
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    url, fetched_at = expected.pop("fetched_url"), expected.pop("fetched_at")
    html = (GOLDEN / f"{name}.html").read_bytes()
    record = extract_article(html, url, datetime.fromisoformat(fetched_at)).to_record()
    assert record == expected


@pytest.mark.parametrize("name", sorted(NOT_ARTICLES))
def test_golden_not_article(name):
    html = (GOLDEN / "not-articles" / name).read_bytes()
    with pytest.raises(NotAnArticle) as caught:
        extract_article(
            html,
            "https://responsiblestatecraft.org/x/",
            datetime.fromisoformat("2025-01-01T00:00:00+00:00"),
        )
    assert caught.value.reason == NOT_ARTICLES[name]


def test_a_listing_page_is_not_an_article():
    html = (GOLDEN / "listings" / "tag-page.html").read_bytes()
    with pytest.raises(NotAnArticle, match="listing page"):
        extract_article(
            html,
            "https://responsiblestatecraft.org/tag/iran/",
            datetime.fromisoformat("2025-01-01T00:00:00+00:00"),
        )


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_golden_listing(name):
    case = LISTINGS[name]
    teasers = extract_listing((GOLDEN / "listings" / name).read_bytes(), case["url"])
    assert [t.to_record() for t in teasers] == case["teasers"]
