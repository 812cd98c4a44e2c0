"""Raw captures: HTTP exchanges written to rotating, gzipped WARC files, byte for byte as warcio's
writer would write them (read back with warcio).

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
records are flushed as written, so a killed process leaves at most one partial record at the end,
and :func:`repair` cuts a file back to its last complete exchange before the crawl is resumed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
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


class _Sha256WARCWriter(WARCWriter):  # type: ignore[misc]  # warcio is untyped
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


# How warcio gzips a record (its GzippingWrapper) and feeds it the payload (its BUFF_SIZE).
_GZIP_LEVEL, _GZIP_WBITS, _CHUNK = 9, zlib.MAX_WBITS + 16, 16384


def _http_head(protocol: str, statusline: str, fields: list[tuple[str, str]]) -> bytes:
    """The HTTP status line and headers of a record, as warcio's ``StatusAndHeaders`` writes
    them; a header that is not ASCII is left to warcio (it percent-encodes it, RFC 8187)."""
    lead = f"{protocol} {statusline}" if protocol and statusline else protocol + statusline
    text = (f"{lead}\r\n" if lead else "") + "".join(f"{n}: {v}\r\n" for n, v in fields) + "\r\n"
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        return bytes(StatusAndHeaders(statusline, fields, protocol).to_ascii_bytes())


def _sha256_label(digest: Any) -> str:
    return "sha256:" + base64.b32encode(digest.digest()).decode("ascii")


def _record_id() -> str:
    return str(StatusAndHeadersParser.make_warc_id())


def _member(
    kind: str,
    url: str,
    fields: list[tuple[str, str]],
    record_id: str,
    http_head: bytes,
    payload: bytes,
    payload_digest: Any,
) -> bytes:
    """A ``response`` or ``request`` record as the gzip member warcio's ``WARCWriter`` makes
    of it, byte for byte (headers in its order, SHA-256 digests, level 9 gzip fed in its
    pieces), built directly: warcio builds, re-parses and re-reads each record several times.
    ``fields``: the WARC headers given before WARC-Type (WARC-Date ...)."""
    block_digest = hashlib.sha256(http_head)
    block_digest.update(payload)
    fields = [*fields, ("WARC-Type", kind), ("WARC-Record-ID", record_id)]
    fields += [("WARC-Target-URI", url)] if url else []
    fields += [
        ("WARC-Payload-Digest", _sha256_label(payload_digest)),
        ("WARC-Block-Digest", _sha256_label(block_digest)),
        ("Content-Type", f"application/http; msgtype={kind}"),
        ("Content-Length", str(len(http_head) + len(payload))),
    ]
    head = "WARC/1.0\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields) + "\r\n"
    compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    out = [compressor.compress(head.encode("utf-8")), compressor.compress(http_head)]
    view = memoryview(payload)
    out += [compressor.compress(view[i : i + _CHUNK]) for i in range(0, len(view), _CHUNK)]
    out += [compressor.compress(b"\r\n\r\n"), compressor.flush()]
    return b"".join(out)


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
        self._relative = ""  # the current file's name relative to relative_to
        self.refused: Exception | None = None  # set: every write fails with it

    def _open_next(self) -> None:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.prefix}-{len(self.files):05d}.warc.gz"
        # Unbuffered: each exchange goes to the file in one write of its finished bytes, so a
        # failed write (disk full) can be cut back to where the exchange began.
        self._handle = path.open("xb", buffering=0)  # never overwrite an earlier capture
        self.files.append(path)
        self._relative = os.path.relpath(path, self.relative_to)
        writer = self._records()
        info = writer.create_warcinfo_record(path.name, self.info)
        try:
            self._append(self._members(writer, [info])[0])
        except BaseException:
            self.close()
            path.unlink()
            self.files.pop()
            raise

    @staticmethod
    def _records() -> _Sha256WARCWriter:
        return _Sha256WARCWriter(io.BytesIO(), gzip=True)

    @staticmethod
    def _members(writer: _Sha256WARCWriter, records: list[Any]) -> list[bytes]:
        """Each record as the gzip member warcio makes of it."""
        out = writer.out
        members = []
        for record in records:
            start = out.tell()
            writer.write_record(record)
            members.append(out.getvalue()[start:])
        return members

    def _append(self, *members: bytes) -> None:
        """Append the members to the current file in one go; on a failed write (disk full),
        cut the file back to where they began and raise :class:`DiskFull` naming it."""
        from qiosk_scraper.archive import DiskFull, disk_full

        assert self._handle is not None
        handle, data = self._handle, b"".join(members)
        start = handle.tell()
        try:
            view = memoryview(data)
            while view:
                view = view[handle.write(view) or 0 :]
        except OSError as error:
            handle.truncate(start)
            handle.seek(start)
            if disk_full(error):
                raise DiskFull(self.files[-1], len(data)) from error
            raise

    def _current(self) -> IO[bytes]:
        if self._handle is None or self._handle.tell() >= self.max_bytes:
            self._open_next()
        assert self._handle is not None
        return self._handle

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
        if self.refused is not None:
            raise self.refused
        handle = self._current()
        date = warc_date(fetched_at)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response_fields = [
            (name, value)
            for name, value in response_headers
            if name.lower() not in _DROPPED_HEADERS
        ]
        request_fields = list(request_headers)
        if not any(name.lower() == "host" for name, _ in request_fields):
            request_fields.insert(0, ("Host", parts.netloc))
        response_id = _record_id()
        payload = hashlib.sha256(body)
        response_member = _member(
            "response",
            url,
            [("WARC-Date", date), *([("WARC-IP-Address", ip_address)] if ip_address else [])],
            response_id,
            _http_head(protocol, f"{status} {reason_phrase(status)}", response_fields),
            body,
            payload,
        )
        method_line = f"{method} {target} {protocol}".split(" ", 1)
        request_member = _member(
            "request",
            url,
            [("WARC-Date", date), ("WARC-Concurrent-To", response_id)],
            _record_id(),
            _http_head(method_line[0], method_line[1], request_fields),
            request_body,
            hashlib.sha256(request_body),
        )
        offset = handle.tell()
        self._append(response_member, request_member)
        return WarcLocation(
            file=self._relative,
            offset=offset,
            length=len(response_member),
            payload_sha256=payload.hexdigest(),
            payload_length=len(body),
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class CaptureDamaged(ValueError):
    """A stored capture that cannot be read back as it was received: its WARC file is gone
    (``capture_missing``), ends inside the record (``capture_truncated``), or its bytes are not
    those the archive recorded, by length or SHA-256 (``capture_mismatch``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _one_member(handle: IO[bytes], chunk: int = 1 << 16) -> bytes:
    """The bytes of the gzip member starting at the handle's position (up to the end of the
    file when it ends inside it)."""
    inflater = zlib.decompressobj(wbits=31)
    parts = []
    while not inflater.eof:
        data = handle.read(chunk)
        if not data:
            break
        inflater.decompress(data)
        parts.append(data[: len(data) - len(inflater.unused_data)] if inflater.eof else data)
    return b"".join(parts)


def _record_parser(path: Path, offset: int, length: int | None) -> Callable[[], Any]:
    """A function giving a fresh warcio record parsed from the record's bytes (``length`` of
    them when known, else the rest of the file)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(length) if length else _one_member(handle)
    except FileNotFoundError as error:
        raise CaptureDamaged("capture_missing", f"{path}: the WARC file is missing") from error
    except zlib.error as error:
        raise CaptureDamaged("capture_truncated", f"{path}@{offset}: {error}") from error
    if length and len(data) < length:
        raise CaptureDamaged(
            "capture_truncated",
            f"{path}@{offset}: the file ends {len(data):,} bytes into a {length:,}-byte record",
        )

    def parse() -> Any:
        try:
            return next(iter(ArchiveIterator(io.BytesIO(data))))
        except (StopIteration, ArchiveLoadFailed, zlib.error, EOFError) as error:
            raise CaptureDamaged(
                "capture_truncated", f"{path}@{offset}: no whole WARC record ({error!r})"
            ) from error

    return parse


def _checked_record(
    path: Path,
    offset: int,
    *,
    length: int | None,
    payload_sha256: str | None,
    payload_length: int | None,
) -> Any:
    """The warcio record at ``offset``, its payload checked against what the archive recorded
    (length and SHA-256 of the body as received); :class:`CaptureDamaged` otherwise."""
    parse = _record_parser(path, offset, length)
    if payload_sha256 is not None or payload_length is not None:
        try:
            raw = parse().raw_stream.read()
        except (zlib.error, EOFError) as error:
            raise CaptureDamaged("capture_truncated", f"{path}@{offset}: {error}") from error
        if payload_length is not None and len(raw) != payload_length:
            raise CaptureDamaged(
                "capture_mismatch",
                f"{path}@{offset}: the payload is {len(raw):,} bytes, the archive recorded "
                f"{payload_length:,}",
            )
        if payload_sha256 is not None and hashlib.sha256(raw).hexdigest() != payload_sha256:
            raise CaptureDamaged(
                "capture_mismatch",
                f"{path}@{offset}: the payload's SHA-256 is not the one the archive recorded",
            )
    return parse()


def read_response(
    path: Path,
    offset: int,
    *,
    length: int | None = None,
    payload_sha256: str | None = None,
    payload_length: int | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The HTTP response of the WARC response record at ``offset`` of ``path``: status, headers
    (those describing the bytes as received, Content-Encoding and Content-Length, left out) and
    body with content encodings undone, as the crawler's parser saw it. Given the capture's
    ``length`` and payload digest and length, the record is checked against them first
    (:class:`CaptureDamaged` when it does not match)."""
    record = _checked_record(
        path, offset, length=length, payload_sha256=payload_sha256, payload_length=payload_length
    )
    if record.rec_type != "response" or record.http_headers is None:
        raise ValueError(f"{path}@{offset}: a {record.rec_type} record, not a response")
    status = int(record.http_headers.get_statuscode())
    headers = [
        (name, value)
        for name, value in record.http_headers.headers
        if name.lower() not in ("content-encoding", "content-length")
    ]
    return status, headers, record.content_stream().read()


def read_record(
    path: Path,
    offset: int,
    *,
    length: int | None = None,
    payload_sha256: str | None = None,
    payload_length: int | None = None,
) -> tuple[dict[str, Any], bytes]:
    """The WARC record at ``offset`` of ``path``: its WARC headers and its HTTP payload with
    content encodings (gzip ...) undone, as the crawler's parser saw it; checked as
    :func:`read_response` checks it."""
    record = _checked_record(
        path, offset, length=length, payload_sha256=payload_sha256, payload_length=payload_length
    )
    headers = dict(record.rec_headers.headers)
    return headers, record.content_stream().read()


class Member(NamedTuple):
    """One gzip member of a file: where it starts, how long it is, whether it is whole."""

    offset: int
    length: int
    complete: bool


def gzip_members(path: Path, chunk: int = 1 << 20) -> list[Member]:
    """The gzip members of ``path`` in order, read in chunks (a WARC file can be 1 GB). The
    last one is incomplete when the file ends inside it or its bytes do not inflate."""
    members: list[Member] = []
    with path.open("rb") as handle:
        offset, data = 0, handle.read(chunk)
        while data:
            inflater = zlib.decompressobj(wbits=31)
            length = 0
            while True:
                try:
                    inflater.decompress(data)
                except zlib.error:
                    members.append(Member(offset, length + len(data), False))
                    return members
                if inflater.eof:
                    used = len(data) - len(inflater.unused_data)
                    length += used
                    data = inflater.unused_data or handle.read(chunk)
                    break
                length += len(data)
                data = handle.read(chunk)
                if not data:
                    members.append(Member(offset, length, False))
                    return members
            members.append(Member(offset, length, True))
            offset += length
    return members


@dataclass(frozen=True)
class Repair:
    """What :func:`repair` did to a file."""

    path: Path
    size_before: int
    size_after: int  # 0: the file held no complete record and was removed

    @property
    def cut(self) -> int:
        return self.size_before - self.size_after


def repair(path: Path, indexed: set[int]) -> Repair:
    """Cut a WARC file written by a killed crawl back to its last complete exchange.

    ``indexed``: offsets of the response records the archive's ``captures`` point at. Kept: the
    leading ``warcinfo`` record and everything up to the record that follows the last indexed
    response (its request record), when those are whole gzip members. Dropped: a partial
    member at the end, and a response written but never indexed (the crawl died between the
    two; the resumed crawl fetches it again) with its request. Records are written one
    exchange at a time, so nothing indexed is ever after what is dropped.
    """
    size = path.stat().st_size
    members = gzip_members(path)
    keep = 0
    for i, member in enumerate(members):
        if not member.complete:
            break
        follows_indexed = i > 0 and members[i - 1].offset in indexed
        if i == 0 or member.offset in indexed or follows_indexed:
            keep = member.offset + member.length
    if keep == 0:
        path.unlink()
    elif keep < size:
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    return Repair(path, size, keep)
