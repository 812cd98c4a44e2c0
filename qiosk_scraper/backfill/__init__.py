"""Backfill from web archives: the outlet's pages as captured by others.

- :mod:`qiosk_scraper.backfill.read` reads WARC 1.0/1.1 (``.warc``, ``.warc.gz``) and WACZ files
  into :class:`~qiosk_scraper.backfill.read.Capture` objects, each with its provenance.
- :mod:`qiosk_scraper.backfill.cdx` asks a CDX server (the Wayback CDX API, pywb's, Common Crawl's)
  which captures it holds and fetches them politely.

Pure code over files and HTTP: nothing here talks to the archive's database.
"""

from __future__ import annotations


class BackfillError(Exception):
    """A backfill cannot start or go on; the message says why in one line."""
