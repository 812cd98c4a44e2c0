"""Reading HTML captures out of WARC 1.0/1.1 and WACZ files written by warcio."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.backfill import Page, write_wacz, write_warc
from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.backfill import BackfillError
from qiosk_scraper.backfill.read import ReadStats, original_url, read_captures

SITE = "https://responsiblestatecraft.org"
HOSTS = {"responsiblestatecraft.org"}
OLD = Page(
    f"{SITE}/2020/05/01/old-slug/",
    b"<html><body><p>First</p></body></html>",
    "2020-05-02T10:00:00Z",
)
NEW = Page(f"{SITE}/golden-dome/", b"<!doctype html><p>Second</p>", "2024-01-03T04:05:06Z")


def _read(paths: list[Path], stats: ReadStats | None = None) -> list:
    return list(read_captures(paths, source="own-warc", hosts=HOSTS, stats=stats))


@pytest.mark.parametrize(("name", "version"), [("a.warc.gz", "1.0"), ("a.warc", "1.1")])
def test_html_responses_come_with_their_provenance(tmp_path: Path, name: str, version: str) -> None:
    path = tmp_path / name
    ids = write_warc(path, [OLD, NEW], version=version)
    captures = _read([path])
    assert [(c.url, c.body, c.status) for c in captures] == [
        (OLD.url, OLD.body, 200),
        (NEW.url, NEW.body, 200),
    ]
    assert captures[0].captured_at == datetime(2020, 5, 2, 10, tzinfo=UTC)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    for capture, record_id in zip(captures, ids, strict=True):
        p = capture.provenance
        assert (p.source, p.file, p.file_sha256, p.record_id, p.member) == (
            "own-warc",
            name,
            sha,
            record_id,
            None,
        )
        assert p.captured_at == capture.captured_at.isoformat()
        with path.open("rb") as handle:  # the offset names the record itself
            handle.seek(p.offset)
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_headers.get_header("WARC-Record-ID") == record_id


def test_replay_urls_map_to_the_original_and_its_capture_time(tmp_path: Path) -> None:
    wayback = "https://web.archive.org/web"
    pages = [
        Page(f"{wayback}/20200102030405id_/{OLD.url}", OLD.body, "2025-06-01T00:00:00Z"),
        Page(f"{wayback}/20210304/{NEW.url}", NEW.body, "2025-06-01T00:00:00Z"),
    ]
    write_warc(tmp_path / "r.warc.gz", pages)
    captures = _read([tmp_path / "r.warc.gz"])
    assert [(c.url, c.captured_at) for c in captures] == [
        (OLD.url, datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (NEW.url, datetime(2021, 3, 4, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://web.archive.org/web/20200102030405id_/{OLD.url}", (OLD.url, "20200102030405")),
        (f"https://web.archive.org/web/20200102030405/{OLD.url}", (OLD.url, "20200102030405")),
        (f"http://127.0.0.1:8080/coll/2020mp_/{NEW.url}", (NEW.url, "20200000000000")),
        (
            "https://web.archive.org/web/2020/http:/lobelog.com/x/",
            ("http://lobelog.com/x/", "20200000000000"),
        ),
        (f"<{OLD.url}>", (OLD.url, None)),  # WARC 1.0's bracketed form
        (OLD.url, (OLD.url, None)),  # a legacy date path is no replay URL
        (f"{SITE}/2020/05/01/https-everywhere/", (f"{SITE}/2020/05/01/https-everywhere/", None)),
    ],
)
def test_original_url(url: str, expected: tuple[str, str | None]) -> None:
    assert original_url(url) == expected


def test_revisits_take_the_payload_of_their_digest_in_any_file_order(tmp_path: Path) -> None:
    later = Page(OLD.url, b"", "2021-07-08T09:10:11Z", revisit_of=OLD)
    # the revisit comes first (its own file), the response it revisits in a second file
    write_warc(tmp_path / "1-revisit.warc.gz", [later])
    write_warc(tmp_path / "2-origin.warc.gz", [OLD])
    write_warc(tmp_path / "3-revisit-again.warc.gz", [later])
    stats = ReadStats()
    captures = _read(sorted(tmp_path.glob("*.warc.gz")), stats)
    assert sorted((c.captured_at.year, c.provenance.file, c.body) for c in captures) == [
        (2020, "2-origin.warc.gz", OLD.body),
        (2021, "1-revisit.warc.gz", OLD.body),
        (2021, "3-revisit-again.warc.gz", OLD.body),
    ]
    origin = next(c for c in captures if c.provenance.file == "2-origin.warc.gz")
    revisits = [c for c in captures if c is not origin]
    assert {c.provenance.revisit_of for c in revisits} == {origin.provenance.record_id}
    assert origin.provenance.revisit_of is None
    assert not stats.skipped


def test_what_is_not_wanted_or_broken_is_counted_not_fatal(tmp_path: Path) -> None:
    pages = [
        OLD,
        Page("https://example.org/elsewhere/", b"<html></html>", "2020-01-01T00:00:00Z"),
        Page(f"{SITE}/media-library/a.jpg", b"\xff\xd8\xff", "2020-01-01T00:00:00Z", "image/jpeg"),
        Page(
            f"{SITE}/2019/11/01/gone/",
            b"",
            "2022-01-01T00:00:00Z",
            revisit_of=Page(
                "https://elsewhere.example/never-written/",
                b"<html>never in the files</html>",
                "2019-01-01T00:00:00Z",
            ),
        ),
        Page(f"{SITE}/no-type/", b"  <!DOCTYPE html><p>sniffed</p>", "2020-01-01T00:00:00Z", None),
    ]
    write_warc(tmp_path / "a.warc.gz", pages)
    broken = tmp_path / "b.warc.gz"
    write_warc(broken, [NEW, OLD])
    with broken.open("rb") as handle:
        iterator = ArchiveIterator(handle)
        starts = [iterator.offset for _ in iterator]
    broken.write_bytes(broken.read_bytes()[: starts[3] + 60])  # OLD's response cut mid-way
    garbage = tmp_path / "c.warc"
    write_warc(garbage, [NEW])
    garbage.write_bytes(garbage.read_bytes() + b"this is not a WARC record\r\n" * 20)
    stats = ReadStats()
    captures = _read([tmp_path / "a.warc.gz", broken, garbage], stats)
    assert [c.url for c in captures] == [OLD.url, f"{SITE}/no-type/", NEW.url, NEW.url]
    assert stats.skipped == {
        "other host": 1,
        "not HTML": 1,
        "revisit of a payload not in the files": 1,
        "broken record": 2,
    }
    assert "4 captures" in stats.summary() and "2 broken record" in stats.summary()


def test_wacz_members_are_read_with_their_path(tmp_path: Path) -> None:
    write_warc(tmp_path / "one.warc.gz", [OLD])
    write_warc(
        tmp_path / "two.warc.gz", [NEW, Page(NEW.url, b"", "2024-02-01T00:00:00Z", revisit_of=OLD)]
    )
    wacz = tmp_path / "crawl.wacz"
    write_wacz(wacz, [tmp_path / "one.warc.gz", tmp_path / "two.warc.gz"])
    captures = _read([wacz])
    assert [(c.url, c.body, c.provenance.member) for c in captures] == [
        (OLD.url, OLD.body, "archive/one.warc.gz"),
        (NEW.url, NEW.body, "archive/two.warc.gz"),
        (NEW.url, OLD.body, "archive/two.warc.gz"),
    ]
    assert {c.provenance.file for c in captures} == {"crawl.wacz"}
    assert captures[0].provenance.file_sha256 == hashlib.sha256(wacz.read_bytes()).hexdigest()


def test_files_it_cannot_read_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "fake.wacz").write_text("not a zip")
    for name, message in [
        ("missing.warc.gz", "no such file"),
        ("notes.txt", "not a WARC (.warc, .warc.gz) or WACZ (.wacz) file"),
        ("fake.wacz", "not a WACZ file (not a ZIP archive)"),
    ]:
        with pytest.raises(BackfillError) as raised:
            _read([tmp_path / name])
        assert str(raised.value) == f"{tmp_path / name}: {message}"


@pytest.mark.parametrize("name", ["cut.warc.gz", "cut.warc"])
def test_a_record_cut_short_is_never_read_partly_nor_silently_lost(
    tmp_path: Path, name: str
) -> None:
    whole = tmp_path / name
    write_warc(whole, [NEW, OLD])
    with whole.open("rb") as handle:
        iterator = ArchiveIterator(handle)
        starts = [iterator.offset for _ in iterator]
    data = whole.read_bytes()
    broken = 0
    for cut in range(starts[3] + 1, starts[4]):  # every byte of OLD's response record
        whole.write_bytes(data[:cut])
        stats = ReadStats()
        read = [(c.url, c.body) for c in _read([whole], stats)]
        if read == [(NEW.url, NEW.body)]:
            assert stats.skipped == {"broken record": 1}, cut
            broken += 1
        else:  # only its gzip trailer or closing CRLFs lost: the record itself is whole
            assert read == [(NEW.url, NEW.body), (OLD.url, OLD.body)], cut
            assert not stats.skipped, cut
            assert cut >= starts[4] - 16, cut
    assert broken >= starts[4] - starts[3] - 16
