"""``qiosk check-site`` against the mirror in several layout families: it finds the articles from
the sitemaps and feeds, names the layer that found each field, warns about fields only a fallback
found, obeys robots.txt and writes nothing."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from qiosk_scraper.article import Article, Image
from qiosk_scraper.checksite import Answer, Fetcher, Look, sample, warnings
from qiosk_scraper.cli import main
from qiosk_scraper.mirror import Site, running_mirror


@pytest.mark.parametrize(
    ("layout", "era", "layer"),
    [("single", "rebelmouse", "markup"), ("split", "rebelmouse", "markup"),
     ("single", "wordpress", "wordpress")],
)  # fmt: skip
def test_check_site_names_the_layer_of_every_field(tmp_path, monkeypatch, layout, era, layer):
    site = Site(articles=60, seed=4, layout=layout, era=era)
    monkeypatch.chdir(tmp_path)
    with running_mirror(site=site) as mirror:
        result = CliRunner().invoke(
            main, ["check-site", mirror.base_url, "--sample", "4", "--delay", "0"]
        )
    assert os.listdir(tmp_path) == []  # nothing archived
    assert result.exit_code == 0, result.output
    assert "robots.txt: HTTP 200" in result.output
    assert "sampled: 4 articles" in result.output
    for name in ("title", "authors", "lead image", "body"):
        assert re.search(rf"^  {name} +4/4 +{layer}\S* 4$", result.output, re.M), name
    assert "warning" not in result.output
    article_hits = [
        t for t in mirror.hits if t.rstrip("/") in {m.path.rstrip("/") for m in site.order}
    ]
    assert len(article_hits) == 4


def _article(provenance: dict[str, str], credit: str | None) -> Article:
    return Article(
        url="https://x.org/a/",
        title="T",
        authors=[],
        body="Some words here.",
        images=[Image("https://x.org/i.jpg", credit=credit, lead=True)],
        provenance=provenance,
    )


def test_fields_found_only_by_a_fallback_are_warned_about():
    articles = [
        _article({"title": "markup", "body": "trafilatura", "images": "meta"}, None),
        _article({"title": "markup", "body": "trafilatura", "images": "meta"}, "AP"),
    ]
    lines = warnings(articles)
    assert "body: 0/2 from the outlet's markup or structured data, 2/2 from the fallback" in lines
    assert (
        "authors: 0/2 from the outlet's markup or structured data, 0/2 from the fallback" in lines
    )
    assert not any(line.startswith(("title", "lead image:")) for line in lines)


class _Recording(Fetcher):
    def __init__(self) -> None:
        super().__init__("https://x.org", delay=0)
        self.asked: list[str] = []

    def get(self, url: str) -> Answer:
        self.asked.append(url)
        return Answer(url, 404, b"")


def test_pages_robots_txt_disallows_are_not_fetched():
    fetcher = _Recording()
    fetcher.robots.parse(["User-agent: *", "Disallow: /private/"])
    look = Look(candidates=["https://x.org/private/a/", "https://x.org/b/"])
    sample(fetcher, look, 5, datetime(2025, 1, 1, tzinfo=UTC))
    assert fetcher.asked == ["https://x.org/b/"]
    assert look.disallowed == 1 and look.refused == {"HTTP 404": 1}
