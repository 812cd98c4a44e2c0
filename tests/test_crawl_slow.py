"""The same exactness on a 2,000-article mirror (issue 4 acceptance), through ``qiosk crawl``."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.crawl import crawl_cli, reextracted, warc_problems

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import running_mirror


@pytest.mark.slow
def test_two_thousand_articles_are_archived_exactly(tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    with running_mirror(articles=2000, seed=2) as mirror:
        done = crawl_cli("--site", mirror.base_url, "--db", str(db), "--delay", "0")
        base, site = mirror.base_url, mirror.site
        gold = site.gold(base)
    assert "finished" in done.stdout
    with Archive(db) as archive:
        assert archive.count("articles") == len(gold) == 2000
        wrong = [
            slug for slug, record in gold.items() if archive.article_record(record["url"]) != record
        ]
        assert wrong == []
        listings = [
            slug
            for slug, record in gold.items()
            if archive.listed_sections(record["url"]) != sorted(site.listings_of(slug))
        ]
        assert listings == []
        errors = {(error["url"], error["kind"]) for error in archive.errors()}
        assert errors == {(base + site.ghost.path, "http_404")}
        assert warc_problems(archive) == []
        for record in list(gold.values())[::50]:  # a sample: the full check runs on 120 above
            assert reextracted(archive, record["url"]) == archive.article_record(record["url"])
