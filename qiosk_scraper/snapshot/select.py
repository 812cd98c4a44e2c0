"""Which rows a snapshot holds: per article, its latest revision fetched by the cut-off."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from qiosk_scraper.archive import CRAWL_SOURCE, Archive
from qiosk_scraper.archive.copies import WarcColumns
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


CHUNK = 500  # articles read, with their revisions, at a time
# The tables that follow from the snapshot's articles, in the order they are loaded.
SMALL_TABLES = (
    "crawls",
    "captures",
    "authors",
    "tags",
    "sections",
    "article_sections",
    "url_aliases",
    "capture_sources",
)


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
    revisions.jsonl). What is kept per article in between (id, URL, title, captures, revision
    numbers, sections) goes to the scratch database of the source's
    :meth:`~qiosk_scraper.archive.Archive.snapshot_reading`, inside which the selection is
    used (both passes then see one state): memory grows neither with the texts nor with the
    number of articles."""

    def __init__(self, source: Archive, as_of: str) -> None:
        self.source = source
        self.as_of = as_of
        self._index = source.snapshot_index()
        self.has_revisions: bool = self._index["has_revisions"]
        self.sites = sorted({crawl["site"] for crawl in self._index["crawls"]})
        self._author_ids = {(a["name"], a["url"]): a["id"] for a in self._index["authors"]}
        self._tag_ids = {t["label"]: t["id"] for t in self._index["tags"]}
        self._section_ids = {s["label"]: s["id"] for s in self._index["sections"]}
        self._columns = [name for name, _, _ in source.table_schema("articles")["columns"]]
        self._kept: list[dict[str, Any]] = []  # the articles of the chunk being read
        self._kept_revisions: list[tuple[int, int, int | None]] = []  # and their revisions
        self._kept_sections: list[tuple[int, int]] = []  # and their primary sections
        self._used: dict[str, set[int]] = {"authors": set(), "tags": set()}
        self.articles_count = 0
        self.revisions_count = 0
        self.captures_count = 0  # set by finish()
        self.tables: dict[str, list[dict[str, Any]]] = {}  # crawls, authors, tags, sections
        self.sources: list[dict[str, Any]] = []  # see source_figures; set by finish()

    def articles(self) -> Iterator[Selected]:
        """Every article of the snapshot, by id."""
        after = -(2**63)  # below any SQLite integer key
        while ids := self.source.snapshot_article_ids(self.as_of, after, CHUNK):
            after = ids[-1]
            stored = self.source.snapshot_articles(ids)
            history: dict[int, list[dict[str, Any]]] = {}
            for revision in self.source.snapshot_revisions(self.as_of, ids):
                history.setdefault(revision["article_id"], []).append(revision)
            for article_id, states in sorted(history.items()):
                selected = self._select(article_id, stored[article_id], states)
                if selected is not None:
                    yield selected
            self.source.keep_selected(self._kept, self._kept_revisions, self._kept_sections)
            self._kept, self._kept_revisions, self._kept_sections = [], [], []

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
            self._kept_sections.append((article_id, self._section_ids[record["section"]]))
        self._kept.append(
            {
                "article_id": article_id,
                "url": url,
                "title": row["title"],
                "capture_id": row.get("capture_id"),
                "gone_capture_id": row["gone_capture_id"],
            }
        )
        self._kept_revisions += [
            (state["article_id"], state["revision"], state["capture_id"]) for state in states
        ]
        self.articles_count += 1
        self.revisions_count += len(states)
        self._used["authors"] |= {r["author_id"] for r in children["article_authors"]}
        self._used["tags"] |= {r["tag_id"] for r in children["article_tags"]}
        return Selected(row, children, states if self.has_revisions else [])

    def finish(self) -> None:
        """After :meth:`articles`: keep the captures the articles need; the small tables
        (``crawls``, ``authors``, ``tags``, ``sections``) in ``tables`` and the figures per
        source in ``sources``; the others are read with :meth:`rows`."""
        index = self._index
        self.source.keep_captures(self.as_of, CRAWL_SOURCE)
        crawl_ids = self.source.kept_ids("crawl_id")
        used_sections = self.source.kept_ids("section_id")
        self.tables = {
            "crawls": [
                c for c in index["crawls"] if c["started"] <= self.as_of or c["id"] in crawl_ids
            ],
            "authors": [a for a in index["authors"] if a["id"] in self._used["authors"]],
            "tags": [t for t in index["tags"] if t["id"] in self._used["tags"]],
            "sections": [s for s in index["sections"] if s["id"] in used_sections],
        }
        counts = self.source.kept_source_counts(CRAWL_SOURCE)
        self.sources = sorted(counts, key=lambda s: (s["name"] != CRAWL_SOURCE, s["name"]))
        self.captures_count = sum(s["captures"] for s in counts)

    def rows(self, table: str, warc: WarcColumns = "stored") -> Iterator[dict[str, Any]]:
        """After :meth:`finish`: the rows of ``table`` (one of :data:`SMALL_TABLES`), in key
        order; ``warc`` says which WARC columns the captures get (see
        :meth:`~qiosk_scraper.archive.Archive.kept_rows`)."""
        if table in self.tables:
            return iter(self.tables[table])
        return self.source.kept_rows(table, self.as_of, warc)

    def keep_copy(self, capture_id: int, copy: dict[str, Any]) -> None:
        """Record where capture ``capture_id``'s WARC record was copied to."""
        self.source.keep_copy(capture_id, copy)

    def pages(self) -> Iterator[tuple[str, str, str | None]]:
        """After :meth:`finish`, per article with a capture, by id: the capture's URL and
        time, and the article's title."""
        for page in self.source.kept_pages():
            yield page["url"], page["fetched_at"], page["title"]

    def records(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """After :meth:`articles`: per article, by URL, its record (its state at the cut-off)
        and its revisions fetched by then, as revisions.jsonl holds them."""
        after = None
        while chunk := self.source.selected_by_url(after, CHUNK):
            after = chunk[-1]
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
