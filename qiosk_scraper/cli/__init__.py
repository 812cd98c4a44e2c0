"""The ``qiosk`` command line: thin click commands; the logic lives in the package's modules."""

from __future__ import annotations

import click

from qiosk_scraper import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qiosk")
def main() -> None:
    """Archive Responsible Statecraft into a citable SQLite archive.

    Example: qiosk mirror serve --port 8765
    """


# Command registration: one line per command module (keep this block sorted).
from qiosk_scraper.cli import coverage as _coverage  # noqa: E402, F401
from qiosk_scraper.cli import crawl as _crawl  # noqa: E402, F401
from qiosk_scraper.cli import demo as _demo  # noqa: E402, F401
from qiosk_scraper.cli import extract as _extract  # noqa: E402, F401
from qiosk_scraper.cli import mirror as _mirror  # noqa: E402, F401
from qiosk_scraper.cli import reextract as _reextract  # noqa: E402, F401
from qiosk_scraper.cli import serve as _serve  # noqa: E402, F401
from qiosk_scraper.cli import snapshot as _snapshot  # noqa: E402, F401
