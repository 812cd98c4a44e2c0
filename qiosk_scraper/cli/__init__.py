"""The ``qiosk`` command line: thin click commands; the logic lives in the package's modules.

Each command is a module of this package that registers itself on the group
(:func:`qiosk_scraper.cli.base.main`) when imported here.
"""

from __future__ import annotations

from qiosk_scraper.cli.base import main

__all__ = ["main"]

# Command registration: one line per command module (keep this block sorted).
from qiosk_scraper.cli import backfill as _backfill  # noqa: F401
from qiosk_scraper.cli import checksite as _checksite  # noqa: F401
from qiosk_scraper.cli import coverage as _coverage  # noqa: F401
from qiosk_scraper.cli import crawl as _crawl  # noqa: F401
from qiosk_scraper.cli import demo as _demo  # noqa: F401
from qiosk_scraper.cli import extract as _extract  # noqa: F401
from qiosk_scraper.cli import imports as _imports  # noqa: F401
from qiosk_scraper.cli import mirror as _mirror  # noqa: F401
from qiosk_scraper.cli import reextract as _reextract  # noqa: F401
from qiosk_scraper.cli import serve as _serve  # noqa: F401
from qiosk_scraper.cli import snapshot as _snapshot  # noqa: F401
