"""qiosk_scraper: archive Responsible Statecraft into a citable SQLite archive."""

from importlib.metadata import version as _version

__version__ = _version("qiosk-scraper")
