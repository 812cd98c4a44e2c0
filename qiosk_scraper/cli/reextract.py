"""``qiosk reextract``: a thin wrapper over :func:`qiosk_scraper.reextract.reextract`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qiosk_scraper.archive import Archive, ArchiveError
from qiosk_scraper.cli.base import command_errors, db_option, main
from qiosk_scraper.locks import ArchiveBusy
from qiosk_scraper.reextract import reextract


@main.command("reextract")
@db_option("Archive database (its WARC files are read from warc/ beside it).", exists=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Extraction processes (default: one per core).",
)
def reextract_command(db: Path, workers: int | None) -> None:
    """Extract every archived article again from its stored WARC capture, without network.

    Runs the current extractor; where the record it gives differs from the article's latest
    revision, stores a new revision (with this extractor's version) and counts, per field, the
    articles it changed. An archive made by the same extractor comes out unchanged.

    Each capture is checked against the length and digest the archive recorded; an article
    whose capture is damaged, or that fails to extract, is left as it is, counted per kind
    of failure (every one listed in logs/ beside the database), and the exit status is 1.
    Refused while a crawl writes to the archive.

    Example: qiosk reextract --db archive/demo.db
    """

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\x1b[K{done:,}/{total:,} articles")
            sys.stderr.flush()

    with command_errors(ArchiveError, ArchiveBusy):
        with Archive(db) as archive:
            archive.check_integrity()
            archive.check_writable()
        result = reextract(db, workers=workers, progress=progress)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    click.echo(
        f"re-extracted {result.articles:,} articles with extractor {result.extractor_version}: "
        f"{result.changed:,} changed (a new revision each)"
    )
    if result.fields:
        width = max(len(name) for name in result.fields)
        click.echo(f"{'field':<{width}}   articles changed")
        for name, count in sorted(result.fields.items()):
            click.echo(f"{name:<{width}}   {count:>16,}")
    if result.failures:
        click.echo(f"failed: {len(result.failures):,} articles (left as they were)", err=True)
        for kind, (count, url, failure) in result.failures_by_kind().items():
            click.echo(f"  {kind}: {count:,}, e.g. {url}: {failure.message}", err=True)
        click.echo(f"every failure: {result.log}", err=True)
        raise SystemExit(1)
