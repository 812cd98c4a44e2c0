"""The snapshot names every source of its captures (issue 16, item 5): the site's crawls and each
web archive captures were imported from, with their figures in ``qiosk.sources`` of
datapackage.json, and the provenance rows in its archive.db; still byte-reproducible and
verified."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from support.sources import sourced_archive

from qiosk_scraper.archive import Archive
from qiosk_scraper.snapshot import export_snapshot, layout, verify_snapshot

QIOSK = str(Path(sys.executable).with_name("qiosk"))


def contents(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_datapackage_names_every_source_with_its_figures(tmp_path: Path) -> None:
    sourced = sourced_archive(tmp_path / "built")
    first = export_snapshot(sourced.db, tmp_path / "a", with_warc=True)
    again = subprocess.run(  # another process, another hash seed: no set order leaks
        [QIOSK, "snapshot", "export", str(tmp_path / "b"), "--with-warc", "--db", str(sourced.db)],
        env={**os.environ, "PYTHONHASHSEED": "4321"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert contents(tmp_path / "a") == contents(tmp_path / "b")
    verified = subprocess.run(
        [QIOSK, "snapshot", "verify", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    package = json.loads((tmp_path / "a" / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    # The snapshot holds the captures its revisions (and u2's 404) point at: not the
    # captures that added nothing (u1 again; the crawl's of a1, which own-warc saw first).
    assert package["qiosk"]["sources"] == [
        {
            "name": "crawl",
            "captures": 4,
            "articles": 2,
            "articles_with_a_revision": 3,
            "revisions": 3,
        },
        {
            "name": "own-warc",
            "captures": 3,
            "articles": 3,
            "articles_with_a_revision": 3,
            "revisions": 3,
        },
        {
            "name": "wayback",
            "captures": 2,
            "articles": 1,
            "articles_with_a_revision": 2,
            "revisions": 2,
        },
    ]
    # the same figures as the archive's for what a snapshot counts the same way
    counted = ("articles_brought", "articles_with_a_revision", "revisions")
    assert [
        (s["name"], s["articles"], s["articles_with_a_revision"], s["revisions"])
        for s in package["qiosk"]["sources"]
    ] == [(f["source"], *(f[k] for k in counted)) for f in sourced.figures]
    assert sorted(package["qiosk"]["sources_fields"]) == sorted(package["qiosk"]["sources"][0])
    assert package["sources"][1:] == [
        {"title": "Web archive: own-warc"},
        {"title": "Web archive: wayback"},
    ]
    assert first.captures == 9
    # the provenance of the imported captures travels with them
    with Archive(sourced.db) as archive:
        imported = list(archive.db.query("SELECT * FROM capture_sources ORDER BY capture_id"))
    snapshot_db = tmp_path / "a" / layout.ARCHIVE_DB
    tables = Archive.count_rows_read_only(snapshot_db)
    assert tables["capture_sources"] == 5
    resource = next(r for r in package["resources"] if r["path"] == layout.ARCHIVE_DB)
    assert resource["tables"]["capture_sources"] == 5
    held = {row["capture_id"] for row in imported}
    assert len(held) == 7  # 4 own-warc captures, 3 wayback
    readme = (tmp_path / "a" / layout.README).read_text(encoding="utf-8")
    assert "| wayback | 2 | 1 | 2 | 2 |" in readme
    assert "| crawl | 4 | 2 | 3 | 3 |" in readme
    # verify counts them again from archive.db: a changed figure is caught, even resealed
    path = tmp_path / "a" / layout.DATAPACKAGE
    package["qiosk"]["sources"][2]["articles"] = 2
    path.write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    sums = tmp_path / "a" / layout.SUMS
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sums.write_text(
        "".join(
            f"{digest}  {layout.DATAPACKAGE}\n"
            if line.endswith(f"  {layout.DATAPACKAGE}")
            else f"{line}\n"
            for line in sums.read_text(encoding="utf-8").splitlines()
        ),
        encoding="utf-8",
    )
    problems = verify_snapshot(tmp_path / "a")
    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        (
            layout.DATAPACKAGE,
            f"qiosk.sources differs from the captures and revisions of {layout.ARCHIVE_DB}",
        )
    ]
