"""Re-extraction: run the current extractor over the stored captures, without the network.

:data:`EXTRACTOR_VERSION` names the extractor that made a record: the toolkit's version plus a
hash of the source files the record depends on (the ``extract`` package, the record schema in
``article.py`` and URL canonicalisation in ``urls.py``). The version string alone would not do:
an extractor fixed between releases would carry the same name as the one it replaces. Every
revision stores it, so an archive tells which extractor produced each state.

:func:`reextract` reads, for every archived article, the WARC record of the capture its latest
state came from, extracts it again in a process pool (every core: extraction is CPU-bound, the
reads are small), and stores a new revision where the record differs from the latest one
(``Archive.save_reextracted``), reporting per field how many articles changed. An archive made
by the same extractor comes out unchanged.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from qiosk_scraper import __version__
from qiosk_scraper.archive import Archive, now_iso
from qiosk_scraper.profiles import profile_named
from qiosk_scraper.urls import canonicalize, same_site

_PACKAGE = Path(__file__).resolve().parent
_EXTRACTOR_SOURCES = ("extract/*.py", "article.py", "urls.py")
OUTLET = "responsiblestatecraft"  # the profile of crawls recorded before profiles existed


def extractor_version() -> str:
    """``<toolkit version>+<first 12 hex of the SHA-256 of the extractor's sources>``."""
    digest = hashlib.sha256()
    files = sorted({path for pattern in _EXTRACTOR_SOURCES for path in _PACKAGE.glob(pattern)})
    for path in files:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"{__version__}+{digest.hexdigest()[:12]}"


EXTRACTOR_VERSION = extractor_version()


def extract_record(
    body: bytes, page_url: str, fetched_at: str, site: str, outlet_layers: bool = True
) -> dict[str, Any]:
    """The archived record of a fetched article page (``page_url`` canonical): the extractor's
    record with its URL canonicalised; a canonical link off the site is not honoured.
    ``outlet_layers``: the profile's (False: the generic path alone)."""
    from qiosk_scraper.extract import extract_article

    moment = datetime.fromisoformat(fetched_at)
    article = extract_article(body, page_url, moment, outlet_layers=outlet_layers)
    record = article.to_record(extras=False)
    url = canonicalize(record["url"])
    record["url"] = url if same_site(url, site) else page_url
    return record


@dataclass(frozen=True)
class Task:
    article_id: int
    warc_path: str
    warc_offset: int
    page_url: str
    fetched_at: str
    site: str
    outlet_layers: bool  # the profile's of the crawl that made the capture


@dataclass(frozen=True)
class Outcome:
    article_id: int
    record: dict[str, Any] | None
    failure: str | None  # why no record: "NotAnArticle: ...", "OSError: ..."


def _extract(task: Task) -> Outcome:
    """One article, in a worker: read its WARC record back and extract it."""
    from qiosk_scraper.warc import read_record

    try:
        _, body = read_record(Path(task.warc_path), task.warc_offset)
        record = extract_record(body, task.page_url, task.fetched_at, task.site, task.outlet_layers)
    except Exception as error:  # reported per article with its reason; the run goes on
        return Outcome(task.article_id, None, f"{type(error).__name__}: {error}")
    return Outcome(task.article_id, record, None)


@dataclass
class ReextractResult:
    extractor_version: str
    articles: int = 0  # articles whose capture was extracted again
    changed: int = 0  # of those, articles with a new revision
    fields: Counter[str] = field(default_factory=Counter)  # field -> articles it changed in
    failures: dict[str, str] = field(default_factory=dict)  # article URL -> reason


def tasks(archive: Archive) -> list[Task]:
    return [
        Task(
            article_id=row["article_id"],
            warc_path=str(archive.folder / row["warc_file"]),
            warc_offset=row["warc_offset"],
            page_url=canonicalize(row["capture_url"]),
            fetched_at=row["fetched_at"],
            site=row["site"],
            outlet_layers=profile_named(row["profile"] or OUTLET).outlet_layers,
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


def reextract(
    db: str | Path,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReextractResult:
    """Extract every archived article again from its stored capture with the current
    extractor (``workers`` processes, default one per core); a new revision where the record
    changed. ``progress(done, total)`` is called as articles complete."""
    result = ReextractResult(EXTRACTOR_VERSION)
    with Archive(db) as archive:
        work = tasks(archive)
        urls = archive.article_urls_by_id()
        at = now_iso()
        count = workers or os.cpu_count() or 1
        for done, outcome in enumerate(_outcomes(work, min(count, max(1, len(work)))), 1):
            if outcome.record is None:
                result.failures[urls[outcome.article_id]] = outcome.failure or "no record"
            else:
                result.articles += 1
                changed = archive.save_reextracted(
                    outcome.article_id,
                    outcome.record,
                    extractor_version=EXTRACTOR_VERSION,
                    at=at,
                )
                if changed is not None:
                    result.changed += 1
                    result.fields.update(changed)
            if progress is not None:
                progress(done, len(work))
    return result
