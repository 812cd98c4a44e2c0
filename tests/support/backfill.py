"""Test helpers of the backfill tests: WARC and WACZ files written with warcio, pywb as a real
process on a free 127.0.0.1 port."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from support.crawl import QuietHandler as Handler
from support.records import crawled
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Page:
    """One HTTP response to write as a WARC record."""

    url: str
    body: bytes
    date: str  # WARC-Date, e.g. 2020-05-02T10:00:00Z
    content_type: str | None = HTML
    status: int = 200
    revisit_of: Page | None = None  # write a revisit record pointing at this page's payload


def write_warc(path: Path, pages: Sequence[Page], *, version: str = "1.0") -> list[str]:
    """Write ``pages`` as response (or revisit) records, each followed by a request record, with
    a warcinfo record first; gzipped when ``path`` ends in .gz. Returns the record ids."""
    ids = []
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=path.name.endswith(".gz"), warc_version=version)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        for page in pages:
            fields = [("Content-Type", page.content_type)] if page.content_type else []
            http = StatusAndHeaders(f"{page.status} OK", fields, protocol="HTTP/1.1")
            if page.revisit_of is not None:
                origin = writer.create_warc_record(
                    page.revisit_of.url,
                    "response",
                    payload=io.BytesIO(page.revisit_of.body),
                    length=len(page.revisit_of.body),
                    http_headers=StatusAndHeaders("200 OK", fields, protocol="HTTP/1.1"),
                )
                record = writer.create_revisit_record(
                    page.url,
                    origin.rec_headers.get_header("WARC-Payload-Digest"),
                    page.revisit_of.url,
                    page.revisit_of.date,
                    http_headers=http,
                    warc_headers_dict={"WARC-Date": page.date},
                )
            else:
                record = writer.create_warc_record(
                    page.url,
                    "response",
                    payload=io.BytesIO(page.body),
                    length=len(page.body),
                    warc_headers_dict={"WARC-Date": page.date},
                    http_headers=http,
                )
            writer.write_record(record)
            request = writer.create_warc_record(
                page.url,
                "request",
                http_headers=StatusAndHeaders(
                    "GET / HTTP/1.1", [("Host", "x")], is_http_request=True
                ),
                warc_headers_dict={"WARC-Date": page.date},
            )
            writer.write_record(request)
            ids.append(record.rec_headers.get_header("WARC-Record-ID"))
    return ids


def write_wacz(path: Path, warcs: Sequence[Path]) -> None:
    """A minimal WACZ holding ``warcs`` under archive/ (stored, as WACZ writers do)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as wacz:
        for warc in warcs:
            wacz.write(warc, f"archive/{warc.name}")
        wacz.writestr("datapackage.json", "{}")


# -- pywb ------------------------------------------------------------------------------------

PYWB_BIN = Path(os.environ.get("QIOSK_PYWB_BIN", Path(sys.prefix) / "pywb" / "bin"))


def pywb_tool(name: str) -> str:
    tool = PYWB_BIN / name
    if not tool.is_file():
        raise RuntimeError(f"{tool} is missing: run `make install` (it builds .venv/pywb)")
    return str(tool)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_collection(
    root: Path, name: str, files: Sequence[Path], *, unpack_wacz: bool = False
) -> None:
    """A pywb collection ``name`` under ``root`` holding ``files`` (WARC files, or WACZ files
    with ``unpack_wacz``), indexed by ``wb-manager``."""
    root.mkdir(parents=True, exist_ok=True)
    tool = pywb_tool("wb-manager")
    subprocess.run([tool, "init", name], cwd=root, check=True, capture_output=True)
    unpack = ["--unpack-wacz"] if unpack_wacz else []
    subprocess.run(
        [tool, "add", *unpack, name, *map(str, files)], cwd=root, check=True, capture_output=True
    )


@contextmanager
def running_pywb(root: Path, *, attempts: int = 3) -> Iterator[str]:
    """pywb's ``wayback`` serving the collections under ``root`` on a free 127.0.0.1 port;
    yields its base URL once it answers. A port taken between choosing and binding makes the
    process exit; another port is tried."""
    for _ in range(attempts):
        port = free_port()
        log = (root / f"wayback-{port}.log").open("wb")
        process = subprocess.Popen(
            [pywb_tool("wayback"), "-b", "127.0.0.1", "-p", str(port), "-t", "4"],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if _wait_until_up(base, process):
                yield base
                return
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            log.close()
    raise RuntimeError(f"pywb did not start: see {root}/wayback-*.log")


def _wait_until_up(base: str, process: subprocess.Popen[bytes], deadline: float = 60) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(base + "/", timeout=2):
                return True
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"pywb on {base} did not answer within {deadline} s")


# -- an archive whose captures are mirror pages ------------------------------------------------

SITE = "https://responsiblestatecraft.org"


@dataclass(frozen=True)
class Stored:
    """A page stored in a test archive: its URL, the HTML captured and the capture time."""

    url: str
    body: bytes
    fetched_at: str
    title: str


def mirror_archive(folder: Path, count: int = 6, seed: int = 7) -> tuple[Path, list[Stored]]:
    """An archive in ``folder`` holding the ``count`` oldest articles of a mirror, each captured
    (a WARC record of the mirror's page, a capture, the gold record) a day after publication."""
    from urllib.parse import urlsplit

    from qiosk_scraper.archive import Archive
    from qiosk_scraper.mirror import Site
    from qiosk_scraper.warc import WarcWriter

    site = Site(articles=max(count, 60), seed=seed)
    records = sorted(site.gold(SITE).values(), key=lambda r: r["published"])[:count]
    db = folder / "qiosk.db"
    writer = WarcWriter(folder / "warc", "test", {"software": "tests"}, relative_to=folder)
    stored = []
    with Archive(db) as archive:
        crawl_id = archive.start_crawl(SITE, {"delay": 0}, {"qiosk-scraper": "test"})
        for record in records:
            response = site.respond(urlsplit(record["url"]).path, SITE)
            assert response.status == 200, record["url"]
            when = (datetime.fromisoformat(record["published"]) + timedelta(days=1)).isoformat()
            crawled(
                archive, crawl_id, writer, record, response.body, when, "test",
                content_type=response.content_type,
            )  # fmt: skip
            stored.append(Stored(record["url"], response.body, when, record["title"]))
        archive.finish_crawl(crawl_id, {"pages": len(records)}, "finished")
    writer.close()
    return db, stored


# -- small local HTTP servers ------------------------------------------------------------------


def range_server(folder: Path, *, ranges: bool = True) -> type[Handler]:
    """Serves the files of ``folder``; with ``ranges``, a ``Range: bytes=a-b`` request gets
    206 and those bytes (as a WARC store such as Common Crawl's does)."""

    class Files(Handler):
        def do_GET(self) -> None:
            path = folder / self.path.lstrip("/")
            if not path.is_file():
                self.answer(404, {}, b"no such file")
                return
            data = path.read_bytes()
            wanted = self.headers.get("Range", "")
            if ranges and wanted.startswith("bytes="):
                first, _, last = wanted.removeprefix("bytes=").partition("-")
                self.answer(
                    206,
                    {"Content-Range": f"bytes {first}-{last}/{len(data)}"},
                    data[int(first) : int(last) + 1],
                )
            else:
                self.answer(200, {}, data)

    return Files


# -- captures of the stored articles at other times --------------------------------------------


def warc_date_after(stored: Stored, delta: timedelta) -> str:
    """A WARC-Date ``delta`` from the stored capture's time."""
    moment = datetime.fromisoformat(stored.fetched_at) + delta
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(warc_date: str) -> str:
    """A WARC-Date as the archive stores times."""
    return datetime.fromisoformat(warc_date.replace("Z", "+00:00")).isoformat()


def edited(body: bytes, words: str) -> bytes:
    """The page with ``words`` added to its first paragraph."""
    return body.replace(b"</p>", f" {words}</p>".encode(), 1)
