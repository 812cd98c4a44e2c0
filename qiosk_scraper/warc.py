"""Raw captures: HTTP exchanges written to rotating, gzipped WARC files with warcio.

Each file starts with a ``warcinfo`` record (crawl, site, software versions) and then holds, per
exchange, a ``response`` record (status line, headers and body exactly as received, before any
content decoding) followed by its ``request`` record (``WARC-Concurrent-To`` the response).
Every record is its own gzip member, so the ``(file, offset, length)`` that
:meth:`WarcWriter.write_exchange` returns can be read on its own::

    with open(folder / location.file, "rb") as f:
        f.seek(location.offset)
        record = next(ArchiveIterator(f))

Two departures from the bytes on the wire, both forced by the HTTP client having undone them:
the body is stored de-chunked, so a ``Transfer-Encoding`` header is dropped; digests are SHA-256
(``WARC-Payload-Digest: sha256:<base32>``). A file is rotated once it reaches ``max_bytes``;
records are flushed as written, so a killed process leaves at most one partial record at the end.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

DEFAULT_MAX_BYTES = 1_000_000_000  # the customary 1 GB WARC file
_DROPPED_HEADERS = frozenset({"transfer-encoding"})


@dataclass(frozen=True)
class WarcLocation:
    """Where a response record lives and what its payload was."""

    file: str  # relative to the folder the writer was told to name files against
    offset: int
    length: int
    payload_sha256: str  # hex digest of the body as received
    payload_length: int


class _Sha256WARCWriter(WARCWriter):
    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def warc_date(moment: datetime) -> str:
    """WARC-Date form of an aware datetime: ``2025-01-02T03:04:05Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class WarcWriter:
    """Writes exchanges to ``<folder>/<prefix>-NNNNN.warc.gz``, rotating by size.

    ``relative_to`` is the folder the stored file names are relative to (the archive's folder).
    """

    def __init__(
        self,
        folder: Path,
        prefix: str,
        info: Mapping[str, str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        relative_to: Path | None = None,
    ) -> None:
        self.folder = folder
        self.prefix = prefix
        self.info = dict(info)
        self.max_bytes = max_bytes
        self.relative_to = relative_to or folder
        self.files: list[Path] = []
        self._handle: IO[bytes] | None = None
        self._writer: _Sha256WARCWriter | None = None

    def _open_next(self) -> None:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.prefix}-{len(self.files):05d}.warc.gz"
        self._handle = path.open("xb")  # never overwrite an earlier capture
        self._writer = _Sha256WARCWriter(self._handle, gzip=True)
        self.files.append(path)
        self._writer.write_record(self._writer.create_warcinfo_record(path.name, self.info))

    def _current(self) -> tuple[IO[bytes], _Sha256WARCWriter]:
        if self._handle is None or self._handle.tell() >= self.max_bytes:
            self._open_next()
        assert self._handle is not None and self._writer is not None
        return self._handle, self._writer

    def write_exchange(
        self,
        *,
        url: str,
        method: str,
        request_headers: Iterable[tuple[str, str]],
        status: int,
        response_headers: Iterable[tuple[str, str]],
        body: bytes,
        fetched_at: datetime,
        protocol: str = "HTTP/1.1",
        ip_address: str | None = None,
        request_body: bytes = b"",
    ) -> WarcLocation:
        """Write a response record and its request record; returns the response's location."""
        handle, writer = self._current()
        date = warc_date(fetched_at)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response_fields = [
            (name, value)
            for name, value in response_headers
            if name.lower() not in _DROPPED_HEADERS
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
        writer.write_record(response)
        length = handle.tell() - offset
        writer.write_record(request)
        handle.flush()
        return WarcLocation(
            file=os.path.relpath(self.files[-1], self.relative_to),
            offset=offset,
            length=length,
            payload_sha256=hashlib.sha256(body).hexdigest(),
            payload_length=len(body),
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._writer = None


def read_record(path: Path, offset: int) -> tuple[dict[str, Any], bytes]:
    """The WARC record at ``offset`` of ``path``: its WARC headers and its HTTP payload with
    content encodings (gzip ...) undone, as the crawler's parser saw it."""
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)))
        headers = dict(record.rec_headers.headers)
        return headers, record.content_stream().read()
