"""``qiosk serve``: a thin wrapper over :func:`qiosk_scraper.datasette.serve`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.cli.base import command_errors, db_option, main
from qiosk_scraper.datasette import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServeError,
    network_warning,
    open_server,
)
from qiosk_scraper.locks import ArchiveBusy, serving_lock


@main.command("serve")
@db_option("Archive database to serve.")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind (0: any free port, the one chosen is printed).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Open read-only instead of immutable, to browse an archive a crawl is writing.",
)
def serve_command(db: Path, host: str, port: int, live: bool) -> None:
    """Browse an archive in Datasette: search, facets, canned queries, charts.

    Read-only (the file is opened immutable unless --live), bound to 127.0.0.1 by default
    (another --host is warned about: Datasette has no authentication), with the metadata,
    canned queries and templates shipped in the package. The archive and the port are
    checked before anything is announced.

    Example: qiosk serve --db archive/demo.db --port 8001
    """
    with command_errors(ServeError, ArchiveBusy):
        server = open_server(db, host=host, port=port, live=live)
        # Immutable serving holds the archive's lock shared: a crawl is refused meanwhile.
        with serving_lock(db, live=live):
            warning = network_warning(host)
            if warning:
                click.echo(warning, err=True)
            click.echo(f"serving {db} read-only at {server.url} (Ctrl-C stops)", err=True)
            server.run()
