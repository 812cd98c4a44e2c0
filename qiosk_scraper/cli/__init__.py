"""The ``qiosk`` command line: thin click commands; the logic lives in the package's modules.

Each command is a module of this package that registers itself on the group
(:func:`qiosk_scraper.cli.base.main`) when imported, which the group does when the command is
asked for (``main.lazy``).
"""

from __future__ import annotations

from qiosk_scraper.cli.base import main

__all__ = ["main"]

# Each command and the module that registers it on the group when imported, the first time the
# command is asked for (keep this block sorted).
main.lazy = {
    "backfill": "backfill",
    "check-site": "checksite",
    "coverage": "coverage",
    "crawl": "crawl",
    "demo": "demo",
    "eval": "extract",
    "extract": "extract",
    "import": "imports",
    "listing": "extract",
    "mirror": "mirror",
    "reextract": "reextract",
    "serve": "serve",
    "snapshot": "snapshot",
}
