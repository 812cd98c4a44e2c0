"""``make bench`` (benchmarks/bench.py) runs end to end on a tiny mirror and writes every figure.

No timing is asserted: only that each step ran and measured something.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench.py"


bench = load_script("bench.py", "qiosk_bench")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "bench.json"
    argv = [sys.executable, str(SCRIPT), "--articles", "60", "--small", "60", "--queries", "12"]
    argv += ["--out", str(out), "--work", str(folder / "work"), "--timeout", "600"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=False)
    return done, out


def test_bench_runs_and_writes_every_figure(
    run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, out = run
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    figures = report["figures"]
    assert set(figures) == set(bench.FIGURES)
    built = bench.reextract_available()
    for name, value in figures.items():
        if name in bench.OPTIONAL and not built:
            assert value is None, name
        else:
            assert isinstance(value, int | float) and value > 0, (name, value)
    assert figures["crawl_articles"] == 60  # the whole mirror archived
    assert figures["import_articles"] == 60  # and imported from the WARC of its pages
    assert figures["small_crawl_articles"] == 60
    assert figures["limit_pages"] == 60  # the article pages, not the images the sitemaps list
    assert 0 < figures["peer_articles"] <= 60
    assert figures["fts_queries"] == 12
    assert report["details"]["fts_queries_with_hits"] == 12  # the words come from the titles
    assert figures["limit_articles_per_s"] == pytest.approx(
        figures["limit_articles_per_s_per_core"] * figures["limit_cores"]
    )
    assert {run["returncode"] for run in report["runs"].values()} == {0}
    assert set(report["runs"]) >= {"import", "small_import", "crawl", "small_crawl"}
    assert set(report["targets"]) == {
        "crawl_fraction_of_limit",
        "import_fraction_of_limit",
        "reextract_fraction_of_limit",
        "import_rss_growth",
        "ratio_to_peer",
        "body_f1_ours",
        "rss_growth",
        "fts_p95_ms",
    }
    for target in report["targets"].values():
        assert target["met"] in (True, False, None)
        assert (target["met"] is None) == (target["value"] is None)


def test_bench_prints_one_table(run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, out = run
    assert done.returncode == 0, done.stderr[-3000:]
    for row in (
        "crawl, 60 articles, --delay 0",
        "limit: bare_extraction alone",
        "crawl / limit",
        "qiosk import, a WARC of 60 captures",
        "import / limit",
        "peer: trafilatura CLI",
        "ours / peer (articles/s)",
        "qiosk reextract",
        "qiosk snapshot export --with-warc",
        "full-text search, 12 queries",
        "p95",
        "peak RSS, 60 / 60",
        "import peak RSS, 60 / 60",
    ):
        assert row in done.stdout
    assert f"figures written to {out}" in done.stdout


def test_targets_verdicts() -> None:
    figures = dict.fromkeys(bench.FIGURES, 1.0)
    figures.update(
        crawl_fraction_of_limit=0.79,
        import_fraction_of_limit=0.9,
        reextract_fraction_of_limit=0.89,
        import_rss_growth=1.21,
        ratio_to_peer=1.5,
        body_f1_ours=0.99,
        body_f1_peer=0.86,
        rss_growth=1.2,
        fts_p95_ms=100.0,
    )
    met = {name: row["met"] for name, row in bench.targets(figures).items()}
    assert met == {
        "crawl_fraction_of_limit": False,
        "import_fraction_of_limit": True,
        "reextract_fraction_of_limit": False,
        "import_rss_growth": False,
        "ratio_to_peer": True,
        "body_f1_ours": True,
        "rss_growth": True,
        "fts_p95_ms": False,
    }


def test_search_words_are_fixed(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "a.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE articles (url TEXT, title TEXT)")
        conn.executemany(
            "INSERT INTO articles VALUES (?, ?)",
            [("u1", "Sanctions on Caracas bite"), ("u2", "Why the Pentagon budget grows")],
        )
    conn.close()
    first = bench.search_words(db, 10)
    assert first == bench.search_words(db, 10)
    words = {"sanctions", "caracas", "bite", "pentagon", "budget", "grows"}
    for query in first:
        assert set(query.split()) <= words
