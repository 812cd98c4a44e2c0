"""Scoring extraction against gold records: per-field exact accuracy and body F1.

Body F1 is the shingle scoring of the article extraction benchmark (../shared/bench): tokens are
``\\w+`` runs, 4-token shingles of prediction and truth are counted, a page's TP/FP/FN are
normalised to sum to 1, precision and recall are averaged over pages, and F1 comes from those
two means (``corpus_f1``). ``page_f1`` is the same on one page.
"""

from __future__ import annotations

import gzip
import json
import statistics
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qiosk_scraper.article import _WORD as WORD
from qiosk_scraper.article import RECORD_FIELDS, count_words
from qiosk_scraper.extract import NotAnArticle, extract_article

SHINGLE = 4
# The exact-match fields of the acceptance; body is scored by F1, language is constant.
EXACT_FIELDS = tuple(f for f in RECORD_FIELDS if f not in ("body", "language"))

Score = tuple[float, float, float]


class EvalError(Exception):
    """The directory to evaluate is missing, empty or holds unreadable gold records."""


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = WORD.findall(text or "")
    count = max(1, len(tokens) - SHINGLE + 1)
    return Counter(s for s in (tuple(tokens[i : i + SHINGLE]) for i in range(count)) if s)


def shingle_match(truth: str, prediction: str) -> Score:
    """Normalised (TP, FP, FN) of the shingles of one page."""
    true, pred = _shingles(truth), _shingles(prediction)
    tp = sum((true & pred).values())
    fp = sum((pred - true).values())
    fn = sum((true - pred).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def corpus_f1(scores: list[Score]) -> tuple[float, float, float]:
    """(F1, precision, recall) over pages, the benchmark's way."""
    precisions = [_precision(*s) for s in scores if s[0] + s[1] > 0]
    recalls = [_recall(*s) for s in scores if s[0] + s[2] > 0]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def page_f1(truth: str, prediction: str) -> float:
    """Body F1 of one page (1.0 when both are empty)."""
    return corpus_f1([shingle_match(truth, prediction)])[0] if truth or prediction else 1.0


@dataclass
class PageResult:
    name: str
    f1: float
    mismatches: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field: (gold, got)
    error: str | None = None


@dataclass
class Report:
    pages: list[PageResult]

    def accuracy(self, name: str) -> float:
        ok = sum(1 for p in self.pages if p.error is None and name not in p.mismatches)
        return ok / len(self.pages) if self.pages else 0.0

    @property
    def f1_mean(self) -> float:
        return statistics.mean(p.f1 for p in self.pages) if self.pages else 0.0

    @property
    def f1_min(self) -> float:
        return min((p.f1 for p in self.pages), default=0.0)

    def summary(self) -> dict[str, Any]:
        return {
            "pages": len(self.pages),
            "errors": sum(1 for p in self.pages if p.error),
            "accuracy": {name: round(self.accuracy(name), 4) for name in EXACT_FIELDS},
            "body_f1_mean": round(self.f1_mean, 4),
            "body_f1_min": round(self.f1_min, 4),
        }


@dataclass(frozen=True)
class Case:
    """One page to score: its HTML file, its gold record and the URL it was fetched from."""

    name: str
    page: Path
    gold: dict[str, Any]
    url: str
    fetched_at: datetime | None = None


def read_page(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _load_gold(path: Path) -> dict[str, Any]:
    try:
        gold = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise EvalError(f"{path}: unreadable gold record ({err})") from err
    if not isinstance(gold, dict) or "url" not in gold:
        raise EvalError(f"{path}: not an article record")
    return dict(gold)


def find_cases(directory: Path) -> list[Case]:
    """Pages with their gold: ``<name>.html[.gz]`` + ``<name>.json`` side by side, or a mirror
    build (``gold/<slug>.json`` and the page at the path of the gold URL)."""
    if not directory.is_dir():
        raise EvalError(f"{directory}: not a directory")
    gold_dir = directory / "gold"
    cases = list(_mirror_cases(directory, gold_dir) if gold_dir.is_dir() else _flat(directory))
    if not cases:
        raise EvalError(f"{directory}: no page with a gold record found")
    return cases


def _flat(directory: Path) -> Iterator[Case]:
    for gold_path in sorted(directory.glob("*.json")):
        name = gold_path.stem
        for page in (directory / f"{name}.html", directory / f"{name}.html.gz"):
            if page.is_file():
                gold = _load_gold(gold_path)
                url = gold.get("fetched_url") or gold["url"]
                yield Case(name, page, gold, url, _moment(gold.get("fetched_at")))
                break


def _mirror_cases(root: Path, gold_dir: Path) -> Iterator[Case]:
    for gold_path in sorted(gold_dir.glob("*.json")):
        gold = _load_gold(gold_path)
        path = urlsplit(gold["url"]).path.strip("/")
        for page in (root / path / "index.html", root / f"{path}.html", root / path):
            if page.is_file():
                yield Case(gold_path.stem, page, gold, gold["url"])
                break
        else:
            raise EvalError(f"{gold_path}: no page for {gold['url']} under {root}")


def evaluate_case(case: Case, fetched_at: datetime, *, outlet_layers: bool = True) -> PageResult:
    """Extract one page (``outlet_layers``: as :func:`extract_article`) and compare it with its
    gold record."""
    gold = case.gold
    try:
        page = read_page(case.page)
        record = extract_article(
            page, case.url, fetched_at, outlet_layers=outlet_layers
        ).to_record()
    except NotAnArticle as err:
        return PageResult(case.name, page_f1(gold.get("body") or "", ""), error=err.reason)
    except (OSError, EOFError, zlib.error) as err:  # an unreadable page file
        return PageResult(case.name, page_f1(gold.get("body") or "", ""), error=str(err))
    gold = {**gold, "word_count": gold.get("word_count", count_words(gold.get("body") or ""))}
    mismatches = {
        name: (gold.get(name), record.get(name))
        for name in EXACT_FIELDS
        if gold.get(name) != record.get(name)
    }
    return PageResult(case.name, page_f1(gold.get("body") or "", record["body"]), mismatches)


def evaluate(
    cases: Iterable[Case], fetched_at: datetime | None = None, *, outlet_layers: bool = True
) -> Report:
    """Score every case. Relative shown dates resolve against ``fetched_at``, else the case's
    own ``fetched_at`` (golden pages carry one), else the latest date among the gold records
    (a mirror build is fetched just after its newest article)."""
    cases = list(cases)
    latest = fetched_at or _latest(cases)
    return Report(
        [
            evaluate_case(
                case, fetched_at or case.fetched_at or latest, outlet_layers=outlet_layers
            )
            for case in cases
        ]
    )


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _latest(cases: list[Case]) -> datetime:
    moments = [
        m
        for c in cases
        for m in (_moment(c.gold.get("modified")), _moment(c.gold.get("published")))
        if m is not None
    ]
    return max(moments, default=datetime(2000, 1, 1, tzinfo=UTC))
