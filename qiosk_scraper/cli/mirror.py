"""``qiosk mirror``: serve or build the local imitation of the outlet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from qiosk_scraper.cli.base import http_url, main
from qiosk_scraper.mirror import (
    KINDS,
    FaultPlan,
    FaultSpec,
    FaultSpecError,
    MirrorError,
    MirrorServer,
    Site,
)
from qiosk_scraper.mirror.build import DEFAULT_BASE_URL, build
from qiosk_scraper.mirror.layouts import ERAS, LAYOUT_NAMES


def _site(articles: int, seed: int, edition: int, layout: str, era: str) -> Site:
    try:
        return Site(articles=articles, seed=seed, edition=edition, layout=layout, era=era)
    except MirrorError as exc:
        raise click.BadParameter(str(exc)) from exc


@main.group()
def mirror() -> None:
    """A deterministic local imitation of responsiblestatecraft.org.

    Example: qiosk mirror serve --port 8765 --articles 120
    """


def _fault_spec(ctx: click.Context, param: click.Parameter, value: str | None) -> FaultSpec | None:
    if value is None:
        return None
    try:
        return FaultSpec.parse(value)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


def _layout_options(command: Callable[..., None]) -> Callable[..., None]:
    """--layout and --era, shared by serve and build."""
    command = click.option(
        "--era",
        type=click.Choice(ERAS),
        default="rebelmouse",
        show_default=True,
        help="wordpress: every article at its legacy date path in the WordPress-era template, "
        "as an old capture shows it.",
    )(command)
    return click.option(
        "--layout",
        type=click.Choice(LAYOUT_NAMES),
        default="single",
        show_default=True,
        help="The markup family of the article pages; mixed: one drawn per page from the seed.",
    )(command)


@mirror.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option("--articles", default=120, show_default=True, type=int)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--edition", default=1, show_default=True, type=int, help="1 or a later state.")
@_layout_options
@click.option("--quiet", is_flag=True, help="No access log.")
@click.option(
    "--faults",
    metavar="SPEC",
    callback=_fault_spec,
    help="Fail at chosen URLs, the same ones for a given SPEC and seed: 'all' or a comma list "
    "of kinds, each optionally kind=value (all,timeout=2,http_500=always). Kinds: "
    + ", ".join(KINDS)
    + ".",
)
def serve(
    host: str, port: int, articles: int, seed: int, edition: int, layout: str, era: str,
    quiet: bool, faults: FaultSpec | None,
) -> None:  # fmt: skip
    """Serve the mirror over HTTP until interrupted; with --faults, list the faulty URLs.

    Example: qiosk mirror serve --port 8765 --articles 20000 --edition 2
    """
    site = _site(articles, seed, edition, layout, era)
    plan = None
    if faults is not None:
        try:
            plan = FaultPlan(site, faults)
        except MirrorError as exc:
            raise click.BadParameter(str(exc), param_hint="'--faults'") from exc
    try:
        server = MirrorServer(site, host=host, port=port, quiet=quiet, faults=plan)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror}") from exc
    click.echo(f"mirror serving {len(site.order)} articles at {server.base_url}/", err=True)
    if plan is not None:
        click.echo(f"faults: {plan.spec}", err=True)
        for line in plan.describe():
            click.echo(f"  {line}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@mirror.command("build")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, callback=http_url)
@click.option("--articles", default=120, show_default=True, type=int)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--edition", default=1, show_default=True, type=int)
@_layout_options
def build_command(
    out_dir: Path, base_url: str, articles: int, seed: int, edition: int, layout: str, era: str
) -> None:
    """Write the mirror as files, with gold/<slug>.json records.

    Example: qiosk mirror build archive/mirror-split --layout split
    """
    site = _site(articles, seed, edition, layout, era)
    count = build(site, out_dir, base_url)
    click.echo(f"wrote {count} files to {out_dir}", err=True)
