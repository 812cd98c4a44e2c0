"""``qiosk snapshot export --wacz``: a WACZ that the wacz package validates and pywb replays."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import zipfile
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from support.backfill import make_collection, mirror_archive, running_pywb

from qiosk_scraper.archive import Archive
from qiosk_scraper.cli import main
from qiosk_scraper.snapshot import verify_snapshot
from qiosk_scraper.snapshot.wacz import INDEX, PAGES

WACZ = Path(sys.executable).with_name("wacz")


def _export(db: Path, out: Path, *flags: str) -> Path:
    result = CliRunner().invoke(
        main, ["snapshot", "export", str(out), "--db", str(db), *flags], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return out / "captures.wacz"


def test_export_wacz_validates_replays_in_pywb_and_is_reproducible(tmp_path: Path) -> None:
    db, stored = mirror_archive(tmp_path / "archive")
    wacz = _export(db, tmp_path / "snap", "--wacz")
    assert verify_snapshot(tmp_path / "snap") == []
    package = json.loads((tmp_path / "snap" / "datapackage.json").read_text())
    assert {r["path"]: r["format"] for r in package["resources"]}["captures.wacz"] == "wacz"
    assert package["qiosk"]["command"].endswith("--wacz")
    # the WARC files were copied for the WACZ only: no warc/ folder, no locations in the CSV
    assert not (tmp_path / "snap" / "warc").exists()

    # the format's own validator (py-wacz), as a separate process
    check = subprocess.run([str(WACZ), "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Validation succeeded, the passed WACZ is valid" in check.stdout

    with zipfile.ZipFile(wacz) as zipped:
        assert {i.compress_type for i in zipped.infolist()} == {zipfile.ZIP_STORED}
        pages = [json.loads(line) for line in zipped.read(PAGES).decode().splitlines()]
        index = zipped.read(INDEX).decode().splitlines()
    assert pages[0]["format"] == "json-pages-1.0"
    assert sorted((p["url"], p["title"]) for p in pages[1:]) == sorted(
        (s.url, s.title) for s in stored
    )
    assert len(index) == len(stored) and index == sorted(index)

    # the same export again: the same bytes
    assert _export(db, tmp_path / "again", "--wacz").read_bytes() == wacz.read_bytes()

    # pywb opens it (wb-manager unpacks the WARCs and takes the WACZ's own CDXJ index) and
    # replays every page as captured, original bytes in id_ mode
    make_collection(tmp_path / "pywb", "snap", [wacz], unpack_wacz=True)
    with running_pywb(tmp_path / "pywb") as base:
        for page in stored:
            stamp = datetime.fromisoformat(page.fetched_at).strftime("%Y%m%d%H%M%S")
            with urllib.request.urlopen(f"{base}/snap/{stamp}id_/{page.url}") as answer:
                assert answer.status == 200
                assert answer.headers["Memento-Datetime"]
                assert answer.read() == page.body


def test_export_wacz_with_warc_keeps_both(tmp_path: Path) -> None:
    db, stored = mirror_archive(tmp_path / "archive", count=2)
    wacz = _export(db, tmp_path / "snap", "--wacz", "--with-warc")
    assert verify_snapshot(tmp_path / "snap") == []
    warcs = sorted((tmp_path / "snap" / "warc").iterdir())
    with zipfile.ZipFile(wacz) as zipped:
        for warc in warcs:
            assert zipped.read(f"archive/{warc.name}") == warc.read_bytes()
        index = zipped.read(INDEX).decode().splitlines()
    # every line names its WARC by the name it has in the WACZ, and the capture's URL
    lines = [json.loads(line.split(" ", 2)[2]) for line in index]
    assert {line["filename"] for line in lines} == {w.name for w in warcs}
    assert sorted(line["url"] for line in lines) == sorted(s.url for s in stored)


def test_a_snapshot_wacz_imports_back_into_an_equal_archive(tmp_path: Path) -> None:
    """A researcher's snapshot WACZ, imported into an empty archive, gives back every article
    with the same record and capture time: the export and the import agree on the format."""
    db, stored = mirror_archive(tmp_path / "archive", count=4)
    wacz = _export(db, tmp_path / "snap", "--wacz")
    fresh = tmp_path / "fresh" / "qiosk.db"
    result = CliRunner().invoke(
        main,
        ["import", str(wacz), "--source", "own-wacz", "--db", str(fresh), "--no-check-live"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f": {len(stored)} captures; {len(stored)} new;" in result.output
    with Archive(db) as source, Archive(fresh) as copy:
        for page in stored:
            (was,), (now,) = source.revisions(page.url), copy.revisions(page.url)
            assert now["record"] == was["record"]
            assert now["fetched_at"] == was["fetched_at"] == page.fetched_at
        assert copy.archive_only_articles() == sorted(s.url for s in stored)
