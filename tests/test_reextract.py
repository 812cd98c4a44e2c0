"""``qiosk reextract`` (issue 5) on a real crawl of the mirror: the same extractor changes
nothing; a deliberately changed extractor (a copy of the package whose ``extract_article``
upper-cases the dek, run through ``PYTHONPATH``) changes exactly that field, as new revisions
carrying the new extractor version."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_crawl_support import REPO, crawl_cli

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import running_mirror
from qiosk_scraper.reextract import EXTRACTOR_VERSION

CHANGE = """

_extract_article_as_released = extract_article


def extract_article(*args, **kwargs):  # the deliberate change of the test
    article = _extract_article_as_released(*args, **kwargs)
    if article.subtitle:
        article.subtitle = article.subtitle.upper()
    return article
"""
RUN = "import sys; from qiosk_scraper.cli import main; sys.exit(main())"


@dataclass
class Crawled:
    db: Path
    changed_package: Path  # the folder to put on PYTHONPATH


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp("reextract")
    db = folder / "archive" / "qiosk.db"
    with running_mirror(articles=60, seed=4) as mirror:
        crawl_cli("--site", mirror.base_url, "--db", str(db), "--delay", "0")
    package = folder / "changed"
    shutil.copytree(
        REPO / "qiosk_scraper",
        package / "qiosk_scraper",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    with (package / "qiosk_scraper" / "extract" / "article.py").open("a") as source:
        source.write(CHANGE)
    yield Crawled(db, package)


def reextract(db: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, "-c", RUN, "reextract", "--db", str(db), "--workers", "2"],
        cwd=db.parent,  # not the repository: only PYTHONPATH decides which package runs
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def rows(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with Archive(db) as archive:
        return (
            archive.db.execute("SELECT * FROM articles ORDER BY id").fetchall(),
            archive.db.execute("SELECT * FROM revisions ORDER BY article_id, revision").fetchall(),
        )


def test_the_same_extractor_changes_nothing_and_a_changed_one_exactly_its_field(
    crawled: Crawled,
) -> None:
    before = rows(crawled.db)
    with Archive(crawled.db) as archive:
        versions = {v for (v,) in archive.db.execute("SELECT extractor_version FROM revisions")}
        with_dek = archive.db.execute(
            "SELECT count(*) FROM articles WHERE subtitle != upper(subtitle)"
        ).fetchone()[0]
        articles = archive.count("articles")
    assert versions == {EXTRACTOR_VERSION}
    assert 0 < with_dek < articles

    same = reextract(crawled.db)
    assert same.stdout.splitlines() == [
        f"re-extracted {articles} articles with extractor {EXTRACTOR_VERSION}: "
        "0 changed (a new revision each)"
    ]
    assert rows(crawled.db) == before

    changed = reextract(crawled.db, crawled.changed_package)
    lines = changed.stdout.splitlines()
    new_version = lines[0].split(" with extractor ")[1].split(":")[0]
    assert new_version != EXTRACTOR_VERSION
    assert new_version.split("+")[0] == EXTRACTOR_VERSION.split("+")[0]
    assert lines == [
        f"re-extracted {articles} articles with extractor {new_version}: "
        f"{with_dek} changed (a new revision each)",
        "field      articles changed",
        f"subtitle   {with_dek:>16}",
    ]
    with Archive(crawled.db) as archive:
        new = list(archive.db.query("SELECT * FROM revisions WHERE revision = 2"))
        assert len(new) == with_dek == archive.count("revisions") - articles
        assert {(r["changed_fields"], r["silent_edit"]) for r in new} == {('["subtitle"]', 0)}
        assert {r["extractor_version"] for r in new} == {new_version}
        for revision in new:
            row = archive.db.execute(
                "SELECT subtitle, capture_id, extractor_version FROM articles WHERE id = ?",
                [revision["article_id"]],
            ).fetchone()
            assert row[0] is not None and row[0] == row[0].upper()
            assert (row[1], row[2]) == (revision["capture_id"], new_version)  # same capture
        untouched = archive.db.execute(
            "SELECT count(*) FROM articles WHERE extractor_version = ?", [EXTRACTOR_VERSION]
        ).fetchone()[0]
        assert untouched == articles - with_dek
    # Run again, the changed extractor finds nothing more to change.
    again = reextract(crawled.db, crawled.changed_package)
    assert again.stdout.splitlines()[0].endswith("0 changed (a new revision each)")


def test_cli_refuses_a_missing_archive(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qiosk_scraper.cli import main

    done = CliRunner().invoke(main, ["reextract", "--db", str(tmp_path / "none.db")])
    assert done.exit_code == 2 and "does not exist" in done.output
    assert not (tmp_path / "none.db").exists()
