"""``make bench-scale`` (benchmarks/bench_scale.py) runs end to end on two tiny sizes, writes every
figure, and builds archives holding every article of the mirror by ``qiosk import``.

No timing is asserted: only that each step ran and measured something.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.scripts import load_script
from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.mirror import Site

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_scale.py"
SIZES = (60, 120)


scale = load_script("bench_scale.py", "qiosk_bench_scale")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path_factory.mktemp("bench-scale")
    argv = [sys.executable, str(SCRIPT), "--sizes", ",".join(map(str, SIZES)), "--queries", "8"]
    argv += ["--out", str(folder / "scale.json"), "--work", str(folder / "work")]
    argv += ["--timeout", "600"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=False)
    return done, folder


def test_every_figure_of_every_size_is_written(
    run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, folder = run
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((folder / "scale.json").read_text())
    assert report["meta"]["sizes"] == list(SIZES) == report["meta"]["sizes_done"]
    for size in SIZES:
        figures = report["sizes"][str(size)]
        assert set(figures) == set(scale.SIZE_FIGURES)
        for name, value in figures.items():
            assert isinstance(value, int | float) and value > 0, (size, name, value)
        assert figures["articles"] == size
        assert figures["fts_queries"] == 8
    assert set(report["ratios"]) == set(scale.RATIOS)
    assert all(v > 0 for v in report["ratios"].values())
    assert set(report["targets"]) >= {"fts_p95_ms", "import_rss_ratio", "snapshot_rss_ratio"}
    assert all(isinstance(t["met"], bool) for t in report["targets"].values())
    assert "search p95 (articles page)" in done.stdout  # the table
    assert f"{SIZES[-1]} / {SIZES[0]}" in done.stdout


def test_the_archives_hold_every_article_imported(
    run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, folder = run
    assert done.returncode == 0, done.stderr[-3000:]
    for size in SIZES:
        db = folder / "work" / str(size) / "archive" / "archive.db"
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            urls = {u for (u,) in conn.execute("SELECT url FROM articles")}
            captures = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
        conn.close()
        gold = Site(size, 1).gold(scale.OUTLET)
        assert urls == {record["url"] for record in gold.values()}
        assert captures == size  # one capture an article, each imported once
        assert list((folder / "work" / str(size) / "archive" / "warc").glob("*.warc.gz"))


def test_captures_are_the_outlets_urls_dated_by_each_article(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "PER_FILE", 25)
    files = scale.write_captures(60, 3, tmp_path)
    assert [p.name for p in files] == [f"captures-00{i}.warc.gz" for i in (1, 2, 3)]
    site = Site(60, 3)
    expected = {
        site.url(m, scale.OUTLET): m.last_change.strftime("%Y-%m-%dT%H:%M:%SZ") for m in site.order
    }
    found = {}
    for path in files:
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                assert record.rec_type == "response"
                url = record.rec_headers.get_header("WARC-Target-URI")
                found[url] = record.rec_headers.get_header("WARC-Date")
                assert record.http_headers.get_statuscode() == "200"
                assert b"<html" in record.content_stream().read().lower()
    assert found == expected
