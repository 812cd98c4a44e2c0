"""``qiosk backfill``: a thin wrapper over :mod:`qiosk_scraper.backfill`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from qiosk_scraper.cli.base import command_errors, db_option, http_url, main, source_name
from qiosk_scraper.cli.imports import (
    DEFAULT_SITE,
    check_live_option,
    delay_option,
    import_lock,
    live_check,
    outlet,
    profile_option,
)


def _replay_of(cdx: str) -> str:
    """The replay prefix beside a CDX endpoint: Wayback's /cdx/search/cdx -> /web, pywb's
    /<collection>/cdx -> /<collection>."""
    if cdx.rstrip("/").endswith("/cdx/search/cdx"):
        return cdx.rstrip("/").removesuffix("/cdx/search/cdx") + "/web"
    return cdx.rstrip("/").removesuffix("/cdx")


@main.command("backfill")
@click.option("--cdx", required=True, callback=http_url, help="The CDX server's URL.")
@db_option("Archive database to import into.")
@click.option(
    "--source",
    default="wayback",
    show_default=True,
    callback=source_name,
    help="Name kept with every capture.",
)
@click.option("--site", default=DEFAULT_SITE, show_default=True, callback=http_url,
              help="The outlet whose URLs to ask for.")  # fmt: skip
@profile_option
@click.option("--from", "from_", help="First capture time, yyyy[MM[dd...]].")
@click.option("--to", help="Last capture time, yyyy[MM[dd...]].")
@click.option("--replay", callback=http_url,
              help="Replay prefix for id_ fetches (default: beside the CDX server).")  # fmt: skip
@click.option("--warc-files", callback=http_url,
              help="Fetch byte ranges of the WARC files under this URL instead "
              "(Common Crawl: https://data.commoncrawl.org).")  # fmt: skip
@delay_option
@check_live_option
@click.option("--dry-run", is_flag=True, help="Only count captures and URLs per year.")
def backfill_command(
    cdx: str,
    db: Path,
    source: str,
    site: str,
    profile: str | None,
    from_: str | None,
    to: str | None,
    replay: str | None,
    warc_files: str | None,
    delay: float,
    check_live: bool,
    dry_run: bool,
) -> None:
    """Import the outlet's captures that a web archive's CDX server lists.

    Politely: one request at a time, --delay apart, retried with backoff and Retry-After.
    A backfill stopped at any point goes on from the last page when rerun. Then, unless
    --no-check-live, each article only web archives know is asked of the live site once:
    404/410 marks it gone; a redirect to an archived article joins their histories.

    Example: qiosk backfill --cdx https://web.archive.org/cdx/search/cdx --from 2019 --to 2023
    """
    from qiosk_scraper.archive import ArchiveError
    from qiosk_scraper.backfill import BackfillError
    from qiosk_scraper.backfill.cdx import CdxClient, CdxQuery, PoliteHttp, per_year
    from qiosk_scraper.backfill.importer import ImportResult, cdx_captures, import_captures
    from qiosk_scraper.locks import ArchiveBusy

    parts = urlsplit(site)
    prefix = f"{parts.netloc.removeprefix('www.')}{parts.path.rstrip('/')}/"
    query = CdxQuery(prefix, from_=from_, to=to)
    client = CdxClient(cdx, PoliteHttp(delay=delay))
    with command_errors(BackfillError, ArchiveError, ArchiveBusy), import_lock(db, dry_run):
        if dry_run:
            counts = per_year(client.pages(query))
            for year, (count, urls) in counts.items():
                click.echo(f"{year}: {count} captures of {urls} URLs")
            total = sum(c for c, _ in counts.values())
            click.echo(f"{total} captures of {prefix} in {cdx} ({client.http.requests} requests)")
            return
        result = ImportResult()
        fetched = cdx_captures(
            db,
            client,
            query,
            source=source,
            replay=None if warc_files else (replay or _replay_of(cdx)),
            warc_files=warc_files,
            result=result,
        )
        arguments = {"backfill": cdx, "source": source, "from": from_, "to": to}
        chosen, _ = outlet(site, profile)
        import_captures(db, fetched, site=site, profile=chosen, arguments=arguments, result=result)
        click.echo(f"backfilled {db} from {cdx}: {result.summary()}")
        if check_live:
            live_check(db, site, delay)
