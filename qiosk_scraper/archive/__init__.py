"""The archive: the only module that talks to SQLite (through sqlite-utils).

Everything else hands records to :class:`Archive`; the schema below is its contract with the
Datasette, snapshot and re-crawl code. Times are ISO 8601 UTC strings
(``YYYY-MM-DDTHH:MM:SS+00:00``), JSON columns hold JSON text, booleans are 0/1.

Schema (version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``):

``crawls``
    id, site, arguments (JSON: the command's options), versions (JSON: toolkit, Python, SQLite
    and every installed distribution), started, ended, stats (JSON: the figures of the summary),
    status (``running``, then the finish reason: ``finished``, ``shutdown``, ``failed`` ...).
``captures``
    One row per HTTP response received (articles, listings, feeds, sitemaps, robots.txt,
    redirects, errors): id, crawl_id, url, method, status, fetched_at, content_type, location
    (redirect target), etag, last_modified, payload_sha256 (of the body as received, before any
    content decoding), payload_length, warc_file (path relative to the database's folder),
    warc_offset and warc_length (the gzip member holding the WARC response record).
``articles``
    One row per canonical URL, every field of the article record as a column: url, title,
    subtitle, article_type, section, published, modified, body, word_count, language; plus
    post_id (the CMS id, unique when known), content_hash (SHA-256 of the record's canonical
    JSON), first_seen, last_fetched, capture_id (the capture the record was extracted from),
    extractor_version, gone_at (when the site answered 404/410 for it; NULL while it is online),
    gone_capture_id (that 404/410 response: the evidence). Always the latest state: its history
    is in ``revisions``. ``articles_fts`` (FTS5, kept current by triggers) indexes title,
    subtitle and body.
``revisions``
    article_id, revision (1, 2, ...), fetched_at (when this state entered the archive: the
    fetch that showed it, or the re-extraction that produced it), content_hash, record (the
    full article record as JSON), changed_fields (JSON list of the record fields that differ
    from the previous revision; ``[]`` for revision 1), silent_edit (1 when the content changed
    but ``modified`` did not: the site edited without saying so), extractor_version,
    capture_id (the response the state was extracted from). A new revision only when the
    record differs from the latest one.
``authors`` / ``article_authors``
    authors: id, name, url (profile link or NULL; unique on name and url).
    article_authors: article_id, author_id, position (0 = first in the byline).
``tags`` / ``article_tags``
    tags: id, label (unique). article_tags: article_id, tag_id, position (page order).
``sections`` / ``article_sections``
    sections: id, label (unique, e.g. ``Middle East``, ``QiOSK``, ``Analysis``).
    article_sections: article_id, section_id, is_primary (1 when it is the section the article
    page names), listed (1 when the article was seen in that section's listing).
``listing_sightings``
    url (canonical article URL as the listing links it), post_id, section_id, crawl_id,
    seen_at: every (article, listing) pair seen, kept so a listing seen before its article was
    fetched is linked when the article is saved.
``images``
    article_id, position, url, alt, caption, credit, lead (the lead image first).
``links``
    article_id, position, url, text: the links inside the body, in page order.
``url_aliases``
    url (a variant: tracking parameters, missing slash, an old slug that redirects), target_url
    (the canonical URL it stands for), article_id (set once the article is archived), kind
    (``variant``, ``redirect``, ``canonical``), first_seen.
``errors``
    id, crawl_id, url, kind (e.g. ``http_404``, ``not_an_article``, ``dns``), message, at,
    capture_id (the response that showed the failure, when there was one).
``discoveries``
    crawl_id, url (canonical article URL as discovered), source (``sitemap``, ``feeds``,
    ``home``, ``sections``, ``tags``, ``authors``, ``stream``, ``body``): which discovery
    source named which article URL in which crawl (see ``qiosk coverage``).
``capture_sources``
    capture_id, source (``--source`` of ``qiosk import``/``backfill``: ``wayback``,
    ``common-crawl``, ``own-warc`` ...), file (name of the WARC/WACZ file or the CDX server's
    WARC) and file_sha256, member (the WARC inside a WACZ), record_id, record_offset,
    captured_at: the provenance of every capture imported from a web archive. A capture with
    no row here came from a crawl of the site (the source ``crawl`` of ``qiosk coverage
    --sources``).
``backfill_resume``
    query (a CDX query's URL), resume (the key to resume it after the pages imported; empty
    when done), updated.
``fill_rates``
    crawl_id, field, articles, filled, fallback: per crawl and field, how many of the articles
    the crawl extracted had the field, and how many of those from a fallback layer
    (:mod:`qiosk_scraper.health`); schema version 3 (archives made before it may hold it from
    the first crawl that extracted an article).

Writes are transactions: :meth:`Archive.save_article` stores an article row, all its child
rows and its revision atomically, so a crash never leaves half an article. Every write
transaction begins IMMEDIATE (it takes the write lock first, so it never fails half-way turning
a read into a write); waiting for another process's lock is reported on stderr and bounded
(``QIOSK_LOCK_WAIT`` seconds, default 60: then :class:`ArchiveLocked`); a full disk ends a
write in :class:`DiskFull`. Opening an archive checks its tables and columns against its
schema version before anything reads or writes them. Schema version 2
(re-crawls) added ``revisions``, ``discoveries`` and ``articles.gone_capture_id``; opening a
version-1 archive migrates it, with revision 1 of every article made from its stored state.
Schema version 3 (backfill from web archives, extraction health) added ``capture_sources``,
``backfill_resume`` and ``fill_rates``, which the first imports and crawls made on first use in
version-2 files: those are kept as they are.
"""

from __future__ import annotations

from qiosk_scraper.archive.errors import (
    SQLITE_VERSION,
    ArchiveError,
    ArchiveLocked,
    DatabaseError,
    DiskFull,
    StaleState,
    WriteFailed,
    disk_full,
)
from qiosk_scraper.archive.imports import CRAWL_SOURCE
from qiosk_scraper.archive.rows import content_hash, now_iso
from qiosk_scraper.archive.schema import SCHEMA_VERSION, expected_schema
from qiosk_scraper.archive.store import CONFLICTING_CANONICAL, Archive, SaveOutcome

# Where the commands keep the archive unless given --db. Here, not in the crawl session: a
# command that never crawls (import) would load Scrapy and Twisted for it.
DEFAULT_DB = "archive/qiosk.db"

__all__ = [
    "CONFLICTING_CANONICAL",
    "CRAWL_SOURCE",
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "SQLITE_VERSION",
    "Archive",
    "ArchiveError",
    "ArchiveLocked",
    "DatabaseError",
    "DiskFull",
    "SaveOutcome",
    "StaleState",
    "WriteFailed",
    "content_hash",
    "disk_full",
    "expected_schema",
    "now_iso",
]
