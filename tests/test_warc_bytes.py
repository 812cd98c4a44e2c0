"""The WARC writer builds its records itself; these tests hold it to the bytes warcio's own
writer made of the same exchanges (the code the writer had before), record ids and dates fixed."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders

from qiosk_scraper.warc import WarcLocation, WarcWriter, reason_phrase, warc_date

FETCHED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


class WarcioWriter(WarcWriter):
    """The writer as it was: every record made and written by warcio's WARCWriter."""

    def write_exchange(  # type: ignore[override]
        self,
        *,
        url: str,
        method: str,
        request_headers: Any,
        status: int,
        response_headers: Any,
        body: bytes,
        fetched_at: datetime,
        protocol: str = "HTTP/1.1",
        ip_address: str | None = None,
        request_body: bytes = b"",
    ) -> WarcLocation:
        from urllib.parse import urlsplit

        handle = self._current()
        writer = self._records()
        date = warc_date(fetched_at)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response_fields = [
            (name, value)
            for name, value in response_headers
            if name.lower() not in ("transfer-encoding",)
        ]
        response_warc_headers = {"WARC-Date": date}
        if ip_address:
            response_warc_headers["WARC-IP-Address"] = ip_address
        response = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            warc_headers_dict=response_warc_headers,
            http_headers=StatusAndHeaders(
                f"{status} {reason_phrase(status)}", response_fields, protocol=protocol
            ),
        )
        request_fields = list(request_headers)
        if not any(name.lower() == "host" for name, _ in request_fields):
            request_fields.insert(0, ("Host", parts.netloc))
        request = writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(request_body),
            length=len(request_body),
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
            http_headers=StatusAndHeaders(
                f"{method} {target} {protocol}", request_fields, is_http_request=True
            ),
        )
        offset = handle.tell()
        response_member, request_member = self._members(writer, [response, request])
        self._append(response_member, request_member)
        return WarcLocation(
            file=os.path.relpath(self.files[-1], self.relative_to),
            offset=offset,
            length=len(response_member),
            payload_sha256=hashlib.sha256(body).hexdigest(),
            payload_length=len(body),
        )


def exchanges() -> list[dict[str, Any]]:
    """Exchanges of every shape the writer meets: odd and non-ASCII headers, empty and big
    bodies (over warcio's 16 KiB read size, compressible or not), statuses with no reason
    phrase, other protocols and methods, a request body, an IP address."""
    rng = random.Random(16)
    text = "".join(f"<p>paragraph {i} — “quoted” ✓ {rng.random()}</p>\n" for i in range(4000))
    noise = rng.randbytes(200_000)
    html = [("Content-Type", "text/html; charset=utf-8")]
    cases: list[dict[str, Any]] = [
        {"url": "http://127.0.0.1:8000/a/", "body": b"<p>A</p>", "headers": html},
        {"url": "http://127.0.0.1:8000/empty/", "body": b"", "headers": []},
        {"url": "http://127.0.0.1:8000/big/?page=2&x=%C3%BC", "body": text.encode()},
        {"url": "http://127.0.0.1:8000/noise.bin", "body": noise, "headers": []},
        {"url": "http://127.0.0.1:8000/exact/", "body": b"x" * 16384 * 3},
        {"url": "http://127.0.0.1:8000/one-over/", "body": b"y" * (16384 + 1)},
        {"url": "http://127.0.0.1:8000/old/", "body": b"", "status": 301,
         "headers": [("Location", "/new/"), ("Content-Length", "0")]},
        {"url": "http://127.0.0.1:8000/odd-status/", "body": b"?", "status": 299},
        {"url": "http://127.0.0.1:8000/cf/", "body": b"err", "status": 522},
        {"url": "http://127.0.0.1:8000/teapot", "body": b"t", "status": 418},
        {"url": "http://127.0.0.1:8000/nonascii/", "body": "café".encode(), "headers": [
            ("Content-Disposition", 'attachment; filename="naïve ✓.html"'),
            ("X-Title", "Café — Übersicht"),
            ("X-Params", "a=ü; b=plain; c=\"ß\""),
            ("Content-Type", "text/html"),
        ]},
        {"url": "http://127.0.0.1:8000/odd-headers/", "body": b"o", "headers": [
            ("X-Empty", ""),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/; HttpOnly"),
            ("Transfer-Encoding", "chunked"),
            ("x-lower-case", "value: with colon"),
            ("X-Spaces", "  padded  "),
            ("Link", '<https://example.org/wp-json/>; rel="https://api.w.org/"'),
        ]},
        {"url": "http://127.0.0.1:8000/h2/", "body": b"2", "protocol": "HTTP/2",
         "ip_address": "127.0.0.1"},
        {"url": "http://127.0.0.1:8000/h10/", "body": b"1", "protocol": "HTTP/1.0",
         "ip_address": "::1"},
        {"url": "http://127.0.0.1:8000/post/", "body": b"{}", "method": "POST",
         "request_body": b"a=1&b=" + "ü".encode(),
         "request_headers": [("Host", "127.0.0.1:8000"), ("Content-Type", "text/plain")]},
        {"url": "http://127.0.0.1:8000", "body": b"root", "request_headers": []},
        {"url": "http://127.0.0.1:8000/ua/", "body": b"u",
         "request_headers": [("User-Agent", "qiosk ✓ test"), ("Accept-Encoding", "gzip")]},
    ]  # fmt: skip
    for i, case in enumerate(cases):
        case.setdefault("method", "GET")
        case.setdefault("status", 200)
        case.setdefault("headers", html)
        case.setdefault("request_headers", [("User-Agent", "qiosk-test")])
        case["fetched_at"] = FETCHED + timedelta(seconds=i)
    return cases


def write_all(
    writer_class: type[WarcWriter], folder: Path, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> tuple[list[bytes], list[WarcLocation]]:
    """The files (bytes) and locations of every exchange written by ``writer_class``, with
    record ids numbered from 1 and the warcinfo records' date fixed."""
    numbers = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(numbers)))
    monkeypatch.setattr(
        RecordBuilder,
        "_make_warc_date",
        classmethod(lambda cls, use_micros=False: "2025-01-01T00:00:00Z"),
    )
    writer = writer_class(folder, "x", {"software": "qiosk-test"}, relative_to=folder, **options)
    locations = [
        writer.write_exchange(
            url=c["url"],
            method=c["method"],
            request_headers=c["request_headers"],
            status=c["status"],
            response_headers=c["headers"],
            body=c["body"],
            fetched_at=c["fetched_at"],
            protocol=c.get("protocol", "HTTP/1.1"),
            ip_address=c.get("ip_address"),
            request_body=c.get("request_body", b""),
        )
        for c in exchanges()
    ]
    writer.close()
    return [path.read_bytes() for path in writer.files], locations


@pytest.mark.parametrize("max_bytes", [1_000_000_000, 2_000])
def test_files_are_byte_identical_to_warcios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_bytes: int
) -> None:
    expected, expected_locations = write_all(
        WarcioWriter, tmp_path / "warcio", monkeypatch, max_bytes=max_bytes
    )
    files, locations = write_all(WarcWriter, tmp_path / "lean", monkeypatch, max_bytes=max_bytes)
    assert len(files) == len(expected) > (0 if max_bytes > 1e6 else 5)
    for got, want in zip(files, expected, strict=True):
        assert got == want
    assert locations == expected_locations


def test_records_read_back_with_warcio_digests_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, locations = write_all(WarcWriter, tmp_path, monkeypatch)
    cases = exchanges()
    with (tmp_path / "x-00000.warc.gz").open("rb") as handle:
        records = [
            (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
            for r in ArchiveIterator(handle, check_digests="raise")
        ]
    assert [kind for kind, *_ in records] == ["warcinfo"] + ["response", "request"] * len(cases)
    for i, case in enumerate(cases):
        _, response, http, body = records[1 + 2 * i]
        _, request, request_http, request_body = records[2 + 2 * i]
        assert response["WARC-Target-URI"] == request["WARC-Target-URI"] == case["url"]
        assert request["WARC-Concurrent-To"] == response["WARC-Record-ID"]
        assert http.get_statuscode() == str(case["status"])
        assert body == case["body"]
        assert request_body == case.get("request_body", b"")
        assert request_http.protocol == case["method"]
        assert locations[i].payload_sha256 == hashlib.sha256(case["body"]).hexdigest()
