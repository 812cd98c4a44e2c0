"""Acceptance of the crawl (issue 4) on the default mirror: real Scrapy, real HTTP, real SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support.crawl import crawl_cli, crawl_with_variants, reextracted, warc_problems

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import RunningMirror


def test_default_mirror_crawl_is_exact(mirror: RunningMirror, tmp_path: Path) -> None:
    """One crawl of the default mirror, with URL variants thrown in, checked for each promise
    of issue 4 (one crawl for all checks: the checks only read the archive)."""
    with crawl_default_mirror(mirror, tmp_path) as crawled:
        for check in CHECKS:
            check(crawled)


@contextmanager
def crawl_default_mirror(mirror: RunningMirror, tmp_path: Path) -> Iterator[Any]:
    base = mirror.base_url
    gold = mirror.site.gold(base)
    slugs = sorted(gold)
    redirected = sorted(mirror.site.redirects)  # old slugs, legacy date paths, /feed/
    variants = [
        f"{base}/{slugs[0]}",  # no trailing slash
        f"{base}/{slugs[1]}/?utm_source=newsletter&utm_medium=email",
        f"{base}/{slugs[2]}/?ref=readtangle.com#comments",
        f"{base}/{slugs[3]}?ct=t(RSS_EMAIL_CAMPAIGN)&mc_cid=ab12&mc_eid=cd34&fbclid=x",
        *(base + path for path in redirected if path.startswith("/20")),
    ]
    db = tmp_path / "crawl" / "qiosk.db"
    crawl_with_variants(base, db, variants)
    with Archive(db) as archive:
        yield archive, gold, variants, mirror


def check_every_gold_article_is_archived_once_and_equals_gold(crawled: Any) -> None:
    archive, gold, _, _ = crawled
    assert archive.count("articles") == len(gold)
    assert sorted(archive.article_urls()) == sorted(record["url"] for record in gold.values())
    different = {
        slug: [k for k in record if archive.article_record(record["url"]).get(k) != record[k]]
        for slug, record in gold.items()
        if archive.article_record(record["url"]) != record
    }
    assert different == {}


def check_url_variants_resolve_to_their_article_and_add_no_row(crawled: Any) -> None:
    archive, gold, variants, mirror = crawled
    base = mirror.base_url
    for variant in variants:
        article_id = archive.find_article(variant.split("#")[0])
        assert article_id is not None, variant
    for old, new in mirror.site.redirects.items():
        if old.startswith("/feed"):
            continue
        assert archive.find_article(base + old) == archive.find_article(base + new), old
    kinds = {row["kind"] for row in archive.db.query("SELECT kind FROM url_aliases")}
    assert kinds == {"variant", "redirect"}
    assert archive.count("articles") == len(gold)


def check_only_the_intended_failures_are_errors(crawled: Any) -> None:
    archive, _, _, mirror = crawled
    site = mirror.site
    expected = {(mirror.base_url + site.ghost.path, "http_404")}  # a teaser to a deleted post
    expected |= {(mirror.base_url + path, "http_410") for path in site.gone}
    errors = {(error["url"], error["kind"]) for error in archive.errors()}
    assert errors == expected
    for error in archive.errors():  # each failure points at the response that showed it
        assert error["capture_id"] is not None


def check_article_sections_list_every_listing_of_the_article(crawled: Any) -> None:
    archive, gold, _, mirror = crawled
    wrong = {
        slug: (archive.listed_sections(record["url"]), sorted(mirror.site.listings_of(slug)))
        for slug, record in gold.items()
        if archive.listed_sections(record["url"]) != sorted(mirror.site.listings_of(slug))
    }
    assert wrong == {}
    primary = archive.db.query(
        "SELECT a.section, s.label FROM article_sections x JOIN articles a ON a.id = x.article_id "
        "JOIN sections s ON s.id = x.section_id WHERE x.is_primary = 1"
    )
    pairs = [(row["section"], row["label"]) for row in primary]
    assert len(pairs) == len(gold)
    assert all(section == label for section, label in pairs)


def check_warc_files_read_back_and_hold_the_bytes_of_each_record(crawled: Any) -> None:
    archive, gold, _, _ = crawled
    assert warc_problems(archive) == []
    for record in gold.values():
        assert reextracted(archive, record["url"]) == archive.article_record(record["url"])


def check_every_response_is_captured_including_redirects_and_errors(crawled: Any) -> None:
    archive, _, _, mirror = crawled
    statuses = {row["status"] for row in archive.db.query("SELECT DISTINCT status FROM captures")}
    assert {200, 301, 404} <= statuses
    kinds = {
        row["url"].removeprefix(mirror.base_url).split("/")[1]
        for row in archive.db.query("SELECT url FROM captures")
    }
    assert {"robots.txt", "sitemap.xml", "feeds", "tag", "author", "regions", "res"} <= kinds
    redirect = next(archive.db.query("SELECT * FROM captures WHERE status = 301 LIMIT 1"))
    assert redirect["location"].startswith(mirror.base_url)
    warcinfo = next((archive.folder / "warc").glob("*.warc.gz"))
    assert warcinfo.name.startswith("qiosk.db-crawl00001-")


def check_crawl_row_records_arguments_versions_and_figures(crawled: Any) -> None:
    archive, gold, _, _ = crawled
    crawl = archive.crawl(1)
    assert crawl["status"] == "finished"
    assert crawl["ended"] >= crawl["started"]
    assert {"qiosk-scraper", "scrapy", "sqlite-utils", "warcio", "python", "sqlite"} <= set(
        crawl["versions"]
    )
    assert crawl["arguments"]["delay"] == 0
    figures = crawl["stats"]["qiosk/figures"]
    assert figures["articles_new"] == len(gold)
    assert figures["pages"] == archive.count("captures")
    assert figures["errors"] == len(archive.errors())
    assert figures["sitemap_urls"] == len(gold)


def check_full_text_search_finds_an_article_by_its_words(crawled: Any) -> None:
    archive, gold, _, _ = crawled
    record = gold[sorted(gold)[5]]
    word = max(record["title"].split(), key=len).strip(".,:;?!’'\"“”")
    found = [row["url"] for row in archive.search(f'"{word}"', limit=200)]
    assert record["url"] in found


CHECKS = (
    check_every_gold_article_is_archived_once_and_equals_gold,
    check_url_variants_resolve_to_their_article_and_add_no_row,
    check_only_the_intended_failures_are_errors,
    check_article_sections_list_every_listing_of_the_article,
    check_warc_files_read_back_and_hold_the_bytes_of_each_record,
    check_every_response_is_captured_including_redirects_and_errors,
    check_crawl_row_records_arguments_versions_and_figures,
    check_full_text_search_finds_an_article_by_its_words,
)


def test_cli_crawl_limits_articles_and_prints_the_summary(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    db = tmp_path / "cli" / "qiosk.db"
    done = crawl_cli(
        "--site", mirror.base_url, "--db", str(db), "--delay", "0",
        "--max-articles", "5", "--sources", "sitemap",
    )  # fmt: skip
    assert "finished" in done.stdout
    assert "articles new" in done.stdout and "pages fetched" in done.stdout
    with Archive(db) as archive:
        assert archive.count("articles") == 5
        crawl = archive.crawl(1)
        assert crawl["arguments"]["sources"] == ["sitemap"]
        assert crawl["arguments"]["max_articles"] == 5
        gold = mirror.site.gold(mirror.base_url)
        by_url = {record["url"]: record for record in gold.values()}
        for url in archive.article_urls():
            assert archive.article_record(url) == by_url[url]
    assert len(list((db.parent / "warc").glob("*.warc.gz"))) == 1


def test_since_skips_sitemap_entries_last_modified_before(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    metas = mirror.site.order
    since = metas[len(metas) // 3].last_change.date()
    db = tmp_path / "qiosk.db"
    crawl_cli(
        "--site", mirror.base_url, "--db", str(db), "--delay", "0",
        "--sources", "robots,sitemap", "--since", since.isoformat(),
    )  # fmt: skip
    expected = {mirror.base_url + m.path for m in metas if m.last_change.date() >= since}
    with Archive(db) as archive:
        assert set(archive.article_urls()) == expected
        assert 0 < len(expected) < len(metas)
        assert json.loads(json.dumps(archive.crawl(1)["arguments"]))["since"] == since.isoformat()


def test_cli_rejects_bad_arguments_with_one_clear_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qiosk_scraper.cli import main

    for options, message in (
        (["--sources", "sitemap,gossip"], "choose from"),
        (["--since", "last week"], "%Y-%m-%d"),
        (["--delay", "-1"], "-1"),
        (["--max-articles", "0"], "0"),
    ):
        done = CliRunner().invoke(main, ["crawl", "--db", str(tmp_path / "x.db"), *options])
        assert done.exit_code == 2, options
        assert done.exception is None or isinstance(done.exception, SystemExit)
        assert message in done.output, done.output
    assert not (tmp_path / "x.db").exists()


def test_cli_refuses_a_file_that_is_not_an_archive(tmp_path: Path) -> None:
    import subprocess
    import sys

    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 200)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "qiosk"), "crawl", "--db", str(notes)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "not a usable SQLite archive" in done.stderr and "Traceback" not in done.stderr
    assert notes.read_text() == "not a database\n" * 200
