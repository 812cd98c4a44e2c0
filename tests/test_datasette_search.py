"""Searching the articles page of a served archive: the rows, the count and every facet equal the
plain SQL answer, whether the facets are counted once per search (an immutable archive, see
``Counting`` in qiosk_scraper/datasette.py) or by Datasette's queries (a live one), and the
search reads the newest articles along the published index."""

from __future__ import annotations

import json
import random
import sqlite3
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from datasette.app import Datasette
from datasette.database import Database
from datasette.utils import escape_fts, path_with_added_args, path_with_removed_args
from datasette.utils.asgi import Request
from support.datasette import build_archive, get, qiosk_serve, record

from qiosk_scraper import datasette as qds

SECTIONS = ["Middle East", "Europe", "Asia-Pacific", "Africa", None]
TYPES = ["Analysis", "News", "Opinion", None]
WORDS = ["arms", "grain", "ceasefire", "tariff"]
AUTHORS = ["Jane Roe", "John Doe", "Ana Lima", "Bo Chen", "Ama Mensah"]
TAGS = ["Iran", "Ukraine", "China", "Trade", "Diplomacy", "Sanctions"]


def varied_records(count: int) -> list[dict[str, Any]]:
    """Articles with every facet's corner: missing sections, types and dates, a date that is no
    ISO date, no authors, a tag repeated on one page, and search words in title or body."""
    rng = random.Random(16)
    records = []
    for n in range(1, count + 1):
        words = rng.sample(WORDS, rng.randint(0, 3))
        tags = rng.sample(TAGS, rng.randint(0, 3))
        if tags and n % 7 == 0:
            tags.append(tags[0])  # the page lists it twice: the article still counts once
        published: str | None = f"20{rng.randint(23, 25)}-{rng.randint(1, 12):02d}-{n % 28 + 1:02d}"
        if n % 11 == 0:
            published = None
        elif n % 13 == 0:
            published = "sometime in spring"
        records.append(
            record(
                n,
                title=f"Story {n} " + " ".join(words[:1]),
                body=f"Paragraph of story {n} about {' '.join(words)}.\n\nMore.",
                section=rng.choice(SECTIONS),
                article_type=rng.choice(TYPES),
                published=published,
                authors=[
                    {"name": name, "url": None} for name in rng.sample(AUTHORS, rng.randint(0, 2))
                ],
                tags=tags,
                word_count=rng.choice([0, 100, 250]),
            )
        )
    return records


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "archive.db"
    build_archive(path, varied_records(90))
    return path


@pytest.fixture(scope="module")
def served(archive: Path) -> Iterator[dict[str, Any]]:
    """The archive served immutable (facets counted once) and live (Datasette's queries)."""
    both = {live: qds.build_datasette(archive, live=live)[0] for live in (False, True)}
    yield both
    for datasette in both.values():
        for database in datasette.databases.values():
            database.close()


def sql(archive: Path, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def truth(
    archive: Path, search: str, where: str = "", params: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """Count, newest page and facets of the articles matching ``search`` (and ``where``) by
    plain SQL, written here independently of the plugin."""
    matching = (
        "SELECT id FROM articles WHERE id IN (SELECT rowid FROM articles_fts "
        f"WHERE articles_fts MATCH ?) {where}"
    )
    args = (escape_fts(search), *params)
    per = "SELECT {value}, count(DISTINCT a.id) FROM articles a {join} WHERE a.id IN ({m}) " \
        "AND {value} IS NOT NULL GROUP BY {value}"  # fmt: skip
    facets = {
        "article_type": per.format(value="a.article_type", join="", m=matching),
        "section": per.format(value="a.section", join="", m=matching),
        "word_count": per.format(value="a.word_count", join="", m=matching),
        "published month": per.format(
            value="(CASE WHEN a.published GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]*' "
            "THEN substr(a.published, 1, 7) END)",
            join="",
            m=matching,
        ),
        "authors": per.format(
            value="au.name",
            join="JOIN article_authors x ON x.article_id = a.id "
            "JOIN authors au ON au.id = x.author_id",
            m=matching,
        ),
        "tags": per.format(
            value="t.label",
            join="JOIN article_tags x ON x.article_id = a.id JOIN tags t ON t.id = x.tag_id",
            m=matching,
        ),
    }
    return {
        "count": sql(archive, f"SELECT count(*) FROM ({matching})", args)[0][0],
        "page": [
            r[0]
            for r in sql(
                archive,
                f"SELECT id FROM articles WHERE id IN ({matching}) ORDER BY published DESC",
                args,
            )
        ],
        "facets": {name: Counter(dict(sql(archive, q, args))) for name, q in facets.items()},
    }


def answer(datasette: Any, **params: str) -> dict[str, Any]:
    query = urlencode({**params, "_facet": "word_count", "_facet_size": "max", "_size": "max"})
    response = get(datasette, f"/archive/articles.json?{query}&_shape=objects")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def shown(result: dict[str, Any]) -> dict[str, Counter[Any]]:
    return {
        name: Counter({v["label"]: v["count"] for v in facet["results"]})
        for name, facet in result["facet_results"].items()
    }


REQUESTS: list[tuple[dict[str, str], str, tuple[Any, ...]]] = [
    ({"_search": "arms"}, "", ()),
    ({"_search": "grain ceasefire"}, "", ()),
    ({"_search": "story"}, "", ()),  # every article
    ({"_search": "tariff", "section": "Europe"}, "AND section = ?", ("Europe",)),
    (
        {"_search": "arms", "_via": "article_tags.tag_id:1"},
        "AND id IN (SELECT article_id FROM article_tags WHERE tag_id = ?)",
        (1,),
    ),
    (
        {"_search": "grain", "published__startswith": "2024-"},
        "AND published LIKE ?",
        ("2024-%",),
    ),
    ({"_search": "nothingmatchesthis"}, "", ()),
]


@pytest.mark.parametrize(("params", "where", "args"), REQUESTS)
def test_search_rows_count_and_facets_equal_sql(
    served: dict[bool, Any],
    archive: Path,
    params: dict[str, str],
    where: str,
    args: tuple[Any, ...],
) -> None:
    expected = truth(archive, params["_search"], where, args)
    immutable, live = answer(served[False], **params), answer(served[True], **params)
    for result in (immutable, live):
        assert result["filtered_table_rows_count"] == expected["count"]
        ids = [row["id"] for row in result["rows"]]
        assert sorted(ids) == sorted(expected["page"])
        published = [row["published"] or "" for row in result["rows"]]
        assert published == sorted(published, reverse=True)
        assert shown(result) == expected["facets"]
    # Counted once or by Datasette's queries: the same facets, values, order, links, selections.
    assert immutable["facet_results"] == live["facet_results"]


def test_facets_show_the_most_counted_values_first_ties_by_label(
    served: dict[bool, Any], archive: Path
) -> None:
    expected = truth(archive, "arms")["facets"]
    query = urlencode({"_search": "arms", "_facet_size": "2"})
    facets = get(served[False], f"/archive/articles.json?{query}").json()["facet_results"]
    for name in ("authors", "tags", "section"):
        ranked = sorted(expected[name].items(), key=lambda lc: (-lc[1], lc[0]))
        assert [(v["label"], v["count"]) for v in facets[name]["results"]] == ranked[:2], name
        assert facets[name]["truncated"] == (len(ranked) > 2)
    months = sorted(expected["published month"].items(), reverse=True)
    assert [(v["label"], v["count"]) for v in facets["published month"]["results"]] == months[:2]


def test_a_search_reads_the_newest_articles_along_the_published_index(
    served: dict[bool, Any], archive: Path
) -> None:
    result = answer(served[False], _search="arms")
    query, params = result["query"]["sql"], result["query"]["params"]
    assert "+id in (select rowid from articles_fts" in query
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    conn.create_function("escape_fts", 1, escape_fts)
    try:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params)]
    finally:
        conn.close()
    assert "SCAN articles USING INDEX idx_articles_published" in plan, plan
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), plan
    assert qds.scanned_search("[id] in (select rowid from [a b] where [a b] match :search)") == (
        "+[id] in (select rowid from [a b] where [a b] match :search)"
    )
    assert qds.scanned_search("section = :p0") == "section = :p0"


def test_qiosk_serve_counts_the_facets_of_a_search(archive: Path) -> None:
    """Through the command: the hooks are wired into the Datasette ``qiosk serve`` runs."""
    expected = truth(archive, "ceasefire")
    with qiosk_serve(archive) as base:
        query = urlencode({"_search": "ceasefire", "_facet_size": "max"})
        with urllib.request.urlopen(f"{base}/archive/articles.json?{query}", timeout=30) as r:
            result = json.load(r)
    assert result["filtered_table_rows_count"] == expected["count"]
    facets = shown(result)
    assert {name: facets[name] for name in expected["facets"] if name != "word_count"} == {
        name: counts for name, counts in expected["facets"].items() if name != "word_count"
    }


def test_an_immutable_archive_counts_the_facets_of_a_search_without_grouping_queries(
    served: dict[bool, Any],
) -> None:
    """Immutable: the five configured facets from one read of the matching keys, a query only
    for the one picked from a column menu (``_facet=word_count``); live: a query per facet."""
    for live, grouping in ((False, 1), (True, 6)):
        db = served[live].get_database("archive")
        ran: list[str] = []
        execute = db.execute

        async def recording(
            sql: str, *args: Any, ran: list[str] = ran, execute: Any = execute, **kwargs: Any
        ) -> Any:
            ran.append(sql)
            return await execute(sql, *args, **kwargs)

        db.execute = recording
        try:
            assert len(answer(served[live], _search="arms")["facet_results"]) == 6
        finally:
            del db.execute
        assert sum("group by" in sql for sql in ran) == grouping, (live, ran)


def test_a_search_alone_is_counted_from_the_rows_it_matched(
    served: dict[bool, Any], archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Immutable, a search as the only filter: the count is the number of rows the search
    matched (read while the page was computed), no ``select count(*)``; with a column filter
    too, or live, SQLite counts."""
    ran: list[str] = []
    execute = Database.execute

    async def recording(self: Database, sql: str, *args: Any, **kwargs: Any) -> Any:
        ran.append(sql)
        return await execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(Database, "execute", recording)
    for live, params, counted in (
        (False, {"_search": "arms"}, False),
        (False, {"_search": "arms", "section": "Europe"}, True),
        (True, {"_search": "arms"}, True),
    ):
        ran.clear()
        where = "AND section = ?" if "section" in params else ""
        expected = truth(archive, "arms", where, ("Europe",) if where else ())
        assert answer(served[live], **params)["filtered_table_rows_count"] == expected["count"]
        assert any(sql.startswith("select count(*)") for sql in ran) == counted, (live, params)


def test_rows_as_bitmasks_take_known_keys_only() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    ids = random.Random(1).sample(range(1, 10**6), 1003)
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in ids])
    values = qds.FacetValues(conn, "t", "id")
    for n in (0, 1, 7, 8, 9, 500, 1003):
        keys = [*random.Random(n).sample(ids, n), -5, 10**7]
        expected = sum(1 << values.positions[k] for k in set(keys) if k in values.positions)
        assert values.mask(keys) == expected, n


@pytest.mark.parametrize(
    "query",
    [
        "",
        "_search=war+%C3%A9t%C3%A9",
        "_search=x&section=Analysis&empty=&_facet=section&_facet=section",
        "section=a%26b&_sort_desc=published&_search=%22gulf+states%22",
    ],
)
@pytest.mark.parametrize("https", [False, True])
def test_facet_toggle_links_are_the_ones_datasette_builds(query: str, https: bool) -> None:
    """The facet builder makes each value's toggle link from the page's URL once; the links
    are exactly Datasette's (its path_with_added_args / path_with_removed_args, absolute)."""
    ds = Datasette(memory=True, settings={"force_https_urls": https})
    request = Request.fake(f"/archive/articles?{query}")
    facet = qds.MonthFacet(ds, request, "archive", sql="select 1", table="articles")
    values = ["Analysis", "a&b", "é t/ü", "Reporting", "50%"]
    rows = [{"value": value, "count": 1} for value in values]
    result = qds.facet_result(
        facet, {"source": "request"}, "section", {"_facet": "section"}, rows, "section", values
    )
    for found, value in zip(result["results"], values, strict=True):
        arg = {"section": value}
        path = (path_with_removed_args if found["selected"] else path_with_added_args)(request, arg)
        assert found["toggle_url"] == ds.absolute_url(request, ds.urls.path(path)), value
    selected = {found["value"] for found in result["results"] if found["selected"]}
    assert selected == ({"Analysis"} if "section=Analysis" in query else set()) | (
        {"a&b"} if "section=a%26b" in query else set()
    )
