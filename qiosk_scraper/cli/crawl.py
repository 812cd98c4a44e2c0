"""``qiosk crawl``: a thin wrapper over :func:`qiosk_scraper.crawl.run_crawl`."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from qiosk_scraper.archive import DEFAULT_DB, Archive, ArchiveError
from qiosk_scraper.cli.base import command_errors, http_url, main
from qiosk_scraper.crawl import (
    NothingToResume,
    SettingError,
    crawl_report,
    parse_overrides,
    resume_arguments,
    run_crawl,
)
from qiosk_scraper.locks import ArchiveBusy, CrawlLock
from qiosk_scraper.profiles import SOURCES, profile_for, profiles
from qiosk_scraper.session import DEFAULT_SITE
from qiosk_scraper.spiders.outlet import SpiderArgumentError, parse_sources


def _sources(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        parse_sources(value)
    except SpiderArgumentError as error:
        raise click.BadParameter(str(error)) from error
    return value


@main.command("crawl")
@click.option(
    "--site", default=DEFAULT_SITE, show_default=True, callback=http_url, help="Site to archive."
)
@click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Archive database; WARC files go to warc/ beside it.",
)
@click.option(
    "--profile",
    type=click.Choice(sorted(profiles())),
    help="What the toolkit knows of the outlet (default: the profile of the site's host; "
    "generic, from sitemaps and feeds, for a host no profile knows).",
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
@click.option(
    "--refresh",
    is_flag=True,
    help="Fetch every page again: no conditional requests, no skipping by sitemap date.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Finish the archive's interrupted crawl with its own options (give only --db).",
)
@click.option("--contact", help="Contact URL for the User-Agent (default: the project's).")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting (repeatable), e.g. -s DOWNLOAD_TIMEOUT=60.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Scrapy's log on stderr (LOG_LEVEL, INFO by default) instead of a file in logs/ "
    "beside the archive, and no live line.",
)
@click.pass_context
def crawl_command(
    ctx: click.Context,
    site: str,
    db: str,
    profile: str | None,
    max_articles: int | None,
    since: datetime | None,
    sources: str | None,
    delay: float | None,
    refresh: bool,
    resume: bool,
    contact: str | None,
    overrides: tuple[str, ...],
    verbose: bool,
) -> None:
    """Crawl the outlet into a SQLite archive, keeping every response as WARC.

    Polite by default (robots.txt, about one request a second, AutoThrottle, retries with
    backoff). Shows a live progress line on a terminal and a summary at the end.

    Crawling again into the same archive fetches only what may have changed (conditional
    requests, sitemap dates), stores a new revision of each edited article and marks deleted
    ones gone. A crawl killed at any moment is finished by running the same command again,
    or by --resume.

    Ctrl-C (or SIGTERM) stops it cleanly: the pages in flight are written, the crawl is marked
    interrupted and --resume finishes it; a second Ctrl-C stops at once. A crawl in which no
    page answered (a dead or wrong site, start pages that all failed) fails, exit status 1.

    Example: qiosk crawl --site http://127.0.0.1:8765 --profile responsiblestatecraft --delay 0
    """
    try:  # the sources the profile offers
        parse_sources(sources, profile_for(site, profile).sources)
    except SpiderArgumentError as error:
        raise click.BadParameter(str(error), param_hint="--sources") from error
    with command_errors(SettingError):
        settings = parse_overrides(overrides)
    # A bad database path or a busy archive fails here, in one line, before any request.
    with command_errors(ArchiveError, ArchiveBusy, OSError):
        with Archive(db) as archive:
            archive.check_integrity()
            archive.check_writable()
        CrawlLock(db).release()
    options: dict[str, Any] = {
        "site": site,
        "profile": profile,
        "max_articles": max_articles,
        "since": since.date().isoformat() if since else None,
        "sources": sources,
        "delay": delay,
        "refresh": refresh,
        "resumes": None,
    }
    if resume:
        given = [
            name
            for name in ("site", "profile", "max_articles", "since", "sources", "delay", "refresh")
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            option = "--" + given[0].replace("_", "-")
            raise click.UsageError(f"--resume takes the interrupted crawl's options; drop {option}")
        with command_errors(NothingToResume):
            options = resume_arguments(db)
        site = options["site"]
    result = run_crawl(
        db=db,
        contact=contact,
        progress=sys.stderr.isatty(),
        overrides=settings,
        verbose=verbose,
        **options,
    )
    summary, note, code = crawl_report(result, site, db)
    click.echo(summary)
    if note:
        click.echo(note, err=True)
    if code:
        raise SystemExit(code)
