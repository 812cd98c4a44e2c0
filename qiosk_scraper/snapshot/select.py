"""Which rows a snapshot holds: per article, its latest revision fetched by the cut-off."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from qiosk_scraper.archive import CRAWL_SOURCE, Archive
from qiosk_scraper.archive.rows import child_rows
from qiosk_scraper.snapshot.layout import SnapshotError


def source_figures(
    captures: Iterable[dict[str, Any]],
    revisions: Iterable[dict[str, Any]],
    capture_sources: Iterable[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per source of the snapshot's captures (``crawl``, the site's own crawls, first; then
    each web archive by name): name, captures, articles (whose first revision came from it),
    articles_with_a_revision, revisions (that came from it)."""
    source_of = {row["capture_id"]: row["source"] for row in capture_sources}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for capture in captures:
        counts[source_of.get(capture["id"], CRAWL_SOURCE)]["captures"] += 1
    held: dict[str, set[int]] = defaultdict(set)
    first: dict[int, tuple[int, str]] = {}
    for revision in revisions:
        source = source_of.get(revision["capture_id"], CRAWL_SOURCE)
        counts[source]["revisions"] += 1
        held[source].add(revision["article_id"])
        number = revision["revision"]
        if revision["article_id"] not in first or number < first[revision["article_id"]][0]:
            first[revision["article_id"]] = (number, source)
    for _, source in first.values():
        counts[source]["articles"] += 1
    return [
        {
            "name": source,
            "captures": counts[source]["captures"],
            "articles": counts[source]["articles"],
            "articles_with_a_revision": len(held[source]),
            "revisions": counts[source]["revisions"],
        }
        for source in sorted(counts, key=lambda name: (name != CRAWL_SOURCE, name))
    ]


_T = TypeVar("_T")
CHUNK = 500  # articles read, with their revisions, at a time


def _chunks(items: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Selected:
    """One article of the snapshot: its row of ``articles``, its rows of the tables that hang
    off it, and (when the archive keeps a history) its rows of ``revisions`` as stored."""

    row: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]
    revisions: list[dict[str, Any]]


class Selection:
    """The snapshot's rows: per article, its latest revision fetched by ``as_of``; articles
    published after ``as_of`` are left out.

    The articles are read a chunk at a time, twice: :meth:`articles` in id order (the rows of
    archive.db and the CSVs), then :meth:`records` in URL order (articles.jsonl, Parquet,
    revisions.jsonl). Only small values are kept per article in between (ids, URLs, titles,
    revision numbers), so memory does not grow with the texts. Use it inside the source's
    :meth:`~qiosk_scraper.archive.Archive.snapshot_reading` so both passes see one state."""

    def __init__(self, source: Archive, as_of: str) -> None:
        self.source = source
        self.as_of = as_of
        self._index = source.snapshot_index(as_of)
        self.has_revisions: bool = self._index["has_revisions"]
        self.sites = sorted({crawl["site"] for crawl in self._index["crawls"]})
        self._author_ids = {(a["name"], a["url"]): a["id"] for a in self._index["authors"]}
        self._tag_ids = {t["label"]: t["id"] for t in self._index["tags"]}
        self._section_ids = {s["label"]: s["id"] for s in self._index["sections"]}
        self._columns = [name for name, _, _ in source.table_schema("articles")["columns"]]
        self._included: list[tuple[str, int]] = []  # (URL, id) of each article, in id order
        self._section_flags: dict[tuple[int, int], dict[str, int]] = {}
        self._revision_keys: list[dict[str, Any]] = []  # article_id, revision, capture_id
        self._gone_captures: set[int] = set()
        self._used: dict[str, set[int]] = {"authors": set(), "tags": set()}
        self.pages: list[tuple[int | None, str]] = []  # per article: capture_id, title
        self.tables: dict[str, list[dict[str, Any]]] = {}  # the small tables, see finish()
        self.sources: list[dict[str, Any]] = []  # see source_figures; set by finish()

    @property
    def articles_count(self) -> int:
        return len(self._included)

    @property
    def revisions_count(self) -> int:
        return len(self._revision_keys)

    def articles(self) -> Iterator[Selected]:
        """Every article of the snapshot, by id."""
        for ids in _chunks(self._index["article_ids"], CHUNK):
            stored = self.source.snapshot_articles(ids)
            history: dict[int, list[dict[str, Any]]] = {}
            for revision in self.source.snapshot_revisions(self.as_of, ids):
                history.setdefault(revision["article_id"], []).append(revision)
            for article_id, states in sorted(history.items()):
                selected = self._select(article_id, stored[article_id], states)
                if selected is not None:
                    yield selected

    def _select(
        self, article_id: int, stored: dict[str, Any], states: list[dict[str, Any]]
    ) -> Selected | None:
        latest = states[-1]
        record = json.loads(latest["record"])
        if record.get("published") and record["published"] > self.as_of:
            return None
        url = record["url"]
        row = dict(stored)
        row.update({name: record.get(name) for name in self._columns if name in record})
        # The fetch that stored this state, not a later re-fetch: the row then depends on the
        # revisions up to the cut-off alone, so later crawls do not change the snapshot.
        row.update(
            content_hash=latest["content_hash"],
            extractor_version=latest["extractor_version"],
            last_fetched=latest["fetched_at"],
            capture_id=latest["capture_id"],
        )
        if row["gone_at"] is not None and row["gone_at"] > self.as_of:
            row["gone_at"] = row["gone_capture_id"] = None

        def author_id(name: str, author_url: str | None) -> int:
            if (name, author_url) not in self._author_ids:
                raise SnapshotError(
                    f"{url}: author {(name, author_url)} is missing from the authors table"
                )
            return int(self._author_ids[(name, author_url)])

        def tag_id(label: str) -> int:
            if label not in self._tag_ids:
                raise SnapshotError(f"{url}: tag {label!r} is missing from the tags table")
            return int(self._tag_ids[label])

        children = {
            table: sorted(rows, key=lambda r: r["position"])
            for table, rows in child_rows(article_id, record, author_id, tag_id).items()
        }
        if record.get("section"):
            if record["section"] not in self._section_ids:
                raise SnapshotError(f"{url}: section {record['section']!r} is not archived")
            key = (article_id, self._section_ids[record["section"]])
            self._section_flags.setdefault(key, {})["is_primary"] = 1
        self._included.append((url, article_id))
        self._revision_keys += [
            {k: state[k] for k in ("article_id", "revision", "capture_id")} for state in states
        ]
        if row["gone_capture_id"] is not None:
            self._gone_captures.add(row["gone_capture_id"])
        self._used["authors"] |= {r["author_id"] for r in children["article_authors"]}
        self._used["tags"] |= {r["tag_id"] for r in children["article_tags"]}
        self.pages.append((row.get("capture_id"), row["title"]))
        return Selected(row, children, states if self.has_revisions else [])

    def finish(self) -> None:
        """After :meth:`articles`: the small tables (``crawls``, ``captures``, ``authors``,
        ``tags``, ``sections``, ``article_sections``, ``url_aliases``, ``capture_sources``) in
        ``tables``, and the figures per source in ``sources``."""
        index = self._index
        included = {article_id for _, article_id in self._included}
        for article_id, section_id in index["listed"]:
            if article_id in included:
                self._section_flags.setdefault((article_id, section_id), {})["listed"] = 1
        article_sections = [
            {
                "article_id": article_id,
                "section_id": section_id,
                "is_primary": flags.get("is_primary", 0),
                "listed": flags.get("listed", 0),
            }
            for (article_id, section_id), flags in sorted(self._section_flags.items())
        ]
        used_captures = {r["capture_id"] for r in self._revision_keys} | self._gone_captures
        used_sections = {r["section_id"] for r in article_sections}
        captures = [c for c in index["captures"] if c["id"] in used_captures]
        crawl_ids = {c["crawl_id"] for c in captures}
        kept = {c["id"] for c in captures}
        self.tables = {
            "crawls": [
                c for c in index["crawls"] if c["started"] <= self.as_of or c["id"] in crawl_ids
            ],
            "captures": captures,
            "authors": [a for a in index["authors"] if a["id"] in self._used["authors"]],
            "tags": [t for t in index["tags"] if t["id"] in self._used["tags"]],
            "sections": [s for s in index["sections"] if s["id"] in used_sections],
            "article_sections": article_sections,
            "url_aliases": [a for a in index["url_aliases"] if a["article_id"] in included],
            "capture_sources": [s for s in index["capture_sources"] if s["capture_id"] in kept],
        }
        self.sources = source_figures(captures, self._revision_keys, self.tables["capture_sources"])

    def records(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """After :meth:`articles`: per article, by URL, its record (its state at the cut-off)
        and its revisions fetched by then, as revisions.jsonl holds them."""
        for chunk in _chunks(sorted(self._included), CHUNK):
            urls = {article_id: url for url, article_id in chunk}
            history: dict[int, list[dict[str, Any]]] = {}
            for state in self.source.snapshot_revisions(self.as_of, sorted(urls)):
                history.setdefault(state["article_id"], []).append(state)
            for article_id, url in urls.items():
                states = history[article_id]
                revisions = [
                    {
                        "url": url,
                        "article_id": article_id,
                        "revision": state["revision"],
                        "fetched_at": state["fetched_at"],
                        "content_hash": state["content_hash"],
                        "record": json.loads(state["record"]),
                        "changed_fields": json.loads(state["changed_fields"] or "[]"),
                        "silent_edit": bool(state["silent_edit"]),
                        "extractor_version": state["extractor_version"],
                        "capture_id": state["capture_id"],
                    }
                    for state in states
                ]
                yield revisions[-1]["record"], revisions
