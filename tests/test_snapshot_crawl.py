"""A snapshot of a real crawl of the mirror: its WARC records alone re-extract to its articles."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from support.crawl import PROFILE

from qiosk_scraper.extract import extract_article
from qiosk_scraper.mirror import running_mirror
from qiosk_scraper.snapshot import export_snapshot, layout, verify_snapshot
from qiosk_scraper.urls import canonicalize, same_site
from qiosk_scraper.warc import read_record

QIOSK = str(Path(sys.executable).with_name("qiosk"))


def reextract(snapshot: Path, site: str) -> list[dict[str, object]]:
    """Each revision's record extracted again from the snapshot's own WARC records, the way the
    crawl's pipeline does it (canonical URL of the response; the page's canonical link unless
    it leaves the site), sorted by URL."""
    with (snapshot / "csv" / "captures.csv").open(encoding="utf-8", newline="") as handle:
        captures = {int(row["id"]): row for row in csv.DictReader(handle)}
    records = []
    for line in (snapshot / layout.REVISIONS_JSONL).read_text(encoding="utf-8").split("\n")[:-1]:
        capture = captures[json.loads(line)["capture_id"]]
        _, payload = read_record(snapshot / capture["warc_file"], int(capture["warc_offset"]))
        page_url = canonicalize(capture["url"])
        when = datetime.fromisoformat(capture["fetched_at"])
        record = extract_article(payload, page_url, when).to_record(extras=False)
        url = canonicalize(record["url"])
        record["url"] = url if same_site(url, site) else page_url
        records.append(record)
    return sorted(records, key=lambda r: str(r["url"]))


def test_a_with_warc_snapshot_of_a_crawl_reextracts_to_its_articles(tmp_path: Path) -> None:
    crawl = tmp_path / "crawl"
    with running_mirror(articles=60, seed=11) as mirror:
        command = [QIOSK, "crawl", "--site", mirror.base_url, "--delay", "0", *PROFILE]
        done = subprocess.run(
            [*command, "--db", str(crawl / "qiosk.db")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        site = mirror.base_url
    assert done.returncode == 0, done.stderr[-3000:]

    result = export_snapshot(crawl / "qiosk.db", tmp_path / "snap", with_warc=True)
    assert result.articles == 60
    shutil.copytree(crawl, tmp_path / "copy")
    export_snapshot(tmp_path / "copy" / "qiosk.db", tmp_path / "again", with_warc=True)
    shutil.rmtree(crawl)  # from here on, the snapshot alone

    snap = tmp_path / "snap"
    assert verify_snapshot(snap) == []
    articles = [
        json.loads(line)
        for line in (snap / layout.ARTICLES_JSONL).read_text(encoding="utf-8").split("\n")[:-1]
    ]
    assert reextract(snap, site) == articles
    again = tmp_path / "again"
    assert sorted(p.relative_to(again) for p in again.rglob("*")) == sorted(
        p.relative_to(snap) for p in snap.rglob("*")
    )
    for path in snap.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (again / path.relative_to(snap)).read_bytes(), path
