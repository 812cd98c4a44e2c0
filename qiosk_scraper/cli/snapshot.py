"""``qiosk snapshot export`` and ``qiosk snapshot verify``: thin wrappers over
:mod:`qiosk_scraper.snapshot`."""

from __future__ import annotations

from pathlib import Path

import click

from qiosk_scraper.cli import command_errors, db_option, main
from qiosk_scraper.snapshot import SnapshotError, export_snapshot, verify_snapshot


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
    click.echo(
        f"snapshot {result.name} as of {result.as_of} in {result.directory}: "
        f"{result.articles} articles, {result.revisions} revisions, "
        f"{result.captures} captures, {result.files} files"
    )
    click.echo(f"fingerprint sha256:{result.fingerprint}")


@snapshot_group.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
def verify_command(directory: Path) -> None:
    """Check a snapshot: checksums, file list, data package, row counts.

    Prints one line per problem and exits non-zero when there is any.

    Example: qiosk snapshot verify archive/snapshots/demo
    """
    if not directory.is_dir():
        raise click.ClickException(f"{directory}: no such snapshot directory")
    problems = verify_snapshot(directory)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.ClickException(f"{directory}: {len(problems)} problem(s); not intact")
    click.echo(f"{directory}: intact")
