"""``qiosk import``: a thin wrapper over :mod:`qiosk_scraper.backfill.importer`."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click

from qiosk_scraper.cli.base import command_errors, db_option, http_url, main, source_name
from qiosk_scraper.profiles import Profile, profile_for, profiles

DEFAULT_SITE = "https://responsiblestatecraft.org"

profile_option = click.option(
    "--profile",
    type=click.Choice(sorted(profiles())),
    help="What the toolkit knows of the outlet: its hosts (captures of others are skipped) and "
    "extraction layers (default: the profile of the site's host, else generic).",
)

check_live_option = click.option(
    "--check-live/--no-check-live",
    default=True,
    show_default=True,
    help="Then ask the live site, politely, about each article only web archives know: "
    "404/410 marks it gone, a redirect to an archived article joins their histories.",
)
delay_option = click.option(
    "--delay", default=1.0, show_default=True, help="Seconds between requests."
)


def import_lock(db: Path, dry_run: bool = False) -> AbstractContextManager[object]:
    """The archive's writer lock, held through the import and its live check (refused while
    a crawl, a reextract or another import writes, or while it is served immutable)."""
    from qiosk_scraper.locks import CrawlLock

    return nullcontext() if dry_run else CrawlLock(db, role="import")


def live_check(db: Path, site: str, delay: float) -> None:
    """Ask the live site about the articles only web archives know; print what it said."""
    from qiosk_scraper.backfill.cdx import PoliteHttp
    from qiosk_scraper.backfill.live import check_live

    click.echo(check_live(db, site, PoliteHttp(delay=delay)).summary())


def outlet(site: str, name: str | None) -> tuple[Profile, set[str]]:
    """The profile for ``site`` (``--profile``) and the hosts whose captures belong to the
    outlet: the site's and the profile's (a predecessor site's too)."""
    from urllib.parse import urlsplit

    profile = profile_for(site, name)
    host = (urlsplit(site).hostname or "").removeprefix("www.")
    return profile, {host, *profile.hosts}


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@db_option("Archive database to import into.")
@click.option(
    "--source",
    required=True,
    callback=source_name,
    help="Where the files come from, kept with every capture: wayback, common-crawl, "
    "archive-it, own-warc ...",
)
@click.option(
    "--site",
    default=DEFAULT_SITE,
    show_default=True,
    callback=http_url,
    help="The outlet: captures of hosts neither it nor its profile names are skipped.",
)
@profile_option
@check_live_option
@delay_option
def import_command(
    files: tuple[Path, ...],
    db: Path,
    source: str,
    site: str,
    profile: str | None,
    check_live: bool,
    delay: float,
) -> None:
    """Import the HTML captures of WARC (.warc, .warc.gz) and WACZ files into the archive.

    Each capture is merged into its article's history by capture time; importing the same
    files again changes nothing.

    Then, unless --no-check-live, each article only web archives know is asked of the live
    site once: 404/410 marks it gone; a redirect to an archived article makes its captures
    that article's earlier states.

    Example: qiosk import crawl.wacz old-captures.warc.gz --source own-warc
    """
    from qiosk_scraper.archive import ArchiveError
    from qiosk_scraper.backfill import BackfillError
    from qiosk_scraper.backfill.importer import ImportResult, import_captures
    from qiosk_scraper.backfill.read import read_captures
    from qiosk_scraper.locks import ArchiveBusy

    result = ImportResult()
    chosen, hosts = outlet(site, profile)
    with command_errors(BackfillError, ArchiveError, ArchiveBusy), import_lock(db):
        captures = read_captures(list(files), source=source, hosts=hosts, stats=result.read)
        arguments = {"import": [str(f) for f in files], "source": source}
        import_captures(db, captures, site=site, profile=chosen, arguments=arguments, result=result)
        click.echo(f"imported into {db}: {result.summary()}")
        if check_live:
            live_check(db, site, delay)
