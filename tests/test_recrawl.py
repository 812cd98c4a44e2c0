"""Re-crawls (issue 5) on the mirror: edition 1, then edition 2 into the same archive, then a
``--refresh`` crawl of edition 2 with one article silently edited. One set of crawls for the
module (real Scrapy in subprocesses, real HTTP, the archive read afterwards)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from support.crawl import crawl_cli, warc_problems

from qiosk_scraper.archive import Archive
from qiosk_scraper.coverage import coverage
from qiosk_scraper.mirror import Site, running_mirror
from qiosk_scraper.mirror.site import Response

SILENT_NOTE = "A sentence the site added without saying so."


class SilentlyEdited(Site):
    """Edition 2, but one article's first body paragraph gains a sentence; neither its
    modified time nor its Last-Modified header changes (a silent edit)."""

    silent_path = ""

    def respond(self, target: str, base_url: str) -> Response:
        response = super().respond(target, base_url)
        if urlsplit(target).path == self.silent_path and response.status == 200:
            body = response.body.decode()
            start = body.index("<p>", body.index('class="body-description"'))
            response.body = (body[: start + 3] + SILENT_NOTE + " " + body[start + 3 :]).encode()
        return response


@dataclass
class Recrawl:
    archive: Archive
    base: str
    first: Site
    second: Site
    gold1: dict[str, dict[str, Any]]
    gold2: dict[str, dict[str, Any]]
    hits2: Counter[str]  # requests of the second crawl, by target
    hits3: Counter[str]
    silent: str  # slug of the silently edited article
    outputs: list[str]


@pytest.fixture(scope="module")
def recrawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recrawl]:
    first, second = Site(edition=1), Site(edition=2)
    changes = second.changes()
    untouched = sorted(
        m.slug
        for m in second.order
        if m.slug not in changes["edited"] and m.slug not in changes["new"] and not m.old_slugs
    )
    silent = SilentlyEdited(edition=2)
    silent.silent_path = f"/{untouched[0]}/"
    db = tmp_path_factory.mktemp("recrawl") / "qiosk.db"
    with running_mirror(site=first) as mirror:
        base, outputs = mirror.base_url, []
        options = ("--site", base, "--db", str(db), "--delay", "0")
        outputs.append(crawl_cli(*options).stdout)
        mirror.server.site = second  # the site moves on: edits, a new slug, a deletion
        mirror.hits.reset()
        outputs.append(crawl_cli(*options).stdout)
        hits2 = mirror.hits.snapshot()
        mirror.server.site = silent
        mirror.hits.reset()
        outputs.append(crawl_cli(*options, "--refresh").stdout)
        hits3 = mirror.hits.snapshot()
    with Archive(db) as archive:
        yield Recrawl(
            archive, base, first, second, first.gold(base), second.gold(base),
            hits2, hits3, untouched[0], outputs,
        )  # fmt: skip


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(name for name in after if before.get(name) != after[name])


def test_exactly_the_edited_and_moved_articles_get_a_second_revision(recrawl: Recrawl) -> None:
    archive, changes = recrawl.archive, recrawl.second.changes()
    [(old_path, new_path)] = changes["moved"].items()
    moved = new_path.strip("/")
    rows = archive.db.execute(
        "SELECT a.url, r.changed_fields, r.silent_edit FROM revisions r "
        "JOIN articles a ON a.id = r.article_id JOIN captures c ON c.id = r.capture_id "
        "WHERE r.revision = 2 AND c.crawl_id = 2"
    ).fetchall()
    second = {url.removeprefix(recrawl.base).strip("/"): json.loads(f) for url, f, _ in rows}
    expected = {
        slug: changed_fields(recrawl.gold1[slug], recrawl.gold2[slug]) for slug in changes["edited"]
    }
    expected[moved] = ["url"]  # a move changes the record's URL, nothing else
    assert second == expected
    # The new URL (met first, in the sitemap) was held until the old one answered 301: each
    # asked once, and no conflict recorded.
    assert (recrawl.hits2[old_path], recrawl.hits2[new_path]) == (1, 1)
    assert "conflicting_canonical" not in {e["kind"] for e in archive.errors(2)}
    assert {silent for _, _, silent in rows} == {0}  # the edits were declared (modified)
    for slug in [*changes["edited"], moved]:
        history = archive.revisions(recrawl.gold2[slug]["url"])
        old = recrawl.gold1.get(slug) or recrawl.gold1[old_path.strip("/")]
        assert [r["record"] for r in history][:2] == [old, recrawl.gold2[slug]]


def test_new_articles_appear_and_every_live_article_is_current(recrawl: Recrawl) -> None:
    archive = recrawl.archive
    for slug in recrawl.second.changes()["new"]:
        assert [r["revision"] for r in archive.revisions(recrawl.gold2[slug]["url"])] == [1]
    wrong = [
        slug
        for slug, record in recrawl.gold2.items()
        if slug != recrawl.silent and archive.article_record(record["url"]) != record
    ]
    assert wrong == []
    assert archive.count("articles") == len(recrawl.gold2) + 1  # and the deleted one


def test_the_deleted_article_is_gone_with_its_data_intact(recrawl: Recrawl) -> None:
    archive = recrawl.archive
    [slug] = recrawl.second.changes()["deleted"]
    record = recrawl.gold1[slug]
    row = archive.article_row(record["url"])
    assert row is not None and row["gone_at"] is not None
    assert archive.article_record(record["url"]) == record
    evidence = archive.capture(row["gone_capture_id"])
    assert (evidence["url"], evidence["status"]) == (record["url"], 410)
    assert row["gone_at"] == evidence["fetched_at"]
    assert [r["revision"] for r in archive.revisions(record["url"])] == [1]
    assert (record["url"], "http_410") not in {(e["url"], e["kind"]) for e in archive.errors()}
    assert archive.crawl(2)["stats"]["qiosk/figures"]["articles_gone"] == 1


def test_the_moved_slug_is_one_article(recrawl: Recrawl) -> None:
    archive, base = recrawl.archive, recrawl.base
    [(old_path, new_path)] = recrawl.second.changes()["moved"].items()
    article_id = archive.find_article(base + new_path)
    assert article_id is not None and archive.find_article(base + old_path) == article_id
    assert archive.article_row(base + old_path)["url"] == base + new_path  # type: ignore[index]
    assert [r["revision"] for r in archive.revisions(base + old_path)] == [1, 2]


def test_unchanged_articles_were_answered_304_or_not_requested(recrawl: Recrawl) -> None:
    archive, changes = recrawl.archive, recrawl.second.changes()
    unchanged = [
        m.path
        for m in recrawl.second.order
        if m.slug not in changes["edited"] and m.slug not in changes["new"]
        and m.path not in changes["moved"].values()
    ]  # fmt: skip
    assert len(unchanged) == len(recrawl.gold1) - 5  # all but the edited three, moved and gone
    statuses = {
        path: [
            status
            for (status,) in archive.db.execute(
                "SELECT status FROM captures WHERE crawl_id = 2 AND url = ?", [recrawl.base + path]
            )
        ]
        for path in unchanged
    }
    # Every request the mirror saw for them is a capture, and every capture a 304.
    assert {path: recrawl.hits2[path] for path in unchanged} == {
        path: len(found) for path, found in statuses.items()
    }
    assert {s for found in statuses.values() for s in found} <= {304}
    figures = archive.crawl(2)["stats"]["qiosk/figures"]
    assert figures["articles_skipped"] + figures["articles_unchanged"] == len(unchanged)
    assert (figures["articles_new"], figures["articles_updated"]) == (3, 4)
    for path in changes["edited"]:
        assert recrawl.hits2[f"/{path}/"] == 1  # the edited ones were fetched, once
    # Listings, feeds and sitemaps were asked again, conditionally; the unchanged ones said 304.
    assert recrawl.hits2["/sitemap.xml"] == 1
    assert figures["not_modified"] > 0
    assert archive.crawl(2)["arguments"]["refresh"] is False


def test_refresh_fetches_everything_and_finds_the_silent_edit(recrawl: Recrawl) -> None:
    archive, base = recrawl.archive, recrawl.base
    articles = [m.path for m in recrawl.second.order]
    assert {path: recrawl.hits3[path] for path in articles} == {path: 1 for path in articles}
    no_304 = "SELECT count(*) FROM captures WHERE crawl_id = 3 AND status = 304"
    assert archive.db.execute(no_304).fetchone()[0] == 0
    assert archive.crawl(3)["stats"]["qiosk/figures"]["not_modified"] == 0
    history = archive.revisions(recrawl.gold2[recrawl.silent]["url"])
    assert [(r["revision"], r["changed_fields"], r["silent_edit"]) for r in history] == [
        (1, [], 0),
        (2, ["body", "word_count"], 1),
    ]
    assert history[1]["record"]["body"].startswith(SILENT_NOTE)
    assert history[1]["record"]["modified"] == recrawl.gold2[recrawl.silent]["modified"]
    # Nothing else changed: a refresh of the same content adds no revision.
    third = archive.db.execute(
        "SELECT count(*) FROM revisions r JOIN captures c ON c.id = r.capture_id "
        "WHERE c.crawl_id = 3"
    )
    assert third.fetchone()[0] == 1
    assert warc_problems(archive) == []
    assert f"crawl 3 of {base}" in recrawl.outputs[2]


def test_coverage_of_each_crawl(recrawl: Recrawl) -> None:
    archive, base = recrawl.archive, recrawl.base
    reports = [coverage(archive, crawl_id) for crawl_id in (1, 2, 3)]
    sitemap = [next(s for s in r.sources if s.source == "sitemap") for r in reports]
    assert [s.articles for s in sitemap] == [120, 122, 122]
    assert [s.previous for s in sitemap] == [None, 120, 122]
    assert [r.previous_crawl_id for r in reports] == [None, 1, 2]
    found = {
        archive.find_article(url)
        for (url,) in archive.db.execute("SELECT url FROM discoveries WHERE crawl_id = 2")
    } - {None}
    assert reports[1].articles == len(found)
    gone = archive.find_article(recrawl.gold1[recrawl.second.changes()["deleted"][0]]["url"])
    sources_of_gone = {
        source for source, article in archive.discovered_articles(2) if article == gone
    }
    assert "sitemap" not in sources_of_gone  # the site no longer lists it
    for report in reports:
        for source in report.sources:
            for url in source.only_here:
                others = {
                    s for s, a in archive.discovered_articles(report.crawl_id)
                    if a == archive.find_article(url)
                }  # fmt: skip
                assert others == {source.source}
    assert all(url.startswith(base) for s in reports[1].sources for url in s.only_here)
