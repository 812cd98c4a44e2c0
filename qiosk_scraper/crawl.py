"""Running a crawl: :func:`run_crawl` behind ``qiosk crawl``, its settings, the live progress
line, the summary and exit status, and resuming an interrupted crawl. What the Scrapy
components share during a crawl is :mod:`qiosk_scraper.session`."""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from qiosk_scraper import __version__
from qiosk_scraper.archive import DEFAULT_DB, Archive
from qiosk_scraper.health import HISTORY_CRAWLS, drift_warnings, pooled
from qiosk_scraper.session import DEFAULT_SITE, figures
from qiosk_scraper.spiders.frontier import Frontier

logger = logging.getLogger(__name__)


def progress_line(numbers: Mapping[str, Any], known: int, settled: bool) -> str:
    """The live line. ``known``: the distinct article URLs discovered so far; ``settled``:
    discovery is over (every sitemap, feed and listing read), so ``known`` is the total."""
    line = (
        f"pages {numbers['pages']:,} | articles {numbers['articles_new']:,} new, "
        f"{numbers['articles_updated']:,} updated, {numbers['articles_unchanged']:,} unchanged, "
        f"{numbers['articles_skipped']:,} skipped | "
        f"errors {numbers['errors']:,} | {numbers['pages_per_s']:.1f} pages/s"
    )
    done = numbers["articles"]
    total = max(known, done)  # an article met was known, whatever the counters say
    if settled and total:
        line += f" | {done:,} of {total:,} articles ({done / total:.0%})"
    elif total:
        line += f" | {done:,} of at least {total:,} articles"
    return line


@dataclass(frozen=True)
class ErrorKind:
    """The errors of one kind in a crawl: how many, and the first as an example."""

    count: int
    url: str
    message: str


def errors_by_kind(errors: list[dict[str, Any]]) -> dict[str, ErrorKind]:
    kinds: dict[str, ErrorKind] = {}
    for error in errors:
        first = kinds.get(error["kind"])
        if first is None:
            kinds[error["kind"]] = ErrorKind(1, error["url"], error["message"] or "")
        else:
            kinds[error["kind"]] = dataclasses.replace(first, count=first.count + 1)
    return dict(sorted(kinds.items()))


def summary_table(numbers: Mapping[str, Any], kinds: Mapping[str, ErrorKind]) -> str:
    """The end-of-crawl table, then one example of each kind of error."""
    rows = [
        ("pages fetched", f"{numbers.get('pages', 0):,}"),
        ("articles new", f"{numbers.get('articles_new', 0):,}"),
        ("articles updated", f"{numbers.get('articles_updated', 0):,}"),
        ("articles unchanged", f"{numbers.get('articles_unchanged', 0):,}"),
        ("articles skipped (sitemap date)", f"{numbers.get('articles_skipped', 0):,}"),
        ("articles gone (404/410)", f"{numbers.get('articles_gone', 0):,}"),
        ("answered 304 Not Modified", f"{numbers.get('not_modified', 0):,}"),
        ("sitemap URLs", f"{numbers.get('sitemap_urls', 0):,}"),
        ("errors", f"{numbers.get('errors', 0):,}"),
        *((f"  {kind}", f"{error.count:,}") for kind, error in kinds.items()),
        ("elapsed", f"{numbers.get('elapsed_s', 0):,} s"),
        ("rate", f"{numbers.get('pages_per_s', 0)} pages/s"),
    ]
    width = max(len(name) for name, _ in rows)
    value_width = max(len(value) for _, value in rows)
    rule = "-" * (width + value_width + 3)
    examples = [f"{kind}: e.g. {error.url}: {error.message}" for kind, error in kinds.items()]
    table = [rule, *(f"{n:<{width}}   {v:>{value_width}}" for n, v in rows), rule]
    return "\n".join(table + examples)


def failure_cause(numbers: Mapping[str, Any], kinds: Mapping[str, ErrorKind]) -> str:
    """One line saying why a crawl failed, naming its most common error."""
    what = "no page answered" if not numbers.get("pages") else "every page failed"
    if not kinds:
        return what
    kind, error = max(kinds.items(), key=lambda item: item[1].count)
    count = f"{numbers.get('errors', 0):,} errors, {error.count:,} {kind}"
    return f"{what}: {count} (e.g. {error.url}: {error.message})"


class CrawlProgress:
    """A live progress line on the terminal, refreshed every second (``QIOSK_PROGRESS``;
    ``qiosk crawl`` enables it on a terminal)."""

    def __init__(self, crawler: Crawler, stream: IO[str]) -> None:
        self.crawler = crawler
        self.stream = stream
        self.started = time.monotonic()
        self.settled = False
        self.loop = task.LoopingCall(self.show)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("QIOSK_PROGRESS"):
            raise NotConfigured("QIOSK_PROGRESS is off: enable the extension with it")
        extension = cls(crawler, sys.stderr)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.loop.start(1.0, now=False)

    def spider_idle(self) -> None:
        """The first idle moment: every discovery page has been read (what the crawl asks
        after that are articles it already knows)."""
        self.settled = True

    def known(self) -> int:
        """Distinct article URLs discovered so far: in the sitemaps, or requested (or skipped
        as current) from any source."""
        frontier = getattr(self.crawler.spider, "frontier", None)
        return frontier.known_articles() if isinstance(frontier, Frontier) else 0

    def show(self) -> None:
        assert self.crawler.stats is not None
        numbers = figures(self.crawler.stats.get_stats(), time.monotonic() - self.started)
        self.stream.write("\r\x1b[K" + progress_line(numbers, self.known(), self.settled))
        self.stream.flush()

    def spider_closed(self, reason: str) -> None:
        if self.loop.running:
            self.loop.stop()
        self.settled = self.settled or reason == "finished"
        self.show()
        self.stream.write("\n")
        self.stream.flush()


@dataclass(frozen=True)
class CrawlResult:
    crawl_id: int
    status: str  # crawls.status: "finished", "interrupted", "failed" or Scrapy's reason
    figures: dict[str, Any]
    errors_by_kind: dict[str, ErrorKind]
    signal: int | None = None  # the stop signal received, if any
    log_file: Path | None = None  # where Scrapy's log went (None: to stderr)
    drift: tuple[str, ...] = ()  # fill rates well below the previous crawls' (health.py)


class SettingError(ValueError):
    """A ``-s NAME=VALUE`` the crawl cannot take."""


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs (``qiosk crawl -s``), as Scrapy's own ``-s`` takes them."""
    overrides = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip().isidentifier() or not name.strip().isupper():
            raise SettingError(f"-s {pair!r}: expected NAME=VALUE with an upper-case setting name")
        overrides[name.strip()] = value
    return overrides


def crawl_settings(
    *,
    progress: bool,
    contact: str | None = None,
    overrides: Mapping[str, str] | None = None,
    log_file: Path | None = None,
) -> Any:
    """The project settings (``qiosk_scraper.settings``) with the command line's changes:
    ``overrides`` (``-s``), the live line (``progress``), Scrapy's log to ``log_file``."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("qiosk_scraper.settings", priority="project")
    if contact:
        settings.set("QIOSK_CONTACT_URL", contact, priority="cmdline")
        settings.set(
            "USER_AGENT",
            f"qiosk-scraper/{__version__} (research archive; +{contact})",
            priority="cmdline",
        )
    if progress:
        settings.set("QIOSK_PROGRESS", True, priority="cmdline")
        extensions = {**settings.getdict("EXTENSIONS"), "qiosk_scraper.crawl.CrawlProgress": 500}
        settings.set("EXTENSIONS", extensions, priority="cmdline")
    if log_file is not None:
        settings.set("LOG_FILE", str(log_file), priority="cmdline")
    settings.setdict(dict(overrides or {}), priority="cmdline")
    return settings


def log_path(db: str | Path) -> Path:
    """Where a crawl of ``db`` logs: ``logs/`` beside the archive, one file a run."""
    path = Path(db)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return path.parent / "logs" / f"{path.stem}-crawl-{stamp}-{os.getpid()}.log"


def crawl_report(result: CrawlResult, site: str, db: str | Path) -> tuple[str, str | None, int]:
    """What ``qiosk crawl`` says of a crawl: the summary (stdout), a line for stderr (how to
    resume an interrupted crawl, why a crawl failed) and the exit status (128 + the signal
    for a crawl a signal stopped, as shells do; 1 for any other end than "finished")."""
    lines = [
        f"crawl {result.crawl_id} of {site} into {db}: {result.status}",
        summary_table(result.figures, result.errors_by_kind),
        *(f"warning: {line}" for line in result.drift),
    ]
    if result.log_file is not None:
        lines.append(f"log: {result.log_file}")
    note = None
    if result.status == "interrupted":
        note = f"resume with: qiosk crawl --db {shlex.quote(str(db))} --resume"
    elif result.status == "failed":
        note = f"Error: crawl failed, {failure_cause(result.figures, result.errors_by_kind)}"
    code = 0 if result.status == "finished" else 1
    if result.status == "interrupted" and result.signal is not None:
        code = 128 + result.signal
    return "\n".join(lines), note, code


class NothingToResume(Exception):
    """``--resume`` on an archive whose latest crawl ended (or that has none)."""


def resume_arguments(db: str | Path) -> dict[str, Any]:
    """The spider arguments of the archive's latest crawl, when it did not end (killed, or
    stopped by a crash): ``qiosk crawl --resume`` runs them again."""
    with Archive(db) as archive:
        latest = archive.latest_crawl()
    if latest is None:
        raise NothingToResume(f"{db}: no crawl to resume")
    if latest["status"] not in ("running", "interrupted"):
        raise NothingToResume(
            f"{db}: nothing to resume, the latest crawl ({latest['id']}) ended: {latest['status']}"
        )
    given = latest["arguments"] or {}
    arguments = {
        name: given.get(name)
        for name in ("site", "profile", "max_articles", "since", "sources", "delay", "refresh")
    }
    if isinstance(arguments["sources"], list):
        arguments["sources"] = ",".join(arguments["sources"])
    arguments["refresh"] = bool(arguments["refresh"])
    # A crawl recorded before profiles existed used the outlet's knowledge.
    arguments["profile"] = arguments["profile"] or "responsiblestatecraft"
    arguments["resumes"] = latest["id"]
    return arguments


def run_crawl(
    *,
    site: str = DEFAULT_SITE,
    db: str | Path = DEFAULT_DB,
    profile: str | None = None,
    max_articles: int | None = None,
    since: str | None = None,
    sources: str | None = None,
    delay: float | None = None,
    refresh: bool = False,
    resumes: int | None = None,
    contact: str | None = None,
    progress: bool = False,
    overrides: Mapping[str, str] | None = None,
    verbose: bool = False,
) -> CrawlResult:
    """Run the outlet spider in this process (once: Twisted's reactor cannot restart) and
    return what the archive recorded of the crawl. ``resumes``: the id of the interrupted
    crawl this one finishes (recorded with the arguments). Scrapy's log goes to a file beside
    the archive (:func:`log_path`), or with ``verbose`` to stderr (and no live line).
    SIGINT and SIGTERM stop the crawl as :mod:`qiosk_scraper.stopping` says."""
    from scrapy.crawler import CrawlerProcess

    from qiosk_scraper.spiders.outlet import OutletSpider
    from qiosk_scraper.stopping import GracefulStop, stop_reactor_threads

    log_file = None if verbose else log_path(db)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    settings = crawl_settings(
        progress=progress and not verbose, contact=contact, overrides=overrides, log_file=log_file
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(OutletSpider)
    live = progress and not verbose

    def announce(line: str) -> None:
        sys.stderr.write(("\r\x1b[K" if live else "") + line + "\n")
        sys.stderr.flush()

    stop = GracefulStop(process, crawler, announce)
    stop.install()
    try:
        process.crawl(
            crawler,
            site=site,
            db=str(db),
            profile=profile,
            max_articles=max_articles,
            since=since,
            sources=sources,
            delay=delay,
            refresh=refresh,
            resumes=resumes,
        )
        process.start(install_signal_handlers=False)
    finally:
        stop.uninstall()
        stop_reactor_threads()
    spider = crawler.spider
    if not isinstance(spider, OutletSpider) or not hasattr(spider, "session"):
        where = f"see {log_file}" if log_file else "see the log above"
        raise RuntimeError(f"the crawl did not start: {where}")
    crawl_id = spider.session.crawl_id
    with Archive(db) as archive:
        row = archive.crawl(crawl_id)
        kinds = errors_by_kind(archive.errors(crawl_id))
        drift = layout_drift(archive, crawl_id)
    stats = row["stats"] or {}
    return CrawlResult(
        crawl_id=crawl_id,
        status=row["status"],
        figures=stats.get("qiosk/figures") or {},
        errors_by_kind=kinds,
        signal=stop.signum,
        log_file=log_file,
        drift=tuple(drift),
    )


def layout_drift(archive: Archive, crawl_id: int) -> list[str]:
    """The drift alarm of crawl ``crawl_id``: its fill rates against the previous crawls of the
    same site (:func:`qiosk_scraper.health.drift_warnings`)."""
    previous = archive.previous_health_crawls(crawl_id, HISTORY_CRAWLS)
    counts = archive.extraction_health([crawl_id, *previous])
    if crawl_id not in counts:
        return []
    return drift_warnings(counts[crawl_id], pooled(counts[p] for p in previous if p in counts))
