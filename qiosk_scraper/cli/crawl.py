"""``qiosk crawl``: a thin wrapper over :func:`qiosk_scraper.crawl.run_crawl`."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from qiosk_scraper.archive import Archive, ArchiveError
from qiosk_scraper.cli import main
from qiosk_scraper.crawl import DEFAULT_DB, DEFAULT_SITE, run_crawl, summary_table
from qiosk_scraper.spiders.outlet import SOURCES, SpiderArgumentError, parse_sources


def _sources(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        parse_sources(value)
    except SpiderArgumentError as error:
        raise click.BadParameter(str(error)) from error
    return value


@main.command("crawl")
@click.option("--site", default=DEFAULT_SITE, show_default=True, help="Site to archive.")
@click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Archive database; WARC files go to warc/ beside it.",
)
@click.option(
    "--max-articles", type=click.IntRange(min=1), help="Stop requesting articles after N."
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Skip sitemap entries last modified before this date (YYYY-MM-DD).",
)
@click.option(
    "--sources",
    callback=_sources,
    help=f"Discovery sources, comma separated (default all: {','.join(SOURCES)}).",
)
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    help="Seconds between requests (default 1 with AutoThrottle; 0 for the local mirror).",
)
@click.option("--contact", help="Contact URL for the User-Agent (default: the project's).")
def crawl_command(
    site: str,
    db: str,
    max_articles: int | None,
    since: datetime | None,
    sources: str | None,
    delay: float | None,
    contact: str | None,
) -> None:
    """Crawl the outlet into a SQLite archive, keeping every response as WARC.

    Polite by default (robots.txt, about one request a second, AutoThrottle, retries with
    backoff). Shows a live progress line on a terminal and a summary at the end.

    Example: qiosk crawl --site http://127.0.0.1:8765 --db archive/demo.db --delay 0
    """
    try:  # a bad database path fails here, with one clear line, before any request
        Archive(db).close()
    except (ArchiveError, OSError) as error:
        raise click.ClickException(str(error)) from error
    result = run_crawl(
        site=site,
        db=db,
        max_articles=max_articles,
        since=since.date().isoformat() if since else None,
        sources=sources,
        delay=delay,
        contact=contact,
        progress=sys.stderr.isatty(),
    )
    click.echo(f"crawl {result.crawl_id} of {site} into {db}: {result.status}")
    click.echo(summary_table(result.figures, result.errors_by_kind))
    if result.status != "finished":
        raise SystemExit(1)
