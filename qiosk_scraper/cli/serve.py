"""``qiosk serve``: a thin wrapper over :func:`qiosk_scraper.datasette.serve`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.cli import command_errors, db_option, main
from qiosk_scraper.datasette import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServeError,
    serve,
    url_for,
)
from qiosk_scraper.locks import ArchiveBusy, serving_lock


@main.command("serve")
@db_option("Archive database to serve.")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--live",
    is_flag=True,
    help="Open read-only instead of immutable, to browse an archive a crawl is writing.",
)
def serve_command(db: Path, host: str, port: int, live: bool) -> None:
    """Browse an archive in Datasette: search, facets, canned queries, charts.

    Read-only (the file is opened immutable unless --live), bound to 127.0.0.1 by default,
    with the metadata, canned queries and templates kept in archive/.

    Example: qiosk serve --db archive/demo.db --port 8001
    """
    with command_errors(ServeError, ArchiveBusy), serving_lock(db, live=live):
        click.echo(f"serving {db} read-only at {url_for(host, port)} (Ctrl-C stops)", err=True)
        serve(db, host=host, port=port, live=live)
