"""Reproducible, citable snapshots of the archive: ``qiosk snapshot export`` and ``verify``.

A snapshot directory holds the state of an archive at a cut-off (``--as-of``)::

    articles.jsonl      one article record per line, sorted by URL, keys sorted
    revisions.jsonl     the revisions of those articles fetched by the cut-off
    articles.parquet    articles.jsonl as Parquet
    archive.db          a SQLite archive (same schema) holding exactly the snapshot's rows
    csv/<table>.csv     one CSV per analyst table of archive.db
    warc/*.warc.gz      with --with-warc: the response records the articles were extracted from
    datapackage.json    Frictionless Data Package describing every file
    SHA256SUMS          checksum of every file but itself
    README.md           what it holds, how to cite it, the command that reproduces it

Exported twice from the same archive (or a copy), with the same toolkit versions, the
directories are identical byte for byte.
"""

from qiosk_scraper.snapshot.export import ExportResult, export_snapshot, parse_as_of
from qiosk_scraper.snapshot.layout import SnapshotError
from qiosk_scraper.snapshot.verify import Problem, parse_fingerprint, verify, verify_snapshot

__all__ = [
    "ExportResult",
    "Problem",
    "SnapshotError",
    "export_snapshot",
    "parse_as_of",
    "parse_fingerprint",
    "verify",
    "verify_snapshot",
]
