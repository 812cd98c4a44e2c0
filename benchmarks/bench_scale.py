"""``make bench-scale``: how the archive scales (issue 16, "Scale"): archives of several sizes
built by ``qiosk import`` (much faster than a crawl), then for each size the snapshot export,
the archive's size, the peak memory of the import and the export, and full-text search through
the articles page of ``qiosk serve``.

The captures are the mirror's article pages (``qiosk_scraper.mirror.Site``, rendered in this
process, no HTTP) at the outlet's own URLs (``https://responsiblestatecraft.org/...``, so the
outlet's profile applies), one gzipped WARC response record per article with the article's last
change as its WARC-Date, 5,000 records a file. Every command is its own process, measured from
outside as ``benchmarks/bench.py`` measures (wall time, CPU seconds, peak RSS of the process
tree: see its docstring); the helpers are bench.py's.

Figures per size: ``import_*``, ``snapshot_*`` (``qiosk snapshot export --with-warc``),
``archive_bytes`` (the database and the archive's WARC folder), ``fts_*`` (p50/p95 over
``--queries`` searches of ``/archive/articles.json?_search=...`` as the articles page asks it,
facets and count included; ``fts_bare_*`` without them; ``fts_matched_*``: the share of the
articles a search matches, over which its facets and count go). Scaling, largest size over
smallest: seconds per article and bytes per article of the export and the archive (linear: about
1; wall seconds and CPU seconds, since on a shared machine the wall time also follows the load),
peak RSS of the import and the export (flat: about 1).

Usage: .venv/bin/python benchmarks/bench_scale.py [--sizes 5000,50000] [--queries 50]
       [--work DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any


def _bench_module() -> ModuleType:
    """benchmarks/bench.py, loaded as a module (it is a script, not a package)."""
    path = Path(__file__).resolve().parent / "bench.py"
    spec = importlib.util.spec_from_file_location("qiosk_bench", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return module


bench = _bench_module()
ROOT: Path = bench.ROOT
BenchError = bench.BenchError

OUTLET = "https://responsiblestatecraft.org"  # the default site and profile of qiosk import
PER_FILE = 5000  # WARC records a file
SOURCE = "bench"

# Figures of each size.
SIZE_FIGURES = (
    "articles",
    "warc_files",
    "warc_input_bytes",
    "warc_write_s",
    "import_seconds",
    "import_cpu_s",
    "import_articles_per_s",
    "import_peak_rss_mb",
    "archive_bytes",
    "archive_bytes_per_article",
    "snapshot_seconds",
    "snapshot_cpu_s",
    "snapshot_s_per_article",
    "snapshot_bytes",
    "snapshot_bytes_per_article",
    "snapshot_peak_rss_mb",
    "fts_queries",
    "fts_p50_ms",
    "fts_p95_ms",
    "fts_max_ms",
    "fts_bare_p95_ms",
    "fts_matched_p50",
    "fts_matched_p95",
)
# Largest over smallest size.
RATIOS = {
    "import_s_per_article_ratio": ("import_seconds", True),
    "import_cpu_s_per_article_ratio": ("import_cpu_s", True),
    "snapshot_s_per_article_ratio": ("snapshot_seconds", True),
    "snapshot_cpu_s_per_article_ratio": ("snapshot_cpu_s", True),
    "snapshot_bytes_per_article_ratio": ("snapshot_bytes", True),
    "archive_bytes_per_article_ratio": ("archive_bytes", True),
    "import_rss_ratio": ("import_peak_rss_mb", False),
    "snapshot_rss_ratio": ("snapshot_peak_rss_mb", False),
}


def write_captures(articles: int, seed: int, folder: Path) -> list[Path]:
    """The mirror's article pages as gzipped WARC files of :data:`PER_FILE` response records,
    at the outlet's URLs, each dated by the article's last change."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from qiosk_scraper.mirror import Site

    folder.mkdir(parents=True, exist_ok=True)
    site = Site(articles, seed)
    metas = list(site.order)
    files = []
    for start in range(0, len(metas), PER_FILE):
        path = folder / f"captures-{start // PER_FILE + 1:03d}.warc.gz"
        with path.open("wb") as handle:
            writer = WARCWriter(handle, gzip=True)
            for meta in metas[start : start + PER_FILE]:
                answer = site.respond(meta.path, OUTLET)
                if answer.status != 200:
                    raise BenchError(f"mirror: {meta.path} answered {answer.status}")
                http = StatusAndHeaders(
                    "200 OK", [("Content-Type", answer.content_type)], protocol="HTTP/1.1"
                )
                date = meta.last_change.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                record = writer.create_warc_record(
                    site.url(meta, OUTLET),
                    "response",
                    payload=io.BytesIO(answer.body),
                    length=len(answer.body),
                    warc_headers_dict={"WARC-Date": date},
                    http_headers=http,
                )
                writer.write_record(record)
        files.append(path)
    return files


def import_archive(files: list[Path], db: Path, log: Path, timeout: float) -> Any:
    db.parent.mkdir(parents=True, exist_ok=True)
    argv = [bench.executable("qiosk"), "import", *map(str, files), "--source", SOURCE]
    argv += ["--db", str(db), "--no-check-live"]  # the import alone is measured
    return bench.checked(bench.measure(argv, log, timeout=timeout), "qiosk import")


def matched(db: Path, queries: list[str]) -> list[int]:
    """How many articles each query matches, as the articles page searches (``escape_fts``):
    the facets and the count of a search go over every article it matches."""
    from datasette.utils import escape_fts

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        found = [
            conn.execute(
                "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [escape_fts(q)]
            ).fetchone()[0]
            for q in queries
        ]
    conn.close()
    return found


@dataclass
class ScaleBench:
    sizes: list[int]
    seed: int
    queries: int
    work: Path
    timeout: float
    figures: dict[int, dict[str, Any]] = field(default_factory=dict)
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        bench.say("bench-scale", text)

    def keep(self, name: str, run: Any) -> Any:
        return bench.keep(self.runs, name, run)

    def run(self, done: Callable[[], None]) -> None:
        """Every size, smallest first; ``done`` after each (the figures so far are written)."""
        for size in self.sizes:
            self.one(size)
            done()

    def one(self, size: int) -> None:
        f: dict[str, Any] = {}
        self.figures[size] = f
        folder = self.work / str(size)
        if folder.exists():
            shutil.rmtree(folder)
        self.say(f"{size:,} articles: writing the captures (WARC)")
        started = time.perf_counter()
        files = write_captures(size, self.seed, folder / "captures")
        f["warc_write_s"] = time.perf_counter() - started
        f["warc_files"] = len(files)
        f["warc_input_bytes"] = sum(p.stat().st_size for p in files)

        self.say(f"{size:,}: qiosk import of {len(files)} files")
        db = folder / "archive" / "archive.db"
        run = self.keep(f"import_{size}", import_archive(files, db, folder / "import.log",
                                                          self.timeout))  # fmt: skip
        f["articles"] = bench.archive_counts(db)["articles"]
        if f["articles"] != size:
            raise BenchError(f"qiosk import archived {f['articles']} of {size} articles")
        f["import_seconds"] = run.wall_s
        f["import_cpu_s"] = run.cpu_s
        f["import_articles_per_s"] = size / run.wall_s
        f["import_peak_rss_mb"] = run.peak_rss_mb
        f["archive_bytes"] = bench.folder_bytes(db.parent)
        f["archive_bytes_per_article"] = f["archive_bytes"] / size

        self.say(f"{size:,}: qiosk snapshot export --with-warc")
        out = folder / "snapshot"
        run = self.keep(
            f"snapshot_{size}", bench.snapshot(db, out, folder / "snapshot.log", self.timeout)
        )
        f["snapshot_seconds"] = run.wall_s
        f["snapshot_cpu_s"] = run.cpu_s
        f["snapshot_s_per_article"] = run.wall_s / size
        f["snapshot_bytes"] = bench.folder_bytes(out)
        f["snapshot_bytes_per_article"] = f["snapshot_bytes"] / size
        f["snapshot_peak_rss_mb"] = run.peak_rss_mb
        shutil.rmtree(out)  # the snapshot is measured; its copy of the WARC is not needed

        self.say(f"{size:,}: {self.queries} searches through qiosk serve")
        queries = bench.search_words(db, self.queries)
        with bench.datasette(db, folder / "serve.log") as server:
            fts = bench.fts_latency(server.base_url, queries)
        shares = sorted(n / size for n in matched(db, queries))
        f["fts_matched_p50"] = statistics.median(shares)
        f["fts_matched_p95"] = bench.percentile(shares, 0.95)
        f.update({k: v for k, v in fts.items() if k in SIZE_FIGURES})
        self.extra[size] = {k: v for k, v in fts.items() if k not in SIZE_FIGURES}
        shutil.rmtree(folder / "captures")  # the input files; the archive holds its own copy

    def ratios(self) -> dict[str, float]:
        measured = sorted(s for s in self.sizes if "fts_p95_ms" in self.figures.get(s, {}))
        if len(measured) < 2:
            return {}
        small, large = measured[0], measured[-1]
        a, b = self.figures[small], self.figures[large]
        found = {}
        for name, (figure, per_article) in RATIOS.items():
            if per_article:
                found[name] = (b[figure] / large) / (a[figure] / small)
            else:
                found[name] = b[figure] / a[figure]
        return found


def targets(bench_: ScaleBench, ratios: dict[str, float]) -> dict[str, dict[str, Any]]:
    largest = bench_.figures[max(bench_.sizes)]
    rows: dict[str, tuple[str, float, bool]] = {
        "fts_p95_ms": ("< 50 ms", largest["fts_p95_ms"], largest["fts_p95_ms"] < 50),
    }
    for name in (
        "snapshot_s_per_article_ratio",
        "snapshot_cpu_s_per_article_ratio",  # wall time also follows the machine's load
        "snapshot_bytes_per_article_ratio",
        "archive_bytes_per_article_ratio",
        "import_rss_ratio",
        "snapshot_rss_ratio",
    ):
        rows[name] = ("<= 1.2x", ratios[name], ratios[name] <= 1.2)
    return {name: {"target": t, "value": v, "met": ok} for name, (t, v, ok) in rows.items()}


def table(bench_: ScaleBench, ratios: dict[str, float], goals: dict[str, Any]) -> str:
    sizes = bench_.sizes
    small, large = min(sizes), max(sizes)
    lines_: list[tuple[str, ...]] = []

    def row(label: str, figure: str, spec: str, unit: str = "", goal: str = "") -> None:
        cells = [f"{bench_.figures[s][figure]:{spec}}{unit}" for s in sizes]
        verdict = ""
        if goal:
            verdict = f"{goals[goal]['target']} {'pass' if goals[goal]['met'] else 'MISS'}"
        lines_.append((label, *cells, verdict))

    lines_.append(("figure", *(f"{s:,} articles" for s in sizes), "target (largest)"))
    row("import wall time", "import_seconds", ",.1f", " s")
    row("import articles/s", "import_articles_per_s", ",.1f")
    row("import peak RSS", "import_peak_rss_mb", ",.0f", " MB")
    row("archive size (db + WARC)", "archive_bytes", ",.0f", " B")
    row("  per article", "archive_bytes_per_article", ",.0f", " B")
    row("snapshot export wall time", "snapshot_seconds", ",.1f", " s")
    row("  per article", "snapshot_s_per_article", ".5f", " s")
    row("snapshot size", "snapshot_bytes", ",.0f", " B")
    row("  per article", "snapshot_bytes_per_article", ",.0f", " B")
    row("snapshot peak RSS", "snapshot_peak_rss_mb", ",.0f", " MB")
    row("search p50 (articles page)", "fts_p50_ms", ",.1f", " ms")
    row("search p95 (articles page)", "fts_p95_ms", ",.1f", " ms", "fts_p95_ms")
    row("search p95 without facets/count", "fts_bare_p95_ms", ",.1f", " ms")
    row("share of articles a search matches, p50", "fts_matched_p50", ".0%")
    row("  p95", "fts_matched_p95", ".0%")
    blank = [""] * (len(sizes) - 1)
    labels = {
        "import_s_per_article_ratio": "import s/article",
        "import_cpu_s_per_article_ratio": "import CPU s/article",
        "snapshot_s_per_article_ratio": "export s/article",
        "snapshot_cpu_s_per_article_ratio": "export CPU s/article",
        "snapshot_bytes_per_article_ratio": "snapshot bytes/article",
        "archive_bytes_per_article_ratio": "archive bytes/article",
        "import_rss_ratio": "import peak RSS",
        "snapshot_rss_ratio": "export peak RSS",
    }
    for name, label in labels.items():
        verdict = ""
        if name in goals:
            verdict = f"{goals[name]['target']} {'pass' if goals[name]['met'] else 'MISS'}"
        lines_.append((f"{label}, {large:,} / {small:,}", *blank, f"{ratios[name]:.2f}x", verdict))
    widths = [max(len(r[i]) for r in lines_) for i in range(len(lines_[0]))]
    rule = "-" * (sum(widths) + 3 * (len(widths) - 1))
    text = [rule]
    for i, cells in enumerate(lines_):
        first = f"{cells[0]:<{widths[0]}}"
        middle = [f"{c:>{w}}" for c, w in zip(cells[1:-1], widths[1:-1], strict=True)]
        text.append("   ".join([first, *middle, cells[-1]]).rstrip())
        if i == 0:
            text.append(rule)
    text.append(rule)
    return "\n".join(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,50000", help="archive sizes, comma-separated")
    parser.add_argument("--seed", type=int, default=1, help="seed of the mirror")
    parser.add_argument("--queries", type=int, default=50, help="full-text search queries")
    parser.add_argument("--out", type=Path, help="JSON file (archive/bench/scale-<UTC>.json)")
    parser.add_argument("--work", type=Path, help="folder for the archives (default: temporary)")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds allowed per command")
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--sizes {args.sizes!r}: expected numbers separated by commas")
    if len(sizes) < 2:
        parser.error("--sizes: give at least two sizes, e.g. 5000,50000")
    started = datetime.now(UTC)
    out = args.out or ROOT / "archive" / "bench" / f"scale-{started:%Y%m%dT%H%M%SZ}.json"
    work = args.work or Path(tempfile.mkdtemp(prefix="qiosk-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    scale = ScaleBench(sizes, args.seed, args.queries, work, args.timeout)
    load_before = os.getloadavg()

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(f"bench-scale: stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminated)

    def write() -> None:
        ratios = scale.ratios()
        report = {
            "meta": {
                "started": started.isoformat(timespec="seconds"),
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "sizes": sizes,
                "sizes_done": sorted(scale.figures),
                "seed": args.seed,
                "cpu_count": os.cpu_count(),
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                **bench.git_state(),
            },
            "sizes": {
                str(s): {n: f.get(n) for n in SIZE_FIGURES} for s, f in scale.figures.items()
            },
            "ratios": ratios,
            "targets": targets(scale, ratios) if ratios else {},
            "details": {str(s): v for s, v in scale.extra.items()},
            "runs": scale.runs,
            "notes": scale.notes,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")

    try:
        scale.run(write)
    except BenchError as error:
        print(f"bench-scale: {error}", file=sys.stderr)
        return 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    ratios = scale.ratios()
    goals = targets(scale, ratios)
    print(table(scale, ratios, goals))
    for note in scale.notes:
        print(f"note: {note}")
    print(f"load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
