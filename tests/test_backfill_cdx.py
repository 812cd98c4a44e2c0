"""The CDX client against a real pywb serving mirror pages captured at chosen dates, a local
WARC store with Range support, and small servers speaking the Wayback and Common Crawl forms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support.backfill import (
    SITE,
    Handler,
    Page,
    make_collection,
    range_server,
    running_pywb,
    write_warc,
)
from support.crawl import serving

from qiosk_scraper.backfill.cdx import (
    CdxCapture,
    CdxClient,
    CdxError,
    CdxQuery,
    PoliteHttp,
    per_year,
)
from qiosk_scraper.mirror import Site

PREFIX = "responsiblestatecraft.org/"


@dataclass(frozen=True)
class Collection:
    cdx: str  # the CDX endpoint
    replay: str  # the replay prefix
    archive: Path  # the folder of its WARC files
    pages: list[Page]  # every record written
    expected: list[Page]  # the HTML 200 captures left once collapsed by digest, in CDX order


def _pages() -> tuple[list[Page], list[Page]]:
    site = Site(articles=60, seed=7)
    gold = sorted(site.gold(SITE).values(), key=lambda r: r["published"])
    a1, a2, a3, a4, a5 = (r["url"] for r in gold[:5])

    def body(url: str) -> bytes:
        return site.respond(urlsplit(url).path, SITE).body

    edited = body(a1).replace(b"</body>", b"<p>Correction: a date was wrong.</p></body>")
    first = Page(a1, body(a1), "2020-03-01T10:00:00Z")
    again = Page(a1, body(a1), "2021-06-01T10:00:00Z")  # the same bytes: collapsed
    later = Page(a1, edited, "2022-02-01T10:00:00Z")  # an edit: kept
    two = Page(a2, body(a2), "2021-01-15T08:30:00Z")
    three = Page(a3, body(a3), "2022-07-04T12:00:00Z")
    pages = [
        first,
        two,
        Page(a4, b"<html>not found</html>", "2023-01-01T00:00:00Z", status=404),
        Page(f"{SITE}/media-library/x.jpg", b"\xff\xd8\xff", "2021-01-01T00:00:00Z", "image/jpeg"),
        Page("https://example.org/other/", b"<html>other</html>", "2021-01-01T00:00:00Z"),
        again,
        later,
        three,
        Page(a5, body(a5), "2019-05-05T05:05:05Z"),  # before --from in one test
    ]
    expected = sorted(
        [first, later, two, three, pages[-1]],
        key=lambda p: (urlsplit(p.url).path, p.date),
    )
    return pages, expected


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collection]:
    root = tmp_path_factory.mktemp("pywb")
    pages, expected = _pages()
    warcs = []
    for year in sorted({p.date[:4] for p in pages}):
        warcs.append(root / f"captures-{year}.warc.gz")
        write_warc(warcs[-1], [p for p in pages if p.date.startswith(year)])
    make_collection(root, "rs", warcs)
    with running_pywb(root) as base:
        yield Collection(
            f"{base}/rs/cdx", f"{base}/rs", root / "collections/rs/archive", pages, expected
        )


def fast() -> PoliteHttp:
    return PoliteHttp(delay=0, retries=0)


def stamp(page: Page) -> str:
    return page.date.replace("-", "").replace("T", "").replace(":", "").rstrip("Z")


def rows(client: CdxClient, query: CdxQuery, resume: str | None = None) -> list[CdxCapture]:
    return [row for page in client.pages(query, resume) for row in page.captures]


def test_pywb_lists_html_200_captures_of_the_prefix_collapsed_by_digest(
    collection: Collection,
) -> None:
    found = rows(CdxClient(collection.cdx, fast()), CdxQuery(PREFIX))
    assert [(r.url, r.timestamp) for r in found] == [(p.url, stamp(p)) for p in collection.expected]
    assert per_year([p for p in CdxClient(collection.cdx, fast()).pages(CdxQuery(PREFIX))]) == {
        "2019": (1, 1),
        "2020": (1, 1),
        "2021": (1, 1),
        "2022": (2, 2),
    }


def test_from_and_to_bound_the_capture_times(collection: Collection) -> None:
    found = rows(CdxClient(collection.cdx, fast()), CdxQuery(PREFIX, from_="2021", to="2021"))
    # a1's 2021 capture is the first of the window, so it stays
    assert sorted(r.timestamp[:8] for r in found) == ["20210115", "20210601"]


def test_pages_resume_after_their_key_without_loss_or_repeat(collection: Collection) -> None:
    query = CdxQuery(PREFIX, limit=2)
    whole = rows(CdxClient(collection.cdx, fast()), query)
    assert len(whole) == len(collection.expected)
    seen: list[CdxCapture] = []
    resume = None
    while True:  # one page per client, as a backfill killed after each page would
        page = next(CdxClient(collection.cdx, fast()).pages(query, resume))
        seen += page.captures
        resume = page.resume
        if resume is None:
            break
        assert resume.startswith("after:")
    assert seen == whole


def test_captures_fetch_as_original_bytes_in_id_mode(collection: Collection) -> None:
    client = CdxClient(collection.cdx, fast())
    for row, page in zip(rows(client, CdxQuery(PREFIX)), collection.expected, strict=True):
        capture = client.fetch_replay(row, collection.replay, source="wayback")
        assert (capture.url, capture.body, capture.status) == (page.url, page.body, 200)
        assert capture.captured_at.strftime("%Y%m%d%H%M%S") == stamp(page)
        assert capture.provenance.file.startswith(f"{collection.replay}/{row.timestamp}id_/")


def test_captures_fetch_as_byte_ranges_of_the_named_warc(collection: Collection) -> None:
    client = CdxClient(collection.cdx, fast())
    found = rows(client, CdxQuery(PREFIX))
    assert all(r.filename and r.offset is not None and r.length for r in found)
    with serving(range_server(collection.archive)) as files:
        for row, page in zip(found, collection.expected, strict=True):
            capture = client.fetch_range(row, files, source="common-crawl")
            assert (capture.url, capture.body) == (page.url, page.body)
            assert capture.provenance.offset == row.offset
            assert capture.provenance.record_id.startswith("<urn:uuid:")
    with (
        serving(range_server(collection.archive, ranges=False)) as files,
        pytest.raises(CdxError, match=r"answered HTTP 200 with \d+ bytes"),
    ):
        client.fetch_range(found[0], files, source="common-crawl")


# -- the other servers' forms -------------------------------------------------------------------

WAYBACK_HEADER = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def _lines(count: int) -> list[list[str]]:
    return [
        [
            f"org,responsiblestatecraft)/a{i:02d}",
            f"2021010{i % 9 + 1}000000",
            f"https://responsiblestatecraft.org/a{i:02d}/",
            "text/html",
            "200",
            f"D{i}",
            "100",
        ]
        for i in range(count)
    ]


def wayback_server(lines: list[list[str]], asked: list[dict[str, list[str]]]) -> type[Handler]:
    """The Wayback CDX server's JSON form: limit, showResumeKey and resumeKey (the key is the
    index of the next row here; the real one is opaque too)."""

    class Wayback(Handler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            asked.append(query)
            if "showNumPages" in query:
                self.answer(200, {}, b"7\n")  # archive.org's bare number: not a paged server
                return
            start = int(query.get("resumeKey", ["0"])[0])
            limit = int(query["limit"][0])
            body: list[list[str]] = [WAYBACK_HEADER, *lines[start : start + limit]]
            if start + limit < len(lines):
                body += [[], [str(start + limit)]]
            self.answer(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    return Wayback


def test_wayback_resume_keys_page_through_and_resume(tmp_path: Path) -> None:
    lines = _lines(5)
    asked: list[dict[str, list[str]]] = []
    with serving(wayback_server(lines, asked)) as base:
        query = CdxQuery(PREFIX, from_="2021", to="2022", limit=2)
        pages = list(CdxClient(base, fast()).pages(query))
        assert [len(p.captures) for p in pages] == [2, 2, 1]
        assert [p.resume.split("\t")[0] if p.resume else None for p in pages] == [
            "wayback:2",
            "wayback:4",
            None,
        ]
        assert [r.url for p in pages for r in p.captures] == [line[2] for line in lines]
        rest = rows(CdxClient(base, fast()), query, pages[0].resume)
        assert [r.url for r in rest] == [line[2] for line in lines[2:]]
    ask = asked[1]
    assert ask["filter"] == ["statuscode:200", "mimetype:text/html"]
    assert (ask["collapse"], ask["from"], ask["to"], ask["matchType"]) == (
        ["digest"],
        ["2021"],
        ["2022"],
        ["prefix"],
    )


def test_numbered_pages_of_a_zipnum_server(tmp_path: Path) -> None:
    lines = _lines(6)
    fields = ["urlkey", "timestamp", "url", "mime", "status", "digest", "length"]

    class Paged(Handler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            if "showNumPages" in query:
                self.answer(200, {}, b'{"pages": 3, "pageSize": 5, "blocks": 3}\n')
                return
            page = int(query["page"][0])
            chunk = lines[page * 2 : page * 2 + 2]
            if page == 1:  # a page whose rows the filters all drop
                message = {"message": "No Captures found for: responsiblestatecraft.org/"}
                self.answer(404, {}, json.dumps(message).encode())
                return
            body = "".join(
                json.dumps(dict(zip(fields, line, strict=True))) + "\n" for line in chunk
            )
            self.answer(200, {}, body.encode())

    with serving(Paged) as base:
        pages = list(CdxClient(base, fast()).pages(CdxQuery(PREFIX)))
        assert [p.resume.split("\t")[0] if p.resume else None for p in pages] == [
            "page:1",
            "page:2",
            None,
        ]
        assert [r.url for p in pages for r in p.captures] == [
            line[2] for line in lines[:2] + lines[4:]
        ]
        rest = rows(CdxClient(base, fast()), CdxQuery(PREFIX), pages[1].resume)
        assert [r.url for r in rest] == [line[2] for line in lines[4:]]


# -- politeness -----------------------------------------------------------------------------


class FakeTime:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_requests_are_spaced_and_retried_with_backoff_and_retry_after() -> None:
    script = [
        (503, {"Retry-After": "7"}),
        (429, {"Retry-After": "Thu, 01 Jan 1970 00:16:52 GMT"}),  # 1012 s: 5 s after then
        (500, {}),
        (200, {}),
        (200, {}),
    ]

    class Scripted(Handler):
        def do_GET(self) -> None:
            status, headers = script.pop(0)
            self.answer(status, headers, b"ok" if status == 200 else b"busy")

    fake = FakeTime()
    http = PoliteHttp(
        delay=1.0,
        retries=3,
        backoff=2.0,
        clock=fake.clock,
        sleep=fake.sleep,
        wall=fake.clock,  # Unix time 1000 at the start
    )
    with serving(Scripted) as base:
        assert http.get(base + "/x").body == b"ok"
        assert http.get(base + "/y").body == b"ok"
    # 7 s (Retry-After), 5 s (its date), 8 s (2 s doubled twice, no header), then 1 s between
    # the two successful requests; never less than the 1 s delay between any two
    assert fake.slept == [7.0, 5.0, 8.0, 1.0]
    assert http.requests == 5


def test_retries_end_in_a_clear_error() -> None:
    class Down(Handler):
        def do_GET(self) -> None:
            self.answer(503, {}, b"down")

    fake = FakeTime()
    http = PoliteHttp(delay=0, retries=2, clock=fake.clock, sleep=fake.sleep)
    with serving(Down) as base, pytest.raises(CdxError) as raised:
        http.get(base + "/cdx")
    assert str(raised.value) == f"{base}/cdx: gave up after 3 attempts (HTTP 503)"
    assert fake.slept == [2.0, 4.0]

    class Gone(Handler):
        def do_GET(self) -> None:
            self.answer(404, {}, b"gone")

    with serving(Gone) as base:  # not retried: the answer is final
        http = PoliteHttp(delay=0, retries=2, clock=fake.clock, sleep=fake.sleep)
        assert http.get(base + "/x").status == 404
        assert http.requests == 1
        with pytest.raises(CdxError, match=r"/cdx\?url=.*: the CDX server answered HTTP 404$"):
            list(CdxClient(base + "/cdx", http).pages(CdxQuery(PREFIX)))
