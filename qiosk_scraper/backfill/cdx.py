"""A CDX client: which captures a web archive holds of a URL prefix, and the captures themselves.

Three servers speak the API, with differences this client absorbs:

- the Wayback Machine's CDX server (``https://web.archive.org/cdx/search/cdx``): ``output=json``
  is an array of arrays (a header row first), ``collapse=digest`` drops adjacent duplicates, and
  ``limit`` with ``showResumeKey=true`` ends a page with an empty row and ``[<resume key>]``;
- pywb's (``http://host/<collection>/cdx``): ``output=json`` is one JSON object a line and has
  neither resume keys nor collapsing; without a ZipNum index it answers in one stream;
- Common Crawl's index server (pywb with a ZipNum index): pages numbered from 0, their number
  told by ``showNumPages=true`` as ``{"pages": N, ...}``.

:meth:`CdxClient.pages` yields :class:`CdxPage` objects, each with the key to resume *after* it
(None on the last page), opaque to the caller (who stores it): ``page:N`` (numbered pages),
``wayback:<key>`` (the server's resume key), ``after:<urlkey> <timestamp>`` (a one-stream
server: the rows up to it are skipped when resumed). Rows are kept when their status is 200 and
their type HTML, and collapsed by digest (a row with the digest of the row before it, for the
same URL, is dropped) on this side too, whatever the server did.

:class:`PoliteHttp` makes every request: one at a time, at least ``delay`` seconds apart (1 s by
default), retried on 429, 5xx and network errors with exponential backoff or the server's
``Retry-After``. :meth:`CdxClient.fetch_replay` fetches a capture's original bytes in Wayback's
``id_`` mode; :meth:`CdxClient.fetch_range` reads its WARC record as a byte range of the file the
index names (Common Crawl's filename/offset/length).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from qiosk_scraper import __version__
from qiosk_scraper.backfill import BackfillError
from qiosk_scraper.backfill.read import (
    HTML_TYPES,
    Capture,
    Provenance,
    is_html,
    original_url,
    parse_timestamp,
    whole,
)
from qiosk_scraper.middlewares import retry_after_seconds

USER_AGENT = f"qiosk-scraper/{__version__} (research archive; backfill)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_WAYBACK_NAMES = {"original": "url", "mimetype": "mime", "statuscode": "status"}


class CdxError(BackfillError):
    """A CDX server or archive answered what this client cannot use; the message says what."""


# -- polite HTTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    url: str  # after redirects
    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes


class _Unfollowed(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError: the answer itself


_NOT_FOLLOWING = urllib.request.build_opener(_Unfollowed)


@dataclass
class PoliteHttp:
    """GET requests one at a time, ``delay`` seconds apart, with retries (see module docstring).
    ``clock``, ``sleep`` and ``wall`` are injectable for tests."""

    delay: float = 1.0
    retries: int = 4
    backoff: float = 2.0  # first wait; doubled on each retry
    max_wait: float = 600.0  # a Retry-After beyond it is cut to it
    timeout: float = 60.0
    user_agent: str = USER_AGENT
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time
    requests: int = 0
    waits: list[float] = field(default_factory=list)  # retry waits, for the summary
    _last: float | None = None

    def _pace(self) -> None:
        if self._last is not None:
            gap = self._last + self.delay - self.clock()
            if gap > 0:
                self.sleep(gap)
        self._last = self.clock()

    def get(
        self, url: str, headers: dict[str, str] | None = None, *, follow: bool = True
    ) -> Answer:
        """The answer to GET ``url`` (any status that is not retried); :class:`CdxError` when
        the retries are spent. ``follow=False``: a redirect is the answer (its Location in
        the headers), not followed."""
        open_url = urllib.request.urlopen if follow else _NOT_FOLLOWING.open
        request_headers = {"User-Agent": self.user_agent, **(headers or {})}
        reason = ""
        for attempt in range(self.retries + 1):
            self._pace()
            self.requests += 1
            wait: float | None = None
            answer: Answer | None = None
            try:
                request = urllib.request.Request(url, headers=request_headers)
                with open_url(request, timeout=self.timeout) as response:
                    answer = Answer(
                        response.geturl(),
                        response.status,
                        {k.lower(): v for k, v in response.headers.items()},
                        response.read(),
                    )
            except urllib.error.HTTPError as error:
                answer = Answer(
                    url,
                    error.code,
                    {k.lower(): v for k, v in error.headers.items()},
                    error.read(),
                )
            except (urllib.error.URLError, OSError) as error:
                reason = f"network error: {getattr(error, 'reason', error)}"
            if answer is not None:
                if answer.status not in RETRY_STATUSES:
                    return answer
                reason = f"HTTP {answer.status}"
                wait = retry_after_seconds(
                    answer.headers.get("retry-after"), datetime.fromtimestamp(self.wall(), UTC)
                )
            if attempt == self.retries:
                break
            pause = min(self.max_wait, wait if wait is not None else self.backoff * 2**attempt)
            self.waits.append(pause)
            self.sleep(pause)
        raise CdxError(f"{url}: gave up after {self.retries + 1} attempts ({reason})")


# -- the index --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CdxCapture:
    """One line of a CDX answer."""

    urlkey: str
    timestamp: str
    url: str
    mime: str
    status: str
    digest: str
    length: int | None = None
    offset: int | None = None
    filename: str | None = None

    @property
    def captured_at(self) -> datetime:
        return parse_timestamp(self.timestamp)

    @classmethod
    def from_fields(cls, row: dict[str, Any]) -> CdxCapture:
        row = {_WAYBACK_NAMES.get(k, k): v for k, v in row.items()}

        def number(name: str) -> int | None:
            value = row.get(name)
            return int(value) if value not in (None, "", "-") else None

        try:
            return cls(
                urlkey=str(row["urlkey"]),
                timestamp=str(row["timestamp"]),
                url=str(row["url"]),
                mime=str(row.get("mime") or ""),
                status=str(row.get("status") or ""),
                digest=str(row.get("digest") or ""),
                length=number("length"),
                offset=number("offset"),
                filename=row.get("filename") or None,
            )
        except (KeyError, ValueError) as error:
            raise CdxError(f"a CDX line without a usable {error}: {row}") from error


@dataclass(frozen=True)
class CdxQuery:
    """What to ask the index: captures of a URL prefix between two timestamps."""

    prefix: str  # e.g. responsiblestatecraft.org/
    from_: str | None = None  # yyyy[MM[dd[hh[mm[ss]]]]]
    to: str | None = None
    limit: int = 1000  # rows a page, where the server pages by rows

    def params(self) -> list[tuple[str, str]]:
        params = [
            ("url", self.prefix),
            ("matchType", "prefix"),
            ("output", "json"),
            ("filter", "statuscode:200"),
            ("filter", "mimetype:text/html"),
            ("collapse", "digest"),
        ]
        params += [("from", self.from_)] if self.from_ else []
        params += [("to", self.to)] if self.to else []
        return params


@dataclass(frozen=True)
class CdxPage:
    captures: list[CdxCapture]
    resume: str | None  # the key to go on after this page; None: it was the last


def parse_answer(body: bytes) -> tuple[list[CdxCapture], str | None, bool]:
    """The rows of a CDX JSON answer, the server's resume key, and whether it was Wayback's
    array form (True) or JSON lines (False)."""
    text = body.decode("utf-8").strip()
    if not text:
        return [], None, False
    if text.startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as error:
            raise CdxError(f"a CDX answer that is not JSON ({error})") from error
        if not rows:
            return [], None, True
        header, *lines = rows
        key = None
        if len(lines) >= 2 and lines[-2] == [] and len(lines[-1]) == 1:
            key, lines = str(lines[-1][0]), lines[:-2]
        captures = [CdxCapture.from_fields(dict(zip(header, line, strict=False))) for line in lines]
        return captures, key, True
    captures = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError as error:
            raise CdxError(f"a CDX line that is not JSON: {line[:200]!r}") from error
        if isinstance(row, dict):
            captures.append(CdxCapture.from_fields(row))
    return captures, None, False


def _wanted(capture: CdxCapture) -> bool:
    return capture.status == "200" and capture.mime.split(";")[0].strip().lower() in HTML_TYPES


class _Collapse:
    """Drops a row with the URL key and digest of the row kept before it; its state travels in
    resume keys (after a tab), so a resumed query collapses across the page break too."""

    def __init__(self, state: str = "") -> None:
        urlkey, _, digest = state.partition(" ")
        self.last: tuple[str, str] | None = (urlkey, digest) if state else None

    def key(self, resume: str | None) -> str | None:
        if resume is None or self.last is None:
            return resume
        return f"{resume}\t{self.last[0]} {self.last[1]}"

    def __call__(self, rows: Iterable[CdxCapture]) -> list[CdxCapture]:
        kept = []
        for row in rows:
            if not _wanted(row):
                continue
            key = (row.urlkey, row.digest)
            if row.digest and key == self.last:
                continue
            self.last = key
            kept.append(row)
        return kept


class CdxClient:
    """Asks ``endpoint`` (a CDX server's URL) and fetches the captures it names."""

    def __init__(self, endpoint: str, http: PoliteHttp | None = None) -> None:
        self.endpoint = endpoint
        self.http = http or PoliteHttp()

    def _ask(self, params: list[tuple[str, str]]) -> bytes:
        url = f"{self.endpoint}?{urlencode(params)}"
        answer = self.http.get(url)
        if answer.status == 404 and b"No Captures found" in answer.body:
            return b""  # pywb-based servers (Common Crawl's) answer an empty result so
        if answer.status != 200:
            raise CdxError(f"{url}: the CDX server answered HTTP {answer.status}")
        return answer.body

    def _num_pages(self, query: CdxQuery) -> int | None:
        """The number of pages of a paging (ZipNum) server, None for others."""
        body = self._ask([*query.params(), ("showNumPages", "true")])
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        return int(answer["pages"]) if isinstance(answer, dict) and "pages" in answer else None

    def pages(self, query: CdxQuery, resume: str | None = None) -> Iterator[CdxPage]:
        """The captures of ``query`` page by page, from the start or after ``resume``."""
        resume, _, state = resume.partition("\t") if resume else (None, "", "")
        collapse = _Collapse(state)
        if resume is None:
            count = self._num_pages(query)
            if count is not None:
                yield from self._numbered(query, 0, count, collapse)
                return
        elif resume.startswith("page:"):
            count = self._num_pages(query) or 0
            yield from self._numbered(query, int(resume.removeprefix("page:")), count, collapse)
            return
        elif resume.startswith("after:"):
            yield from self._stream(query, resume.removeprefix("after:"), collapse)
            return
        elif not resume.startswith("wayback:"):
            raise CdxError(f"resume key {resume!r} is not one this client wrote")
        key = resume.removeprefix("wayback:") if resume else None
        while True:
            params = [*query.params(), ("limit", str(query.limit)), ("showResumeKey", "true")]
            params += [("resumeKey", key)] if key else []
            rows, key, wayback = parse_answer(self._ask(params))
            if not wayback and len(rows) >= query.limit:
                # a server without resume keys cut the answer: read it in one stream
                yield from self._stream(query, None, collapse)
                return
            kept = collapse(rows)
            yield CdxPage(kept, collapse.key(f"wayback:{key}" if key else None))
            if not key:
                return

    def _numbered(
        self, query: CdxQuery, first: int, count: int, collapse: _Collapse
    ) -> Iterator[CdxPage]:
        for page in range(first, count):
            rows, _, _ = parse_answer(self._ask([*query.params(), ("page", str(page))]))
            kept = collapse(rows)
            yield CdxPage(kept, collapse.key(f"page:{page + 1}" if page + 1 < count else None))

    def _stream(self, query: CdxQuery, after: str | None, collapse: _Collapse) -> Iterator[CdxPage]:
        rows, _, _ = parse_answer(self._ask(query.params()))
        if after:
            mark = tuple(after.rsplit(" ", 1))
            rows = [r for r in rows if (r.urlkey, r.timestamp) > mark]
        for start in range(0, len(rows), query.limit):
            chunk = rows[start : start + query.limit]
            last = chunk[-1]
            more = start + query.limit < len(rows)
            kept = collapse(chunk)
            resume = f"after:{last.urlkey} {last.timestamp}" if more else None
            yield CdxPage(kept, collapse.key(resume))
        if not rows:
            yield CdxPage([], None)

    # -- the captures ---------------------------------------------------------------------------

    def fetch_replay(self, capture: CdxCapture, replay: str, *, source: str) -> Capture:
        """The capture's original bytes from ``replay`` (the archive's replay prefix, e.g.
        ``https://web.archive.org/web``) in ``id_`` mode; the capture time is the timestamp of
        the URL the archive answered from (it may redirect to the nearest capture)."""
        url = (
            f"{replay.rstrip('/')}/{capture.timestamp}id_/{quote(capture.url, safe=':/?&=%#;,+@~')}"
        )
        answer = self.http.get(url)
        if answer.status != 200:
            raise CdxError(f"{url}: the archive answered HTTP {answer.status}")
        original, stamp = original_url(answer.url)
        when = parse_timestamp(stamp or capture.timestamp)
        headers = tuple(
            (name, value)
            for name, value in answer.headers.items()
            if name not in ("content-length", "transfer-encoding", "content-encoding")
        )
        return Capture(
            url=original if stamp else capture.url,
            captured_at=when,
            status=200,
            headers=headers,
            body=answer.body,
            payload_digest=capture.digest or None,
            provenance=Provenance(
                source=source,
                file=url,
                file_sha256=hashlib.sha256(answer.body).hexdigest(),
                record_id="",
                offset=None,
                captured_at=when.isoformat(),
            ),
        )

    def fetch_range(self, capture: CdxCapture, files: str, *, source: str) -> Capture:
        """The capture's WARC record read as bytes ``offset`` to ``offset + length - 1`` of
        ``<files>/<filename>`` (Common Crawl: ``https://data.commoncrawl.org``)."""
        if capture.filename is None or capture.offset is None or not capture.length:
            raise CdxError(f"{capture.url} {capture.timestamp}: the index names no WARC range")
        url = f"{files.rstrip('/')}/{capture.filename}"
        end = capture.offset + capture.length - 1
        answer = self.http.get(url, {"Range": f"bytes={capture.offset}-{end}"})
        if answer.status != 206 or len(answer.body) != capture.length:
            raise CdxError(
                f"{url}: bytes {capture.offset}-{end} answered HTTP {answer.status} with "
                f"{len(answer.body)} bytes (a server without Range support, or a wrong range)"
            )
        try:
            record = next(iter(ArchiveIterator(io.BytesIO(answer.body))))
            body = record.content_stream().read()
            complete = whole(record)
        except (ArchiveLoadFailed, StopIteration, OSError, EOFError, zlib.error) as error:
            raise CdxError(f"{url}@{capture.offset}: not a WARC record ({error})") from error
        if record.rec_type != "response" or not complete or record.http_headers is None:
            raise CdxError(f"{url}@{capture.offset}: not a whole WARC response record")
        if not is_html(record.http_headers, body):
            raise CdxError(f"{url}@{capture.offset}: not an HTML response")
        when = parse_timestamp(capture.timestamp)
        return Capture(
            url=original_url(record.rec_headers.get_header("WARC-Target-URI"))[0],
            captured_at=when,
            status=int(record.http_headers.get_statuscode()),
            headers=tuple(record.http_headers.headers),
            body=body,
            payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
            provenance=Provenance(
                source=source,
                file=url,
                file_sha256=hashlib.sha256(answer.body).hexdigest(),
                record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                offset=capture.offset,
                captured_at=when.isoformat(),
            ),
        )


def per_year(pages: Iterable[CdxPage]) -> dict[str, tuple[int, int]]:
    """Captures and distinct URLs per year of capture, for ``--dry-run``."""
    captures: Counter[str] = Counter()
    urls: dict[str, set[str]] = {}
    for page in pages:
        for row in page.captures:
            year = row.timestamp[:4]
            captures[year] += 1
            urls.setdefault(year, set()).add(row.urlkey)
    return {year: (captures[year], len(urls[year])) for year in sorted(captures)}
