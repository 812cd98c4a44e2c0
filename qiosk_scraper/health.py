"""Extraction health: how often the extractor filled each field in a crawl, and the alarm when
a rate falls well below the archive's previous crawls (the outlet's markup may have changed).

Pure: records (and the layer each field came from, the extractor's provenance) in, counts out;
counts and history in, warning lines out. The pipeline counts every article it extracted and
archived or confirmed in a crawl (new, updated, or fetched again with the same content);
articles answered 304 Not Modified or skipped by their sitemap date are not extracted, so not
counted. The archive keeps one ``fill_rates`` row per crawl and field; Datasette's
``extraction_health`` query shows them per crawl.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Layers of the generic path: what a page gives when no outlet or structured signal did.
FALLBACK_LAYERS = frozenset({"generic", "trafilatura", "htmldate"})

MIN_ARTICLES = 10  # on each side of a comparison: fewer say nothing about the markup
MIN_DROP = 0.30  # a fall of at least 30 percentage points
HISTORY_CRAWLS = 5  # the previous crawls (with rows) a crawl is compared with, pooled


def _lead(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((image for image in record.get("images") or [] if image.get("lead")), None)


def _lead_credit(record: Mapping[str, Any]) -> bool:
    lead = _lead(record)
    return lead is not None and bool(lead.get("credit"))


@dataclass(frozen=True)
class Field:
    label: str  # as the summary names it
    filled: Callable[[Mapping[str, Any]], bool]
    provenance: str | None  # the provenance key telling its layer (None: not told apart)


FIELDS: dict[str, Field] = {
    "lead_image": Field("lead image", lambda r: _lead(r) is not None, "images"),
    "lead_image_credit": Field("lead image credit", _lead_credit, None),
    "tags": Field("tags", lambda r: bool(r.get("tags")), "tags"),
    "section": Field("section", lambda r: bool(r.get("section")), "section"),
    "authors": Field("authors", lambda r: bool(r.get("authors")), "authors"),
    "dek": Field("dek", lambda r: bool(r.get("subtitle")), "subtitle"),
    "published": Field("publication date", lambda r: bool(r.get("published")), "published"),
}


@dataclass(frozen=True)
class FieldCount:
    """Of ``articles`` extracted, how many had the field (``filled``), and how many of those
    had it from a fallback layer (``fallback``; None when the layer is not told apart)."""

    articles: int
    filled: int
    fallback: int | None

    @property
    def rate(self) -> float:
        return self.filled / self.articles if self.articles else 0.0

    def __add__(self, other: FieldCount) -> FieldCount:
        fallback = None
        if self.fallback is not None and other.fallback is not None:
            fallback = self.fallback + other.fallback
        return FieldCount(self.articles + other.articles, self.filled + other.filled, fallback)


def from_fallback(name: str, provenance: Mapping[str, str]) -> bool:
    """Whether field ``name`` came from a layer of the generic path (:data:`FALLBACK_LAYERS`),
    by the extractor's provenance."""
    key = FIELDS[name].provenance
    return key is not None and provenance.get(key) in FALLBACK_LAYERS


def count_fields(
    extracted: Iterable[tuple[Mapping[str, Any], Mapping[str, str]]],
) -> dict[str, FieldCount]:
    """Per field, the counts over ``(record, provenance)`` pairs."""
    counts = {name: _zero(name) for name in FIELDS}
    for record, provenance in extracted:
        for name, spec in FIELDS.items():
            filled = spec.filled(record)
            fallback = (
                None if spec.provenance is None else int(filled and from_fallback(name, provenance))
            )
            counts[name] += FieldCount(1, int(filled), fallback)
    return counts


def _zero(name: str) -> FieldCount:
    return FieldCount(0, 0, None if FIELDS[name].provenance is None else 0)


def pooled(history: Iterable[Mapping[str, FieldCount]]) -> dict[str, FieldCount]:
    """The counts of several crawls added up per field (each article weighs the same)."""
    total: dict[str, FieldCount] = {}
    for crawl in history:
        for name, count in crawl.items():
            total[name] = total[name] + count if name in total else count
    return total


def drift_warnings(
    current: Mapping[str, FieldCount], previous: Mapping[str, FieldCount]
) -> list[str]:
    """A line for each field whose rate in this crawl is at least :data:`MIN_DROP` below the
    previous crawls' (pooled), with at least :data:`MIN_ARTICLES` articles on both sides; and
    for each whose share from a fallback layer rose as much."""
    lines = []
    for name, spec in FIELDS.items():
        now, before = current.get(name), previous.get(name)
        if now is None or before is None:
            continue
        if min(now.articles, before.articles) < MIN_ARTICLES:
            continue
        if before.rate - now.rate >= MIN_DROP - 1e-9:
            lines.append(
                f"{spec.label}: {now.rate:.0%} of articles (previous crawls {before.rate:.0%}): "
                "the outlet's markup may have changed; see extraction_health"
            )
        if now.fallback is None or before.fallback is None:
            continue
        share_now, share_before = now.fallback / now.articles, before.fallback / before.articles
        if share_now - share_before >= MIN_DROP - 1e-9:
            lines.append(
                f"{spec.label} from the generic fallback: {share_now:.0%} of articles "
                f"(previous crawls {share_before:.0%}): the outlet's markup may have changed; "
                "see extraction_health"
            )
    return lines
