from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.warc import WarcLocation, WarcWriter, read_record

FETCHED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def write(
    writer: WarcWriter,
    url: str,
    body: bytes,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
) -> WarcLocation:
    return writer.write_exchange(
        url=url,
        method="GET",
        request_headers=[("User-Agent", "qiosk-test"), ("Accept-Encoding", "gzip")],
        status=status,
        response_headers=headers or [("Content-Type", "text/html; charset=utf-8")],
        body=body,
        fetched_at=FETCHED,
    )


def test_records_read_back_at_their_offsets_with_exact_bodies(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path / "warc", "crawl-1", {"software": "qiosk"}, relative_to=tmp_path)
    pages = {
        f"http://127.0.0.1/page-{i}/": f"<p>page {i} — “quoted” ✓</p>".encode() * (i + 1)
        for i in range(5)
    }
    locations = {url: write(writer, url, body) for url, body in pages.items()}
    writer.close()
    for url, location in locations.items():
        assert location.file == "warc/crawl-1-00000.warc.gz"
        headers, payload = read_record(tmp_path / location.file, location.offset)
        assert headers["WARC-Type"] == "response"
        assert headers["WARC-Target-URI"] == url
        assert headers["WARC-Date"] == "2025-03-04T05:06:07Z"
        assert payload == pages[url]
        assert location.payload_sha256 == hashlib.sha256(pages[url]).hexdigest()
        assert headers["WARC-Payload-Digest"].startswith("sha256:")


def test_file_holds_warcinfo_then_response_request_pairs(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, "c", {"software": "qiosk-scraper/0.1.0", "isPartOf": "crawl-7"})
    write(writer, "http://127.0.0.1:8000/a/?x=1", b"A")
    write(writer, "http://127.0.0.1:8000/old/", b"", status=301, headers=[("Location", "/new/")])
    writer.close()
    with (tmp_path / "c-00000.warc.gz").open("rb") as handle:
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r, r.content_stream().read())
            for r in ArchiveIterator(handle)
        ]
    assert [(kind, uri) for kind, uri, _, _ in records] == [
        ("warcinfo", None),
        ("response", "http://127.0.0.1:8000/a/?x=1"),
        ("request", "http://127.0.0.1:8000/a/?x=1"),
        ("response", "http://127.0.0.1:8000/old/"),
        ("request", "http://127.0.0.1:8000/old/"),
    ]
    assert b"isPartOf: crawl-7" in records[0][3]
    response, request = records[1][2], records[2][2]
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header(
        "WARC-Record-ID"
    )
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline == "/a/?x=1 HTTP/1.1"
    assert request.http_headers.get_header("Host") == "127.0.0.1:8000"
    redirect = records[3][2]
    assert redirect.http_headers.get_statuscode() == "301"
    assert redirect.http_headers.get_header("Location") == "/new/"


def test_compressed_bodies_are_stored_as_received_and_read_back_decoded(tmp_path: Path) -> None:
    page = "<html><body>" + "Sanctions relief, step by step. " * 200 + "</body></html>"
    raw = gzip.compress(page.encode())
    writer = WarcWriter(tmp_path, "c", {})
    location = write(
        writer,
        "http://127.0.0.1/g/",
        raw,
        headers=[("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
    )
    writer.close()
    assert location.payload_sha256 == hashlib.sha256(raw).hexdigest()
    _, payload = read_record(tmp_path / "c-00000.warc.gz", location.offset)
    assert payload.decode() == page
    with (tmp_path / "c-00000.warc.gz").open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "response":
                assert record.http_headers.get_header("Transfer-Encoding") is None
                assert record.raw_stream.read() == raw
                break
        else:
            raise AssertionError("no response record")


def test_files_rotate_by_size_and_each_starts_with_warcinfo(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, "c", {"software": "qiosk"}, max_bytes=2_000)
    bodies = [bytes(range(256)) * 8 for _ in range(6)]  # incompressible enough
    locations = [write(writer, f"http://h/{i}/", body) for i, body in enumerate(bodies)]
    writer.close()
    assert len(writer.files) >= 3
    assert len({loc.file for loc in locations}) == len(writer.files)
    for path in writer.files:
        with path.open("rb") as handle:
            kinds = [r.rec_type for r in ArchiveIterator(handle)]
        assert kinds[0] == "warcinfo"
        assert kinds.count("warcinfo") == 1
    for body, location in zip(bodies, locations, strict=True):
        assert read_record(tmp_path / location.file, location.offset)[1] == body


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "c-00000.warc.gz").write_bytes(b"earlier capture")
    writer = WarcWriter(tmp_path, "c", {})
    try:
        write(writer, "http://h/", b"x")
        raise AssertionError("overwrote an existing WARC file")
    except FileExistsError:
        pass
    assert (tmp_path / "c-00000.warc.gz").read_bytes() == b"earlier capture"
