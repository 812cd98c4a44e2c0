"""The crawl session that the spider, middlewares and pipeline share: the toolkit's stats names,
:class:`CrawlSession` (the archive, the crawl's row, the WARC writer, the archive's lock),
:func:`record_error`, and the crawl's status from Scrapy's closing reason.

One :class:`CrawlSession` per crawl holds the archive, the crawl's row id and the WARC writer.
The ``outlet`` spider opens it in ``from_crawler`` (before Scrapy builds the middlewares and
pipelines, which take it from ``crawler.spider.session``) and closes it when the spider closes,
storing Scrapy's stats, and the toolkit's own figures (``qiosk/...``), in ``crawls.stats``.
Crash safety: a session holds the archive's lock (:mod:`qiosk_scraper.locks`: ``flock`` on
``<real db path>.crawl-lock``, let go by the kernel when the process dies, even by SIGKILL) for
its whole life, so one crawl (or reextract) writes to an archive at a time, whatever path names
it. Opening a session therefore knows that any crawl still marked ``running`` died: it marks it
``interrupted`` and cuts its WARC files back to their last complete exchange
(:func:`qiosk_scraper.warc.repair`) before the new crawl starts. Its WARC files are named
``<db file name>-crawlNNNNN-<start>-NNNNN.warc.gz`` (:func:`warc_prefix`), so archives sharing
a folder never touch each other's files.

A page whose WARC record or rows could not be written (the disk full, the database locked by
another process beyond the wait) is an ``errors`` row of kind ``disk_full`` /
``archive_locked`` (:data:`WRITE_LOSSES`), and the crawl ends ``interrupted`` rather than
``finished``; a full disk also stops it, with one line naming the file. What the
dead crawl committed stays; the new crawl's conditional requests and sitemap dates skip what
is already current, so running the same command again finishes the work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import distributions
from pathlib import Path
from typing import Any, Self

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from qiosk_scraper import __version__
from qiosk_scraper.archive import SQLITE_VERSION, Archive, ArchiveLocked, DiskFull, WriteFailed
from qiosk_scraper.locks import ArchiveBusy as ArchiveBusy
from qiosk_scraper.locks import CrawlLock, pause_point
from qiosk_scraper.warc import Repair, WarcWriter, repair

logger = logging.getLogger(__name__)


DEFAULT_SITE = "https://responsiblestatecraft.org"


# The toolkit's own crawl figures, in Scrapy's stats under these names.
PAGES = "qiosk/pages"  # responses received (every capture)


ARTICLES_NEW = "qiosk/articles/new"


ARTICLES_UPDATED = "qiosk/articles/updated"


ARTICLES_UNCHANGED = "qiosk/articles/unchanged"  # re-fetched with the same content, or 304


ARTICLES_SKIPPED = "qiosk/articles/skipped"  # sitemap lastmod not newer than the stored state


ARTICLES_GONE = "qiosk/articles/gone"  # known articles answered 404/410 (marked gone)


NOT_MODIFIED = "qiosk/not_modified"  # 304 answers, replayed from their stored capture


ERRORS = "qiosk/errors"  # also qiosk/errors/<kind>


SITEMAP_TOTAL = "qiosk/sitemap_urls"  # distinct article URLs the sitemaps list


NOT_ARTICLES = "qiosk/not_articles"  # linked pages that turned out not to be articles
ANSWERED = "qiosk/answered"  # pages other than robots.txt the spider could read (200 or 304)


RESERVE_BYTES = 128 * 1024  # see CrawlSession.reserve


# errors.kind of a page whose capture or rows could not be written (the page was lost)
WRITE_LOSSES = frozenset({ArchiveLocked.kind, DiskFull.kind, WriteFailed.kind})


def software_versions() -> dict[str, str]:
    """Versions of the toolkit, Python, SQLite and every installed distribution."""
    versions = {
        "qiosk-scraper": __version__,
        "python": platform.python_version(),
        "sqlite": SQLITE_VERSION,
    }
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and name.lower() != "qiosk-scraper":
            versions[name.lower()] = dist.version
    return dict(sorted(versions.items()))


def warc_prefix(archive: Archive, crawl_id: int) -> str:
    """The name every WARC file of crawl ``crawl_id`` starts with: the database's own file
    name (so archives sharing a folder, hence ``warc/``, never share a name), the crawl and
    the time it started, all read from the archive itself."""
    started = datetime.fromisoformat(archive.crawl(crawl_id)["started"])
    return f"{archive.path.resolve().name}-crawl{crawl_id:05d}-{started:%Y%m%dT%H%M%SZ}"


def crawl_warc_files(archive: Archive, crawl_id: int) -> list[Path]:
    """The WARC files crawl ``crawl_id`` of this archive wrote: those its captures name
    (archives written before WARC names carried the database's name) and those named with
    its own :func:`warc_prefix` (a file may hold no indexed capture yet). Never a file of
    another archive sharing the folder."""
    folder = archive.folder / "warc"
    prefix = warc_prefix(archive, crawl_id)
    pattern = re.compile(re.escape(prefix) + r"-\d{5}\.warc\.gz")
    own = {path for path in folder.glob("*.warc.gz") if pattern.fullmatch(path.name)}
    named = {archive.folder / name for name in archive.crawl_warc_files(crawl_id)}
    return sorted(path for path in own | named if path.is_file())


def recover_interrupted(archive: Archive) -> tuple[list[int], list[Repair]]:
    """Mark crawls left ``running`` as interrupted and repair their WARC files (the caller
    holds the crawl lock). Returns their ids and what was done to each file."""
    interrupted = archive.interrupt_running_crawls()
    repairs = []
    for crawl_id in interrupted:
        reserve = archive.folder / "warc" / f"{warc_prefix(archive, crawl_id)}.reserve"
        reserve.unlink(missing_ok=True)
        for path in crawl_warc_files(archive, crawl_id):
            indexed = archive.capture_offsets(os.path.relpath(path, archive.folder))
            done = repair(path, indexed)
            repairs.append(done)
            if done.cut:
                logger.warning(
                    "Interrupted crawl %d: cut %d bytes of partial records from %s",
                    crawl_id,
                    done.cut,
                    path,
                )
    return interrupted, repairs


@dataclass
class CrawlSession:
    """What one crawl writes to: the archive, its ``crawls`` row and the WARC files."""

    site: str
    archive: Archive
    crawl_id: int
    warc: WarcWriter
    lock: CrawlLock
    interrupted: list[int] = field(default_factory=list)  # crawls found dead at the start
    repairs: list[Repair] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # Failed writes: errors rows still to write (url, kind, message, capture id), how many
    # pages were not stored, whether the crawl was stopped for a full disk.
    unwritten_errors: list[tuple[str, str, str, int | None]] = field(default_factory=list)
    losses: int = 0
    stopped: bool = False

    @property
    def reserve(self) -> Path:
        """A file of :data:`RESERVE_BYTES` held while the crawl runs, given up when the disk
        fills, so the crawl can still record its errors and its end."""
        return self.warc.folder / f"{self.warc.prefix}.reserve"

    def write_lost(self, crawler: Crawler, failure: WriteFailed | None) -> None:
        """A page's WARC record or rows could not be written. On a full disk the crawl stops,
        saying once, in one line, which file and how to finish."""
        if failure is not None:
            self.losses += 1
        if isinstance(failure, DiskFull) or failure is None:
            if self.stopped:
                return
            self.stopped = True
            # What is in flight is not written; the room the reserve leaves is kept for the
            # errors rows and the crawl's end (see close).
            refusal = failure or DiskFull(self.archive.path)
            self.archive.db.refused = refusal
            self.warc.refused = refusal
            self.reserve.unlink(missing_ok=True)
            if failure is not None:
                print(failure, file=sys.stderr, flush=True)
            engine = crawler.engine
            if engine is not None and engine.spider is not None:
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(engine.close_spider_async(reason=DiskFull.kind))

    @classmethod
    def open(
        cls,
        site: str,
        db: str | Path,
        arguments: Mapping[str, Any],
        *,
        user_agent: str,
        warc_max_bytes: int,
    ) -> Self:
        lock = CrawlLock(db)
        try:
            archive = Archive(db)
        except BaseException:
            lock.release()
            raise
        try:  # the archive locked (past the wait) or full before the crawl starts: let go
            pause_point("QIOSK_PAUSE_CRAWL")
            interrupted, repairs = recover_interrupted(archive)
            versions = software_versions()
            crawl_id = archive.start_crawl(site, arguments, versions)
        except BaseException:
            archive.close()
            lock.release()
            raise
        warc = WarcWriter(
            archive.folder / "warc",
            warc_prefix(archive, crawl_id),
            {
                "software": f"qiosk-scraper/{__version__} (Scrapy {scrapy.__version__}, "
                f"warcio {versions.get('warcio', '?')}, Python {versions['python']})",
                "format": "WARC File Format 1.0",
                "isPartOf": f"qiosk crawl {crawl_id} of {site}",
                "description": f"crawl {crawl_id} of {site} by qiosk-scraper",
                "http-header-user-agent": user_agent,
                "robots": "obey",
                "hostname": platform.node(),
            },
            max_bytes=warc_max_bytes,
            relative_to=archive.folder,
        )
        session = cls(
            site=site,
            archive=archive,
            crawl_id=crawl_id,
            warc=warc,
            lock=lock,
            interrupted=interrupted,
            repairs=repairs,
        )
        session.reserve.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # no room even for this: the crawl stops soon
            session.reserve.write_bytes(bytes(RESERVE_BYTES))
        return session

    def close(self, stats: Mapping[str, Any], reason: str) -> None:
        """Store Scrapy's stats, plus the headline figures under ``qiosk/figures``, and the
        errors rows of failed writes. A crawl that lost a page to a failed write ends
        ``interrupted`` (not ``finished``: the command exits non-zero; running it again, or
        ``--resume``, fetches what was lost). When even that cannot be written (the disk is
        still full), the row stays ``running``, which the next crawl also reads as
        interrupted."""
        self.warc.close()
        self.archive.db.refused = None
        numbers = figures(stats, time.monotonic() - self.started)
        if (self.losses and reason == "finished") or reason == DiskFull.kind:
            reason = "interrupted"
        try:
            self.archive.finish_crawl(
                self.crawl_id,
                {**stats, "qiosk/figures": numbers},
                reason,
                errors=self.unwritten_errors,
            )
            self.unwritten_errors = []
        except WriteFailed as error:
            if not self.stopped:
                print(error, file=sys.stderr, flush=True)
        finally:
            self.reserve.unlink(missing_ok=True)
            self.archive.close()
            self.lock.release()


def session_of(crawler: Crawler, component: str) -> CrawlSession:
    """The crawl session of the crawler's spider; NotConfigured (with the reason) without one."""
    session = getattr(crawler.spider, "session", None)
    if not isinstance(session, CrawlSession):
        raise NotConfigured(
            f"{component} needs the outlet spider (spider.session), not {crawler.spider!r}"
        )
    return session


def figures(stats: Mapping[str, Any], elapsed: float) -> dict[str, Any]:
    """The crawl's headline figures, from Scrapy's stats."""
    pages = int(stats.get(PAGES, 0))
    new = int(stats.get(ARTICLES_NEW, 0))
    updated = int(stats.get(ARTICLES_UPDATED, 0))
    unchanged = int(stats.get(ARTICLES_UNCHANGED, 0))
    skipped = int(stats.get(ARTICLES_SKIPPED, 0))
    return {
        "pages": pages,
        "not_modified": int(stats.get(NOT_MODIFIED, 0)),
        "articles_new": new,
        "articles_updated": updated,
        "articles_unchanged": unchanged,
        "articles_skipped": skipped,
        "articles_gone": int(stats.get(ARTICLES_GONE, 0)),
        "articles": new + updated + unchanged + skipped,
        "errors": int(stats.get(ERRORS, 0)),
        "answered": int(stats.get(ANSWERED, 0)),
        "sitemap_urls": int(stats.get(SITEMAP_TOTAL, 0)),
        "elapsed_s": round(elapsed, 1),
        "pages_per_s": round(pages / elapsed, 2) if elapsed > 0 else 0.0,
    }


def failed(numbers: Mapping[str, Any]) -> bool:
    """A crawl in which no page but robots.txt answered (a dead or wrong site, start pages
    that all failed) and that met errors failed: the errors are why."""
    return not numbers.get("answered") and bool(numbers.get("errors"))


def crawl_status(reason: str, stats: Mapping[str, Any]) -> str:
    """The ``crawls.status`` of a crawl Scrapy closed for ``reason``: stopped by a signal
    (Scrapy's "shutdown") is "interrupted", which ``--resume`` finishes; a crawl that ran to
    its end but :func:`failed` is "failed"; otherwise Scrapy's reason ("finished", ...)."""
    if reason == "shutdown":
        return "interrupted"
    if reason == "finished" and failed(figures(stats, 0.0)):
        return "failed"
    return reason


def record_error(
    crawler: Crawler,
    session: CrawlSession,
    url: str,
    kind: str,
    message: str,
    capture_id: int | None = None,
) -> None:
    """An ``errors`` row plus the ``qiosk/errors`` and ``qiosk/errors/<kind>`` counters. A
    failed write (disk full, archive locked) is counted and its row written when the
    session closes; a full disk stops the crawl (see :meth:`CrawlSession.write_lost`)."""
    assert crawler.stats is not None
    crawler.stats.inc_value(ERRORS)
    crawler.stats.inc_value(f"{ERRORS}/{kind}")
    error = (url, kind, message, capture_id)
    try:
        session.archive.add_error(session.crawl_id, url, kind, message, capture_id=capture_id)
    except WriteFailed as failure:
        session.unwritten_errors.append(error)
        session.write_lost(crawler, failure)
        return
    if kind in WRITE_LOSSES:
        session.losses += 1
        if kind == DiskFull.kind:
            session.write_lost(crawler, None)
