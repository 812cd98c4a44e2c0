"""Concurrency (issue 8): while a crawl writes, Datasette (``qiosk serve --live``) keeps
answering, and a snapshot taken meanwhile is a consistent cut: intact, and every article in it
exactly as the archive has it once the crawl is over (no half-written article)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support.crawl import SCRIPTED_CRAWL

from qiosk_scraper import datasette as qds
from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import running_mirror
from qiosk_scraper.snapshot import export_snapshot, layout, verify_snapshot

# One request at a time, 30 ms apart: the crawl of 60 articles writes for several seconds.
SLOW = {"CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY": 0.03, "RANDOMIZE_DOWNLOAD_DELAY": 0}


def count(datasette: Any) -> int:
    answer = asyncio.run(datasette.client.get("/archive/articles.json?_size=1"))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["filtered_table_rows_count"])


def test_datasette_answers_and_a_snapshot_is_a_clean_cut_while_a_crawl_writes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "qiosk.db"
    with running_mirror(articles=60, seed=9) as mirror:
        arguments = {"site": mirror.base_url, "db": str(db), "delay": 0}
        crawl = subprocess.Popen(
            [sys.executable, "-c", SCRIPTED_CRAWL, json.dumps(arguments), json.dumps(SLOW)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            datasette = None
            while datasette is None and crawl.poll() is None:
                try:
                    datasette, _ = qds.build_datasette(db, live=True)
                except qds.ServeError:  # the crawl has not made the archive yet
                    time.sleep(0.05)
            assert datasette is not None, "the crawl ended before the archive could be served"
            seen: list[int] = []
            snapshots: list[Path] = []
            while crawl.poll() is None:
                seen.append(count(datasette))
                if seen[-1] >= 10 * (len(snapshots) + 1) and len(snapshots) < 2:
                    out = tmp_path / f"snapshot{len(snapshots)}"
                    export_snapshot(db, out)
                    snapshots.append(out)
                time.sleep(0.05)
            _, errors = crawl.communicate(timeout=300)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert crawl.returncode == 0, errors[-3000:]
    final = count(datasette)
    assert final == 60
    assert len(seen) >= 10 and any(0 < c < final for c in seen)
    assert seen == sorted(seen)  # never a step back
    assert len(snapshots) == 2, seen  # taken while articles were still coming in
    with Archive(db) as archive:
        for snapshot in snapshots:
            assert verify_snapshot(snapshot) == []
            lines = (snapshot / layout.ARTICLES_JSONL).read_text(encoding="utf-8").split("\n")
            records = [json.loads(line) for line in lines if line]
            assert 10 <= len(records) < final
            for record in records:
                assert record == archive.article_record(record["url"]), record["url"]
