"""``python -m qiosk_scraper``: the ``qiosk`` command line."""

from qiosk_scraper.cli import main

main()
