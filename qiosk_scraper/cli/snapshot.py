"""``qiosk snapshot export`` and ``qiosk snapshot verify``: thin wrappers over
:mod:`qiosk_scraper.snapshot`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.cli.base import command_errors, db_option, main
from qiosk_scraper.snapshot import SnapshotError, export_snapshot, parse_fingerprint, verify


@main.group("snapshot")
def snapshot_group() -> None:
    """Reproducible, citable snapshots of an archive.

    Example: qiosk snapshot export archive/snapshots/june --as-of 2025-06-30
    """


@snapshot_group.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@db_option("Archive database to export.")
@click.option(
    "--as-of",
    help="Cut-off, ISO 8601 (UTC when no offset; a date alone is its 00:00). "
    "Default: the archive's latest fetch.",
)
@click.option("--name", help="Snapshot name (default: qiosk-<host>-<cut-off>).")
@click.option("--with-warc", is_flag=True, help="Include the WARC records of the captures.")
@click.option(
    "--wacz",
    is_flag=True,
    help="Also write captures.wacz: the captures as a WACZ for replay tools (pywb ...).",
)
@click.option("--force", is_flag=True, help="Replace OUT_DIR if it holds a previous snapshot.")
def export_command(
    out_dir: Path,
    db: Path,
    as_of: str | None,
    name: str | None,
    with_warc: bool,
    wacz: bool,
    force: bool,
) -> None:
    """Export the archive's state at a cut-off as a self-contained, citable dataset.

    Exporting again from the same archive (or a copy) gives the same bytes.

    Example: qiosk snapshot export archive/snapshots/demo --db archive/demo.db --with-warc
    """
    with command_errors(SnapshotError):
        result = export_snapshot(
            db, out_dir, as_of=as_of, name=name, with_warc=with_warc, wacz=wacz, force=force
        )
    for leftover in result.leftovers:
        click.echo(leftover, err=True)
    click.echo(
        f"snapshot {result.name} as of {result.as_of} in {result.directory}: "
        f"{result.articles} articles, {result.revisions} revisions, "
        f"{result.captures} captures, {result.files} files"
    )
    click.echo(f"fingerprint sha256:{result.fingerprint}")


def _fingerprint(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            parse_fingerprint(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from error
    return value


@snapshot_group.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--fingerprint",
    callback=_fingerprint,
    help="The fingerprint a citation quotes (sha256:...): fail when the snapshot's differs.",
)
def verify_command(directory: Path, fingerprint: str | None) -> None:
    """Check a snapshot: checksums, file list, data package, row counts, the JSONL records
    against archive.db; print its fingerprint (and compare it with --fingerprint).

    Prints one line per problem and exits non-zero when there is any.

    Example: qiosk snapshot verify archive/snapshots/demo --fingerprint sha256:5f0c...
    """
    if not directory.is_dir():
        raise click.ClickException(f"{directory}: no such snapshot directory")
    result = verify(directory, fingerprint=fingerprint)
    for problem in result.problems:
        click.echo(str(problem), err=True)
    click.echo(f"fingerprint sha256:{result.fingerprint}")
    if result.problems:
        raise click.ClickException(f"{directory}: {len(result.problems)} problem(s); not intact")
    matched = " (the one cited)" if fingerprint else ""
    click.echo(f"{directory}: intact{matched}")
