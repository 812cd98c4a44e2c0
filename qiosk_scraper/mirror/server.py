"""Serving the mirror over HTTP: a threaded server with the validators real sites send
(Last-Modified, ETag, 304 on conditional requests) and gzip when the client accepts it."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from qiosk_scraper.mirror.render import http_date
from qiosk_scraper.mirror.site import Response, Site

COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/json")


class Hits(Counter[str]):
    """Requests seen, by path with query; ``not_modified`` counts 304 answers. Increments
    happen under a lock, so threads of the server can share it."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.not_modified = 0

    def record(self, target: str, status: int) -> None:
        with self.lock:
            self[target] += 1
            if status == 304:
                self.not_modified += 1

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self)

    def reset(self) -> None:
        with self.lock:
            self.clear()
            self.not_modified = 0


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def not_modified(headers: dict[str, str], etag: str, response: Response) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags or etag[:-1] + '-gzip"' in tags
    ims = headers.get("if-modified-since")
    if ims and response.last_modified is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return response.last_modified.replace(microsecond=0) <= since
    return False


@dataclass
class Served:
    """Status, headers and body bytes as sent on the wire."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def serve(site: Site, base_url: str, target: str, headers: dict[str, str]) -> Served:
    """Answer one GET: route it on the site, then apply validators and content coding."""
    response = site.respond(target, base_url)
    out: list[tuple[str, str]] = [("Content-Type", response.content_type)]
    if response.location:
        out.append(("Location", response.location))
    out.extend(response.extra_headers)
    body = response.body
    if response.status != 200:
        out.append(("Content-Length", str(len(body))))
        return Served(response.status, out, body)
    etag = etag_of(body)
    if response.last_modified is not None:
        out.append(("Last-Modified", http_date(response.last_modified)))
    compressible = response.content_type.startswith(COMPRESSIBLE)
    if compressible:
        out.append(("Vary", "Accept-Encoding"))
    gzipped = compressible and "gzip" in headers.get("accept-encoding", "") and len(body) > 256
    if gzipped:
        etag = etag[:-1] + '-gzip"'
    out.append(("ETag", etag))
    if not_modified(headers, etag, response):
        return Served(304, [h for h in out if h[0] != "Content-Type"], b"")
    if gzipped:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        out.append(("Content-Encoding", "gzip"))
    out.append(("Content-Length", str(len(body))))
    return Served(200, out, body)


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, site: Site, host: str = "127.0.0.1", port: int = 0, base_url: str | None = None,
        quiet: bool = True,
    ) -> None:  # fmt: skip
        super().__init__((host, port), MirrorHandler)
        self.site = site
        self.hits = Hits()
        self.quiet = quiet
        bound_host, bound_port = self.server_address[:2]
        self.base_url = base_url or f"http://{bound_host!s}:{bound_port}"


class MirrorHandler(BaseHTTPRequestHandler):
    server: MirrorServer
    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _answer(self, send_body: bool) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        served = serve(self.server.site, self.server.base_url, self.path, headers)
        self.server.hits.record(self.path, served.status)
        self.send_response(served.status)
        for name, value in served.headers:
            self.send_header(name, value)
        if served.status == 304:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if send_body and served.status != 304:
            self.wfile.write(served.body)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


@dataclass
class RunningMirror:
    site: Site
    server: MirrorServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def hits(self) -> Hits:
        return self.server.hits


@contextmanager
def running_mirror(
    articles: int = 120, seed: int = 1, edition: int = 1, site: Site | None = None
) -> Iterator[RunningMirror]:
    """Serve a mirror on 127.0.0.1 (a free port) in a background thread for the block."""
    site = site or Site(articles=articles, seed=seed, edition=edition)
    server = MirrorServer(site)
    thread = threading.Thread(target=server.serve_forever, name="qiosk-mirror", daemon=True)
    thread.start()
    try:
        yield RunningMirror(site, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
