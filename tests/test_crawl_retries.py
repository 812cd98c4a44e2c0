"""Transient failures are retried after the wait the site asks for; lasting ones are errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from support.crawl import FaultyMirror, crawl_with_settings

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror.site import Site


def test_retry_after_is_honoured_and_lasting_failures_are_recorded(tmp_path: Path) -> None:
    site = Site(articles=60, seed=3)
    broken = site.order[7].path
    faults = {
        "/sitemap.xml": [(503, {"Retry-After": "2"})],
        "/feeds/sitemaps/sitemap_1.xml": [(429, {"Retry-After": "1"}), (500, {})],
    }
    db = tmp_path / "qiosk.db"
    with FaultyMirror(site, faults, always={broken: 500}) as mirror:
        crawl_with_settings(
            {"site": mirror.base_url, "db": str(db), "delay": 0, "sources": "robots,sitemap"},
            {"QIOSK_RETRY_BACKOFF_BASE": 0.05, "RETRY_TIMES": 3},
        )
        base = mirror.base_url
    with Archive(db) as archive:
        # Every failed attempt is an errors row: retried ones say so, the last one gave up.
        errors = sorted((e["url"][len(base) :], e["kind"], e["message"]) for e in archive.errors())
        sitemap_1 = "/feeds/sitemaps/sitemap_1.xml"
        assert errors == sorted(
            [
                ("/sitemap.xml", "http_503", "503 answer with Retry-After; retry 1 of 3 in 2 s"),
                (sitemap_1, "http_429", "429 answer with Retry-After; retry 1 of 3 in 1 s"),
                (sitemap_1, "http_500", "500 answer; retry 2 of 3 in 0.1 s"),
                (broken, "http_500", "500 answer; retry 1 of 3 in 0.05 s"),
                (broken, "http_500", "500 answer; retry 2 of 3 in 0.1 s"),
                (broken, "http_500", "500 answer; retry 3 of 3 in 0.2 s"),
                (broken, "http_500", "500 answer (Internal Server Error); gave up after 3 retries"),
            ]
        )
        assert all(e["capture_id"] is not None for e in archive.errors())
        assert archive.count("articles") == len(site.order) - 1
        captures = {
            path: list(
                archive.db.query(
                    "SELECT status, fetched_at FROM captures WHERE url = ? ORDER BY id",
                    [base + path],
                )
            )
            for path in ("/sitemap.xml", "/feeds/sitemaps/sitemap_1.xml", broken)
        }
        stats = archive.crawl(1)["stats"]
    assert [c["status"] for c in captures["/sitemap.xml"]] == [503, 200]
    waited = datetime.fromisoformat(captures["/sitemap.xml"][1]["fetched_at"]) - (
        datetime.fromisoformat(captures["/sitemap.xml"][0]["fetched_at"])
    )
    assert waited.total_seconds() >= 1  # Retry-After: 2 (capture times are whole seconds)
    assert [c["status"] for c in captures["/feeds/sitemaps/sitemap_1.xml"]] == [429, 500, 200]
    assert [c["status"] for c in captures[broken]] == [500] * 4  # first try and 3 retries
    assert stats["qiosk/retry_pauses"] == 1 + 2 + 3
    assert stats["retry/max_reached"] == 1


def test_a_page_that_is_not_an_article_is_an_error_and_the_crawl_goes_on(
    tmp_path: Path,
) -> None:
    site = Site(articles=60, seed=4)
    impostor = site.order[3].path
    db = tmp_path / "qiosk.db"
    with FaultyMirror(site, {}, always={}, pages={impostor: b"<html><body></body></html>"}) as m:
        crawl_with_settings(
            {"site": m.base_url, "db": str(db), "delay": 0, "sources": "sitemap"}, {}
        )
        base = m.base_url
    with Archive(db) as archive:
        [error] = archive.errors()
        assert (error["url"], error["kind"]) == (base + impostor, "not_an_article")
        assert error["capture_id"] is not None and error["message"]
        assert archive.count("articles") == len(site.order) - 1
        crawl = archive.crawl(1)
    assert crawl["status"] == "finished"
    assert crawl["stats"]["qiosk/errors/not_an_article"] == 1
