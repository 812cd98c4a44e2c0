"""``python -m qiosk_scraper``: the ``qiosk`` command line."""

from qiosk_scraper.cli import main

if __name__ == "__main__":  # a spawned worker imports this module too: no CLI there
    main()
