"""The Datasette configuration without a browser: metadata coverage of the schema, canned queries
against the schema (and the planned ``revisions`` shape), credit sources, escaping, read-only
serving and the refusals of ``qiosk serve``."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from datasette.utils import escape_fts
from support.datasette import build_archive, get, qiosk_serve, record
from support.sources import sourced_archive

from qiosk_scraper import datasette as qds
from qiosk_scraper.archive import Archive
from qiosk_scraper.cli import main
from qiosk_scraper.health import count_fields

QIOSK = str(Path(sys.executable).parent / "qiosk")
FTS_SHADOW_SUFFIXES = ("data", "idx", "docsize", "config", "content", "segments", "segdir", "stat")

# The revisions table as issue 5 plans it (archive.py does not create it yet).
PLANNED_REVISIONS = (
    "CREATE TABLE revisions (article_id INTEGER, revision INTEGER, fetched_at TEXT, "
    "content_hash TEXT, record TEXT, changed_fields TEXT, silent_edit INTEGER, "
    "extractor_version TEXT, capture_id INTEGER, PRIMARY KEY (article_id, revision))"
)


def schema_tables(path: Path) -> dict[str, list[str]]:
    """Every table of the file with its columns, FTS shadow tables left out."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        fts = [name for name, sql in rows if re.search(r"USING\s+FTS[345]", sql or "", re.I)]
        shadows = {f"{name}_{suffix}" for name in fts for suffix in FTS_SHADOW_SUFFIXES}
        return {
            name: [col[1] for col in conn.execute(f"PRAGMA table_info([{name}])")]
            for name, _ in rows
            if name not in shadows
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    return qds.load_metadata()


@pytest.fixture(scope="module")
def empty_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "archive.db"
    Archive(path).close()
    return path


def test_every_table_and_column_of_the_archive_is_described(
    metadata: dict[str, Any], empty_archive: Path
) -> None:
    tables = metadata["databases"]["archive"]["tables"]
    schema = schema_tables(empty_archive)
    assert "articles_fts" in schema and "articles_fts_data" not in schema
    undescribed = [
        t
        for t in schema
        if not ((tables.get(t) or {}).get("description") or tables[t].get("description_html"))
    ]
    assert undescribed == []
    missing = {
        table: [c for c in columns if not (tables[table].get("columns") or {}).get(c)]
        for table, columns in schema.items()
    }
    assert {t: c for t, c in missing.items() if c} == {}


def test_the_fill_rates_table_is_described(metadata: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        crawl_id = archive.start_crawl("https://example.org", {}, {})
        archive.record_extraction_health(crawl_id, count_fields([]))
    described = metadata["databases"]["archive"]["tables"]["fill_rates"]
    assert described["description"]
    assert sorted(described["columns"]) == sorted(schema_tables(path)["fill_rates"])


def test_planned_revisions_columns_are_described(metadata: dict[str, Any], tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute(PLANNED_REVISIONS)
    columns = [c[1] for c in conn.execute("PRAGMA table_info(revisions)")]
    conn.close()
    described = metadata["databases"]["archive"]["tables"]["revisions"]["columns"]
    assert sorted(described) == sorted(columns)


def test_labels_sorting_search_and_facets_are_configured(metadata: dict[str, Any]) -> None:
    tables = metadata["databases"]["archive"]["tables"]
    assert tables["articles"]["sort_desc"] == "published"
    assert tables["articles"]["fts_table"] == "articles_fts"
    assert {t: tables[t]["label_column"] for t in ("authors", "sections", "tags")} == {
        "authors": "name",
        "sections": "label",
        "tags": "label",
    }
    assert tables["articles"]["facets"] == [
        "article_type",
        "section",
        {"month": "published"},
        {"through": "article_authors"},
        {"through": "article_tags"},
    ]


def test_no_canned_query_writes_and_the_time_limit_is_set(metadata: dict[str, Any]) -> None:
    queries = metadata["databases"]["archive"]["queries"]
    assert len(queries) >= 9
    assert [name for name, q in queries.items() if q.get("write")] == []
    assert qds.SETTINGS["sql_time_limit_ms"] > 0
    assert qds.DEFAULT_HOST == "127.0.0.1"


def test_prune_leaves_out_queries_whose_tables_are_missing(empty_archive: Path) -> None:
    recrawl_tables = {"revisions", "discoveries"}  # schema version 2 (re-crawls)
    tables = set(schema_tables(empty_archive)) - recrawl_tables
    metadata = qds.load_metadata()
    assert qds.prune(metadata, tables) == {
        "archive_only": ["revisions"],
        "coverage_by_source": ["discoveries"],
        "edits": ["revisions"],
        "single_source_articles": ["discoveries"],
        "sources": ["revisions"],
    }
    queries = metadata["databases"]["archive"]["queries"]
    assert not {"edits", "coverage_by_source", "single_source_articles"} & set(queries)
    assert "edits (needs revisions)" in metadata["databases"]["archive"]["description"]
    assert qds.prune(qds.load_metadata(), tables | recrawl_tables) == {}


def test_tables_referenced_ignores_functions_and_cte_names() -> None:
    sql = (
        "with recent as (select * from articles) select * from recent r "
        "join [images] i on 1 left join revisions p on 1, json_each(r.x) "
        "where x in (select value from json_each(p.changed_fields))"
    )
    assert qds.tables_referenced(sql) == {"articles", "images", "revisions"}


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    conn.create_function("escape_fts", 1, escape_fts)
    conn.create_function("credit_source", 1, qds.credit_source)
    conn.create_function("credit_photographer", 1, qds.credit_photographer)
    return conn


def test_edits_query_lists_later_revisions_silent_edits_first(
    metadata: dict[str, Any], tmp_path: Path
) -> None:
    """Real revisions when the archive keeps them (re-crawls); else the planned table, filled
    as re-crawls would fill it."""
    path = tmp_path / "archive.db"
    build_archive(path, [record(1), record(2), record(3)])
    edited = [
        record(1, body="An edited body.", modified="2025-06-20T00:00:00+00:00"),
        record(2, body="Quietly edited body."),  # modified unchanged: a silent edit
    ]
    with Archive(path) as archive:
        keeps_revisions = "revisions" in archive.db.table_names()
        crawl_id = archive.start_crawl("https://responsiblestatecraft.org", {}, {})
        for day, rec in zip(("02", "03"), edited, strict=True):
            archive.save_article(
                rec, crawl_id=crawl_id, capture_id=None, fetched_at=f"2025-07-{day}T00:00:00+00:00"
            )
    conn = _connect(path)
    if not keeps_revisions:
        conn.execute(PLANNED_REVISIONS)
        conn.executemany(
            "INSERT INTO revisions (article_id, revision, fetched_at, content_hash, record, "
            "changed_fields, silent_edit) VALUES (?, ?, ?, '', '{}', ?, ?)",
            [
                *((n, 1, "2025-07-01T00:00:00+00:00", "[]", 0) for n in (1, 2, 3)),
                (1, 2, "2025-07-02T00:00:00+00:00", '["body", "modified"]', 0),
                (2, 2, "2025-07-03T00:00:00+00:00", '["body"]', 1),
            ],
        )
    sql = metadata["databases"]["archive"]["queries"]["edits"]["sql"]
    rows = [dict(r) for r in conn.execute(sql, {"since": ""})]
    assert [(r["article_id"], r["revision"], r["changed"], r["silent_edit"]) for r in rows] == [
        (2, 2, "body", 1),
        (1, 2, "body, modified", 0),
    ]
    assert {r["cause"] for r in rows} == {"edit"}
    since = [r["article_id"] for r in conn.execute(sql, {"since": "2025-07-03"})]
    assert since == [2]
    conn.close()


@pytest.mark.parametrize(
    ("credit", "source", "photographer"),
    [
        ("Official State Department photo by Freddie Kallio", "State Department", "Freddie Kallio"),
        ("Creative Commons license", "Creative Commons", None),
        ("DoD photo by Sgt. 1st Class Omar Qasim", "DoD", "Sgt. 1st Class Omar Qasim"),
        ("U.S. Air Force photo/Omar Qasim", "U.S. Air Force", "Omar Qasim"),
        ("U.S. Army photo by Spc. John Smith", "U.S. Army", "Spc. John Smith"),
        ("Inspired by maps via shutterstock.com", "Shutterstock", None),
        ("Tessa Lindgren via Reuters", "Reuters", "Tessa Lindgren"),
        ("Tessa Lindgren/Reuters", "Reuters", "Tessa Lindgren"),
        ("Ron Ashdown/Shutterstock", "Shutterstock", "Ron Ashdown"),
        ("Shutterstock", "Shutterstock", None),
        ("Photo by Ron Ashdown", "Ron Ashdown", "Ron Ashdown"),
        ("AP Photo/Jane Doe", "AP", "Jane Doe"),
        ("Jane Doe/Getty Images", "Getty Images", "Jane Doe"),
        ("Rebecca Stone/Agencia Brasil", "Agencia Brasil", "Rebecca Stone"),
        ("Some Local Archive", "Some Local Archive", None),
        ("", None, None),
        (None, None, None),
    ],
)  # fmt: skip
def test_credit_source_and_photographer(
    credit: str | None, source: str | None, photographer: str | None
) -> None:
    assert qds.credit_source(credit) == source
    assert qds.credit_photographer(credit) == photographer


def test_highlight_escapes_everything_but_the_markers() -> None:
    html = qds.highlight('<b onclick="x()">bold</b> & ⟦term⟧ …')
    assert str(html) == ("&lt;b onclick=&#34;x()&#34;&gt;bold&lt;/b&gt; &amp; <mark>term</mark> …")


# -- an in-process Datasette on a small archive with hostile text --------------------------

Hostile = tuple[Any, Path, dict[str, list[str]]]  # Datasette, archive file, pending queries
HOSTILE_TITLE = '<script>alert("title")</script> & friends'
HOSTILE_BODY = "Opening words.\n\nA tag <img src=x onerror=alert(1)> inside the text."


@pytest.fixture(scope="module")
def hostile(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hostile]:
    path = tmp_path_factory.mktemp("hostile") / "my archive.db"
    build_archive(
        path,
        [
            record(
                1,
                title=HOSTILE_TITLE,
                body=HOSTILE_BODY,
                images=[
                    {
                        "url": "https://example.org/a.jpg",
                        "alt": "",
                        "caption": "<i>caption</i>",
                        "credit": "DoD photo by <b>Sgt. X</b>",
                        "lead": True,
                    }
                ],
            ),
            record(2),
        ],
    )
    datasette, pending = qds.build_datasette(path)
    yield datasette, path, pending
    for database in datasette.databases.values():
        database.close()


def test_article_page_shows_escaped_text_as_paragraphs(
    hostile: Hostile,
) -> None:
    datasette, _, _ = hostile
    response = get(datasette, "/archive/articles/1")
    assert response.status_code == 200
    html = response.text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; &amp; friends" in html
    assert "<p>A tag &lt;img src=x onerror=alert(1)&gt; inside the text.</p>" in html
    assert "<p>Opening words.</p>" in html
    assert "DoD photo by &lt;b&gt;Sgt. X&lt;/b&gt;" in html
    assert '<a href="/archive/authors/1">Jane Roe</a>' in html


def test_search_snippet_marks_terms_and_escapes_the_rest(
    hostile: Hostile,
) -> None:
    datasette, _, _ = hostile
    response = get(datasette, "/archive/search?q=onerror&section=&date_from=&date_to=")
    assert response.status_code == 200
    assert "&lt;img src=x <mark>onerror</mark>=alert(1)&gt;" in response.text
    assert '<a href="/archive/articles/1">1</a>' in response.text
    table = get(datasette, "/archive/articles?_search=onerror").text
    assert "<script>alert" not in table and "&lt;script&gt;" in table


def test_via_filter_selects_linked_rows_and_rejects_bad_values(
    hostile: Hostile,
) -> None:
    datasette, _, _ = hostile
    url = "/archive/articles.json?_shape=array&_via=article_tags.tag_id:1"
    assert [r["id"] for r in get(datasette, url).json()] == [2, 1]
    combined = get(datasette, url + "&published__startswith=2025-06-02").json()
    assert [r["id"] for r in combined] == [2]
    page = get(datasette, "/archive/articles?_via=article_tags.tag_id:1").text
    assert "where tags is &#34;Iran&#34;" in page
    for bad, reason in [
        ("nonsense", "expected <link table>.<column>:<value>"),
        ("no_table.x_id:1", "no table 'no_table'"),
        ("article_tags.position:1", "article_tags.position is not its link"),
    ]:
        response = get(datasette, f"/archive/articles.json?_via={bad}")
        assert response.status_code == 400 and reason in response.json()["error"], bad


def test_served_immutable_and_refuses_writes(
    hostile: Hostile,
) -> None:
    datasette, path, pending = hostile
    databases = get(datasette, "/-/databases.json").json()
    assert [(d["name"], d["is_mutable"]) for d in databases] == [("archive", False)]
    before = path.read_bytes()
    response = get(datasette, "/archive.json?sql=delete+from+articles")
    assert response.status_code == 400
    assert "select" in response.json()["error"].lower()
    queries = [q["name"] for q in get(datasette, "/archive.json").json()["queries"]]
    configured = qds.load_metadata()["databases"]["archive"]["queries"]
    assert sorted(queries) == sorted(set(configured) - set(pending))
    for name in pending:
        assert get(datasette, f"/archive/{name}").status_code == 404
    settings = get(datasette, "/-/settings.json").json()
    assert settings["sql_time_limit_ms"] == qds.SETTINGS["sql_time_limit_ms"]
    assert path.read_bytes() == before


def test_search_computes_the_configured_facets_and_no_suggestions(hostile: Hostile) -> None:
    datasette, _, _ = hostile
    answer = get(datasette, "/archive/articles.json?_search=story&_shape=objects").json()
    assert [r["id"] for r in answer["rows"]] == [2]  # "Story 2" (story 1 has another title)
    assert answer["filtered_table_rows_count"] == 1
    facets = {
        name: [(v["label"], v["count"]) for v in f["results"]]
        for name, f in answer["facet_results"].items()
    }
    assert facets == {
        "article_type": [("Analysis", 1)],
        "section": [("Middle East", 1)],
        "published month": [("2025-06", 1)],
        "authors": [("Jane Roe", 1)],
        "tags": [("Iran", 1)],
    }
    assert answer["suggested_facets"] == []  # suggest_facets off: 57 queries per search
    facet_date = get(datasette, "/archive/articles.json?_facet_date=first_seen").json()
    assert [v["count"] for v in facet_date["facet_results"]["first_seen"]["results"]] == [2]


def test_an_empty_search_box_shows_every_article(hostile: Hostile) -> None:
    datasette, _, _ = hostile
    for blank in ("_search=", "_search=+", "_search_title=%20"):
        answer = get(datasette, f"/archive/articles.json?{blank}&_shape=objects")
        assert answer.status_code == 200, (blank, answer.text)
        assert answer.json()["filtered_table_rows_count"] == 2
    page = get(datasette, "/archive/articles?_search=&_sort=id")
    assert page.status_code == 200 and "Invalid SQL" not in page.text
    # Other parameters stay as they were sent.
    assert (
        qds.without_blank_search(b"_search=&_sort=id&_facet=section") == b"_sort=id&_facet=section"
    )
    assert qds.without_blank_search(b"_search=a%20b&_x=") == b"_search=a%20b&_x="


def pragma(datasette: Any, name: str) -> Any:
    return asyncio.run(datasette.get_database("archive").execute(f"PRAGMA {name}")).first()[0]


def test_immutable_archive_is_memory_mapped_live_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    build_archive(path, [record(1)])
    for live, mmap_size in ((False, qds.MMAP_SIZE), (True, 0)):
        datasette, _ = qds.build_datasette(path, live=live)
        try:
            assert pragma(datasette, "mmap_size") == mmap_size, live
            assert pragma(datasette, "query_only") == 1
        finally:
            for database in datasette.databases.values():
                database.close()


# -- qiosk serve refusals --------------------------------------------------------------------


def test_serve_refuses_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert "no such archive" in result.output


def test_serve_refuses_a_sqlite_file_that_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(main, ["serve", "--db", str(path)])
    assert result.exit_code == 1
    assert "not a qiosk archive" in result.output


def test_serve_refuses_an_archive_being_written_unless_live(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    archive = Archive(path)  # WAL mode: commits stay in busy.db-wal while it is open
    try:
        crawl_id = archive.start_crawl("https://responsiblestatecraft.org", {}, {})
        archive.save_article(record(1), crawl_id=crawl_id, capture_id=None, fetched_at="x")
        assert path.with_name("busy.db-wal").stat().st_size > 0
        result = CliRunner().invoke(main, ["serve", "--db", str(path)])
        assert result.exit_code == 1
        assert "write-ahead log" in result.output and "--live" in result.output
        datasette, _ = qds.build_datasette(path, live=True)
        rows = get(datasette, "/archive/articles.json?_shape=array").json()
        assert [r["title"] for r in rows] == ["Story 1"]
        for database in datasette.databases.values():
            database.close()
    finally:
        archive.close()


def test_serve_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Example: qiosk serve" in result.output
    assert "127.0.0.1" in result.output


# -- the sources of the archive (issue 16): canned queries through a real qiosk serve ----------


def canned(base: str, query: str, **params: str) -> list[dict[str, Any]]:
    url = f"{base}/archive/{query}.json?{urlencode({**params, '_shape': 'objects'})}"
    with urllib.request.urlopen(url, timeout=30) as response:
        rows: list[dict[str, Any]] = json.load(response)["rows"]
    return rows


def test_sources_and_archive_only_queries_through_qiosk_serve(tmp_path: Path) -> None:
    sourced = sourced_archive(tmp_path)
    with qiosk_serve(sourced.db) as base:
        assert canned(base, "sources") == sourced.figures
        served = canned(base, "archive_only", source="")
        ids = {row["url"]: row.pop("article_id") for row in served}
        expected = [{**row, "sources": ",".join(row["sources"])} for row in sourced.archive_only]
        assert sorted(served, key=lambda r: r["url"]) == expected
        with Archive(sourced.db) as archive:
            assert ids == {url: archive.find_article(url) for url, _ in sourced.only}
        wayback = canned(base, "archive_only", source="wayback")
        own = canned(base, "archive_only", source="own-warc")
        assert [r["url"] for r in wayback] == [r["url"] for r in sourced.archive_only]
        assert [r["url"] for r in own] == [
            r["url"] for r in sourced.archive_only if "own-warc" in r["sources"]
        ]


def test_sources_queries_on_archives_without_imports(tmp_path: Path) -> None:
    """No import yet: no error, no archive-only article; an empty archive has no source."""
    empty, crawled = tmp_path / "empty.db", tmp_path / "crawled.db"
    Archive(empty).close()
    build_archive(crawled, [record(1), record(2)])
    with qiosk_serve(empty) as base:
        assert canned(base, "sources") == []
        assert canned(base, "archive_only", source="") == []
    with qiosk_serve(crawled) as base:
        assert canned(base, "sources") == [
            {
                "source": "crawl",
                "captures": 2,
                "articles_brought": 2,
                "articles_with_a_revision": 2,
                "revisions": 2,
            }
        ]
        assert canned(base, "archive_only", source="") == []
