"""Acceptance of issue 8 on a fresh archive: a crawl of the mirror with every fault mode on
archives each article the faulty mirror eventually served correctly exactly as a clean crawl
does, exactly once, and records every injected fault in ``errors`` with its kind."""

from __future__ import annotations

from pathlib import Path

from support.crawl import warc_problems
from support.faults import EXPECTED_KIND, SPEC, crawl, errors_by_url, expected_errors

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import running_mirror
from qiosk_scraper.mirror.site import Site


def test_a_crawl_under_every_fault_archives_what_was_served_correctly(tmp_path: Path) -> None:
    site = Site(articles=60, seed=1)
    db = tmp_path / "qiosk.db"
    with running_mirror(site=site, faults=SPEC) as mirror:
        plan = mirror.faults
        assert plan is not None
        base = mirror.base_url
        crawl(base, db)
    assert set(EXPECTED_KIND) == set(plan.spec.kinds)  # every kind of the SPEC is checked
    assert plan.max_failures <= 4  # RETRY_TIMES: every transient fault is outlasted
    gold = plan.gold(base)
    clean = site.gold(base)
    broken = plan.broken_slugs()
    with Archive(db) as archive:
        crawl_row = archive.crawl(1)
        assert crawl_row["status"] == "finished"

        # Each article served correctly in the end: archived once, exactly as on the clean site.
        different = {
            slug: archive.article_record(record["url"])
            for slug, record in gold.items()
            if archive.article_record(record["url"]) != record
        }
        assert different == {}
        # Never served correctly: archived only when the crawl recovered the clean text (the
        # wrong charsets, decoded as cp1252; the malformed page, whose article markup is
        # intact), and then exactly as on the clean site; refused otherwise.
        recovered = {s for s, kind in broken.items() if kind in ("wrong_charset", "malformed_html")}
        assert recovered and len(recovered) == 3
        for slug in recovered:
            assert archive.article_record(clean[slug]["url"]) == clean[slug], slug
        urls = {gold[s]["url"] for s in gold} | {clean[s]["url"] for s in recovered}
        assert sorted(archive.article_urls()) == sorted(urls)
        post_ids = [r["post_id"] for r in archive.db.query("SELECT post_id FROM articles")]
        assert None not in post_ids and len(set(post_ids)) == len(post_ids) == len(urls)

        # Every injected fault is in errors with its kind: one row per failed answer.
        found = errors_by_url(archive, 1, base)
        expected = expected_errors(plan, base)
        assert {path: sorted(e["kind"] for e in found.get(path, [])) for path in expected} == (
            expected
        )
        kinds = {e["kind"] for rows in found.values() for e in rows}
        assert {k for k in EXPECTED_KIND.values() if k} | {"missing_charset"} <= kinds
        # ... and nothing else failed but the clean mirror's own 404 (a teaser to a deleted
        # post) and 410s.
        others = {
            (path, e["kind"]) for path, rows in found.items() if path not in expected for e in rows
        }
        assert others == {(site.ghost.path, "http_404")} | {(p, "http_410") for p in site.gone}
        for path in expected:
            for error in found[path]:
                assert error["message"], error
        throttled = [e["message"] for p in expected for e in found[p] if e["kind"] == "http_429"]
        assert throttled == ["429 answer with Retry-After; retry 1 of 4 in 1 s"] * 2  # as asked
        retried = [e for p in expected for e in found[p] if "; retry " in e["message"]]
        transient = sum(f.failures or 0 for f in plan.faults if f.kind in ("http_500", "http_503"))
        assert len(retried) >= transient + 2  # + the 429s' Retry-After, the timeout, reset, cut
        # An answer that showed a failure is captured and named; a download that failed (no
        # answer, a body cut short or over the cap) has none.
        unanswered = {"timeout", "truncated", "connection_reset", "oversized"}
        for error in (e for p in expected for e in found[p]):
            assert (error["capture_id"] is None) == (error["kind"] in unanswered), error
        assert crawl_row["stats"]["qiosk/errors"] == len(archive.errors(1))

        # Extracting again from WARC (the raw bytes: cp1252 where it was) gives the same records.
        from qiosk_scraper.reextract import reextract

        again = reextract(db, workers=1)
        assert (again.articles, again.changed, again.failures) == (len(urls), 0, {})

        # Refused answers are kept as received in WARC all the same.
        assert warc_problems(archive) == []
        statuses = {
            path: [r["status"] for r in archive.db.query(
                "SELECT status FROM captures WHERE url = ? ORDER BY id", [base + path])]
            for path in ("/sitemap.xml", "/feeds/feed.rss")
        }  # fmt: skip
        assert statuses == {"/sitemap.xml": [429, 200], "/feeds/feed.rss": [503, 503, 200]}
