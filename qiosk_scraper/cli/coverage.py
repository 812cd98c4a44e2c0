"""``qiosk coverage``: a thin wrapper over :mod:`qiosk_scraper.coverage`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.archive import Archive, ArchiveError
from qiosk_scraper.cli.base import command_errors, db_option, main
from qiosk_scraper.coverage import CoverageError, coverage, coverage_table


@main.command("coverage")
@db_option("Archive database.", exists=True)
@click.option("--crawl", "crawl_id", type=int, help="Crawl to report on (default: the latest).")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="Articles listed per source among those only it knows.",
)
def coverage_command(db: Path, crawl_id: int | None, limit: int) -> None:
    """How many archived articles each discovery source found in a crawl, against the crawl
    before, and which articles only one source knows.

    Example: qiosk coverage --db archive/demo.db
    """
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
