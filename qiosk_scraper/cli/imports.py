"""``qiosk import``: a thin wrapper over :mod:`qiosk_scraper.backfill.importer`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.cli.base import command_errors, db_option, http_url, main

DEFAULT_SITE = "https://responsiblestatecraft.org"


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@db_option("Archive database to import into.")
@click.option(
    "--source",
    required=True,
    help="Where the files come from, kept with every capture: wayback, common-crawl, "
    "archive-it, own-warc ...",
)
@click.option(
    "--site",
    default=DEFAULT_SITE,
    show_default=True,
    callback=http_url,
    help="The outlet: captures of other hosts are skipped.",
)
def import_command(files: tuple[Path, ...], db: Path, source: str, site: str) -> None:
    """Import the HTML captures of WARC (.warc, .warc.gz) and WACZ files into the archive.

    Each capture is merged into its article's history by capture time; importing the same
    files again changes nothing.

    Example: qiosk import crawl.wacz old-captures.warc.gz --source own-warc
    """
    from urllib.parse import urlsplit

    from qiosk_scraper.archive import ArchiveError
    from qiosk_scraper.backfill import BackfillError
    from qiosk_scraper.backfill.importer import ImportResult, import_captures
    from qiosk_scraper.backfill.read import read_captures

    result = ImportResult()
    host = (urlsplit(site).hostname or "").removeprefix("www.")
    with command_errors(BackfillError, ArchiveError):
        captures = read_captures(list(files), source=source, hosts={host}, stats=result.read)
        arguments = {"import": [str(f) for f in files], "source": source}
        import_captures(db, captures, site=site, arguments=arguments, result=result)
    click.echo(f"imported into {db}: {result.summary()}")
