"""``qiosk coverage``: articles per discovery source per crawl, a shrinking source, and the
articles only one source knows (discoveries written through the archive, as the spider does;
``test_recrawl.py`` checks them on real crawls)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.records import SITE, make_article
from support.sources import Sourced, sourced_archive

from qiosk_scraper.archive import Archive
from qiosk_scraper.cli import main
from qiosk_scraper.coverage import CoverageError, coverage


def build(path: Path) -> list[str]:
    """Five articles; crawl 1: the sitemap knows all, feeds the newest three, a listing one
    old slug; crawl 2: the sitemap lost two, the body links of one article name another."""
    urls = [f"{SITE}/story-{n}/" for n in range(5)]
    with Archive(path) as archive:
        first = archive.start_crawl(SITE, {}, {})
        for n in range(len(urls)):
            archive.save_article(
                make_article(f"story-{n}").to_record(extras=False),
                crawl_id=first,
                capture_id=None,
                fetched_at="2025-01-01T00:00:00+00:00",
            )
        archive.add_alias(f"{SITE}/old-story-4/", urls[4], "redirect")
        archive.record_discoveries(first, [(url, "sitemap") for url in urls])
        archive.record_discoveries(first, [(url, "feeds") for url in urls[:3]])
        archive.record_discoveries(first, [(f"{SITE}/old-story-4/", "sections")])
        archive.record_discoveries(first, [(f"{SITE}/tag/iran/", "body")])  # no article
        second = archive.start_crawl(SITE, {}, {})
        archive.record_discoveries(second, [(url, "sitemap") for url in urls[:3]])
        archive.record_discoveries(second, [(url, "feeds") for url in urls[1:4]])
        archive.record_discoveries(second, [(urls[4], "body")])
    return urls


def test_sources_per_crawl_against_the_crawl_before(tmp_path: Path) -> None:
    urls = build(tmp_path / "qiosk.db")
    with Archive(tmp_path / "qiosk.db") as archive:
        latest = coverage(archive)
        first = coverage(archive, 1)
        try:
            coverage(archive, 7)
        except CoverageError as error:
            assert "crawl 7 has no recorded discoveries" in str(error)
        else:
            raise AssertionError("crawl 7 has no discoveries")
    assert (latest.crawl_id, latest.previous_crawl_id, latest.articles) == (2, 1, 5)
    figures = {s.source: (s.articles, s.previous, s.only_here) for s in latest.sources}
    assert figures == {
        "sitemap": (3, 5, [urls[0]]),  # shrank by two
        "feeds": (3, 3, [urls[3]]),
        "body": (1, None, [urls[4]]),  # the tag page is no article
    }
    assert [s.source for s in latest.sources] == ["feeds", "sitemap", "body"]
    assert (first.crawl_id, first.previous_crawl_id, first.articles) == (1, None, 5)
    first_figures = {s.source: (s.articles, s.previous, s.only_here) for s in first.sources}
    assert first_figures == {
        "sitemap": (5, None, [urls[3]]),
        "feeds": (3, None, []),
        "sections": (1, None, []),  # the old slug is the article of story 4
    }


def test_cli_prints_the_table_and_the_single_source_articles(tmp_path: Path) -> None:
    urls = build(tmp_path / "qiosk.db")
    done = CliRunner().invoke(main, ["coverage", "--db", str(tmp_path / "qiosk.db")])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0] == "crawl 2: 5 articles found, against crawl 1"
    assert lines[1].split() == [
        "source",
        "articles",
        "previous",
        "change",
        "only",
        "this",
        "source",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:6]}
    assert rows == {"sitemap": ["3", "5", "-2", "1"], "feeds": ["3", "3", "+0", "1"],
                    "body": ["1", "-", "1"]}  # fmt: skip
    assert f"only sitemap (1):\n  {urls[0]}" in done.output
    limited = CliRunner().invoke(
        main, ["coverage", "--db", str(tmp_path / "qiosk.db"), "--crawl", "1", "--limit", "0"]
    )
    assert limited.exit_code == 0, limited.output
    assert "only sitemap (1):\n  ... and 1 more" in limited.output


def test_cli_refuses_an_archive_without_discoveries(tmp_path: Path) -> None:
    Archive(tmp_path / "qiosk.db").close()
    done = CliRunner().invoke(main, ["coverage", "--db", str(tmp_path / "qiosk.db")])
    assert done.exit_code == 1
    assert "no crawl has recorded discoveries yet" in done.output
    missing = CliRunner().invoke(main, ["coverage", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not (tmp_path / "none.db").exists()


# -- qiosk coverage --sources: the site's crawls and the web archives imported from ----------


@pytest.fixture(scope="module")
def sourced(tmp_path_factory: pytest.TempPathFactory) -> Sourced:
    return sourced_archive(tmp_path_factory.mktemp("sources"))


def test_figures_per_source_and_the_articles_only_web_archives_know(sourced: Sourced) -> None:
    with Archive(sourced.db) as archive:
        assert archive.source_figures() == sourced.figures
        assert archive.archive_only_captures() == sourced.archive_only
        assert archive.archive_only_articles() == [url for url, _ in sourced.only]


def test_cli_prints_the_sources_and_the_archive_only_articles(sourced: Sourced) -> None:
    result = CliRunner().invoke(main, ["coverage", "--db", str(sourced.db), "--sources"])
    assert result.exit_code == 0, result.output
    u1, u2 = (next(r["url"] for r in sourced.archive_only if r["captures"] == n) for n in (3, 1))
    lines = {
        u1: f"  {u1}  2024-03-03 .. 2025-05-05 (3 captures: own-warc, wayback)",
        u2: f"  {u2}  2023-07-07 (1 capture: wayback), gone since 2026-02-01",
    }
    assert result.output.splitlines() == [
        f"{sourced.db}: 6 articles",
        "source     captures   articles brought   articles with a revision   revisions",
        "-" * 77,
        "crawl             5                  2                          3           3",
        "own-warc          4                  3                          3           3",
        "wayback           3                  1                          2           2",
        "",
        "known only from web archives (2):",
        *(lines[url] for url in sorted(lines)),
    ]
    limited = CliRunner().invoke(
        main, ["coverage", "--db", str(sourced.db), "--sources", "--limit", "1"]
    )
    assert limited.output.splitlines()[-2:] == [lines[min(lines)], "  ... and 1 more"]
    both = CliRunner().invoke(
        main, ["coverage", "--db", str(sourced.db), "--sources", "--crawl", "1"]
    )
    assert both.exit_code == 2 and "--sources reports on the whole archive" in both.output


def test_sources_of_an_archive_without_imports(tmp_path: Path) -> None:
    build(tmp_path / "qiosk.db")
    with Archive(tmp_path / "qiosk.db") as archive:
        assert archive.source_figures() == [
            {
                "source": "crawl",
                "captures": 0,
                "articles_brought": 5,
                "articles_with_a_revision": 5,
                "revisions": 5,
            }
        ]
        assert archive.archive_only_captures() == []
    result = CliRunner().invoke(main, ["coverage", "--db", str(tmp_path / "qiosk.db"), "--sources"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "known only from web archives (0):"


@pytest.mark.parametrize("name", ["crawl", "Crawl", "web archive", "a,b", ""])
def test_import_refuses_a_source_name_that_would_confuse_the_figures(
    name: str, tmp_path: Path
) -> None:
    warc = tmp_path / "x.warc.gz"
    warc.write_bytes(b"")
    for command in (["import", str(warc)], ["backfill", "--cdx", "http://127.0.0.1:9/cdx"]):
        result = CliRunner().invoke(
            main, [*command, "--source", name, "--db", str(tmp_path / "q.db")]
        )
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--source'" in result.output
        assert not (tmp_path / "q.db").exists()
