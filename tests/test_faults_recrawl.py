"""Acceptance of issue 8 on an archive that had it all: a crawl under every fault mode loses,
overwrites, revises and marks gone nothing of an earlier clean crawl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.faults import EXPECTED_KIND, SPEC, crawl, errors_by_url, restart_faults

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import FaultPlan, running_mirror
from qiosk_scraper.mirror.site import Site

# What a fetch must never change without a correct answer; what a correct one may move on.
KEPT = ("id", "url", "post_id", "content_hash", "first_seen", "extractor_version", "gone_at")
CHILDREN = ("article_authors", "article_tags", "article_sections", "images", "links")


def state(archive: Archive) -> dict[str, Any]:
    """Everything of the archive's articles a faulty crawl must leave as it was."""
    tables = {
        name: sorted(map(repr, archive.db.query(f"SELECT * FROM [{name}]")))
        for name in (*CHILDREN, "revisions")
        if name in archive.db.table_names()
    }
    return {
        "records": {url: archive.article_record(url) for url in archive.article_urls()},
        "articles": {
            row["url"]: {key: row.get(key) for key in KEPT}
            for row in archive.db.query("SELECT * FROM articles")
        },
        "fetched": {
            row["url"]: (row["last_fetched"], row["capture_id"])
            for row in archive.db.query("SELECT * FROM articles")
        },
        "aliases": {
            row["url"]: row["target_url"] for row in archive.db.query("SELECT * FROM url_aliases")
        },
        "tables": tables,
    }


def test_a_faulty_recrawl_keeps_everything_the_clean_crawl_archived(tmp_path: Path) -> None:
    site = Site(articles=60, seed=1)
    db = tmp_path / "qiosk.db"
    with running_mirror(site=site) as mirror:
        base = mirror.base_url
        crawl(base, db)
        with Archive(db) as archive:
            before = state(archive)
        plan = FaultPlan(site, SPEC)
        restart_faults(mirror.server, plan)
        crawl(base, db, refresh="1")  # refetch everything (issue 5's re-crawls skip the unchanged)
    clean = site.gold(base)
    assert sorted(before["records"]) == sorted(r["url"] for r in clean.values())
    with Archive(db) as archive:
        after = state(archive)
        faulty = archive.crawl(2)
        found = errors_by_url(archive, 2, base)
    assert faulty["status"] == "finished"
    # The faults were met ...
    kinds = {e["kind"] for rows in found.values() for e in rows}
    assert {k for k in EXPECTED_KIND.values() if k} | {"missing_charset"} <= kinds
    # ... and nothing was lost, overwritten, revised or marked gone.
    assert after["records"] == before["records"]
    assert after["articles"] == before["articles"]
    assert after["tables"] == before["tables"]
    assert before["aliases"].items() <= after["aliases"].items()
    # An article whose URL never answered correctly keeps its last good fetch.
    refused = {
        clean[slug]["url"]
        for slug, kind in plan.broken_slugs().items()
        if kind not in ("wrong_charset", "malformed_html")
    }
    assert len(refused) == 5
    for url in refused:
        assert after["fetched"][url] == before["fetched"][url], url
    # The rest were fetched again and found unchanged (the wrong charsets included).
    for url in set(before["fetched"]) - refused:
        assert after["fetched"][url] != before["fetched"][url], url
