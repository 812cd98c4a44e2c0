"""``make bench``: throughput, cost and memory of the toolkit against the physical limit and a
peer (issue 9), measured in one run on a mirror served from a separate process on 127.0.0.1.

Every figure comes from a public command run as its own process, measured from outside:

- wall time: from the process start to its exit (start-up included, as a user waits for it);
- CPU seconds: ``os.wait4``'s rusage of the process (user + system, its reaped children
  included, so a process pool's workers count);
- peak RSS: the larger of the process's own high-water mark (``VmHWM``) and the peak of the RSS
  summed over the process and its descendants (a pool's workers add up), both read from
  ``/proc`` every 0.1 s. Not ``ru_maxrss``: Linux carries the parent's high-water mark across
  fork and exec, so a child started by a big bench process would report the bench's.

Steps, in order: compile the venv's bytecode (as ``pip install`` does); start ``qiosk mirror
serve --articles N --port 0``; read its sitemaps and fetch every article page once; the limit
(``trafilatura.bare_extraction`` with its defaults over those pages in this process: pages per
CPU second, times ``os.cpu_count()``); ``qiosk import`` of those pages written as a gzipped WARC
1.1 file (response records of the mirror's article URLs, capture times spread over past days)
into a fresh archive, as the outlet (``--profile responsiblestatecraft``: an IP host would
otherwise get the generic profile), no network in the loop; ``qiosk crawl --delay 0`` into a
fresh archive; the peer (trafilatura's command line fetching and extracting the same article
URLs, JSON with metadata, links and images, raw pages kept with ``--backup-dir``); body F1 of
both against the mirror's gold records; ``qiosk snapshot export --with-warc``; full-text search
through ``qiosk serve`` (``/archive/articles.json?_search=...``, words drawn from the archive's
titles with a fixed seed); ``qiosk reextract`` when the command exists; a second crawl and
import of a ``--small`` mirror for the memory growth.

The peer is given the URL list rather than ``--sitemap``: trafilatura (courlan's ``check_url``)
rejects a host that is an IP address with a port, so ``--sitemap http://127.0.0.1:P/sitemap.xml``
finds nothing. The bench reads the sitemaps as ``--sitemap`` would and adds that time to the
peer's. ``SLEEP_TIME = 0`` and ``SSRF_PROTECTION = off`` in its config file are the peer's
``--delay 0``.

Usage: .venv/bin/python benchmarks/bench.py [--articles 5000] [--small 1000] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:  # this checkout's package, as the commands get (child_env)
    sys.path.insert(0, str(ROOT))
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
QUERY_SEED = 9  # the fixed seed of the search words (issue 9)

# Every figure the JSON holds; reextract_* are None while `qiosk reextract` does not exist.
FIGURES = (
    "crawl_seconds",
    "crawl_pages",
    "crawl_articles",
    "crawl_pages_per_s",
    "crawl_articles_per_s",
    "crawl_cpu_s",
    "crawl_cpu_s_per_article",
    "crawl_peak_rss_mb",
    "mirror_cpu_s_during_crawl",
    "limit_pages",
    "limit_cpu_s_per_article",
    "limit_articles_per_s_per_core",
    "limit_cores",
    "limit_articles_per_s",
    "crawl_fraction_of_limit",
    "crawl_cpu_efficiency",
    "import_seconds",
    "import_articles",
    "import_captures_per_s",
    "import_fraction_of_limit",
    "import_cpu_efficiency",
    "import_peak_rss_mb",
    "import_cores_used",
    "peer_seconds",
    "peer_articles",
    "peer_articles_per_s",
    "peer_cpu_s_per_article",
    "peer_peak_rss_mb",
    "ratio_to_peer",
    "body_f1_ours",
    "body_f1_peer",
    "reextract_seconds",
    "reextract_articles_per_s",
    "reextract_cpu_s",
    "reextract_fraction_of_limit",
    "reextract_cpu_efficiency",
    "reextract_cores_used",
    "snapshot_seconds",
    "snapshot_bytes",
    "archive_bytes",
    "snapshot_to_archive",
    "fts_queries",
    "fts_p50_ms",
    "fts_p95_ms",
    "fts_max_ms",
    "fts_bare_p95_ms",
    "small_crawl_articles",
    "small_crawl_peak_rss_mb",
    "rss_growth",
    "small_import_peak_rss_mb",
    "import_rss_growth",
)
OPTIONAL = frozenset(f for f in FIGURES if f.startswith("reextract_"))


class BenchError(Exception):
    """A step failed; the message names it."""


def executable(name: str) -> str:
    """The venv's console script ``name`` (beside this Python), else the one on PATH."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"{name}: not installed (run make install)")
    return found


def child_env() -> dict[str, str]:
    """The environment of every command: this checkout's package first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("QIOSK_PROGRESS", None)
    return env


def compile_bytecode() -> None:
    """Compile the bytecode of the venv's packages and this checkout's, as ``pip install``
    does: the commands are timed as installed. Without it, where Python may not write its
    cache (``PYTHONDONTWRITEBYTECODE``, or an install by uv, which does not compile), every
    command would compile each module it imports at every start, seconds of CPU."""
    import sysconfig

    folders = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    argv = [
        sys.executable,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        *folders,
        str(ROOT / "qiosk_scraper"),
    ]
    env = {k: v for k, v in child_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


# ---------------------------------------------------------------------------- measuring processes


def _proc_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return pids


def _memory_kb(pid: int, field: str = "VmRSS") -> int:
    """``VmRSS`` (or ``VmHWM``) of a process in kB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds of a running process so far (``/proc/<pid>/stat``)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One command, measured from outside."""

    argv: list[str]
    returncode: int
    wall_s: float
    cpu_s: float
    hwm_kb: int
    tree_peak_kb: int
    timed_out: bool = False
    log: str = ""

    @property
    def peak_rss_mb(self) -> float:
        return max(self.hwm_kb, self.tree_peak_kb) / 1024


def measure(argv: Sequence[str], log: Path, *, cwd: Path | None = None, timeout: float) -> Run:
    """Run ``argv`` to its end (killed after ``timeout`` s), output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd, env=child_env(), start_new_session=True,
        )  # fmt: skip
        peak = hwm = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, hwm
            while not done.wait(0.1):
                hwm = max(hwm, _memory_kb(process.pid, "VmHWM"))
                peak = max(peak, sum(_memory_kb(p) for p in _proc_tree(process.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            _kill_group(process.pid)

        timer = threading.Timer(timeout, expire)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # interrupted: the command must not outlive the bench
            _kill_group(process.pid)
            process.wait()
            raise
        finally:
            timer.cancel()
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    _kill_group(process.pid)  # leftovers of the command (none when it ends cleanly)
    return Run(
        argv=list(argv),
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        hwm_kb=hwm,
        tree_peak_kb=peak,
        timed_out=fired.is_set(),
        log=str(log),
    )


def _kill_group(pid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def checked(run: Run, step: str) -> Run:
    if run.returncode != 0:
        raise BenchError(
            f"{step} failed (exit {run.returncode}{', timed out' if run.timed_out else ''}): "
            f"{' '.join(run.argv)}\n{_tail(run.log)}"
        )
    return run


# ---------------------------------------------------------------------------- servers


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def pid(self) -> int:
        return self.process.pid


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _kill_group(process.pid)


@contextmanager
def mirror(articles: int, seed: int, log: Path) -> Iterator[Server]:
    """``qiosk mirror serve`` on a free port of 127.0.0.1 (it prints the address it bound)."""
    argv = [executable("qiosk"), "mirror", "serve", "--articles", str(articles)]
    argv += ["--seed", str(seed), "--port", "0", "--quiet"]
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=child_env(), start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        lines = []
        for raw in process.stderr:
            line = raw.decode(errors="replace")
            lines.append(line)
            found = re.search(r"at (http://\S+?)/?\s*$", line)
            if found:
                break
        else:
            raise BenchError(f"the mirror did not start: {' '.join(argv)}\n{''.join(lines)}")
        log.write_text("".join(lines))
        drain = threading.Thread(target=lambda: [None for _ in process.stderr or ()], daemon=True)
        drain.start()
        yield Server(process, found.group(1))
    finally:
        _stop(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return bytes(answer.read())


@contextmanager
def datasette(db: Path, log: Path) -> Iterator[Server]:
    """``qiosk serve`` on the archive (a free port), up once ``/-/versions.json`` answers."""
    for _attempt in range(3):
        port = free_port()
        argv = [executable("qiosk"), "serve", "--db", str(db), "--port", str(port)]
        out = open(log, "wb")  # noqa: SIM115 (closed below, with the server)
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=child_env(), start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                get(f"{base}/-/versions.json", timeout=5)
                break
            except OSError:
                time.sleep(0.2)
        if process.poll() is None and time.monotonic() < deadline:
            try:
                yield Server(process, base)
            finally:
                _stop(process)
                out.close()
            return
        _stop(process)
        out.close()
    raise BenchError(f"qiosk serve did not start: {' '.join(argv)}\n{_tail(log)}")


# ---------------------------------------------------------------------------- the steps


def sitemap_urls(base: str) -> list[str]:
    """Article URLs of the mirror's sitemaps (index, then children), in order, once each."""
    index = ET.fromstring(get(f"{base}/sitemap.xml"))
    children = [loc.text or "" for loc in index.iter(f"{SITEMAP_NS}loc")]
    urls: dict[str, None] = {}
    for child in children:
        tree = ET.fromstring(get(child))
        for entry in tree.findall(f"{SITEMAP_NS}url"):
            loc = entry.find(f"{SITEMAP_NS}loc")
            if loc is not None and loc.text:
                urls[loc.text.strip()] = None
    return list(urls)


def fetch_pages(urls: list[str]) -> dict[str, bytes]:
    """The HTML pages among ``urls`` (the sitemaps also list images, as the outlet's do)."""

    def fetch(url: str) -> tuple[str, bytes]:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.headers.get_content_type(), bytes(answer.read())

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(fetch, urls))
    return {u: body for u, (kind, body) in zip(urls, answers, strict=True) if kind == "text/html"}


def extraction_limit(pages: dict[str, bytes]) -> dict[str, float]:
    """``trafilatura.bare_extraction`` (its defaults, the page's URL) over every page, in this
    process: pages per CPU second is the rate of one core."""
    import trafilatura

    trafilatura.bare_extraction(next(iter(pages.values())), url=next(iter(pages)))  # warm up
    extracted = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for url, body in pages.items():
        if trafilatura.bare_extraction(body, url=url) is not None:
            extracted += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    per_core = len(pages) / cpu
    cores = os.cpu_count() or 1
    return {
        "limit_pages": len(pages),
        "limit_extracted": extracted,
        "limit_cpu_s": cpu,
        "limit_wall_s": wall,
        "limit_cpu_s_per_article": cpu / len(pages),
        "limit_articles_per_s_per_core": per_core,
        "limit_cores": cores,
        "limit_articles_per_s": per_core * cores,
    }


def archive_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        pages = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
    conn.close()
    return {"articles": int(articles), "pages": int(pages)}


def crawl(base: str, db: Path, log: Path, timeout: float) -> Run:
    db.parent.mkdir(parents=True, exist_ok=True)
    argv = [executable("qiosk"), "crawl", "--site", base, "--db", str(db), "--delay", "0"]
    argv += ["--profile", "responsiblestatecraft"]  # the mirror imitates the outlet
    return checked(measure(argv, log, timeout=timeout), "qiosk crawl")


IMPORT_FIRST_CAPTURE = datetime(2021, 1, 4, 9, 0, tzinfo=UTC)  # the WARC's first WARC-Date


def write_warc(pages: dict[str, bytes], path: Path) -> None:
    """``pages`` as a gzipped WARC 1.1 file of response records (``text/html``), one capture
    an hour from :data:`IMPORT_FIRST_CAPTURE` on: past dates, as a web archive holds them."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        for i, (url, body) in enumerate(pages.items()):
            at = IMPORT_FIRST_CAPTURE + timedelta(hours=i)
            headers = [("Content-Type", "text/html; charset=utf-8")]
            headers.append(("Content-Length", str(len(body))))
            http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url,
                "response",
                payload=BytesIO(body),
                http_headers=http,
                warc_headers_dict={"WARC-Date": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
            )
            writer.write_record(record)


def import_warc(base: str, warc: Path, db: Path, log: Path, timeout: float) -> Run:
    """``qiosk import`` of ``warc`` into the archive ``db`` (fresh), as the outlet."""
    db.parent.mkdir(parents=True, exist_ok=True)
    argv = [executable("qiosk"), "import", str(warc), "--db", str(db), "--source", "bench"]
    argv += ["--no-check-live"]  # the import alone is measured
    argv += ["--site", base, "--profile", "responsiblestatecraft"]  # the mirror imitates it
    return checked(measure(argv, log, timeout=timeout), "qiosk import")


TRAFILATURA_CONFIG = "[DEFAULT]\nSLEEP_TIME = 0\nSSRF_PROTECTION = off\n"


def peer(urls: list[str], folder: Path, timeout: float) -> tuple[Run, dict[str, str]]:
    """trafilatura's command line over the article URLs: {url: text} of the records written."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "urls.txt").write_text("".join(f"{u}\n" for u in urls))
    (folder / "trafilatura.cfg").write_text(TRAFILATURA_CONFIG)
    argv = [executable("trafilatura"), "--config-file", "trafilatura.cfg", "-i", "urls.txt"]
    argv += ["--json", "--with-metadata", "--links", "--images"]
    argv += ["-o", "out", "--backup-dir", "pages"]
    run = measure(argv, folder / "trafilatura.log", cwd=folder, timeout=timeout)
    if run.timed_out:
        raise BenchError(f"trafilatura did not finish in {timeout:.0f} s\n{_tail(run.log)}")
    texts: dict[str, str] = {}
    for path in sorted((folder / "out").glob("**/*.json")):
        record = json.loads(path.read_text())
        texts[record.get("source") or record.get("url") or path.name] = record.get("text") or ""
    if not texts:
        raise BenchError(f"trafilatura wrote no record (exit {run.returncode})\n{_tail(run.log)}")
    return run, texts


def body_f1(articles: int, seed: int, base: str, db: Path, peer_texts: dict[str, str]) -> Any:
    """Mean body F1 (the eval's shingle F1) against the mirror's gold, over every gold
    article; an article without a record scores 0."""
    from qiosk_scraper.evaluate import page_f1
    from qiosk_scraper.mirror import Site

    def path_of(url: str) -> str:
        return urllib.parse.urlsplit(url).path.rstrip("/")

    gold = {path_of(r["url"]): r["body"] for r in Site(articles, seed).gold(base).values()}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        ours = {path_of(u): b or "" for u, b in conn.execute("SELECT url, body FROM articles")}
    conn.close()
    theirs = {path_of(u): t for u, t in peer_texts.items()}

    def mean_f1(found: dict[str, str]) -> float:
        return statistics.mean(page_f1(body, found.get(p, "")) for p, body in gold.items())

    return mean_f1(ours), mean_f1(theirs)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def snapshot(db: Path, out: Path, log: Path, timeout: float) -> Run:
    argv = [executable("qiosk"), "snapshot", "export", str(out), "--db", str(db)]
    argv += ["--with-warc", "--force"]
    return checked(measure(argv, log, timeout=timeout), "qiosk snapshot export")


def search_words(db: Path, count: int) -> list[str]:
    """``count`` queries drawn with a fixed seed from the titles: single words (4 letters or
    more) and, one in five, two words that follow each other in a title."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        titles = [t for (t,) in conn.execute("SELECT title FROM articles ORDER BY url") if t]
    conn.close()
    words = sorted({w for t in titles for w in re.findall(r"[a-z]{4,}", t.lower())})
    pairs = sorted(
        {
            f"{a} {b}"
            for t in titles
            for a, b in zip(
                re.findall(r"[a-z]{4,}", t.lower()),
                re.findall(r"[a-z]{4,}", t.lower())[1:],
                strict=False,
            )
        }
    )
    if not words:
        raise BenchError(f"{db}: no title words to search for")
    rng = random.Random(QUERY_SEED)
    queries = []
    for i in range(count):
        pool = pairs if (i % 5 == 4 and pairs) else words
        queries.append(rng.choice(pool))
    return queries


BARE = {"_nofacet": "1", "_nocount": "1", "_nosuggest": "1"}


def fts_latency(base: str, queries: list[str]) -> dict[str, Any]:
    """Each query once against the JSON API of the articles table (after 3 untimed ones), as
    served; then again without facets, total count and facet suggestions (``fts_bare_*``), to
    tell the search from what the table page computes around it."""

    def ask(query: str, extra: dict[str, str] | None = None) -> tuple[float, int]:
        params = {"_search": query, **(extra or {})}
        url = f"{base}/archive/articles.json?" + urllib.parse.urlencode(params)
        started = time.perf_counter()
        body = get(url)
        elapsed = (time.perf_counter() - started) * 1000
        answer = json.loads(body)
        if "rows" not in answer:
            raise BenchError(f"{url}: no rows in the answer")
        return elapsed, len(answer["rows"])

    for query in queries[:3]:
        ask(query)
    timings, hits = zip(*(ask(q) for q in queries), strict=True)
    bare = sorted(ask(q, BARE)[0] for q in queries)
    ordered = sorted(timings)
    return {
        "fts_queries": len(queries),
        "fts_p50_ms": statistics.median(ordered),
        "fts_p95_ms": percentile(ordered, 0.95),
        "fts_max_ms": ordered[-1],
        "fts_bare_p50_ms": statistics.median(bare),
        "fts_bare_p95_ms": percentile(bare, 0.95),
        "fts_queries_with_hits": sum(1 for h in hits if h),
        "fts_query_list": queries,
    }


def percentile(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank value at ``share`` of sorted ``ordered``."""
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def reextract_available() -> bool:
    argv = [executable("qiosk"), "reextract", "--help"]
    done = subprocess.run(argv, capture_output=True, env=child_env(), check=False, timeout=120)
    return done.returncode == 0


def reextract(db: Path, log: Path, timeout: float) -> Run:
    argv = [executable("qiosk"), "reextract", "--db", str(db)]
    return checked(measure(argv, log, timeout=timeout), "qiosk reextract")


# ---------------------------------------------------------------------------- the run


def say(label: str, text: str) -> None:
    """A progress line on stderr."""
    print(f"[{label} {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def keep(runs: dict[str, dict[str, Any]], name: str, run: Run) -> Run:
    """Keep a measured run's figures under ``name``."""
    runs[name] = {**asdict(run), "peak_rss_mb": round(run.peak_rss_mb, 1)}
    return run


@dataclass
class Bench:
    articles: int
    small: int
    seed: int
    queries: int
    work: Path
    timeout: float
    figures: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        say("bench", text)

    def keep(self, name: str, run: Run) -> Run:
        return keep(self.runs, name, run)

    def run(self) -> None:
        f = self.figures
        db = self.work / "archive" / "archive.db"
        self.say("bytecode: compiling the venv's modules, as an install does")
        compile_bytecode()
        self.say(f"mirror of {self.articles} articles")
        with mirror(self.articles, self.seed, self.work / "mirror.log") as site:
            self.say(f"mirror at {site.base_url}; reading the sitemaps, fetching every article")
            started = time.perf_counter()
            urls = sitemap_urls(site.base_url)
            listing_s = time.perf_counter() - started
            pages = fetch_pages(urls)
            self.extra["sitemap_urls"] = len(urls)
            urls = list(pages)  # the article pages, for the peer
            self.extra["sitemap_read_s"] = listing_s

            self.say(f"limit: trafilatura.bare_extraction over {len(pages)} pages")
            limit = extraction_limit(pages)
            f.update({k: v for k, v in limit.items() if k in FIGURES})
            self.extra.update({k: v for k, v in limit.items() if k not in FIGURES})

            self.say(f"import: qiosk import of a WARC of the {len(pages)} pages, a fresh archive")
            run = self.import_pages(site.base_url, pages, "import")
            del pages
            f["import_seconds"] = run.wall_s
            f["import_articles"] = archive_counts(self.work / "import" / "archive.db")["articles"]
            f["import_captures_per_s"] = f["limit_pages"] / run.wall_s
            f["import_fraction_of_limit"] = f["import_captures_per_s"] / f["limit_articles_per_s"]
            f["import_cpu_efficiency"] = f["limit_cpu_s_per_article"] / (
                run.cpu_s / f["limit_pages"]
            )
            f["import_peak_rss_mb"] = run.peak_rss_mb
            f["import_cores_used"] = run.cpu_s / run.wall_s
            if f["import_articles"] < self.articles:
                self.notes.append(f"the import archived {f['import_articles']} of {self.articles}")

            self.say("crawl: qiosk crawl --delay 0 into a fresh archive")
            mirror_cpu = cpu_seconds_of(site.pid)
            run = crawl(site.base_url, db, self.work / "crawl.log", self.timeout)
            self.keep("crawl", run)
            f["mirror_cpu_s_during_crawl"] = cpu_seconds_of(site.pid) - mirror_cpu
            counts = archive_counts(db)
            f["crawl_seconds"] = run.wall_s
            f["crawl_pages"] = counts["pages"]
            f["crawl_articles"] = counts["articles"]
            f["crawl_pages_per_s"] = counts["pages"] / run.wall_s
            f["crawl_articles_per_s"] = counts["articles"] / run.wall_s
            f["crawl_cpu_s"] = run.cpu_s
            f["crawl_cpu_s_per_article"] = run.cpu_s / max(1, counts["articles"])
            f["crawl_peak_rss_mb"] = run.peak_rss_mb
            f["crawl_fraction_of_limit"] = f["crawl_articles_per_s"] / f["limit_articles_per_s"]
            f["crawl_cpu_efficiency"] = f["limit_cpu_s_per_article"] / f["crawl_cpu_s_per_article"]
            if counts["articles"] < self.articles:
                self.notes.append(f"the crawl archived {counts['articles']} of {self.articles}")

            self.say("peer: trafilatura's command line over the same article URLs")
            mirror_cpu = cpu_seconds_of(site.pid)
            run, texts = peer(urls, self.work / "peer", self.timeout)
            self.keep("peer", run)
            self.extra["mirror_cpu_s_during_peer"] = cpu_seconds_of(site.pid) - mirror_cpu
            seconds = run.wall_s + listing_s
            f["peer_seconds"] = seconds
            f["peer_articles"] = len(texts)
            f["peer_articles_per_s"] = len(texts) / seconds
            f["peer_cpu_s_per_article"] = run.cpu_s / len(texts)
            f["peer_peak_rss_mb"] = run.peak_rss_mb
            f["ratio_to_peer"] = f["crawl_articles_per_s"] / f["peer_articles_per_s"]
            base = site.base_url

        self.say("records: body F1 against the mirror's gold")
        f["body_f1_ours"], f["body_f1_peer"] = body_f1(self.articles, self.seed, base, db, texts)

        f["archive_bytes"] = folder_bytes(db.parent)
        self.say("snapshot: qiosk snapshot export --with-warc")
        out = self.work / "snapshot"
        run = self.keep("snapshot", snapshot(db, out, self.work / "snapshot.log", self.timeout))
        f["snapshot_seconds"] = run.wall_s
        f["snapshot_bytes"] = folder_bytes(out)
        f["snapshot_to_archive"] = f["snapshot_bytes"] / f["archive_bytes"]

        self.say(f"full-text search: {self.queries} queries through qiosk serve")
        queries = search_words(db, self.queries)
        with datasette(db, self.work / "serve.log") as server:
            fts = fts_latency(server.base_url, queries)
        f.update({k: v for k, v in fts.items() if k in FIGURES})
        self.extra.update({k: v for k, v in fts.items() if k not in FIGURES})

        if reextract_available():
            self.say("reextract: qiosk reextract over the whole archive")
            run = self.keep("reextract", reextract(db, self.work / "reextract.log", self.timeout))
            f["reextract_seconds"] = run.wall_s
            f["reextract_articles_per_s"] = f["crawl_articles"] / run.wall_s
            f["reextract_cpu_s"] = run.cpu_s
            f["reextract_cpu_efficiency"] = f["limit_cpu_s_per_article"] / (
                run.cpu_s / f["crawl_articles"]
            )
            f["reextract_cores_used"] = run.cpu_s / run.wall_s
            f["reextract_fraction_of_limit"] = (
                f["reextract_articles_per_s"] / f["limit_articles_per_s"]
            )
        else:
            self.notes.append("qiosk reextract: not built yet")
            for name in OPTIONAL:
                f[name] = None

        self.say(f"memory: a crawl of a {self.small}-article mirror")
        small_db = self.work / "small" / "archive.db"
        with mirror(self.small, self.seed, self.work / "small-mirror.log") as site:
            run = self.keep(
                "small_crawl", crawl(site.base_url, small_db, self.work / "small.log", self.timeout)
            )
            f["small_crawl_articles"] = archive_counts(small_db)["articles"]
            f["small_crawl_peak_rss_mb"] = run.peak_rss_mb
            f["rss_growth"] = f["crawl_peak_rss_mb"] / run.peak_rss_mb
            self.say(f"memory: an import of the {self.small}-article mirror's pages")
            pages = fetch_pages(sitemap_urls(site.base_url))
            run = self.import_pages(site.base_url, pages, "small-import")
            f["small_import_peak_rss_mb"] = run.peak_rss_mb
            f["import_rss_growth"] = f["import_peak_rss_mb"] / run.peak_rss_mb

    def import_pages(self, base: str, pages: dict[str, bytes], name: str) -> Run:
        """Write ``pages`` as a WARC and run ``qiosk import`` of it into a fresh archive
        (``<work>/<name>/``), measured."""
        folder = self.work / name
        warc = folder / "captures.warc.gz"
        write_warc(pages, warc)
        self.extra[f"{name.replace('-', '_')}_warc_bytes"] = warc.stat().st_size
        run = import_warc(
            base, warc, folder / "archive.db", self.work / f"{name}.log", self.timeout
        )
        return self.keep(name.replace("-", "_"), run)


# ---------------------------------------------------------------------------- the report


def targets(f: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def verdict(value: Any, ok: Any) -> bool | None:
        return None if value is None else bool(ok(value))

    rows = {
        "crawl_fraction_of_limit": (">= 80%", lambda v: v >= 0.8),
        "import_fraction_of_limit": (">= 90%", lambda v: v >= 0.9),
        "reextract_fraction_of_limit": (">= 90%", lambda v: v >= 0.9),
        "import_rss_growth": ("<= 1.2x", lambda v: v <= 1.2),
        "ratio_to_peer": ("> 1x", lambda v: v > 1),
        "body_f1_ours": ("> peer's", lambda v: v > f["body_f1_peer"]),
        "rss_growth": ("<= 1.2x", lambda v: v <= 1.2),
        "fts_p95_ms": ("< 100 ms", lambda v: v < 100),
    }
    return {
        name: {"target": text, "value": f.get(name), "met": verdict(f.get(name), ok)}
        for name, (text, ok) in rows.items()
    }


def table(bench: Bench, goals: dict[str, dict[str, Any]]) -> str:
    f = bench.figures

    def num(value: Any, spec: str, unit: str = "") -> str:
        if value is None:
            return "n/a (not built)"
        return f"{value:{spec}}{unit}"

    def goal(name: str) -> tuple[str, str]:
        row = goals[name]
        met = {True: "pass", False: "MISS", None: "n/a"}[row["met"]]
        return row["target"], met

    n, cores = bench.articles, f["limit_cores"]
    rows: list[tuple[str, str, str, str]] = [
        (f"crawl, {n:,} articles, --delay 0", "", "", ""),
        ("  wall time", num(f["crawl_seconds"], ",.1f", " s"), "", ""),
        ("  pages/s", num(f["crawl_pages_per_s"], ",.1f"), "", ""),
        ("  articles/s", num(f["crawl_articles_per_s"], ",.1f"), "", ""),
        ("  CPU s per article", num(f["crawl_cpu_s_per_article"], ".4f"), "", ""),
        ("  peak RSS", num(f["crawl_peak_rss_mb"], ",.0f", " MB"), "", ""),
        ("  mirror CPU meanwhile", num(f["mirror_cpu_s_during_crawl"], ",.1f", " s"), "", ""),
        ("limit: bare_extraction alone", "", "", ""),
        ("  articles/s per core", num(f["limit_articles_per_s_per_core"], ",.1f"), "", ""),
        (f"  x {cores} cores", num(f["limit_articles_per_s"], ",.1f"), "", ""),
        ("  CPU s per article", num(f["limit_cpu_s_per_article"], ".4f"), "", ""),
        ("  crawl / limit", num(f["crawl_fraction_of_limit"], ".0%"),
         *goal("crawl_fraction_of_limit")),
        ("  CPU s per article, limit / ours", num(f["crawl_cpu_efficiency"], ".0%"), "", ""),
        (f"qiosk import, a WARC of {f['limit_pages']:,} captures", "", "", ""),
        ("  wall time", num(f["import_seconds"], ",.1f", " s"), "", ""),
        ("  captures/s", num(f["import_captures_per_s"], ",.1f"), "", ""),
        ("  articles archived", num(f["import_articles"], ","), "", ""),
        ("  import / limit", num(f["import_fraction_of_limit"], ".0%"),
         *goal("import_fraction_of_limit")),
        ("  CPU s per article, limit / ours", num(f["import_cpu_efficiency"], ".0%"), "", ""),
        ("  cores busy (CPU s / wall s)", num(f["import_cores_used"], ".2f"), "", ""),
        ("  peak RSS", num(f["import_peak_rss_mb"], ",.0f", " MB"), "", ""),
        ("peer: trafilatura CLI", "", "", ""),
        ("  articles/s", num(f["peer_articles_per_s"], ",.1f"), "", ""),
        ("  records", num(f["peer_articles"], ","), "", ""),
        ("  CPU s per article", num(f["peer_cpu_s_per_article"], ".4f"), "", ""),
        ("  peak RSS", num(f["peer_peak_rss_mb"], ",.0f", " MB"), "", ""),
        ("  ours / peer (articles/s)", num(f["ratio_to_peer"], ".2f", "x"),
         *goal("ratio_to_peer")),
        ("  body F1 vs gold, peer", num(f["body_f1_peer"], ".3f"), "", ""),
        ("  body F1 vs gold, ours", num(f["body_f1_ours"], ".3f"), *goal("body_f1_ours")),
        ("qiosk reextract", "", "", ""),
        ("  articles/s", num(f["reextract_articles_per_s"], ",.1f"), "", ""),
        ("  reextract / limit", num(f["reextract_fraction_of_limit"], ".0%"),
         *goal("reextract_fraction_of_limit")),
        ("  CPU s per article, limit / ours", num(f["reextract_cpu_efficiency"], ".0%"),
         "", ""),
        ("  cores busy (CPU s / wall s)", num(f["reextract_cores_used"], ".2f"), "", ""),
        ("qiosk snapshot export --with-warc", "", "", ""),
        ("  seconds", num(f["snapshot_seconds"], ",.1f", " s"), "", ""),
        ("  snapshot / archive size",
         f"{f['snapshot_bytes'] / 1e6:,.1f} / {f['archive_bytes'] / 1e6:,.1f} MB "
         f"({f['snapshot_to_archive']:.2f})", "", ""),
        (f"full-text search, {f['fts_queries']} queries", "", "", ""),
        ("  p50", num(f["fts_p50_ms"], ",.1f", " ms"), "", ""),
        ("  p95", num(f["fts_p95_ms"], ",.1f", " ms"), *goal("fts_p95_ms")),
        ("  p95 without facets and count", num(f["fts_bare_p95_ms"], ",.1f", " ms"), "", ""),
        ("memory growth", "", "", ""),
        (f"  peak RSS, {bench.small:,} articles", num(f["small_crawl_peak_rss_mb"], ",.0f", " MB"),
         "", ""),
        (f"  peak RSS, {n:,} / {bench.small:,}", num(f["rss_growth"], ".2f", "x"),
         *goal("rss_growth")),
        (f"  import peak RSS, {bench.small:,} articles",
         num(f["small_import_peak_rss_mb"], ",.0f", " MB"), "", ""),
        (f"  import peak RSS, {n:,} / {bench.small:,}", num(f["import_rss_growth"], ".2f", "x"),
         *goal("import_rss_growth")),
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    rule = "-" * (sum(widths) + 9)
    head = ("figure", "value", "target", "")
    lines = [rule, f"{head[0]:<{widths[0]}}   {head[1]:>{widths[1]}}   {head[2]:<{widths[2]}}"]
    lines.append(rule)
    for name, value, target, met in rows:
        lines.append(
            f"{name:<{widths[0]}}   {value:>{widths[1]}}   {target:<{widths[2]}}   {met}".rstrip()
        )
    lines.append(rule)
    return "\n".join(lines)


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD") or os.environ.get("QIOSK_BENCH_COMMIT")  # or an export's
    return {"commit": commit or None, "dirty": bool(git("status", "--porcelain"))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000, help="articles of the mirror")
    parser.add_argument("--small", type=int, default=1000, help="articles of the memory check")
    parser.add_argument("--seed", type=int, default=1, help="seed of the mirrors")
    parser.add_argument("--queries", type=int, default=50, help="full-text search queries")
    parser.add_argument("--out", type=Path, help="JSON file (archive/bench/bench-<UTC>.json)")
    parser.add_argument("--work", type=Path, help="folder for the archives (default: temporary)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per command")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    out = args.out or ROOT / "archive" / "bench" / f"bench-{started:%Y%m%dT%H%M%SZ}.json"
    work = args.work or Path(tempfile.mkdtemp(prefix="qiosk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.articles, args.small, args.seed, args.queries, work, args.timeout)
    load_before = os.getloadavg()

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(f"bench: stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminated)  # clean up the servers and commands on the way out
    try:
        bench.run()
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    goals = targets(bench.figures)
    report = {
        "meta": {
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "articles": args.articles,
            "small": args.small,
            "seed": args.seed,
            "cpu_count": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            **git_state(),
        },
        "figures": {name: bench.figures.get(name) for name in FIGURES},
        "targets": goals,
        "details": bench.extra,
        "runs": bench.runs,
        "notes": bench.notes,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(bench, goals))
    for note in bench.notes:
        print(f"note: {note}")
    print(f"load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
