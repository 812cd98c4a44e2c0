"""Profiles (issue 14): chosen by name or host; the generic profile archives the mirror from its
sitemaps and feeds alone, with the generic extraction path, and the archive it makes re-extracts,
exports and verifies as an outlet archive does."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.crawl import crawl_cli
from support.datasette import get

from qiosk_scraper.archive import Archive
from qiosk_scraper.cli import main
from qiosk_scraper.datasette import build_datasette, load_metadata
from qiosk_scraper.mirror import RunningMirror
from qiosk_scraper.profiles import UnknownProfile, profile_for, profile_named
from qiosk_scraper.reextract import reextract
from qiosk_scraper.snapshot import export_snapshot, verify_snapshot


@pytest.mark.parametrize(
    ("site", "name"),
    [
        ("https://responsiblestatecraft.org", "responsiblestatecraft"),
        ("https://www.responsiblestatecraft.org/", "responsiblestatecraft"),
        ("http://lobelog.com", "responsiblestatecraft"),
        ("https://example.org", "generic"),
        ("http://127.0.0.1:8765", "generic"),  # the mirror is named, never guessed
        ("https://responsiblestatecraft.org.example.net", "generic"),
    ],
)
def test_a_profile_is_chosen_by_the_sites_host(site: str, name: str) -> None:
    assert profile_for(site).name == name


def test_a_named_profile_wins_and_an_unknown_name_is_refused() -> None:
    assert profile_for("https://example.org", "responsiblestatecraft").outlet_layers
    assert not profile_for("https://responsiblestatecraft.org", "generic").outlet_layers
    with pytest.raises(UnknownProfile, match="choose from generic, responsiblestatecraft"):
        profile_named("lobelog")


def test_sources_a_profile_does_not_offer_are_refused_before_any_request(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    options = ["--site", "https://example.org", "--db", str(db), "--sources", "sitemap,tags"]
    done = CliRunner().invoke(main, ["crawl", *options])
    assert done.exit_code == 2
    assert "offers only robots, sitemap, feeds" in done.output
    wrong = CliRunner().invoke(main, ["crawl", "--profile", "lobelog", "--db", str(db)])
    assert wrong.exit_code == 2 and "'lobelog' is not one of" in wrong.output
    assert not db.exists()


def test_the_generic_profile_archives_the_mirror_from_sitemaps_and_feeds(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    gold = mirror.site.gold(mirror.base_url)
    db = tmp_path / "generic.db"
    crawl_cli("--site", mirror.base_url, "--db", str(db), "--delay", "0", "--profile", "generic")
    with Archive(db) as archive:
        assert sorted(archive.article_urls()) == sorted(r["url"] for r in gold.values())
        assert archive.latest_crawl()["arguments"]["profile"] == "generic"
        sources = {row["source"] for row in archive.db.query("SELECT source FROM discoveries")}
        assert sources <= {"sitemap", "feeds"} and "sitemap" in sources
        fetched = [row["url"] for row in archive.db.query("SELECT url FROM captures")]
        assert not [u for u in fetched if "/tag/" in u or "/author/" in u or "load_more" in u]
        titles = {r["url"]: r["title"] for r in gold.values()}
        assert {url: archive.article_record(url)["title"] for url in titles} == titles
        # The generic path knows no outlet layer: the article type is the outlet's alone.
        assert {archive.article_record(url)["article_type"] for url in titles} == {None}
    # Re-extraction uses the crawl's profile: the same extractor changes nothing.
    result = reextract(db, workers=1)
    assert (result.articles, result.changed, result.failures) == (len(gold), 0, {})
    snapshot = tmp_path / "snapshot"
    export_snapshot(db, snapshot)
    assert verify_snapshot(snapshot) == []
    # Datasette serves it as it serves an outlet archive: the articles, and every canned query.
    datasette, pending = build_datasette(db)
    assert pending == {}
    articles = get(datasette, "/archive/articles.json?_shape=array&_size=max")
    assert articles.status_code == 200 and len(articles.json()) == len(gold)
    queries = load_metadata()["databases"]["archive"]["queries"]
    for name in queries:
        answer = get(datasette, f"/archive/{name}.json?_shape=array")
        assert answer.status_code == 200, (name, answer.text[:300])
