"""Which rows a snapshot holds: per article, its latest revision fetched by the cut-off."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qiosk_scraper.archive import CRAWL_SOURCE, Archive
from qiosk_scraper.archive.rows import child_rows
from qiosk_scraper.snapshot.layout import SnapshotError


@dataclass
class Selection:
    as_of: str
    has_revisions: bool
    records: list[dict[str, Any]]  # articles.jsonl, sorted by URL
    revisions: list[dict[str, Any]]  # revisions.jsonl
    tables: dict[str, list[dict[str, Any]]]  # rows of archive.db and the CSVs
    sites: list[str]
    sources: list[dict[str, Any]]  # see source_figures


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


def _by_key(rows: Iterable[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(row[k] for k in keys))


def select(source: Archive, as_of: str) -> Selection:
    """The snapshot's rows: per article, its latest revision fetched by ``as_of``; articles
    published after ``as_of`` are left out."""
    rows = source.snapshot_rows(as_of)
    stored = {row["id"]: row for row in rows["articles"]}
    history: dict[int, list[dict[str, Any]]] = {}
    for revision in rows["revisions"]:
        history.setdefault(revision["article_id"], []).append(revision)
    author_ids = {(a["name"], a["url"]): a["id"] for a in rows["authors"]}
    tag_ids = {t["label"]: t["id"] for t in rows["tags"]}
    section_ids = {s["label"]: s["id"] for s in rows["sections"]}
    article_columns = [name for name, _, _ in source.table_schema("articles")["columns"]]

    articles: list[dict[str, Any]] = []
    records: list[tuple[str, int, dict[str, Any]]] = []
    revisions: list[dict[str, Any]] = []
    child: dict[str, list[dict[str, Any]]] = {
        "article_authors": [],
        "article_tags": [],
        "images": [],
        "links": [],
    }
    section_flags: dict[tuple[int, int], dict[str, int]] = {}
    for article_id, states in sorted(history.items()):
        latest = states[-1]
        record = json.loads(latest["record"])
        if record.get("published") and record["published"] > as_of:
            continue
        url = record["url"]
        records.append((url, article_id, record))
        row = dict(stored[article_id])
        row.update({name: record.get(name) for name in article_columns if name in record})
        # The fetch that stored this state, not a later re-fetch: the row then depends on the
        # revisions up to the cut-off alone, so later crawls do not change the snapshot.
        row.update(
            content_hash=latest["content_hash"],
            extractor_version=latest["extractor_version"],
            last_fetched=latest["fetched_at"],
            capture_id=latest["capture_id"],
        )
        if row["gone_at"] is not None and row["gone_at"] > as_of:
            row["gone_at"] = row["gone_capture_id"] = None
        articles.append(row)
        for state in states:
            revisions.append(
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
            )

        def author_id(name: str, author_url: str | None, url: str = url) -> int:
            if (name, author_url) not in author_ids:
                raise SnapshotError(
                    f"{url}: author {(name, author_url)} is missing from the authors table"
                )
            return int(author_ids[(name, author_url)])

        def tag_id(label: str, url: str = url) -> int:
            if label not in tag_ids:
                raise SnapshotError(f"{url}: tag {label!r} is missing from the tags table")
            return int(tag_ids[label])

        for table, table_rows in child_rows(article_id, record, author_id, tag_id).items():
            child[table] += table_rows
        if record.get("section"):
            if record["section"] not in section_ids:
                raise SnapshotError(f"{url}: section {record['section']!r} is not archived")
            flags = section_flags.setdefault((article_id, section_ids[record["section"]]), {})
            flags["is_primary"] = 1

    included = {row["id"] for row in articles}
    for article_id, section_id in rows["listed"]:
        if article_id in included:
            section_flags.setdefault((article_id, section_id), {})["listed"] = 1
    article_sections = [
        {
            "article_id": article_id,
            "section_id": section_id,
            "is_primary": flags.get("is_primary", 0),
            "listed": flags.get("listed", 0),
        }
        for (article_id, section_id), flags in sorted(section_flags.items())
    ]
    used_captures = {r["capture_id"] for r in revisions}
    used_captures |= {a["gone_capture_id"] for a in articles if a["gone_capture_id"] is not None}
    used_authors = {r["author_id"] for r in child["article_authors"]}
    used_tags = {r["tag_id"] for r in child["article_tags"]}
    used_sections = {r["section_id"] for r in article_sections}
    crawl_ids = {c["crawl_id"] for c in rows["captures"] if c["id"] in used_captures}
    tables = {
        "crawls": [c for c in rows["crawls"] if c["started"] <= as_of or c["id"] in crawl_ids],
        "captures": [c for c in rows["captures"] if c["id"] in used_captures],
        "authors": [a for a in rows["authors"] if a["id"] in used_authors],
        "tags": [t for t in rows["tags"] if t["id"] in used_tags],
        "sections": [s for s in rows["sections"] if s["id"] in used_sections],
        "articles": _by_key(articles, "id"),
        "article_authors": _by_key(child["article_authors"], "article_id", "position"),
        "article_tags": _by_key(child["article_tags"], "article_id", "position"),
        "article_sections": article_sections,
        "images": _by_key(child["images"], "article_id", "position"),
        "links": _by_key(child["links"], "article_id", "position"),
        "url_aliases": [a for a in rows["url_aliases"] if a["article_id"] in included],
    }
    if rows["has_revisions"]:
        tables["revisions"] = [r for r in rows["revisions"] if r["article_id"] in included]
    tables["capture_sources"] = [
        s for s in rows["capture_sources"] if s["capture_id"] in used_captures
    ]
    records.sort(key=lambda item: (item[0], item[1]))
    order = {article_id: i for i, (_, article_id, _) in enumerate(records)}
    revisions.sort(key=lambda r: (order[r["article_id"]], r["revision"]))
    return Selection(
        as_of=as_of,
        has_revisions=rows["has_revisions"],
        records=[record for _, _, record in records],
        revisions=revisions,
        tables=tables,
        sites=sorted({crawl["site"] for crawl in rows["crawls"]}),
        sources=source_figures(tables["captures"], revisions, tables["capture_sources"]),
    )
