"""``qiosk coverage``: a thin wrapper over :mod:`qiosk_scraper.coverage`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.archive import Archive, ArchiveError
from qiosk_scraper.cli.base import command_errors, db_option, main
from qiosk_scraper.coverage import (
    CoverageError,
    archive_only_line,
    archive_sources,
    coverage,
    coverage_table,
    sources_table,
)


@main.command("coverage")
@db_option("Archive database.", exists=True)
@click.option("--crawl", "crawl_id", type=int, help="Crawl to report on (default: the latest).")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="Articles listed per source among those only it knows (with --sources: articles "
    "only web archives know).",
)
@click.option(
    "--sources",
    "archive_wide",
    is_flag=True,
    help="Report the sources of the whole archive instead: the site's crawls and each web "
    "archive imported from.",
)
def coverage_command(db: Path, crawl_id: int | None, limit: int, archive_wide: bool) -> None:
    """How many archived articles each discovery source found in a crawl, against the crawl
    before, and which articles only one source knows. With --sources: per source of the
    archive (crawl: the site's own crawls; each --source of qiosk import and backfill), the
    captures, the articles it brought first, the articles it holds a revision of and the
    revisions it brought, then the articles only web archives know.

    Example: qiosk coverage --db archive/demo.db --sources
    """
    if archive_wide:
        if crawl_id is not None:
            raise click.UsageError("--sources reports on the whole archive: leave out --crawl")
        _print_archive_sources(db, limit)
        return
    with command_errors(ArchiveError, CoverageError), Archive(db) as archive:
        archive.check_integrity()
        report = coverage(archive, crawl_id)
    against = f", against crawl {report.previous_crawl_id}" if report.previous_crawl_id else ""
    click.echo(f"crawl {report.crawl_id}: {report.articles:,} articles found{against}")
    click.echo(coverage_table(report))
    for source in report.sources:
        if not source.only_here:
            continue
        click.echo(f"\nonly {source.source} ({len(source.only_here):,}):")
        for url in source.only_here[:limit]:
            click.echo(f"  {url}")
        if len(source.only_here) > limit:
            click.echo(f"  ... and {len(source.only_here) - limit:,} more")


def _print_archive_sources(db: Path, limit: int) -> None:
    with command_errors(ArchiveError), Archive(db) as archive:
        archive.check_integrity()
        report = archive_sources(archive)
    click.echo(f"{db}: {report.articles:,} articles")
    click.echo(sources_table(report))
    click.echo(f"\nknown only from web archives ({len(report.archive_only):,}):")
    for article in report.archive_only[:limit]:
        click.echo(f"  {archive_only_line(article)}")
    if len(report.archive_only) > limit:
        click.echo(f"  ... and {len(report.archive_only) - limit:,} more")
