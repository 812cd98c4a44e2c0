"""The snapshot export streams (issue 16): memory bounded by a chunk of articles, not by the
archive, and the files byte for byte those the export wrote when it held every row in lists.

``tests/golden/snapshot-stream/hashes.json`` holds the SHA-256 of every file of five exports of
three deterministic archives, recorded with the list-based export (``python
tests/test_snapshot_stream.py record`` writes it; re-record only for a deliberate change of the
snapshot's bytes). The archives are built with the clock, the WARC record ids and the toolkit
versions pinned, so that two builds give the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow.parquet as pq
import pytest

if __name__ == "__main__":  # recording: python tests/test_snapshot_stream.py record
    sys.path.insert(0, str(Path(__file__).parent))

from support.backfill import SITE, mirror_archive
from support.records import crawled
from support.sources import sourced_archive

from qiosk_scraper.archive import Archive, copies
from qiosk_scraper.mirror import Site
from qiosk_scraper.snapshot import export_snapshot, files, select
from qiosk_scraper.snapshot.files import write_parquet
from qiosk_scraper.warc import WarcWriter

GOLDEN = Path(__file__).parent / "golden" / "snapshot-stream" / "hashes.json"
NOW = "2026-03-01T00:00:00+00:00"  # the clock while the archives are built
TOOLKIT = {
    "toolkit": {"qiosk-scraper": "0.0.0-golden", "python": "3", "sqlite": "3", "pyarrow": "0"},
    "dependencies_from": "golden",
    "dependencies": {},
}


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """The clock of the archive and of new warcinfo records, the ids of new WARC records, the
    extractor version of imported records (a digest of the extraction code, which changes with
    any edit there) and the toolkit versions the snapshot records, fixed."""
    ids = itertools.count(1)
    with contextlib.ExitStack() as stack:
        for module in ("store", "imports"):
            stack.enter_context(mock.patch(f"qiosk_scraper.archive.{module}.now_iso", lambda: NOW))
        stack.enter_context(
            mock.patch(
                "warcio.statusandheaders.StatusAndHeadersParser.make_warc_id",
                staticmethod(lambda id_=None: f"<urn:uuid:{uuid.UUID(int=next(ids))}>"),
            )
        )
        stack.enter_context(  # the date of a warcinfo record
            mock.patch(
                "warcio.recordbuilder.RecordBuilder._make_warc_date",
                classmethod(lambda cls, use_micros=False: "2026-03-01T00:00:00Z"),
            )
        )
        stack.enter_context(
            mock.patch("qiosk_scraper.extract.record.EXTRACTOR_VERSION", "0.0.0+golden")
        )
        stack.enter_context(
            mock.patch("qiosk_scraper.snapshot.export.toolkit_versions", lambda: TOOLKIT)
        )
        stack.enter_context(mock.patch("qiosk_scraper.snapshot.export.__version__", "0.0.0"))
        yield


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def with_revisions(folder: Path) -> tuple[Path, str]:
    """Five mirror articles; a later crawl re-fetches the first edited (a new title, author
    and tag: its revision 2) and finds another article. Returns the archive and a time between
    the crawls."""
    db, stored = mirror_archive(folder, count=5)
    gold = sorted(Site(articles=60, seed=7).gold(SITE).values(), key=lambda r: r["published"])
    first = next(r for r in gold if r["url"] == stored[0].url)
    edited = {
        **first,
        "title": first["title"] + " (updated)",
        "authors": [*first["authors"], {"name": "Newly Added", "url": None}],
        "tags": ["A brand-new tag"],
    }
    last = datetime.fromisoformat(stored[-1].fetched_at)
    later = (last + timedelta(days=40)).isoformat()
    writer = WarcWriter(folder / "warc", "second", {}, relative_to=folder)
    with Archive(db) as archive:
        crawl_id = archive.start_crawl(SITE, {}, {})
        crawled(archive, crawl_id, writer, edited, b"<html>edited</html>", later, "test")
        crawled(archive, crawl_id, writer, gold[30], b"<html>another</html>", later, "test")
        archive.finish_crawl(crawl_id, {}, "finished")
    writer.close()
    return db, (last + timedelta(days=20)).isoformat()


def golden_exports(folder: Path) -> dict[str, dict[str, str]]:
    """Per export, the SHA-256 of each of its files."""
    exports: dict[str, dict[str, str]] = {}
    with pinned():
        mirror, _ = mirror_archive(folder / "mirror", count=6)
        with contextlib.chdir(folder):  # the crawl of an import records its file's path
            sourced = folder / sourced_archive(Path("sourced")).db
        edited, between = with_revisions(folder / "edited")
        runs: list[tuple[str, Path, dict[str, Any]]] = [
            ("mirror", mirror, {}),
            ("mirror-warc-wacz", mirror, {"with_warc": True, "wacz": True}),
            ("sourced-warc-wacz", sourced, {"with_warc": True, "wacz": True}),
            ("sourced-before-gone", sourced, {"as_of": "2026-01-15", "wacz": True}),
            ("edited", edited, {"with_warc": True}),
            ("edited-before-the-edit", edited, {"as_of": between, "name": "cut"}),
        ]
        for name, db, options in runs:
            export_snapshot(db, folder / "out" / name, **options)
            exports[name] = file_hashes(folder / "out" / name)
    return exports


def test_every_file_is_the_one_the_list_based_export_wrote(tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = golden_exports(tmp_path)
    assert sorted(found) == sorted(expected)
    for name in expected:
        assert found[name] == expected[name], name


def test_parquet_written_a_row_group_at_a_time_is_the_file_of_one_write(tmp_path: Path) -> None:
    """Row groups of ``PARQUET_ROW_GROUP`` rows: the streamed file equals ``pq.write_table`` of
    all rows at once, across row groups and for none."""
    base = sorted(Site(articles=60, seed=7).gold(SITE).values(), key=lambda r: r["url"])[0]
    group = files.PARQUET_ROW_GROUP
    for count in (0, 3, 2 * group + 123):
        records = [
            {**base, "url": f"{SITE}/n-{i}/", "title": f"T {i}", "body": f"b {i} " * (i % 7)}
            for i in range(count)
        ]
        write_parquet(tmp_path / "streamed.parquet", iter(records))
        whole = files._parquet_table(records)
        pq.write_table(
            whole, tmp_path / "whole.parquet", row_group_size=group, **files._PARQUET_OPTIONS
        )
        streamed = (tmp_path / "streamed.parquet").read_bytes()
        assert streamed == (tmp_path / "whole.parquet").read_bytes(), count
        assert pq.ParquetFile(tmp_path / "streamed.parquet").metadata.num_row_groups == max(
            1, -(-count // group)
        )
        assert pq.read_table(tmp_path / "streamed.parquet").to_pylist() == whole.to_pylist()


def with_aliases(folder: Path) -> tuple[Path, str, list[str]]:
    """The archive of :func:`with_revisions` with URL aliases of each article: one first seen
    before the time between the crawls, one after. Returns the archive, that time and the
    aliases a snapshot at that time holds (first seen by then, of an article it holds)."""
    db, between = with_revisions(folder)
    before = (datetime.fromisoformat(between) - timedelta(days=5)).isoformat()
    after = (datetime.fromisoformat(between) + timedelta(days=5)).isoformat()
    with Archive(db) as archive:
        urls = archive.article_urls()
        held = [u for u in urls if any(r["fetched_at"] <= between for r in archive.revisions(u))]
        for when, suffix in ((before, "?early"), (after, "?late")):
            with mock.patch("qiosk_scraper.archive.store.now_iso", lambda at=when: at):
                for url in urls:
                    archive.add_alias(url + suffix, url)
    return db, between, sorted(url + "?early" for url in held)


def test_rows_read_a_row_at_a_time_are_those_of_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows kept in the export's scratch database (articles by URL, captures, sources,
    sections, URL aliases, WACZ pages) read a row at a time write the bytes one read writes;
    url_aliases holds the aliases first seen by the cut-off of the articles the snapshot
    holds (at the cut-off between the crawls: not the later ones, not the article found
    after)."""
    with pinned():
        db, between, early = with_aliases(tmp_path / "aliased")
        for cut_off in (between, None):
            for chunk in (1, 10_000):
                monkeypatch.setattr(select, "CHUNK", chunk)
                monkeypatch.setattr(copies, "_CHUNK", chunk)
                out = tmp_path / f"{cut_off is None}-{chunk}"
                export_snapshot(db, out, as_of=cut_off, with_warc=True, wacz=True)
            assert file_hashes(tmp_path / f"{cut_off is None}-1") == file_hashes(out)
            aliases = (out / "csv" / "url_aliases.csv").read_text().splitlines()[1:]
            found = [line.split(",")[0] for line in aliases]
            if cut_off is not None:
                assert found == early
                assert len(early) == 5  # the article found by the second crawl left out
            else:
                assert len(found) == 12  # 6 articles, two aliases each


# -- memory ------------------------------------------------------------------------------------

_CHILD = """
import resource, sys, tracemalloc
from pathlib import Path
from qiosk_scraper.archive import copies
from qiosk_scraper.snapshot import export_snapshot, files, select
select.CHUNK, copies._CHUNK, files._CHUNK, files.PARQUET_ROW_GROUP = 50, 50, 50, 100
if sys.argv[3] == "heap":
    tracemalloc.start()
export_snapshot(Path(sys.argv[1]), Path(sys.argv[2]), with_warc=True)
if sys.argv[3] == "heap":
    print(tracemalloc.get_traced_memory()[1] // 1024)
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bulk_archive(folder: Path, count: int, words: int = 5_000) -> Path:
    """``count`` articles of ``words`` words of text each (30 kB by default), saved as a crawl
    saves them."""
    base = sorted(Site(articles=60, seed=7).gold(SITE).values(), key=lambda r: r["url"])[0]
    db = folder / "qiosk.db"
    writer = WarcWriter(folder / "warc", "bulk", {}, relative_to=folder)
    with Archive(db) as archive:
        crawl_id = archive.start_crawl(SITE, {}, {})
        for i in range(count):
            body = " ".join(f"w{(i * 7919 + j) % 9973}" for j in range(words))
            record = {**base, "url": f"{SITE}/bulk-{i:05d}/", "title": f"Bulk {i}", "body": body}
            when = f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}+00:00"
            crawled(archive, crawl_id, writer, record, b"<html></html>", when, "test")
        archive.finish_crawl(crawl_id, {}, "finished")
    writer.close()
    return db


def peak_kb(db: Path, out: Path, what: str = "rss") -> int:
    """The peak memory of the export of ``db`` in a child process: its peak resident set
    (``rss``), or the peak of what Python allocated (``heap``, traced with tracemalloc)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db), str(out), what],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_peak_memory_does_not_grow_with_the_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four times the articles (36 MB of text more, held several times over by an export that
    lists every row) leave the export's peak memory within 30 % (chunks of 50 articles and
    Parquet row groups of 100 here, to see it at a size a test builds quickly). The chunks
    change no byte: the export read in one chunk writes the same files."""
    small = peak_kb(bulk_archive(tmp_path / "small", 300), tmp_path / "s")
    large_db = bulk_archive(tmp_path / "large", 1_200)
    large = peak_kb(large_db, tmp_path / "l")
    assert large <= 1.3 * small, (small, large)

    monkeypatch.setattr(select, "CHUNK", 10_000)
    monkeypatch.setattr(copies, "_CHUNK", 10_000)
    monkeypatch.setattr(files, "_CHUNK", 10_000)
    monkeypatch.setattr(files, "PARQUET_ROW_GROUP", 100)
    export_snapshot(large_db, tmp_path / "one-chunk", with_warc=True)
    assert file_hashes(tmp_path / "one-chunk") == file_hashes(tmp_path / "l")


def test_what_the_export_keeps_per_article_is_not_held_in_memory(tmp_path: Path) -> None:
    """Between its two passes the export keeps a few small values per article (id, URL,
    title, revision numbers, capture ids, sections), and it needs the archive's captures,
    their sources and the URL aliases: held as Python objects these added about 2.7 kB per
    article to Python's peak heap (800 articles more, of a few words each: 1.8 times the
    peak), which at 50,000 articles outweighs a chunk of texts. Kept in a scratch database
    and read a chunk at a time, five times the articles leave the peak heap (traced by
    tracemalloc, so it counts what Python holds, not SQLite's or Arrow's pages) within 25 %."""
    small = peak_kb(bulk_archive(tmp_path / "small", 200, words=3), tmp_path / "s", "heap")
    large = peak_kb(bulk_archive(tmp_path / "large", 1_000, words=3), tmp_path / "l", "heap")
    assert large <= 1.25 * small, (small, large)


if __name__ == "__main__":
    import tempfile

    assert sys.argv[1:] == ["record"], "usage: python tests/test_snapshot_stream.py record"
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        first, second = golden_exports(Path(one)), golden_exports(Path(two))
    assert first == second, "two builds differ: the archives are not deterministic"
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(first, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {GOLDEN} ({sum(len(v) for v in first.values())} files)")
