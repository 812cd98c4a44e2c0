"""Reading the HTML captures of web-archive files: WARC 1.0/1.1 (``.warc``, ``.warc.gz``) and WACZ.

:func:`read_captures` yields one :class:`Capture` per HTML ``response`` (or resolved ``revisit``)
record of a host asked for, in file order, each with its provenance: the source named by the
user, the file's name and SHA-256, the record's id and offset (and, in a WACZ, the WARC member it
sits in) and the capture time.

- Archive replay URLs (``https://web.archive.org/web/20200102030405id_/https://host/path``, any
  pywb collection's ``/<coll>/<timestamp><modifier>/<url>``), which a researcher's recording of a
  Wayback page carries, are mapped to the original URL, and the timestamp in them is the capture
  time (the record's own ``WARC-Date`` is when it was re-recorded).
- A ``revisit`` record (``identical-payload-digest``) takes the payload of the response with the
  same ``WARC-Payload-Digest`` in the files read, whichever file or order it comes in; its own
  status line and headers when it has them.
- Records of other hosts, non-HTML responses, records that cannot be parsed and revisits whose
  payload is not in the files are skipped and counted per kind in :class:`ReadStats`; a file that
  breaks mid-way is read up to the break. Nothing here raises for a bad record, only for a path
  that is not a file this module reads (:class:`~qiosk_scraper.backfill.BackfillError`).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from qiosk_scraper.backfill import BackfillError

WARC_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion"}
    | {"continuation"}
)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
WARC_SUFFIXES = (".warc", ".warc.gz")
WACZ_SUFFIX = ".wacz"

# /<anything>/<14-digit-or-shorter timestamp><optional modifier such as id_, if_, mp_>/<url>
_REPLAY = re.compile(r"^/(?:[^/]+/)*?(\d{4,14})(?:[a-z]{2}_)?/+(https?:/+.*)$", re.IGNORECASE)
_READ_ERRORS = (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError, KeyError)


@dataclass(frozen=True)
class Provenance:
    """Where a capture came from."""

    source: str  # the source named by the user: wayback, common-crawl, archive-it, own-warc ...
    file: str  # the file's name as given (a WARC, or the WACZ holding it)
    file_sha256: str
    record_id: str  # WARC-Record-ID of the response or revisit record
    offset: int | None  # of the record in its WARC (in ``member`` for a WACZ); None: no WARC
    captured_at: str  # ISO 8601 UTC
    member: str | None = None  # the WARC's path inside a WACZ
    revisit_of: str | None = None  # record id of the response whose payload a revisit took


@dataclass(frozen=True)
class Capture:
    """One HTML page as an archive captured it."""

    url: str  # the original URL (a replay URL mapped back)
    captured_at: datetime  # aware, UTC
    status: int
    headers: tuple[tuple[str, str], ...]  # HTTP headers as recorded
    body: bytes  # content and transfer encodings undone
    payload_digest: str | None
    provenance: Provenance

    @property
    def content_type(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "content-type"), None)


@dataclass
class ReadStats:
    """What :func:`read_captures` read and skipped, per kind."""

    records: int = 0
    captures: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.skipped.items()))
        return f"{self.captures} captures from {self.records} records" + (
            f"; skipped: {kinds}" if kinds else ""
        )


def original_url(url: str) -> tuple[str, str | None]:
    """``url`` without an archive's replay prefix, and the 14-digit timestamp the prefix held
    (None when ``url`` is not a replay URL).

    >>> original_url("https://web.archive.org/web/2020id_/http://example.org/a")
    ('http://example.org/a', '20200000000000')
    """
    url = url.strip().removeprefix("<").removesuffix(">")
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    match = _REPLAY.match(path)
    if match is None:
        return url, None
    stamp, inner = match.groups()
    inner = re.sub(r"^(https?):/+", r"\1://", inner, flags=re.IGNORECASE)
    return inner, stamp.ljust(14, "0")


def parse_timestamp(stamp: str) -> datetime:
    """A CDX/replay timestamp (``yyyyMMddhhmmss``, shorter ones padded) as an aware datetime.
    Months and days padded with zeros become 01."""
    stamp = stamp.ljust(14, "0")
    year, month, day = stamp[:4], stamp[4:6], stamp[6:8]
    month = month if month != "00" else "01"
    day = day if day != "00" else "01"
    return datetime.strptime(year + month + day + stamp[8:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def parse_warc_date(value: str) -> datetime:
    """WARC-Date (WARC 1.0 seconds, WARC 1.1 fractions) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_files(paths: Sequence[Path]) -> None:
    """Raise :class:`BackfillError` for the first path that is not a readable WARC/WACZ file."""
    for path in paths:
        name = path.name.lower()
        if not path.is_file():
            raise BackfillError(f"{path}: no such file")
        if not (name.endswith(WARC_SUFFIXES) or name.endswith(WACZ_SUFFIX)):
            raise BackfillError(f"{path}: not a WARC (.warc, .warc.gz) or WACZ (.wacz) file")
        if name.endswith(WACZ_SUFFIX) and not zipfile.is_zipfile(path):
            raise BackfillError(f"{path}: not a WACZ file (not a ZIP archive)")


@dataclass(frozen=True)
class _Warc:
    """A WARC to read: a file, or a member of a WACZ."""

    path: Path
    member: str | None = None

    def size(self) -> int:
        if self.member is None:
            return self.path.stat().st_size
        with zipfile.ZipFile(self.path) as wacz:
            return wacz.getinfo(self.member).file_size

    def open(self) -> AbstractContextManager[IO[bytes]]:
        if self.member is None:
            return self.path.open("rb")
        return _ZipMember(self.path, self.member)


class _ZipMember:
    def __init__(self, path: Path, member: str) -> None:
        self._zip = zipfile.ZipFile(path)
        self._member = member

    def __enter__(self) -> IO[bytes]:
        self._handle = self._zip.open(self._member)
        return self._handle

    def __exit__(self, *exc: object) -> None:
        self._handle.close()
        self._zip.close()


def _warcs(path: Path) -> list[_Warc]:
    if not path.name.lower().endswith(WACZ_SUFFIX):
        return [_Warc(path)]
    with zipfile.ZipFile(path) as wacz:
        names = sorted(
            n
            for n in wacz.namelist()
            if n.startswith("archive/") and n.lower().endswith(WARC_SUFFIXES)
        )
    return [_Warc(path, name) for name in names]


def _records(warc: _Warc, stats: ReadStats) -> Iterator[tuple[int, ArcWarcRecord]]:
    """The records of a WARC with their offsets; a break ends the file, counted as broken."""
    try:
        with warc.open() as handle:
            iterator = ArchiveIterator(handle)
            records = iter(iterator)
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    if iterator.offset < warc.size():  # warcio ends quietly in a cut gzip member
                        stats.skipped["broken record"] += 1
                    return
                length = record.rec_headers.get_header("Content-Length") or ""
                if (
                    record.format != "warc"
                    or record.rec_type not in WARC_TYPES
                    or not (length.isdigit())
                ):  # warcio's reading of bytes that are no record, or of a header cut short
                    stats.skipped["broken record"] += 1
                    return
                stats.records += 1
                yield iterator.offset, record  # the start of this record (read before its end)
    except (*_READ_ERRORS, AttributeError):  # warcio's parser fails so on a garbage header
        stats.skipped["broken record"] += 1


def whole(record: ArcWarcRecord) -> bool:
    """Whether the record's block was there to its Content-Length (warcio reads a record cut
    short by the end of the file without complaint). Reads what is left of it."""
    while record.raw_stream.read(1 << 16):
        pass
    return getattr(record.raw_stream, "limit", 0) == 0


def is_html(headers: Any, body: bytes) -> bool:
    value = headers.get_header("Content-Type") if headers is not None else None
    if value:
        return value.split(";", 1)[0].strip().lower() in HTML_TYPES
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _host_wanted(url: str, hosts: Collection[str] | None) -> bool:
    if hosts is None:
        return True
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return host in hosts


@dataclass
class _Pending:
    """A revisit whose payload was not seen yet."""

    warc: _Warc
    offset: int
    digest: str


class _Reader:
    def __init__(self, source: str, hosts: Collection[str] | None, stats: ReadStats) -> None:
        self.source = source
        self.hosts = None if hosts is None else {h.lower().removeprefix("www.") for h in hosts}
        self.stats = stats
        self.responses: dict[str, tuple[_Warc, int]] = {}  # payload digest -> response record
        self.pending: list[_Pending] = []
        self.sums: dict[Path, str] = {}

    def read(self, paths: Sequence[Path]) -> Iterator[Capture]:
        for path in paths:
            with path.open("rb") as handle:  # not snapshot's sha256_file: it imports Frictionless
                self.sums[path] = hashlib.file_digest(handle, "sha256").hexdigest()
            for warc in _warcs(path):
                for offset, record in _records(warc, self.stats):
                    capture = self._take(warc, offset, record)
                    if capture is not None:
                        yield capture
        for pending in self.pending:
            capture = self._revisit_later(pending)
            if capture is not None:
                yield capture

    def _take(self, warc: _Warc, offset: int, record: ArcWarcRecord) -> Capture | None:
        kind = record.rec_type
        if kind not in ("response", "revisit"):
            return None
        url = record.rec_headers.get_header("WARC-Target-URI") or ""
        if not url.lower().lstrip("<").startswith(("http:", "https:")):
            return None
        if not _host_wanted(original_url(url)[0], self.hosts):
            self.stats.skipped["other host"] += 1
            return None
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        try:
            if kind == "response":
                body = record.content_stream().read()
                if not whole(record):
                    self.stats.skipped["broken record"] += 1
                    return None
                if digest and digest not in self.responses:
                    self.responses[digest] = (warc, offset)
                return self._capture(warc, offset, record, record, body)
            if not whole(record):
                self.stats.skipped["broken record"] += 1
                return None
            if not digest:
                self.stats.skipped["revisit without payload digest"] += 1
                return None
            if digest not in self.responses:
                self.pending.append(_Pending(warc, offset, digest))
                return None
            return self._revisit(warc, offset, record, digest)
        except _READ_ERRORS:
            self.stats.skipped["broken record"] += 1
            return None

    def _revisit(
        self, warc: _Warc, offset: int, revisit: ArcWarcRecord, digest: str
    ) -> Capture | None:
        origin, origin_offset = self.responses[digest]
        with origin.open() as handle:
            handle.seek(origin_offset)
            original = next(iter(ArchiveIterator(handle)))
            body = original.content_stream().read()
            return self._capture(warc, offset, revisit, original, body)

    def _revisit_later(self, pending: _Pending) -> Capture | None:
        if pending.digest not in self.responses:
            self.stats.skipped["revisit of a payload not in the files"] += 1
            return None
        try:
            with pending.warc.open() as handle:
                handle.seek(pending.offset)
                record = next(iter(ArchiveIterator(handle)))
                return self._revisit(pending.warc, pending.offset, record, pending.digest)
        except (*_READ_ERRORS, StopIteration):
            self.stats.skipped["broken record"] += 1
            return None

    def _capture(
        self,
        warc: _Warc,
        offset: int,
        record: ArcWarcRecord,
        original: ArcWarcRecord,
        body: bytes,
    ) -> Capture | None:
        http = record.http_headers or original.http_headers
        if http is None or not http.get_statuscode():
            self.stats.skipped["not an HTTP response"] += 1
            return None
        if not is_html(http, body):
            self.stats.skipped["not HTML"] += 1
            return None
        url, stamp = original_url(record.rec_headers.get_header("WARC-Target-URI"))
        when = (
            parse_timestamp(stamp)
            if stamp
            else parse_warc_date(record.rec_headers.get_header("WARC-Date"))
        )
        record_id = record.rec_headers.get_header("WARC-Record-ID") or ""
        origin_id = original.rec_headers.get_header("WARC-Record-ID")
        self.stats.captures += 1
        return Capture(
            url=url,
            captured_at=when,
            status=int(http.get_statuscode()),
            headers=tuple(http.headers),
            body=body,
            payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
            provenance=Provenance(
                source=self.source,
                file=warc.path.name,
                file_sha256=self.sums[warc.path],
                record_id=record_id,
                offset=offset,
                captured_at=when.isoformat(),
                member=warc.member,
                revisit_of=origin_id if original is not record else None,
            ),
        )


def read_captures(
    paths: Sequence[Path],
    *,
    source: str,
    hosts: Collection[str] | None = None,
    stats: ReadStats | None = None,
) -> Iterator[Capture]:
    """The HTML captures of ``paths`` (WARC or WACZ files) of ``hosts`` (all hosts when None;
    ``www.`` is ignored); see the module's docstring. ``stats`` receives the counts."""
    check_files(paths)
    return _Reader(source, hosts, stats if stats is not None else ReadStats()).read(paths)
