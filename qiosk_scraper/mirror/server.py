"""Serving the mirror over HTTP: a threaded server answering as ``answer.serve`` says, or as
a fault plan says (``faults.FaultPlan``) when one is given."""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from qiosk_scraper.mirror.answer import Served, serve
from qiosk_scraper.mirror.faults import Attempts, FaultPlan, FaultSpec, Wire
from qiosk_scraper.mirror.site import Site

__all__ = ["Hits", "MirrorServer", "RunningMirror", "Served", "running_mirror", "serve"]


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


class MirrorServer(ThreadingHTTPServer):
    """``faults``: answer as this plan says (its transient faults count requests per path
    from this server's start)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, site: Site, host: str = "127.0.0.1", port: int = 0, base_url: str | None = None,
        quiet: bool = True, faults: FaultPlan | None = None,
    ) -> None:  # fmt: skip
        self.closing = threading.Event()  # wakes answers that are made to wait
        # (set before binding: a failed bind calls server_close, which uses it)
        super().__init__((host, port), MirrorHandler)
        self.site = site
        self.hits = Hits()
        self.quiet = quiet
        self.faults = faults
        self.attempts = Attempts()
        bound_host, bound_port = self.server_address[:2]
        self.base_url = base_url or f"http://{bound_host!s}:{bound_port}"

    def server_close(self) -> None:
        self.closing.set()
        super().server_close()


class MirrorHandler(BaseHTTPRequestHandler):
    server: MirrorServer
    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _answer(self, send_body: bool) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.server.faults is not None:
            self._answer_with_faults(self.server.faults, headers, send_body)
            return
        served = serve(self.server.site, self.server.base_url, self.path, headers)
        self.server.hits.record(self.path, served.status)
        self._send(served, send_body)

    def _send(self, served: Served, send_body: bool, limit: int | None = None) -> None:
        self.send_response(served.status)
        for name, value in served.headers:
            self.send_header(name, value)
        if served.status == 304:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if send_body and served.status != 304:
            self.wfile.write(served.body if limit is None else served.body[:limit])

    def _answer_with_faults(
        self, plan: FaultPlan, headers: dict[str, str], send_body: bool
    ) -> None:
        attempt = self.server.attempts.next(urlsplit(self.path).path or "/")
        wire: Wire = plan.answer(self.path, headers, self.server.base_url, attempt)
        self.server.hits.record(self.path, wire.served.status)
        if wire.delay and self.server.closing.wait(wire.delay):
            self.close_connection = True  # the server is closing: no answer at all
            return
        try:
            self._send(wire.served, send_body, wire.send)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout, say)
            return
        if wire.send is None:
            return
        self.close_connection = True
        if wire.reset:
            # Closing with a zero linger time sends RST instead of FIN. The read file holds a
            # reference to the socket: close it first, or the close would wait for it.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()

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

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan served (None without faults)."""
        return self.server.faults


@contextmanager
def running_mirror(
    articles: int = 120,
    seed: int = 1,
    edition: int = 1,
    site: Site | None = None,
    faults: str | FaultSpec | None = None,
) -> Iterator[RunningMirror]:
    """Serve a mirror on 127.0.0.1 (a free port) in a background thread for the block;
    ``faults``: a fault SPEC (see ``faults``), e.g. ``"all,timeout=2"``."""
    site = site or Site(articles=articles, seed=seed, edition=edition)
    plan = FaultPlan(site, faults) if faults is not None else None
    server = MirrorServer(site, faults=plan)
    thread = threading.Thread(target=server.serve_forever, name="qiosk-mirror", daemon=True)
    thread.start()
    try:
        yield RunningMirror(site, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
