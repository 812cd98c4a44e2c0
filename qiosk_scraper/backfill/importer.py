"""Importing captures into the archive: ``qiosk import`` (WARC/WACZ files) and ``qiosk backfill``
(a CDX server).

Each capture is copied into the archive's own WARC files (so snapshots stay self-contained),
recorded as a capture of an import "crawl" with its provenance, extracted (in a pool of worker
processes, as ``reextract`` does), and merged into the article's history by capture time
(:meth:`Archive.import_captures`): an older capture becomes an earlier revision, one identical to
its neighbour in time adds nothing, an article known only from captures is archived. A capture
already imported (same file SHA-256, WACZ member, offset and capture time) is skipped, so
importing the same files again changes nothing, and an import killed at any point finishes when
rerun: each batch of captures is one transaction, and the WARC records written before a
transaction that never committed are only unindexed copies.

Extracting a capture costs several times the CPU of everything else done for it, so the pool
is never left waiting on this process: captures go to it :data:`BATCH` at a time, up to
:data:`WINDOW` batches ahead of the one being stored, and batches are stored in the order they
were read.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qiosk_scraper import __version__
from qiosk_scraper.archive import Archive
from qiosk_scraper.article import iso_utc
from qiosk_scraper.backfill.read import Capture, ReadStats
from qiosk_scraper.profiles import Profile
from qiosk_scraper.urls import canonicalize
from qiosk_scraper.warc import WarcWriter

if TYPE_CHECKING:  # the CDX client imports Scrapy's middlewares: not for `qiosk import`
    from qiosk_scraper.backfill.cdx import CdxClient, CdxQuery

_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass
class ImportResult:
    """What an import did, per kind."""

    captures: int = 0  # captures offered
    already: int = 0  # imported before: skipped
    outcomes: Counter[str] = field(default_factory=Counter)  # new, earlier, later, identical ...
    not_articles: Counter[str] = field(default_factory=Counter)  # reason -> captures
    eras: Counter[str] = field(default_factory=Counter)  # markup era -> article captures
    read: ReadStats = field(default_factory=ReadStats)
    archive_only: int | None = None  # articles of the archive known only from web archives

    def summary(self) -> str:
        parts = [f"{self.captures} captures"]
        parts += [f"{self.already} imported before"] if self.already else []
        parts += [f"{n} {kind}" for kind, n in sorted(self.outcomes.items())]
        if self.eras:
            eras = ", ".join(f"{n} {era}" for era, n in sorted(self.eras.items()))
            parts.append(f"markup of the article captures: {eras}")
        skipped = {
            **self.read.skipped,
            **{f"not an article ({k})": n for k, n in self.not_articles.items()},
        }
        if skipped:
            parts.append("skipped: " + ", ".join(f"{n} {k}" for k, n in sorted(skipped.items())))
        if self.archive_only is not None:
            parts.append(f"{self.archive_only} articles known only from web archives")
        return "; ".join(parts)


# Captures extracted together in the worker pool, and stored in one transaction. A commit (the
# full-text index writing its new segment out) and the index trigger's drop and re-creation
# cost this process about 3 ms each: 32 captures a transaction halve that cost per capture.
BATCH = 32
WINDOW = 4  # batches in the pool ahead of the one being stored: its work while a commit waits


@dataclass(frozen=True)
class Checkpoint:
    """A mark in a stream of captures: everything before it is imported (committed) before
    ``done`` is called (a CDX page's resume key is stored so)."""

    done: Callable[[], None]


Task = tuple[bytes, str, str, str, int, bool]  # body, URL, capture time, site, status, layers


def _extract(task: Task) -> tuple[dict[str, Any] | None, str]:
    """In a worker: the record of a capture (body, canonical URL, capture time, site, status,
    whether the profile's outlet layers apply) and the markup era it was read in, or None and
    why there is no record."""
    from qiosk_scraper.extract import NotAnArticle
    from qiosk_scraper.extract.record import extract_with_provenance, markup_era

    body, url, at, site, status, outlet_layers = task
    if status != 200:
        return None, f"HTTP {status}"
    try:
        record, provenance = extract_with_provenance(body, url, at, site, outlet_layers)
    except NotAnArticle as error:
        return None, str(error)
    return record, markup_era(provenance)


Records = Callable[[], list[tuple[dict[str, Any] | None, str]]]
Extractor = Callable[[list[Task]], Records]


@contextmanager
def _extractor(workers: int) -> Iterator[Extractor]:
    """A function starting :func:`_extract` over a batch and returning the function that waits
    for its results: in a pool of ``workers`` processes (started at once, so the pool works
    while this process stores earlier batches), or in this one (when waited for)."""
    if workers <= 1:
        yield lambda tasks: lambda: [_extract(task) for task in tasks]
        return
    with multiprocessing.Pool(workers) as pool:
        yield lambda tasks: pool.map_async(_extract, tasks, chunksize=4).get


def import_captures(
    db: Path,
    captures: Iterable[Capture | Checkpoint],
    *,
    site: str,
    profile: Profile,
    arguments: dict[str, Any],
    result: ImportResult | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Import ``captures`` into the archive at ``db`` (see the module's docstring), extracting
    them with ``profile``'s layers in ``workers`` processes (one per core by default),
    :data:`BATCH` at a time. The profile is recorded with the import, for ``reextract``."""
    from qiosk_scraper.extract.record import EXTRACTOR_VERSION

    result = result if result is not None else ImportResult()
    count = workers or os.cpu_count() or 1
    with _extractor(count) as extract, Archive(db) as archive:
        archive.check_integrity()
        arguments = {**arguments, "site": site, "profile": profile.name}
        run = _Run(archive, site, profile.outlet_layers, arguments, EXTRACTOR_VERSION)
        status = "failed"
        try:
            for item in captures:
                if isinstance(item, Checkpoint):
                    run.flush(extract, result)
                    item.done()
                    continue
                run.stage(item, result)
                if len(run.staged) >= BATCH:
                    run.submit(extract)
                    while len(run.pending) > WINDOW:
                        run.store(result)
            run.flush(extract, result)
            status = "finished"
            result.archive_only = len(archive.archive_only_articles())
        finally:
            run.close(result, status)
    return result


@dataclass
class _Staged:
    """A capture written to the archive's WARC, waiting for its record."""

    row: dict[str, Any]  # its captures row
    provenance: dict[str, Any]
    task: Task
    key: tuple[Any, ...]  # what names it among the imported captures


class _Run:
    """An import run: its crawl row and WARC file, made when the first capture is new (an
    import of files imported before leaves no trace)."""

    def __init__(
        self,
        archive: Archive,
        site: str,
        outlet_layers: bool,
        arguments: dict[str, Any],
        extractor_version: str,
    ) -> None:
        self.archive, self.site, self.arguments = archive, site, arguments
        self.outlet_layers = outlet_layers
        self.extractor_version = extractor_version
        self.crawl_id: int | None = None
        self.writer: WarcWriter | None = None
        self.staged: list[_Staged] = []  # the batch being filled
        self.pending: deque[tuple[list[_Staged], Records]] = deque()  # batches in the pool
        self.keys: set[tuple[Any, ...]] = set()  # of the captures staged or pending
        # the file being read (its SHA-256) and its records imported before or staged since
        self.file: tuple[str, set[tuple[str, int, str]]] = ("", set())

    def start(self) -> tuple[int, WarcWriter]:
        if self.crawl_id is None or self.writer is None:
            self.crawl_id = self.archive.start_crawl(
                self.site, self.arguments, {"qiosk-scraper": __version__}
            )
            self.writer = WarcWriter(
                self.archive.folder / "warc",
                f"import-{self.crawl_id:05d}",
                {"software": f"qiosk-scraper {__version__}", "operator": "qiosk import"},
                relative_to=self.archive.folder,
            )
        return self.crawl_id, self.writer

    def stage(self, capture: Capture, result: ImportResult) -> None:
        """Copy a capture not imported before into the WARC and queue it for extraction."""
        result.captures += 1
        provenance = {
            "source": capture.provenance.source,
            "file": capture.provenance.file,
            "file_sha256": capture.provenance.file_sha256,
            "member": capture.provenance.member,
            "record_id": capture.provenance.record_id,
            "offset": capture.provenance.offset,
            "captured_at": iso_utc(capture.captured_at),
        }
        key = tuple(provenance[k] for k in ("file_sha256", "member", "offset", "captured_at"))
        if key in self.keys or self.imported(provenance):
            result.already += 1
            return
        self.keys.add(key)
        self.file[1].add(self.record(provenance))
        _, writer = self.start()
        url = canonicalize(capture.url)
        headers = [(k, v) for k, v in capture.headers if k.lower() not in _DROPPED]
        location = writer.write_exchange(
            url=url,
            method="GET",
            request_headers=[],
            status=capture.status,
            response_headers=headers,
            body=capture.body,
            fetched_at=capture.captured_at,
        )
        row = {
            "url": url,
            "method": "GET",
            "status": capture.status,
            "fetched_at": provenance["captured_at"],
            "content_type": capture.content_type,
            "payload_sha256": location.payload_sha256,
            "payload_length": location.payload_length,
            "warc_file": location.file,
            "warc_offset": location.offset,
            "warc_length": location.length,
        }
        at = iso_utc(capture.captured_at)
        task = (capture.body, url, at, self.site, capture.status, self.outlet_layers)
        self.staged.append(_Staged(row, provenance, task, key))

    @staticmethod
    def record(provenance: dict[str, Any]) -> tuple[str, int, str]:
        offset = provenance["offset"]
        return (
            provenance["member"] or "",
            -1 if offset is None else offset,
            provenance["captured_at"],
        )

    def imported(self, provenance: dict[str, Any]) -> bool:
        """Whether the capture was imported before (by this run too): the archive is asked
        once per file read (a query per capture cost more than the rest of the check)."""
        if self.file[0] != provenance["file_sha256"]:
            sha256 = provenance["file_sha256"]
            self.file = (sha256, self.archive.imported_records(sha256))
        return self.record(provenance) in self.file[1]

    def submit(self, extract: Extractor) -> None:
        """Hand the batch being filled to the pool."""
        if self.staged:
            self.pending.append((self.staged, extract([s.task for s in self.staged])))
            self.staged = []

    def store(self, result: ImportResult) -> None:
        """Wait for the oldest batch in the pool and store it, with its records, in one
        transaction."""
        batch, records = self.pending.popleft()
        extracted = records()
        crawl_id, _ = self.start()
        outcomes = self.archive.import_captures(
            crawl_id,
            [
                (staged.row, staged.provenance, record)
                for staged, (record, _) in zip(batch, extracted, strict=True)
            ],
            extractor_version=self.extractor_version,
        )
        for (record, said), outcome in zip(extracted, outcomes, strict=True):
            if record is None:
                result.not_articles[said] += 1
            else:
                result.eras[said] += 1
            if outcome != "none":
                result.outcomes[outcome] += 1
        self.keys.difference_update(staged.key for staged in batch)

    def flush(self, extract: Extractor, result: ImportResult) -> None:
        """Extract and store every capture staged so far."""
        self.submit(extract)
        while self.pending:
            self.store(result)

    def close(self, result: ImportResult, status: str) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.crawl_id is not None:
            stats = {"captures": result.captures, "imported_before": result.already}
            self.archive.finish_crawl(self.crawl_id, {**stats, **result.outcomes}, status)


def cdx_captures(
    db: Path,
    client: CdxClient,
    query: CdxQuery,
    *,
    source: str,
    replay: str | None,
    warc_files: str | None,
    result: ImportResult,
) -> Iterator[Capture | Checkpoint]:
    """The captures a CDX query names, fetched page by page from the resume key stored in the
    archive, each page followed by a checkpoint that stores the key after it (once the page's
    captures are imported)."""
    from qiosk_scraper.backfill.cdx import CdxError

    key = f"{client.endpoint}?{query.prefix}|{query.from_ or ''}|{query.to or ''}"
    with Archive(db) as archive:
        resume = archive.backfill_resume(key)
    if resume == "":
        return  # done before

    def store(resume: str | None) -> Callable[[], None]:
        def done() -> None:
            with Archive(db) as archive:
                archive.set_backfill_resume(key, resume or "")

        return done

    for page in client.pages(query, resume or None):
        for row in page.captures:
            try:
                if warc_files is not None:
                    yield client.fetch_range(row, warc_files, source=source)
                else:
                    assert replay is not None
                    yield client.fetch_replay(row, replay, source=source)
            except CdxError as error:  # this capture only: counted, the others go on
                result.read.skipped[f"not fetched ({str(error).rsplit(': ', 1)[-1]})"] += 1
        yield Checkpoint(store(page.resume))
