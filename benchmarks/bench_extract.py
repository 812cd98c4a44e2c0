"""Extraction benchmark (``make bench-extract``), all figures from one run:

1. body F1 of ``extract_article`` against plain ``trafilatura.extract`` on the 181 real pages
   of the article extraction benchmark (../shared/bench, read in place, never copied), scored
   the benchmark's way (:mod:`qiosk_scraper.evaluate`);
2. how often title, authors and published date were taken from structured data (JSON-LD or
   meta tags) on the pages that carry them;
3. milliseconds per page of ``extract_article`` against ``trafilatura.bare_extraction`` alone on
   the same mirror pages, and their ratio;
4. with ``--baseline DIR`` (a directory holding another version of the ``qiosk_scraper`` package,
   e.g. ``git archive main qiosk_scraper | tar -x -C DIR``): milliseconds per page of that
   version's ``extract_article`` and of this one, each timed in a child process on the same
   mirror pages, rounds interleaved, and their ratio (target at most 1.3x).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura

from qiosk_scraper.evaluate import corpus_f1, shingle_match
from qiosk_scraper.extract import NotAnArticle, extract_article
from qiosk_scraper.extract.page import parse_html
from qiosk_scraper.extract.structured import linked_data, meta_tags
from qiosk_scraper.mirror.build import build
from qiosk_scraper.mirror.site import Site

ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the checkout, or beside the directory of worktrees holding it
DEFAULT_BENCH = next(
    (
        d / "shared" / "bench" / "article-extraction-benchmark"
        for d in (ROOT.parent, ROOT.parent.parent)
        if (d / "shared" / "bench" / "article-extraction-benchmark").is_dir()
    ),
    ROOT.parent / "shared" / "bench" / "article-extraction-benchmark",
)
WORSE_BY = 0.05  # a page worse than trafilatura by more than this is listed
STRUCTURED = ("json-ld", "meta")
FETCHED_AT = datetime(2024, 1, 1, tzinfo=UTC)


def structured_fields(html: bytes) -> set[str]:
    """Which of title/authors/published the page's structured data carries."""
    try:
        tree = parse_html(html)
    except NotAnArticle:
        return set()
    ld, meta = linked_data(tree), meta_tags(tree)
    fields = set()
    if (ld and ld.headline) or meta.get("og:title"):
        fields.add("title")
    author = meta.get("author") or meta.get("article:author") or ""
    if (ld and ld.authors) or (author and not author.startswith(("http://", "https://"))):
        fields.add("authors")
    if (ld and ld.date_published) or meta.get("article:published_time"):
        fields.add("published")
    return fields


def real_pages(bench: Path) -> None:
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    ours, theirs, refused = [], [], 0
    has = {"title": 0, "authors": 0, "published": 0}
    used = dict.fromkeys(has, 0)
    for key, entry in truth.items():
        html = gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes())
        try:
            article = extract_article(html, entry["url"], FETCHED_AT)
            body, provenance = article.body, article.provenance
        except NotAnArticle:
            body, provenance, refused = "", {}, refused + 1
        ours.append(shingle_match(entry["articleBody"], body))
        theirs.append(shingle_match(entry["articleBody"], trafilatura.extract(html) or ""))
        for name in structured_fields(html):
            has[name] += 1
            used[name] += provenance.get(name) in STRUCTURED
    f1, precision, recall = corpus_f1(ours)
    t_f1, t_precision, t_recall = corpus_f1(theirs)
    worse = [
        (key, corpus_f1([o])[0], corpus_f1([t])[0])
        for key, o, t in zip(truth, ours, theirs, strict=True)
        if corpus_f1([o])[0] < corpus_f1([t])[0] - WORSE_BY
    ]
    print(f"real pages ({len(truth)}, {bench}):")
    print(f"  extract_article      F1 {f1:.4f}  precision {precision:.4f}  recall {recall:.4f}")
    print(
        f"  trafilatura.extract  F1 {t_f1:.4f}  precision {t_precision:.4f}  recall {t_recall:.4f}"
    )
    print(f"  ours - trafilatura   {f1 - t_f1:+.4f}  ({refused} pages refused as not articles)")
    worst = min(corpus_f1([o])[0] - corpus_f1([t])[0] for o, t in zip(ours, theirs, strict=True))
    print(
        f"  pages worse than trafilatura by more than {WORSE_BY}: {len(worse)} (worst {worst:+.4f})"
    )
    for key, mine, plain in worse:
        print(f"    {key[:16]}  ours {mine:.4f}  trafilatura {plain:.4f}")
    print("  filled from structured data, on the pages that have it:")
    for name in has:
        print(f"    {name:<10} {used[name]:>4} / {has[name]:<4}")


def mirror_pages(articles: int, layout: str = "single") -> list[tuple[bytes, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        build(Site(articles=articles, layout=layout), out)
        pages = []
        for gold in sorted((out / "gold").glob("*.json")):
            url = json.loads(gold.read_text(encoding="utf-8"))["url"]
            page = out / urlsplit(url).path.strip("/") / "index.html"
            pages.append((page.read_bytes(), url))
    return pages


def per_page_ms(run: Callable[[bytes, str], object], pages: list[tuple[bytes, str]]) -> float:
    start = time.perf_counter()
    for html, url in pages:
        run(html, url)
    return (time.perf_counter() - start) * 1000 / len(pages)


def cost(articles: int, rounds: int) -> None:
    pages = mirror_pages(articles)

    def ours(html: bytes, url: str) -> object:
        return extract_article(html, url, FETCHED_AT)

    def bare(html: bytes, url: str) -> object:
        return trafilatura.bare_extraction(html, url=url)

    ours(*pages[0]), bare(*pages[0])  # warm caches (dateparser, regexes) outside the clock
    ours_ms, bare_ms = [], []
    for _ in range(rounds):  # interleaved, so drifts of the machine hit both alike
        bare_ms.append(per_page_ms(bare, pages))
        ours_ms.append(per_page_ms(ours, pages))
    print(f"cost on {len(pages)} mirror article pages ({rounds} rounds, median):")
    print(f"  extract_article              {statistics.median(ours_ms):7.2f} ms/page")
    print(f"  trafilatura.bare_extraction  {statistics.median(bare_ms):7.2f} ms/page")
    ratio = statistics.median(ours_ms) / statistics.median(bare_ms)
    print(f"  ratio                        {ratio:7.2f}x  (target <= 1.3x)")


def _time_pages(directory: Path) -> None:
    """Child process of ``--baseline``: ms/page of ``extract_article`` over the saved pages."""
    pages = [
        (path.read_bytes(), path.with_suffix(".url").read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.html"))
    ]
    extract_article(*pages[0], FETCHED_AT)  # warm caches outside the clock
    print(per_page_ms(lambda html, url: extract_article(html, url, FETCHED_AT), pages))


def _child_ms(pages_dir: Path, package_dir: Path | None) -> float:
    env = dict(os.environ)
    if package_dir is not None:
        env["PYTHONPATH"] = str(package_dir)
    command = [sys.executable, __file__, "--time-pages", str(pages_dir)]
    answer = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return float(answer.stdout.strip().splitlines()[-1])


def against_baseline(baseline: Path, articles: int, rounds: int) -> None:
    for layout in ("single", "mixed"):
        pages = mirror_pages(articles, layout)
        with tempfile.TemporaryDirectory() as tmp:
            pages_dir = Path(tmp)
            for number, (html, url) in enumerate(pages):
                (pages_dir / f"{number:05d}.html").write_bytes(html)
                (pages_dir / f"{number:05d}.url").write_text(url, encoding="utf-8")
            old, new = [], []
            for _ in range(rounds):  # interleaved, so drifts of the machine hit both alike
                old.append(_child_ms(pages_dir, baseline))
                new.append(_child_ms(pages_dir, None))
        ratio = statistics.median(new) / statistics.median(old)
        print(f"cost against {baseline} on {len(pages)} mirror pages, layout {layout}:")
        print(f"  baseline extract_article     {statistics.median(old):7.2f} ms/page")
        print(f"  this extract_article         {statistics.median(new):7.2f} ms/page")
        print(f"  ratio                        {ratio:7.2f}x  (target <= 1.3x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="benchmark directory")
    parser.add_argument("--articles", type=int, default=120, help="mirror size for timing")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds")
    parser.add_argument(
        "--baseline", type=Path, help="directory holding another qiosk_scraper to time against"
    )
    parser.add_argument("--time-pages", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # trafilatura logs every discarded page
    if args.time_pages is not None:
        _time_pages(args.time_pages)
        return 0
    if not (args.bench / "ground-truth.json").is_file():
        print(f"error: no benchmark at {args.bench}", file=sys.stderr)
        return 1
    real_pages(args.bench)
    cost(args.articles, args.rounds)
    if args.baseline is not None:
        against_baseline(args.baseline, args.articles, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
