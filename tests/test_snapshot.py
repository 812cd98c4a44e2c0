"""Snapshots (issue 7): byte-reproducible export, as-of selection, and verification.

Archives here are built from mirror gold records through :class:`Archive`'s public methods, with
WARC records written by :class:`WarcWriter`; ``test_snapshot_crawl.py`` exports a real crawl.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from support.records import crawled

from qiosk_scraper.archive import Archive, content_hash
from qiosk_scraper.article import count_words
from qiosk_scraper.cli import main
from qiosk_scraper.mirror import Site
from qiosk_scraper.snapshot import (
    SnapshotError,
    export_snapshot,
    layout,
    parse_as_of,
    verify_snapshot,
)
from qiosk_scraper.snapshot import export as export_module
from qiosk_scraper.warc import WarcWriter

SITE = "https://responsiblestatecraft.org"
VERSION = "0.1.0"
QIOSK = str(Path(sys.executable).with_name("qiosk"))


@cache
def gold(count: int = 8) -> tuple[str, ...]:
    """``count`` gold records of the default mirror as canonical JSON, oldest first."""
    records = sorted(Site(articles=60, seed=7).gold(SITE).values(), key=lambda r: r["published"])
    return tuple(json.dumps(r, sort_keys=True) for r in records[:count])


def records(count: int = 8) -> list[dict[str, Any]]:
    return [json.loads(text) for text in gold(count)]


def fetched_after(record: dict[str, Any], days: int = 1) -> str:
    moment = datetime.fromisoformat(record["published"]) + timedelta(days=days)
    return moment.isoformat()


def html(record: dict[str, Any]) -> bytes:
    return f"<html><body><h1>{record['title']}</h1></body></html>".encode()


def add(
    archive: Archive, crawl_id: int, writer: WarcWriter, record: dict[str, Any], when: str
) -> int:
    """Fetch (a WARC record and a capture) and save one article record; returns the capture."""
    return crawled(archive, crawl_id, writer, record, html(record), when, VERSION)


def build(folder: Path, items: list[tuple[dict[str, Any], str]]) -> Path:
    """An archive in ``folder`` holding ``(record, fetched_at)`` items, one crawl."""
    db = folder / "qiosk.db"
    writer = WarcWriter(folder / "warc", "test", {"software": "tests"}, relative_to=folder)
    with Archive(db) as archive:
        crawl_id = archive.start_crawl(SITE, {"delay": 0}, {"qiosk-scraper": VERSION})
        for record, when in items:
            add(archive, crawl_id, writer, record, when)
        archive.finish_crawl(crawl_id, {"pages": len(items)}, "finished")
    writer.close()
    return db


def standard(folder: Path, count: int = 8) -> Path:
    return build(folder, [(r, fetched_after(r)) for r in records(count)])


def contents(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")[:-1]]


def read_only_copy(db: Path, folder: Path) -> Archive:
    """An Archive over a copy (opening one writes to it: WAL mode)."""
    folder.mkdir()
    shutil.copy(db, folder / db.name)
    return Archive(folder / db.name)


# -- export ------------------------------------------------------------------------------------


def test_exports_are_byte_identical_twice_from_a_copy_and_after_later_crawls(
    tmp_path: Path,
) -> None:
    db = standard(tmp_path / "archive")
    first = export_snapshot(db, tmp_path / "a", with_warc=True)
    export_snapshot(db, tmp_path / "b", with_warc=True)
    shutil.copytree(tmp_path / "archive", tmp_path / "copy")
    # From the copy, through the command line, in a process with another hash seed (so that
    # no set or dict order can leak into the bytes).
    copy = tmp_path / "copy" / "qiosk.db"
    done = subprocess.run(
        [QIOSK, "snapshot", "export", str(tmp_path / "c"), "--with-warc", "--db", str(copy)],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # A later crawl finding a new article does not change the snapshot at the cut-off (for a
    # re-fetch, see the revisions test: without them a re-fetched state has no earlier date).
    more = records(9)[-1]
    writer = WarcWriter(tmp_path / "copy" / "warc", "later", {}, relative_to=tmp_path / "copy")
    with Archive(tmp_path / "copy" / "qiosk.db") as archive:
        crawl_id = archive.start_crawl(SITE, {}, {})
        add(archive, crawl_id, writer, more, "2030-01-01T00:00:00+00:00")
    writer.close()
    export_snapshot(
        tmp_path / "copy" / "qiosk.db",
        tmp_path / "d",
        as_of=first.as_of,
        name=first.name,
        with_warc=True,
    )

    reference = contents(tmp_path / "a")
    assert len(reference) == 20  # 4 + 12 CSVs + 1 WARC + datapackage, SHA256SUMS, README
    for other in ("b", "c", "d"):
        files = contents(tmp_path / other)
        assert sorted(files) == sorted(reference), other
        for name, data in reference.items():
            assert files[name] == data, f"{other}/{name}"
    package = json.loads(reference[layout.DATAPACKAGE])
    assert package["created"] == first.as_of == fetched_after(records()[-1])
    assert package["qiosk"]["fingerprint"] == first.fingerprint
    assert not list(tmp_path.glob(".*"))  # no partial or old directories left


def test_snapshot_holds_the_records_in_every_format(tmp_path: Path) -> None:
    odd = records()
    odd[0]["body"] += "\n\nA line\u2028separator, a \x85 next line, \u00e9 and \U0001f600."
    odd[0]["word_count"] = count_words(odd[0]["body"])
    db = build(tmp_path / "archive", [(r, fetched_after(r)) for r in odd])
    result = export_snapshot(db, tmp_path / "snap")
    snap = tmp_path / "snap"
    expected = sorted(odd, key=lambda r: r["url"])
    lines = (snap / layout.ARTICLES_JSONL).read_text(encoding="utf-8").split("\n")[:-1]
    assert lines == [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in expected]
    assert (result.articles, result.revisions, result.captures) == (8, 8, 8)

    revisions = jsonl(snap / layout.REVISIONS_JSONL)
    assert [(r["url"], r["revision"]) for r in revisions] == [(r["url"], 1) for r in expected]
    assert [r["record"] for r in revisions] == expected
    assert all(r["content_hash"] == content_hash(r["record"]) for r in revisions)

    table = pq.read_table(snap / layout.ARTICLES_PARQUET).to_pylist()
    for row in table:
        for key in ("published", "modified"):
            row[key] = row[key].isoformat() if row[key] else None
    assert table == expected

    with read_only_copy(snap / layout.ARCHIVE_DB, tmp_path / "db") as archive:
        assert archive.article_urls() == [r["url"] for r in expected]
        assert [archive.article_record(r["url"]) for r in expected] == expected
        assert archive.count("captures") == 8
        assert archive.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Without --with-warc the captures point at no WARC file.
        assert archive.db.execute("SELECT count(warc_file) FROM captures").fetchone()[0] == 0
    assert not (snap / "archive.db-wal").exists()
    assert (snap / layout.ARCHIVE_DB).read_bytes()[18:20] == b"\x01\x01"  # rollback journal

    package = json.loads((snap / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    resources = {r["path"]: r for r in package["resources"]}
    authors = {(a["name"], a["url"]) for r in expected for a in r["authors"]}
    assert resources["csv/authors.csv"]["rows"] == len(authors)
    assert resources["csv/articles.csv"]["rows"] == 8
    assert resources[layout.ARCHIVE_DB]["tables"]["articles"] == 8
    for resource in package["resources"]:
        for field in resource.get("schema", {}).get("fields", []):
            assert field.get("description"), (resource["path"], field["name"])
    assert package["qiosk"]["dependencies"]["frictionless"]  # from requirements.lock
    assert package["qiosk"]["toolkit"]["qiosk-scraper"] == VERSION
    assert [c["id"] for c in package["qiosk"]["crawls"]] == [1]
    readme = (snap / layout.README).read_text(encoding="utf-8")
    assert f"--as-of {result.as_of} --name {result.name}" in readme
    assert result.fingerprint in readme
    assert verify_snapshot(snap) == []


def test_every_archive_column_is_documented(tmp_path: Path) -> None:
    with Archive(tmp_path / "x.db") as archive:
        for table in layout.TABLES:
            columns = [name for name, _, _ in archive.table_schema(table)["columns"]]
            assert layout.undocumented(table, columns) == [], table


def test_as_of_leaves_out_articles_fetched_or_published_later(tmp_path: Path) -> None:
    items = [(r, fetched_after(r)) for r in records()]
    early = items[2][0]
    cut_off = items[4][1]
    # Fetched before the cut-off, yet dated after it: left out too.
    odd = {**items[3][0], "published": "2031-01-01T00:00:00+00:00"}
    items[3] = (odd, items[3][1])
    db = build(tmp_path / "archive", items)

    result = export_snapshot(db, tmp_path / "snap", as_of=cut_off)
    urls = [r["url"] for r in jsonl(tmp_path / "snap" / layout.ARTICLES_JSONL)]
    assert urls == sorted(r["url"] for r, when in items if when <= cut_off and r is not odd)
    assert result.articles == 4
    assert early["url"] in urls and odd["url"] not in urls
    package = json.loads((tmp_path / "snap" / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    assert package["created"] == cut_off
    kept = [r for r, when in items if when <= cut_off and r is not odd]
    resources = {r["path"]: r for r in package["resources"]}
    assert resources["csv/captures.csv"]["rows"] == 4
    assert resources["csv/tags.csv"]["rows"] == len({t for r in kept for t in r["tags"]})
    assert verify_snapshot(tmp_path / "snap") == []

    with pytest.raises(SnapshotError, match="no fetches"):
        export_snapshot(build(tmp_path / "empty", []), tmp_path / "none")
    result = export_snapshot(db, tmp_path / "before", as_of="2000-01-01")
    assert result.articles == 0
    assert verify_snapshot(tmp_path / "before") == []


def _with_revisions(folder: Path) -> tuple[Path, dict[str, Any], dict[str, Any], list[str]]:
    """An archive with one article edited once (saving the edit adds its revision 2)."""
    *others, first = records(4)  # the newest: the others are fetched before its edit
    second = {
        **first,
        "title": first["title"] + " (updated)",
        "authors": [*first["authors"], {"name": "Newly Added", "url": None}],
        "tags": ["A brand-new tag"],
    }
    times = [fetched_after(first, 1), fetched_after(first, 30)]
    db = build(folder, [(first, times[0]), *[(r, fetched_after(r)) for r in others]])
    writer = WarcWriter(folder / "warc", "second", {}, relative_to=folder)
    with Archive(db) as archive:
        crawl_id = archive.start_crawl(SITE, {}, {})
        add(archive, crawl_id, writer, second, times[1])
    writer.close()
    return db, first, second, times


def test_as_of_before_the_second_revision_exports_the_first(tmp_path: Path) -> None:
    db, first, second, times = _with_revisions(tmp_path / "archive")
    between = (datetime.fromisoformat(times[1]) - timedelta(seconds=1)).isoformat()

    export_snapshot(db, tmp_path / "old", as_of=between, with_warc=True)
    old = tmp_path / "old"
    assert first in jsonl(old / layout.ARTICLES_JSONL)
    assert second not in jsonl(old / layout.ARTICLES_JSONL)
    history = [r for r in jsonl(old / layout.REVISIONS_JSONL) if r["url"] == first["url"]]
    assert [r["revision"] for r in history] == [1]
    with read_only_copy(old / layout.ARCHIVE_DB, tmp_path / "old-db") as archive:
        assert archive.article_record(first["url"]) == first
        assert archive.count("revisions") == 4
        assert archive.db.execute("SELECT count(*) FROM authors WHERE name = 'Newly Added'")
        assert archive.count("authors") == len(
            {(a["name"], a["url"]) for r in records(4) for a in r["authors"]}
        )
        row = archive.article_row(first["url"])
        assert row is not None
        assert row["last_fetched"] == times[0]
    assert verify_snapshot(old) == []

    export_snapshot(db, tmp_path / "new", with_warc=True)
    new = tmp_path / "new"
    assert second in jsonl(new / layout.ARTICLES_JSONL)
    history = [r for r in jsonl(new / layout.REVISIONS_JSONL) if r["url"] == first["url"]]
    assert [(r["revision"], r["record"]) for r in history] == [(1, first), (2, second)]
    assert history[1]["changed_fields"] == ["authors", "tags", "title"]
    assert history[1]["silent_edit"] is True
    package = json.loads((new / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    assert package["qiosk"]["revision_history"] is True
    assert package["qiosk"]["revisions"] == 5
    assert verify_snapshot(new) == []

    before = (datetime.fromisoformat(times[0]) - timedelta(seconds=1)).isoformat()
    export_snapshot(db, tmp_path / "none", as_of=before)
    urls = [r["url"] for r in jsonl(tmp_path / "none" / layout.ARTICLES_JSONL)]
    assert first["url"] not in urls


def test_as_of_parsing() -> None:
    assert parse_as_of("2025-01-02") == "2025-01-02T00:00:00+00:00"
    assert parse_as_of("2025-01-02T03:04:05") == "2025-01-02T03:04:05+00:00"
    assert parse_as_of("2025-01-02T05:04:05+02:00") == "2025-01-02T03:04:05+00:00"
    assert parse_as_of("2025-01-02T03:04:05Z") == "2025-01-02T03:04:05+00:00"
    with pytest.raises(SnapshotError, match="ISO 8601"):
        parse_as_of("last tuesday")


def test_out_dir_rules_and_an_interrupted_export_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = standard(tmp_path / "archive", count=3)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("mine")
    with pytest.raises(SnapshotError, match="not empty and holds no snapshot"):
        export_snapshot(db, tmp_path / "busy", force=True)
    assert (tmp_path / "busy" / "thesis.tex").read_text() == "mine"

    (tmp_path / "empty").mkdir()
    assert export_snapshot(db, tmp_path / "empty", as_of="2000-01-01").articles == 0
    with pytest.raises(SnapshotError, match="--force"):
        export_snapshot(db, tmp_path / "empty")
    assert export_snapshot(db, tmp_path / "empty", force=True).articles == 3
    assert verify_snapshot(tmp_path / "empty") == []
    assert len(jsonl(tmp_path / "empty" / layout.ARTICLES_JSONL)) == 3
    with pytest.raises(SnapshotError, match="lowercase"):
        export_snapshot(db, tmp_path / "named", name="My Snapshot")
    with pytest.raises(SnapshotError, match="no such archive"):
        export_snapshot(tmp_path / "nowhere.db", tmp_path / "x")
    assert not (tmp_path / "nowhere.db").exists()

    def broken(path: Path, rows: list[dict[str, Any]]) -> None:
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "write_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        export_snapshot(db, tmp_path / "fresh")
    with pytest.raises(OSError, match="disk full"):
        export_snapshot(db, tmp_path / "empty", force=True)
    assert not (tmp_path / "fresh").exists()
    assert verify_snapshot(tmp_path / "empty") == []  # the previous snapshot is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive", "busy", "empty"]


def test_with_warc_refuses_a_capture_whose_record_is_gone(tmp_path: Path) -> None:
    db = standard(tmp_path / "archive", count=2)
    for warc in (tmp_path / "archive" / "warc").iterdir():
        warc.write_bytes(warc.read_bytes()[:100])
    with pytest.raises(SnapshotError, match="no complete gzip member"):
        export_snapshot(db, tmp_path / "snap", with_warc=True)
    assert not (tmp_path / "snap").exists()


# -- verify ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot with WARC files, shared read-only; tests change copies of it."""
    folder = tmp_path_factory.mktemp("pristine")
    db = standard(folder / "archive", count=5)
    export_snapshot(db, folder / "snap", with_warc=True)
    return folder / "snap"


@pytest.fixture
def snap(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine, tmp_path / "snap")
    return tmp_path / "snap"


def names(pristine: Path) -> list[str]:
    return sorted(contents(pristine))


def reseal(folder: Path) -> None:
    """Make datapackage.json and SHA256SUMS agree with the files again (a consistent forgery),
    so the checks behind the checksums are reached."""
    package_path = folder / layout.DATAPACKAGE
    package = json.loads(package_path.read_text(encoding="utf-8"))
    for resource in package["resources"]:
        file = folder / resource["path"]
        if file.is_file() and resource["path"] != layout.README:
            resource["bytes"] = file.stat().st_size
            resource["hash"] = "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()
    sums = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in contents(folder).items()
        if name not in (layout.SUMS, layout.DATAPACKAGE)
    }
    package["qiosk"]["fingerprint"] = layout.fingerprint(sums)
    package_path.write_text(json.dumps(package, indent=2), encoding="utf-8")
    sums[layout.DATAPACKAGE] = hashlib.sha256(package_path.read_bytes()).hexdigest()
    (folder / layout.SUMS).write_text(
        "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items()))
    )


def test_a_fresh_snapshot_verifies_and_the_cli_says_so(pristine: Path) -> None:
    assert verify_snapshot(pristine) == []
    result = CliRunner().invoke(main, ["snapshot", "verify", str(pristine)])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    assert {"warc/captures-00000.warc.gz", "csv/links.csv", layout.ARCHIVE_DB} <= set(
        names(pristine)
    )


def test_one_changed_byte_in_any_file_fails_naming_that_file(
    pristine: Path, tmp_path: Path
) -> None:
    for index, name in enumerate(names(pristine)):
        size = (pristine / name).stat().st_size
        ends = (0, size - 1) if name in (layout.SUMS, layout.DATAPACKAGE) else ()
        for position in (size // 2, *ends):
            copy = tmp_path / f"{index}-{position}"
            shutil.copytree(pristine, copy)
            data = bytearray((copy / name).read_bytes())
            data[position] ^= 0x01
            (copy / name).write_bytes(bytes(data))
            problems = verify_snapshot(copy)
            assert problems, (name, position)
            assert {p.path for p in problems} == {name}, (name, position, problems)
            shutil.rmtree(copy)


def test_a_deleted_file_fails_naming_it(pristine: Path, tmp_path: Path) -> None:
    for index, name in enumerate(names(pristine)):
        copy = tmp_path / str(index)
        shutil.copytree(pristine, copy)
        (copy / name).unlink()
        problems = verify_snapshot(copy)
        assert [p.path for p in problems] == [name], problems
        assert "missing" in problems[0].message
        shutil.rmtree(copy)


def test_an_added_file_or_link_fails_naming_it(snap: Path, tmp_path: Path) -> None:
    (snap / "notes.txt").write_text("an extra file")
    (snap / "csv" / "extra.csv").write_text("a,b\n1,2\n")
    (tmp_path / "outside.csv").write_text("secret\n")
    (snap / "csv" / "linked.csv").symlink_to(tmp_path / "outside.csv")
    problems = verify_snapshot(snap)
    assert sorted(p.path for p in problems) == ["csv/extra.csv", "csv/linked.csv", "notes.txt"]
    assert "symbolic link" in next(p.message for p in problems if p.path == "csv/linked.csv")

    result = CliRunner().invoke(main, ["snapshot", "verify", str(snap)])
    assert result.exit_code == 1
    assert "notes.txt: not part of the snapshot" in result.output


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("path", "../outside.csv"),
        ("path", "/etc/hostname"),
        ("path", "https://example.org/articles.csv"),
        ("schema", "https://example.org/schema.json"),
    ],
)
def test_datapackage_references_outside_the_directory_are_refused(
    snap: Path, key: str, value: str
) -> None:
    (snap.parent / "outside.csv").write_text("id\n1\n")
    package = json.loads((snap / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    resource = next(r for r in package["resources"] if r["path"] == "csv/tags.csv")
    resource[key] = value
    (snap / layout.DATAPACKAGE).write_text(json.dumps(package), encoding="utf-8")
    reseal(snap)  # even a package consistent with its checksums
    problems = verify_snapshot(snap)
    assert [p.path for p in problems] == [layout.DATAPACKAGE]
    assert "refused" in problems[0].message and value in problems[0].message


def test_data_behind_consistent_checksums_is_still_validated(snap: Path) -> None:
    """A forger who updates datapackage.json and SHA256SUMS is caught by Frictionless (types,
    keys, row counts) and the record counts of the other files."""
    links = snap / "csv" / "links.csv"
    header, first, rest = links.read_bytes().split(b"\r\n", 2)
    forged = first.replace(first.split(b",")[0], b"not-a-number", 1)
    links.write_bytes(b"\r\n".join([header, forged, rest]))
    with (snap / layout.ARTICLES_JSONL).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(records(1)[0], sort_keys=True) + "\n")
    reseal(snap)
    problems = verify_snapshot(snap)
    assert {p.path for p in problems} == {"csv/links.csv", layout.ARTICLES_JSONL}
    messages = " | ".join(str(p) for p in problems)
    assert "type-error" in messages
    assert "records: 6, datapackage.json says 5" in messages


def test_export_cli_reports_and_refuses_with_reasons(tmp_path: Path) -> None:
    db = standard(tmp_path / "archive", count=3)
    runner = CliRunner()
    result = runner.invoke(
        main, ["snapshot", "export", str(tmp_path / "snap"), "--db", str(db), "--name", "demo"]
    )
    assert result.exit_code == 0, result.output
    assert "snapshot demo as of" in result.output and "3 articles" in result.output
    again = runner.invoke(main, ["snapshot", "export", str(tmp_path / "snap"), "--db", str(db)])
    assert again.exit_code == 1
    assert "--force" in again.output
    bad = runner.invoke(
        main, ["snapshot", "export", str(tmp_path / "x"), "--db", str(db), "--as-of", "soon"]
    )
    assert bad.exit_code == 1
    assert "not an ISO 8601" in bad.output


def test_an_export_removes_what_killed_exports_left_and_nothing_else(tmp_path: Path) -> None:
    """A SIGKILLed export leaves its hidden half-built and scratch folders beside the snapshot
    (tests/test_kill.py); the next export to the same place removes those of processes that are
    gone, and leaves a running export's, other snapshots' and the user's own alone."""
    db = standard(tmp_path / "archive", count=3)
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(ended.stdout)  # the child has exited and been reaped: no process has its pid now
    snaps = tmp_path / "snaps"
    left = [snaps / f".snap.p{dead}.a1b2c3d4.partial", snaps / f".snap.p{dead}.e5f6g7h8.work"]
    kept = [
        snaps / f".snap.p{os.getpid()}.i9j0k1l2.partial",  # a live export (this process)
        snaps / f".other.p{dead}.m3n4o5p6.partial",  # another snapshot's
        snaps / ".snap.notes",  # not ours at all
    ]
    for folder in left + kept:
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "half.csv").write_text("id\n1\n")
    result = CliRunner().invoke(main, ["snapshot", "export", str(snaps / "snap"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    for folder in left:
        assert not folder.exists()
        assert f"removed {folder}: left by an export that was killed" in result.output
    assert all(folder.is_dir() for folder in kept)
    assert sorted(p.name for p in snaps.iterdir()) == sorted(["snap", *(f.name for f in kept)])
    assert verify_snapshot(snaps / "snap") == []


_KILLED_AT_RENAME = """
import os, signal, sys
from qiosk_scraper.cli import main
at, out, real = sys.argv[1], os.path.abspath(sys.argv[2]), os.replace
def replace(src, dst):
    real(src, dst)
    aside = os.path.basename(dst) == "snapshot" and str(os.path.dirname(dst)).endswith(".old")
    if (at == "aside" and aside) or (at == "placed" and os.path.abspath(dst) == out):
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
main(["snapshot", "export", *sys.argv[2:]], prog_name="qiosk")
"""


@pytest.mark.parametrize("at", ["aside", "placed"])
def test_a_force_export_killed_between_its_renames_loses_no_snapshot(
    tmp_path: Path, at: str
) -> None:
    """``--force`` moves the previous snapshot aside, then the new one into place. Killed
    between the two (a real SIGKILL at that point), the next export puts the previous snapshot
    back before anything else (and, without --force, still refuses to replace it); killed after
    them, the next export removes the previous one's hidden copy."""
    db = standard(tmp_path / "archive", count=3)
    snap = tmp_path / "snaps" / "snap"
    runner = CliRunner()
    export = ["snapshot", "export", str(snap), "--db", str(db)]
    assert runner.invoke(main, [*export, "--name", "first"]).exit_code == 0
    first = contents(snap)
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_AT_RENAME, at, *export[2:], "--force", "--name", "second"],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (aside,) = snap.parent.glob(".snap.p*.old")
    assert snap.exists() == (at == "placed")
    refused = runner.invoke(main, export)
    assert refused.exit_code == 1 and "--force" in refused.output
    if at == "aside":
        assert f"restored {snap} from {aside}: the previous snapshot" in refused.output
        assert contents(snap) == first
    else:
        assert f"removed {aside}: left by an export that was killed" in refused.output
        assert json.loads((snap / layout.DATAPACKAGE).read_text())["name"] == "second"
    assert [p.name for p in snap.parent.iterdir()] == ["snap"]  # the .partial went too
    assert verify_snapshot(snap) == []
    assert runner.invoke(main, [*export, "--force", "--name", "third"]).exit_code == 0
    assert [p.name for p in snap.parent.iterdir()] == ["snap"]


# -- fingerprint and records against archive.db (issue 13 item 13) ------------------------------


def test_verify_prints_the_fingerprint_and_checks_the_cited_one(pristine: Path) -> None:
    package = json.loads((pristine / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    cited = f"sha256:{package['qiosk']['fingerprint']}"
    runner = CliRunner()
    plain = runner.invoke(main, ["snapshot", "verify", str(pristine)])
    assert plain.exit_code == 0 and f"fingerprint {cited}\n" in plain.output
    same = runner.invoke(main, ["snapshot", "verify", str(pristine), "--fingerprint", cited])
    assert same.exit_code == 0 and "intact (the one cited)" in same.output
    other = "sha256:" + "0" * 64
    differs = runner.invoke(main, ["snapshot", "verify", str(pristine), "--fingerprint", other])
    assert differs.exit_code == 1
    assert f".: fingerprint {cited} is not the one cited ({other})" in differs.output
    bad = runner.invoke(main, ["snapshot", "verify", str(pristine), "--fingerprint", "sha256:x"])
    assert bad.exit_code == 2 and "not a fingerprint" in bad.output


def test_a_resealed_forgery_is_caught_by_the_cited_fingerprint(snap: Path) -> None:
    """Without a signature, a consistent re-forgery of a table nothing else repeats passes
    every check but the fingerprint a citation quotes."""
    package = json.loads((snap / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    cited = f"sha256:{package['qiosk']['fingerprint']}"
    tags = snap / "csv" / "tags.csv"
    header, first, rest = tags.read_bytes().split(b"\r\n", 2)
    number, label = first.split(b",", 1)
    tags.write_bytes(b"\r\n".join([header, number + b",Forged " + label, rest]))
    reseal(snap)
    assert verify_snapshot(snap) == []
    problems = verify_snapshot(snap, fingerprint=cited)
    assert [(p.path, "not the snapshot cited" in p.message) for p in problems] == [(".", True)]


def test_jsonl_records_are_checked_against_archive_db(snap: Path) -> None:
    path = snap / layout.ARTICLES_JSONL
    lines = path.read_text(encoding="utf-8").split("\n")
    first = json.loads(lines[0])
    first["body"] = "A body the archive never held."
    first["word_count"] = count_words(first["body"])
    lines[0] = json.dumps(first, sort_keys=True, ensure_ascii=False)
    second = json.loads(lines[1])
    lines[1] = json.dumps({**second, "url": second["url"] + "moved/"}, sort_keys=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    reseal(snap)
    problems = verify_snapshot(snap)
    assert [str(p) for p in problems] == [
        f"{layout.ARTICLES_JSONL}: {first['url']}: body, word_count differ from archive.db",
        f"{layout.ARTICLES_JSONL}: {second['url']}moved/ is not in archive.db",
        f"{layout.ARTICLES_JSONL}: {second['url']} is in archive.db, not in this file",
    ]
