"""``qiosk demo``: a thin wrapper over :func:`qiosk_scraper.demo.run_demo`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.cli.base import command_errors, main
from qiosk_scraper.demo import DemoError, DemoPlan, DemoStopped, run_demo


@main.command("demo")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the local mirror.",
)
@click.option(
    "--serve-port",
    default=8001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of Datasette.",
)
@click.option(
    "--articles",
    default=120,
    show_default=True,
    type=click.IntRange(60),
    help="Size of the mirror.",
)
@click.option(
    "--db",
    default="archive/demo.db",
    show_default=True,
    help="Archive to crawl into.",
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--snapshot",
    default="archive/snapshots/demo",
    show_default=True,
    help="Snapshot folder.",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option("--no-serve", is_flag=True, help="Stop after the snapshot instead of serving.")
def demo_command(
    port: int, serve_port: int, articles: int, db: Path, snapshot: Path, no_serve: bool
) -> None:
    """The whole main job on the embedded mirror: mirror -> crawl -> archive -> snapshot ->
    Datasette (what `make demo` runs). Ctrl-C or SIGTERM stops every step it started.

    Example: qiosk demo --port 8765 --serve-port 8001
    """
    plan = DemoPlan(port=port, serve_port=serve_port, articles=articles, db=db, snapshot=snapshot)
    try:
        with command_errors(DemoError):
            run_demo(plan, serve=not no_serve, echo=click.echo)
    except DemoStopped as stop:
        click.echo(f"demo {stop}: every step it started has stopped", err=True)
        raise SystemExit(128 + stop.signum) from stop
