"""Re-extraction: run the current extractor over the stored captures, without the network.

The record and the version of the extractor that makes it are
:mod:`qiosk_scraper.extract.record`'s.

:func:`reextract` reads, for every archived article, the WARC record of the capture its latest
state came from, extracts it again in a process pool (every core: extraction is CPU-bound, the
reads are small), and stores a new revision where the record differs from the latest one
(``Archive.save_reextracted``), reporting per field how many articles changed. An archive made
by the same extractor comes out unchanged.

It holds the archive's lock, as a crawl does, and checks each capture against the length and
SHA-256 the archive recorded: a capture that cannot be read back as received is a failure of
a named kind that changes nothing (never a half-read page stored as the article's new state).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qiosk_scraper.archive import Archive, StaleState, now_iso
from qiosk_scraper.extract.record import EXTRACTOR_VERSION, OUTLET, extract_record
from qiosk_scraper.locks import CrawlLock, pause_point
from qiosk_scraper.profiles import profile_named
from qiosk_scraper.urls import canonicalize


@dataclass(frozen=True)
class Task:
    article_id: int
    warc_path: str
    warc_offset: int
    warc_length: int | None
    payload_sha256: str | None
    payload_length: int | None
    page_url: str
    fetched_at: str
    site: str
    outlet_layers: bool  # the profile's of the crawl that made the capture
    read: dict[str, Any]  # the article's capture_id and content_hash when read


@dataclass(frozen=True)
class Outcome:
    article_id: int
    record: dict[str, Any] | None
    failure: Failure | None  # why no record


@dataclass(frozen=True)
class Failure:
    """Why an article was not re-extracted: ``kind`` as in the crawl's ``errors.kind``
    (``capture_missing``, ``capture_truncated``, ``capture_mismatch``: the stored capture
    cannot be read back as it was received; ``not_an_article``; ``extractor_error``;
    ``changed_meanwhile``: a crawl stored a newer state since the capture was read)."""

    kind: str
    message: str


def _extract(task: Task) -> Outcome:
    """One article, in a worker: read its WARC record back, checked against the length and
    digest the archive recorded, and extract it."""
    from qiosk_scraper.extract import NotAnArticle
    from qiosk_scraper.warc import CaptureDamaged, read_record

    try:
        _, body = read_record(
            Path(task.warc_path),
            task.warc_offset,
            length=task.warc_length,
            payload_sha256=task.payload_sha256,
            payload_length=task.payload_length,
        )
    except CaptureDamaged as error:
        return Outcome(task.article_id, None, Failure(error.kind, str(error)))
    except OSError as error:
        return Outcome(task.article_id, None, Failure("capture_unreadable", str(error)))
    try:
        record = extract_record(body, task.page_url, task.fetched_at, task.site, task.outlet_layers)
    except NotAnArticle as error:
        return Outcome(task.article_id, None, Failure("not_an_article", error.reason))
    except Exception as error:  # an extractor bug: reported per article, the run goes on
        failure = Failure("extractor_error", f"{type(error).__name__}: {error}")
        return Outcome(task.article_id, None, failure)
    return Outcome(task.article_id, record, None)


@dataclass
class ReextractResult:
    extractor_version: str
    articles: int = 0  # articles whose capture was extracted again
    changed: int = 0  # of those, articles with a new revision
    fields: Counter[str] = field(default_factory=Counter)  # field -> articles it changed in
    failures: dict[str, Failure] = field(default_factory=dict)  # article URL -> why
    log: Path | None = None  # every failure, one line each, when there were any

    def failures_by_kind(self) -> dict[str, tuple[int, str, Failure]]:
        """kind -> (how many, one article URL, its failure)."""
        kinds: dict[str, tuple[int, str, Failure]] = {}
        for url, failure in sorted(self.failures.items()):
            count, example, first = kinds.get(failure.kind, (0, url, failure))
            kinds[failure.kind] = (count + 1, example, first)
        return dict(sorted(kinds.items()))


def tasks(archive: Archive) -> list[Task]:
    return [
        Task(
            article_id=row["article_id"],
            warc_path=str(archive.folder / row["warc_file"]),
            warc_offset=row["warc_offset"],
            warc_length=row["warc_length"],
            payload_sha256=row["payload_sha256"],
            payload_length=row["payload_length"],
            page_url=canonicalize(row["capture_url"]),
            fetched_at=row["fetched_at"],
            site=row["site"],
            outlet_layers=profile_named(row["profile"] or OUTLET).outlet_layers,
            read={"capture_id": row["capture_id"], "content_hash": row["content_hash"]},
        )
        for row in archive.reextract_targets()
    ]


def _outcomes(work: list[Task], workers: int) -> Iterator[Outcome]:
    if workers <= 1:
        yield from map(_extract, work)
        return
    chunk = max(1, min(16, len(work) // (workers * 8) or 1))
    with multiprocessing.Pool(workers) as pool:
        yield from pool.imap_unordered(_extract, work, chunksize=chunk)


def write_log(archive: Archive, result: ReextractResult, at: str) -> Path:
    """Every failure of the run, ``<url>\t<kind>\t<message>``, in ``logs/`` beside the
    database."""
    stamp = at.replace("-", "").replace(":", "").replace("+0000", "Z")
    path = archive.folder / "logs" / f"{archive.path.resolve().name}-reextract-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as log:
        for url, failure in sorted(result.failures.items()):
            log.write(f"{url}\t{failure.kind}\t{failure.message}\n")
    return path


def reextract(
    db: str | Path,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReextractResult:
    """Extract every archived article again from its stored capture with the current
    extractor (``workers`` processes, default one per core); a new revision where the record
    changed. ``progress(done, total)`` is called as articles complete.

    Holds the archive's lock (:class:`~qiosk_scraper.locks.ArchiveBusy` while a crawl holds
    it), and stores each record only if the article is still in the state its capture was
    read in (a crawl's newer state is never undone)."""
    result = ReextractResult(EXTRACTOR_VERSION)
    with CrawlLock(db, role="reextract"), Archive(db) as archive:
        work = tasks(archive)
        urls = archive.article_urls_by_id()
        pause_point("QIOSK_PAUSE_REEXTRACT")
        at = now_iso()
        by_id = {task.article_id: task for task in work}
        count = workers or os.cpu_count() or 1
        for done, outcome in enumerate(_outcomes(work, min(count, max(1, len(work)))), 1):
            url = urls[outcome.article_id]
            if outcome.failure is not None or outcome.record is None:
                result.failures[url] = outcome.failure or Failure("extractor_error", "no record")
            else:
                try:
                    changed = archive.save_reextracted(
                        outcome.article_id,
                        outcome.record,
                        extractor_version=EXTRACTOR_VERSION,
                        at=at,
                        read=by_id[outcome.article_id].read,
                    )
                except StaleState as error:
                    result.failures[url] = Failure("changed_meanwhile", str(error))
                    changed = None
                else:
                    result.articles += 1
                if changed is not None:
                    result.changed += 1
                    result.fields.update(changed)
            if progress is not None:
                progress(done, len(work))
        if result.failures:
            result.log = write_log(archive, result, at)
    return result
