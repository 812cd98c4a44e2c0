"""Extraction on every layout family of the mirror (outlet-anatomy.md sections 4, 7 and 8): every
field of every article equals its gold in each family, the WordPress era included."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from qiosk_scraper.extract import extract_article
from qiosk_scraper.mirror import Site
from qiosk_scraper.mirror.layouts import FAMILIES

BASE = "https://responsiblestatecraft.org"
CASES = [*((name, "rebelmouse") for name in (*FAMILIES, "mixed")), ("single", "wordpress")]


@pytest.mark.parametrize(("layout", "era"), CASES, ids=[f"{lay}-{era}" for lay, era in CASES])
def test_every_article_matches_its_gold_in_every_layout(layout: str, era: str) -> None:
    site = Site(articles=60, seed=3, layout=layout, era=era)
    gold = site.gold(BASE)
    assert len(gold) == 60
    for slug, expected in gold.items():
        page = site.respond(urlsplit(expected["url"]).path, BASE)
        article = extract_article(page.body, expected["url"], site.now)
        assert article.to_record(extras=False) == expected, slug
        assert article.warnings == [], slug


def test_the_split_layout_reads_body_hero_and_credit_from_the_second_copy() -> None:
    site = Site(articles=60, seed=3, layout="split")
    meta = next(m for m in site.order if m.lead is not None and m.lead.credit_text)
    article = extract_article(site.respond(meta.path, BASE).body, BASE + meta.path, site.now)
    assert article.provenance["body"] == "markup+trafilatura"
    assert article.provenance["images"] == "markup"
    lead = article.images[0]
    assert (lead.lead, lead.alt, lead.caption, lead.credit) == (
        True,
        meta.lead.alt,
        meta.lead.caption,
        meta.lead.credit,
    )


def test_the_wordpress_era_is_read_by_the_wordpress_layer() -> None:
    site = Site(articles=60, seed=3, era="wordpress")
    meta = site.order[0]
    article = extract_article(site.respond(meta.path, BASE).body, BASE + meta.path, site.now)
    assert {article.provenance[f] for f in ("title", "authors", "body", "tags", "section")} == {
        "wordpress",
        "wordpress+trafilatura",
    }
