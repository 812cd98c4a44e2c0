"""``qiosk reextract`` (issue 5) on a real crawl of the mirror: the same extractor changes
nothing; a deliberately changed extractor (a copy of the package whose ``extract_article``
upper-cases the dek, run through ``PYTHONPATH``) changes exactly that field, as new revisions
carrying the new extractor version."""

from __future__ import annotations

from pathlib import Path

from support.reextract import Crawled, reextract, rows

from qiosk_scraper.archive import Archive
from qiosk_scraper.extract.record import EXTRACTOR_VERSION


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
