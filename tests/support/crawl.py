"""Support for the crawl tests (no tests here): real crawls run in a subprocess, since Twisted's
reactor cannot restart inside one pytest process, against a mirror served by the test process."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.archive import Archive
from qiosk_scraper.extract import extract_article
from qiosk_scraper.urls import canonicalize

REPO = Path(__file__).resolve().parent.parent.parent

# The outlet spider, plus requests for URL variants exactly as given (fetched even when their
# canonical URL already was) and through the spider's own discovery path.
VARIANT_CRAWL = textwrap.dedent(
    """
    import sys
    from scrapy.crawler import CrawlerProcess
    from qiosk_scraper.crawl import crawl_settings
    from qiosk_scraper.spiders.outlet import OutletSpider

    site, db, *variants = sys.argv[1:]

    class VariantSpider(OutletSpider):
        async def start(self):
            async for request in super().start():
                yield request
            for url in variants:
                discovered = self.article_request(url, "test")
                if discovered is not None:
                    yield discovered
                raw = self._request(url, self.parse_article, "article", source="test")
                yield raw.replace(dont_filter=True)

    process = CrawlerProcess(crawl_settings(progress=False))
    process.crawl(VariantSpider, site=site, db=db, delay=0, profile="responsiblestatecraft")
    process.start()
    """
)


def run(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command with the test's Python; fail with its output when it fails."""
    done = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{args[:3]} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        )
    return done


# The mirror imitates Responsible Statecraft, on a host no profile knows: crawls of it name the
# outlet's profile, as a researcher crawling a copy of the site would.
PROFILE = ("--profile", "responsiblestatecraft")


def crawl_cli(*options: str) -> subprocess.CompletedProcess[str]:
    """``qiosk crawl`` with the outlet's profile (unless the options name one or resume)."""
    chosen = () if "--profile" in options or "--resume" in options else PROFILE
    return run([str(Path(sys.executable).parent / "qiosk"), "crawl", *chosen, *options])


def crawl_with_variants(site: str, db: Path, variants: list[str]) -> None:
    run([sys.executable, "-c", VARIANT_CRAWL, site, str(db), *variants])


def warc_problems(archive: Archive) -> list[str]:
    """Every WARC file must read back whole, and every ``captures`` row must point at a response
    record with its URL and payload digest. Returns what is wrong (empty when all is well)."""
    problems = []
    responses = 0
    for path in sorted((archive.folder / "warc").glob("*.warc.gz")):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                record.content_stream().read()
                responses += record.rec_type == "response"
    if responses != archive.count("captures"):
        problems.append(f"{responses} response records for {archive.count('captures')} captures")
    for capture in archive.db.query("SELECT * FROM captures ORDER BY id"):
        with (archive.folder / capture["warc_file"]).open("rb") as handle:
            handle.seek(capture["warc_offset"])
            record = next(iter(ArchiveIterator(handle)))
            raw = record.raw_stream.read()
        if record.rec_headers.get_header("WARC-Target-URI") != capture["url"]:
            problems.append(f"capture {capture['id']}: record of another URL")
        if hashlib.sha256(raw).hexdigest() != capture["payload_sha256"]:
            problems.append(f"capture {capture['id']}: payload digest differs")
    return problems


def reextracted(archive: Archive, url: str) -> dict[str, Any]:
    """The record extracted again from the WARC record the article's capture points at."""
    row = archive.article_row(url)
    assert row is not None
    capture = next(archive.db.query("SELECT * FROM captures WHERE id = ?", [row["capture_id"]]))
    with (archive.folder / capture["warc_file"]).open("rb") as handle:
        handle.seek(capture["warc_offset"])
        record = next(iter(ArchiveIterator(handle)))
        body = record.content_stream().read()
    article = extract_article(body, capture["url"], datetime.fromisoformat(capture["fetched_at"]))
    record_ = article.to_record(extras=False)
    record_["url"] = canonicalize(record_["url"])
    return record_


SCRIPTED_CRAWL = textwrap.dedent(
    """
    import json, sys
    from scrapy.crawler import CrawlerProcess
    from qiosk_scraper.crawl import crawl_settings
    from qiosk_scraper.spiders.outlet import OutletSpider

    arguments, overrides = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    settings = crawl_settings(progress=False)
    settings.setdict(overrides, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(OutletSpider, **{"profile": "responsiblestatecraft", **arguments})
    process.start()
    """
)


def crawl_with_settings(arguments: dict[str, Any], settings: dict[str, Any]) -> None:
    """The outlet spider with these spider arguments and settings overrides."""
    import json

    run([sys.executable, "-c", SCRIPTED_CRAWL, json.dumps(arguments), json.dumps(settings)])


class QuietHandler(BaseHTTPRequestHandler):
    """A test server's request handler: answers with a Content-Length, logs nothing."""

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class FaultyMirror:
    """A mirror site served with scripted failures: ``faults[path]`` is a list of (status,
    headers) answers given before the real page, ``always`` paths fail every time with their
    status, ``pages`` paths serve other bytes."""

    def __init__(
        self,
        site: Any,
        faults: dict[str, list[tuple[int, dict[str, str]]]],
        always: dict[str, int],
        pages: dict[str, bytes] | None = None,
    ) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        mirror = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with mirror.lock:
                    queued = mirror.faults.get(path)
                    fault = queued.pop(0) if queued else None
                if path in mirror.always:
                    fault = (mirror.always[path], {})
                if path in mirror.pages:
                    status, body = 200, mirror.pages[path]
                    headers = {"Content-Type": "text/html; charset=utf-8"}
                elif fault is not None:
                    status, headers = fault
                    body = b"fault"
                else:
                    answer = mirror.site.respond(self.path, mirror.base_url)
                    status, body = answer.status, answer.body
                    headers = {"Content-Type": answer.content_type}
                    if answer.location:
                        headers["Location"] = answer.location
                self.answer(status, headers, body)

        self.site, self.faults, self.always = site, faults, always
        self.pages = pages or {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyMirror:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free 127.0.0.1 port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
