"""Acceptance of ``qiosk serve`` (issue 6): a real Datasette, started by the command on an archive
crawled from the mirror by ``qiosk crawl``, driven with Debian's headless Chromium (Playwright).

Expected rows come from the mirror's gold records and listings, not from the queries under test.
Screenshots go to ``test-output/datasette/``.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, sync_playwright
from support.browser import CHROMIUM, CHROMIUM_ARGS
from support.crawl import PROFILE

from qiosk_scraper.datasette import credit_source, load_metadata
from qiosk_scraper.mirror import RunningMirror

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "datasette"
QIOSK = str(Path(sys.executable).parent / "qiosk")

ROWS_JS = """() => {
  const table = document.querySelector('table.rows-and-columns');
  if (!table) return null;
  const heads = [...table.querySelectorAll('thead th')].map(
    th => th.dataset.column || th.textContent.trim());
  return [...table.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
    [...tr.querySelectorAll('td')].map((td, i) => [heads[i], td.textContent.trim()])));
}"""


@dataclass
class Served:
    base: str  # http://127.0.0.1:PORT
    db: Path
    gold: dict[str, dict[str, Any]]  # slug -> record
    mirror: RunningMirror

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return conn.execute(query, params).fetchall()
        finally:
            conn.close()

    def article_id(self, url: str) -> int:
        return int(self.sql("SELECT id FROM articles WHERE url = ?", (url,))[0][0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[str], deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"qiosk serve exited {process.returncode}: {process.stderr}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"qiosk serve did not answer {url} in {deadline_s} s")


@pytest.fixture(scope="module")
def served(mirror: RunningMirror, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db = tmp_path_factory.mktemp("serve") / "demo.db"
    crawl = subprocess.run(
        [QIOSK, "crawl", "--site", mirror.base_url, "--db", str(db), "--delay", "0", *PROFILE],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    port = free_port()
    log = (db.parent / "serve.log").open("w")
    process = subprocess.Popen(
        [QIOSK, "serve", "--db", str(db), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/-/versions.json", process)
        yield Served(base, db, mirror.site.gold(mirror.base_url), mirror)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def page(served: Served) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def open_page(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert page.locator(".message-error").count() == 0, page.locator(
        ".message-error"
    ).all_inner_texts()


def rows(page: Page) -> list[dict[str, str]]:
    found = page.evaluate(ROWS_JS)
    return found or []


def tokens(text: str | None) -> list[str]:
    return re.findall(r"\w+", (text or "").lower())


def unique_phrase(gold: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """(slug, phrase): six plain words from one gold body that appear in no other article."""

    def grams(record: dict[str, Any]) -> set[tuple[str, ...]]:
        words = tokens(" ".join([record["title"], record["subtitle"] or "", record["body"]]))
        return {tuple(words[i : i + 6]) for i in range(len(words) - 5)}

    every = {slug: grams(record) for slug, record in gold.items()}
    for slug in sorted(gold):
        others = set().union(*(g for s, g in every.items() if s != slug))
        words = tokens(gold[slug]["body"])
        for i in range(len(words) // 2, len(words) - 5):
            gram = tuple(words[i : i + 6])
            if gram not in others and all(w.isascii() and w.isalpha() for w in gram):
                return slug, " ".join(gram)
    raise AssertionError("no article has a phrase of its own")


# -- search ------------------------------------------------------------------------------------


def accept_phrase_search_on_the_articles_page_lists_that_article_first(
    served: Served, page: Page
) -> None:
    slug, phrase = unique_phrase(served.gold)
    open_page(page, f"{served.base}/archive/articles")
    page.fill("input[name=_search]", f'"{phrase}"')
    with page.expect_navigation():
        page.press("input[name=_search]", "Enter")
    found = rows(page)
    assert found, page.url
    assert found[0]["url"] == served.gold[slug]["url"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "search-articles-table.png"), full_page=True)


def accept_ranked_search_highlights_the_phrase_and_filters_by_section_and_dates(
    served: Served, page: Page
) -> None:
    slug, phrase = unique_phrase(served.gold)
    record = served.gold[slug]
    open_page(page, f"{served.base}/archive/search")
    for name in ("q", "section", "date_from", "date_to"):
        assert page.locator(f"form input[name={name}]").count() == 1, name
    page.fill("input[name=q]", f'"{phrase}"')
    page.fill("input[name=section]", record["section"])
    day = record["published"][:10]
    page.fill("input[name=date_from]", day)
    page.fill("input[name=date_to]", day)
    with page.expect_navigation():
        page.click("input[type=submit][value='Run SQL']")
    found = rows(page)
    assert [(r["article_id"], r["title"]) for r in found] == [
        (str(served.article_id(record["url"])), record["title"])
    ]
    marked = page.locator("td.col-snippet mark").all_inner_texts()
    assert tokens(" ".join(marked)) == phrase.split()  # FTS5 marks a phrase as one span
    target = OUTPUT / "search-results.png"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.click("td.col-article_id a")
    page.wait_for_load_state()
    assert page.locator("article.qiosk-article h1").inner_text() == record["title"]
    # The same phrase outside the date range, or in another section, finds nothing.
    for changes in ({"date_to": "2000-01-01"}, {"section": "No Such Section"}):
        params = {"q": f'"{phrase}"', "section": "", "date_from": "", "date_to": "", **changes}
        open_page(page, f"{served.base}/archive/search?{urlencode(params)}")
        assert rows(page) == []


# -- facets ------------------------------------------------------------------------------------


def facet(page: Page, name: str) -> list[tuple[str, int]]:
    items = page.evaluate(
        """(name) => [...document.querySelectorAll(
              `.facet-info[data-column="${name}"] ul li:not(.facet-truncated)`)]
            .map(li => [li.querySelector('a').textContent.trim(), li.textContent.trim()])""",
        name,
    )
    return [(label, int(text[len(label) :].strip().replace(",", ""))) for label, text in items]


def check_facet_counts(served: Served, page: Page, search: str | None = None) -> None:
    """The five facets of the articles page shown equal SQL counts (over the articles matching
    ``search``, when given)."""
    where, params = "", ()
    if search is not None:
        where = "WHERE {} IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
        params = (f'"{search}"',)
    expected = {
        "article_type": "SELECT article_type, count(*) FROM articles {} GROUP BY 1".format(
            where.format("id")
        ),
        "section": "SELECT section, count(*) FROM articles {} GROUP BY 1".format(
            where.format("id")
        ),
        "published month": "SELECT substr(published, 1, 7), count(*) FROM articles {} "
        "GROUP BY 1".format(where.format("id")),
        "authors": "SELECT a.name, count(DISTINCT x.article_id) FROM article_authors x "
        "JOIN authors a ON a.id = x.author_id {} GROUP BY a.id".format(
            where.format("x.article_id")
        ),
        "tags": "SELECT t.label, count(DISTINCT x.article_id) FROM article_tags x "
        "JOIN tags t ON t.id = x.tag_id {} GROUP BY t.id".format(where.format("x.article_id")),
    }
    size = 30  # Datasette's default_facet_size
    for name, query in expected.items():
        truth = Counter(dict(served.sql(query, params)))
        shown = facet(page, name)
        assert len(shown) == min(size, len(truth)), name
        assert all(truth[label] == count for label, count in shown), (name, shown)
        hidden = set(truth) - {label for label, _ in shown}
        assert all(truth[h] <= min(c for _, c in shown) for h in hidden), name


def accept_facet_counts_on_the_articles_page_equal_sql(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/articles")
    check_facet_counts(served, page)


def search_word(served: Served) -> str:
    """A title word that more than two articles but fewer than half of them match."""
    words = sorted({w for r in served.gold.values() for w in tokens(r["title"]) if len(w) > 3})
    for word in words:
        query = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?"
        if 2 < served.sql(query, (f'"{word}"',))[0][0] < len(served.gold) // 2:
            return word
    raise AssertionError("no title word matches a few articles")


def accept_search_on_the_articles_page_keeps_facets_newest_first_without_suggestions(
    served: Served, page: Page
) -> None:
    word = search_word(served)
    open_page(page, f"{served.base}/archive/articles?{urlencode({'_search': word})}")
    check_facet_counts(served, page, search=word)
    published = [r["published"] for r in rows(page)]
    assert published and published == sorted(published, reverse=True)
    # Facet suggestions are off (they cost 4/5 of a search); any column is faceted from its menu.
    assert page.locator(".suggested-facets").count() == 0
    page.click('th[data-column="modified"] .dropdown-menu-icon')
    offered = page.evaluate(
        """() => [...document.querySelectorAll('.dropdown-menu .dropdown-facet')]
            .filter(a => a.parentNode.style.display == 'block').map(a => a.getAttribute('href'))"""
    )
    assert offered == [f"?{urlencode({'_search': word, '_facet': 'modified'})}"]


def accept_facet_selections_filter_the_articles_to_the_sql_count(
    served: Served, page: Page
) -> None:
    open_page(page, f"{served.base}/archive/articles")
    author, author_count = facet(page, "authors")[0]
    with page.expect_navigation():
        page.click(f'.facet-info[data-column="authors"] a:text-is("{author}")')
    month, month_count = facet(page, "published month")[0]
    with page.expect_navigation():
        page.click(f'.facet-info[data-column="published month"] a:text-is("{month}")')
    heading = page.locator("h3").first.inner_text()
    expected = served.sql(
        "SELECT count(*) FROM articles a JOIN article_authors x ON x.article_id = a.id "
        "JOIN authors au ON au.id = x.author_id WHERE au.name = ? AND a.published LIKE ?",
        (author, f"{month}%"),
    )[0][0]
    assert re.match(rf"{expected} rows? where", heading), heading
    assert month_count == expected
    assert author_count == sum(1 for r in served.gold.values() if author in names(r))
    assert len(rows(page)) == expected


def names(record: dict[str, Any]) -> list[str]:
    return [a["name"] for a in record["authors"]]


# -- canned queries ----------------------------------------------------------------------------


def month_section_counts(served: Served, article_type: str) -> list[dict[str, str]]:
    counts = Counter(
        (r["published"][:7], r["section"])
        for r in served.gold.values()
        if r["article_type"] == article_type
    )
    return [{"month": m, "section": s, "articles": str(n)} for (m, s), n in sorted(counts.items())]


def check_search(served: Served, page: Page) -> None:
    slug, phrase = unique_phrase(served.gold)
    open_page(page, f"{served.base}/archive/search?" + urlencode({"q": f'"{phrase}"'}))
    assert [r["title"] for r in rows(page)] == [served.gold[slug]["title"]]


def check_author_articles(served: Served, page: Page) -> None:
    by_author = Counter(n for r in served.gold.values() for n in names(r))
    author = next(
        n
        for n, k in sorted(by_author.items(), key=lambda item: (-item[1], item[0]))
        if k >= 3 and sum(n in other for other in by_author) == 1  # no other name's part
    )
    open_page(page, f"{served.base}/archive/author_articles?" + urlencode({"author": author}))
    mine = sorted(
        (r for r in served.gold.values() if author in names(r)),
        key=lambda r: (r["published"], served.article_id(r["url"])),
    )
    found = rows(page)
    assert [(r["author"], r["title"], r["published"]) for r in found] == [
        (author, r["title"], r["published"]) for r in mine
    ]
    assert [r["articles_so_far"] for r in found] == [str(i + 1) for i in range(len(mine))]


def check_articles_per_month_per_section(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/articles_per_month_per_section?article_type=Reporting")
    assert rows(page) == month_section_counts(served, "Reporting")


def check_updated_articles(served: Served, page: Page) -> None:
    updated = sorted(
        (r for r in served.gold.values() if r["modified"] and r["modified"] > r["published"]),
        key=lambda r: r["modified"],
        reverse=True,
    )
    assert updated, "the mirror has updated articles"
    open_page(page, f"{served.base}/archive/updated_articles?since=")
    assert [(r["url"], r["modified"]) for r in rows(page)] == [
        (r["url"], r["modified"]) for r in updated
    ]
    since = updated[len(updated) // 2]["modified"][:10]
    open_page(page, f"{served.base}/archive/updated_articles?since={since}")
    assert [r["url"] for r in rows(page)] == [r["url"] for r in updated if r["modified"] >= since]


def gold_images(served: Served) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(r, i) for r in served.gold.values() for i in r["images"]]


def check_image_credits_by_source(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/image_credits_by_source")
    found = {r["source"]: int(r["images"]) for r in rows(page)}
    expected = Counter(credit_source(i["credit"]) or "(no credit)" for _, i in gold_images(served))
    assert found == dict(expected)
    reuters = [i for _, i in gold_images(served) if "reuters" in (i["credit"] or "").lower()]
    dod = [i for _, i in gold_images(served) if (i["credit"] or "").startswith("DoD photo")]
    assert found["Reuters"] == len(reuters) > 0 and found["DoD"] == len(dod) > 0


def check_images_from_source(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/images_from_source?source=Reuters")
    found = sorted((r["title"], r["credit"]) for r in rows(page))
    expected = sorted(
        (r["title"], i["credit"])
        for r, i in gold_images(served)
        if "reuters" in (i["credit"] or "").lower()
    )
    assert found == expected


def check_extraction_health(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/extraction_health")
    gold = list(served.gold.values())

    def pct(filled: int) -> str:
        return str(round(100.0 * filled / len(gold), 1))

    def lead(record: dict[str, Any]) -> dict[str, Any] | None:
        return next((i for i in record["images"] if i["lead"]), None)

    [row] = rows(page)
    assert row["articles"] == str(len(gold))
    assert row["lead_image_pct"] == pct(sum(lead(r) is not None for r in gold))
    credited = sum(bool((lead(r) or {}).get("credit")) for r in gold)
    assert row["lead_image_credit_pct"] == pct(credited) and 0 < credited < len(gold)
    assert row["tags_pct"] == pct(sum(bool(r["tags"]) for r in gold))
    assert row["section_pct"] == pct(sum(bool(r["section"]) for r in gold))
    assert row["authors_pct"] == pct(sum(bool(r["authors"]) for r in gold))
    assert row["dek_pct"] == pct(sum(bool(r["subtitle"]) for r in gold))
    assert row["published_pct"] == pct(sum(bool(r["published"]) for r in gold))
    assert row["from_fallback_pct"] == "0.0"  # the outlet's layers read every field


def check_missing_fields_by_crawl(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/missing_fields_by_crawl")
    gold = list(served.gold.values())

    def pct(missing: int) -> str:
        return str(round(100.0 * missing / len(gold), 1))

    [row] = rows(page)
    assert row["articles"] == str(len(gold))
    assert row["missing_byline_pct"] == pct(sum(not r["authors"] for r in gold))
    assert row["missing_date_pct"] == pct(sum(not r["published"] for r in gold))
    assert row["missing_section_pct"] == pct(sum(not r["section"] for r in gold))
    assert row["missing_dek_pct"] == pct(sum(not r["subtitle"] for r in gold))
    assert float(row["missing_dek_pct"]) > 0, "the mirror has articles without a dek"


def check_coverage_by_listing(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/coverage_by_listing")
    found = {r["listing"]: int(r["articles_listed"]) for r in rows(page)}
    listed = Counter(
        label for slug in served.gold for label in served.mirror.site.listings_of(slug)
    )
    unlisted = sum(1 for slug in served.gold if not served.mirror.site.listings_of(slug))
    assert found == {**listed, "(in no listing)": unlisted}


def check_crawl_history(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/crawl_history")
    [row] = rows(page)
    assert (row["site"], row["status"], row["articles_new"]) == (
        served.mirror.base_url,
        "finished",
        str(len(served.gold)),
    )
    assert row["responses"] == str(served.sql("SELECT count(*) FROM captures")[0][0])
    assert row["errors"] == str(served.sql("SELECT count(*) FROM errors")[0][0])


def check_edits(served: Served, page: Page) -> None:
    if pending(served, page, "edits", "revisions"):
        return
    # One crawl: every article has only its first revision (test_datasette_config.py checks
    # the listing of later revisions on an archive with edits).
    assert served.sql("SELECT count(*) FROM revisions WHERE revision > 1") == [(0,)]
    open_page(page, f"{served.base}/archive/edits?since=")
    assert rows(page) == []


def pending(served: Served, page: Page, name: str, table: str) -> bool:
    """True (after checking the page says so) when the archive lacks ``table`` and the query
    ``name`` is therefore left out; re-crawls (issue 5) add ``revisions`` and ``discoveries``."""
    if served.sql("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)):
        return False
    response = page.goto(f"{served.base}/archive/{name}")
    assert response is not None and response.status == 404
    open_page(page, f"{served.base}/archive")
    assert f"{name} (needs {table})" in page.inner_text(".metadata-description")
    return True


def discovered(served: Served) -> dict[int, set[str]]:
    """Article id -> the discovery sources that named it in the latest crawl."""
    pairs = served.sql(
        "SELECT d.source, coalesce(a.id, u.article_id) FROM discoveries d "
        "LEFT JOIN articles a ON a.url = d.url LEFT JOIN url_aliases u ON u.url = d.url "
        "WHERE d.crawl_id = (SELECT max(crawl_id) FROM discoveries)"
    )
    sources: dict[int, set[str]] = {}
    for source, article_id in pairs:
        if article_id is not None:
            sources.setdefault(article_id, set()).add(source)
    return sources


def check_coverage_by_source(served: Served, page: Page) -> None:
    if pending(served, page, "coverage_by_source", "discoveries"):
        return
    open_page(page, f"{served.base}/archive/coverage_by_source?crawl_id=")
    sources = discovered(served)
    per_source = Counter(s for found in sources.values() for s in found)
    only = Counter(next(iter(found)) for found in sources.values() if len(found) == 1)
    found_rows = rows(page)
    assert {r["source"]: (int(r["articles"]), int(r["only_this_source"])) for r in found_rows} == {
        s: (n, only[s]) for s, n in per_source.items()
    }
    sitemap = next(r for r in found_rows if r["source"] == "sitemap")
    assert (sitemap["articles"], sitemap["share_pct"]) == (str(len(served.gold)), "100.0")


def check_single_source_articles(served: Served, page: Page) -> None:
    if pending(served, page, "single_source_articles", "discoveries"):
        return
    singles = {i: next(iter(s)) for i, s in discovered(served).items() if len(s) == 1}
    open_page(page, f"{served.base}/archive/single_source_articles?crawl_id=&source=")
    assert sorted((r["source"], int(r["article_id"])) for r in rows(page)) == sorted(
        (s, i) for i, s in singles.items()
    )
    open_page(page, f"{served.base}/archive/single_source_articles?crawl_id=&source=sitemap")
    assert {r["source"] for r in rows(page)} <= {"sitemap"}
    assert len(rows(page)) == sum(s == "sitemap" for s in singles.values())


def check_sources(served: Served, page: Page) -> None:
    """A crawl alone: every article and revision came from it (the import tests and
    test_datasette_config check web-archive sources)."""
    open_page(page, f"{served.base}/archive/sources")
    captures = str(served.sql("SELECT count(*) FROM captures")[0][0])
    articles = str(len(served.gold))
    assert rows(page) == [
        {
            "source": "crawl",
            "captures": captures,
            "articles_brought": articles,
            "articles_with_a_revision": articles,
            "revisions": articles,
        }
    ]


def check_archive_only(served: Served, page: Page) -> None:
    open_page(page, f"{served.base}/archive/archive_only?source=")
    assert rows(page) == []  # nothing imported: no article only web archives know
    assert "0 results" in page.inner_text("body") or "0 rows" in page.inner_text("body")


CHECKS: dict[str, Callable[[Served, Page], None]] = {
    "search": check_search,
    "author_articles": check_author_articles,
    "articles_per_month_per_section": check_articles_per_month_per_section,
    "updated_articles": check_updated_articles,
    "edits": check_edits,
    "image_credits_by_source": check_image_credits_by_source,
    "images_from_source": check_images_from_source,
    "extraction_health": check_extraction_health,
    "missing_fields_by_crawl": check_missing_fields_by_crawl,
    "coverage_by_listing": check_coverage_by_listing,
    "crawl_history": check_crawl_history,
    "coverage_by_source": check_coverage_by_source,
    "single_source_articles": check_single_source_articles,
    "sources": check_sources,
    "archive_only": check_archive_only,
}


def test_every_canned_query_has_a_check() -> None:
    assert sorted(load_metadata()["databases"]["archive"]["queries"]) == sorted(CHECKS)


def accept_canned_query(served: Served, page: Page, name: str) -> None:
    """The query page renders its form, and with example parameters the expected rows."""
    query = load_metadata()["databases"]["archive"]["queries"][name]
    served_names = [q["name"] for q in fetch_json(f"{served.base}/archive.json")["queries"]]
    if name in served_names:
        open_page(page, f"{served.base}/archive/{name}")
        assert page.locator("h1").inner_text() == query["title"]
        for parameter in sorted(set(re.findall(r":(\w+)", query["sql"]))):
            assert page.locator(f"form input[name={parameter}]").count() == 1, parameter
    CHECKS[name](served, page)


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


# -- chart, article page, safety ---------------------------------------------------------------


def accept_chart_of_articles_per_month_per_section_is_drawn(served: Served, page: Page) -> None:
    chart = (
        "#g.mark=bar&g.x_column=month&g.x_type=ordinal&g.y_column=articles"
        "&g.y_type=quantitative&g.color_column=section"
    )
    open_page(page, f"{served.base}/archive/articles_per_month_per_section?article_type={chart}")
    canvas = page.wait_for_selector("canvas", timeout=20_000)
    assert canvas is not None
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100
    painted = page.evaluate(
        """(canvas) => { const c = canvas.getContext('2d');
             const d = c.getImageData(0, 0, canvas.width, canvas.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
        canvas,
    )
    assert painted > 1000
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "chart.png"), full_page=True)


def accept_article_page_is_readable(served: Served, page: Page) -> None:
    record = next(
        r
        for _, r in sorted(served.gold.items())
        if len(r["authors"]) >= 2 and any(i["credit"] for i in r["images"]) and r["subtitle"]
    )
    open_page(page, f"{served.base}/archive/articles/{served.article_id(record['url'])}")
    article = page.locator("article.qiosk-article")
    assert article.locator("h1").inner_text() == record["title"]
    assert article.locator(".dek").inner_text() == record["subtitle"]
    paragraphs = article.locator(".body p").all_inner_texts()
    assert paragraphs == record["body"].split("\n\n")
    assert article.locator(".byline > a:not([rel])").all_inner_texts() == names(record)
    assert record["published"] in article.locator(".dates").inner_text()
    credits = page.locator("table.images td:nth-child(4)").all_inner_texts()
    assert credits == [i["credit"] or "" for i in record["images"]]
    assert page.locator(".tags a").all_inner_texts() == record["tags"]


def accept_articles_table_shows_rows_in_the_first_screen(served: Served, page: Page) -> None:
    """At 1400x1000 the first row is on the first screen and the url column readable; the
    column descriptions are in each column's menu and in a collapsed block (issue 12 item 13)."""
    page.set_viewport_size({"width": 1400, "height": 1000})
    try:
        open_page(page, f"{served.base}/archive/articles")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / "articles-first-screen.png"))
        first = page.locator("table.rows-and-columns tbody tr").first.bounding_box()
        assert first is not None and first["y"] + first["height"] <= 1000, first
        url_cell = page.locator("table.rows-and-columns tbody td.col-url").first
        box = url_cell.bounding_box()
        size = float(url_cell.evaluate("td => parseFloat(getComputedStyle(td).fontSize)"))
        assert box is not None and box["width"] >= 16 * size, (box, size)  # >= ~30 characters
        described = load_metadata()["databases"]["archive"]["tables"]["articles"]["columns"]
        block = page.locator("details.qiosk-column-descriptions")
        assert block.get_attribute("open") is None
        assert block.locator("dt").all_text_contents() == list(described)
        page.click('th[data-column="url"] .dropdown-menu-icon')
        shown = page.locator(".dropdown-menu .dropdown-column-description")
        assert shown.inner_text() == described["url"]
    finally:
        page.set_viewport_size({"width": 1280, "height": 1000})


def accept_only_read_only_plugins_are_loaded(served: Served, page: Page) -> None:
    plugins = {p["name"] for p in fetch_json(f"{served.base}/-/plugins.json")}
    assert plugins == {"datasette-vega", "qiosk_scraper.datasette"}
    databases = fetch_json(f"{served.base}/-/databases.json")
    assert [(d["name"], d["is_mutable"]) for d in databases] == [("archive", False)]


ACCEPTANCE: list[tuple[str, Callable[[Served, Page], None]]] = [
    (check.__name__.removeprefix("accept_").replace("_", " "), check)
    for check in (
        accept_phrase_search_on_the_articles_page_lists_that_article_first,
        accept_ranked_search_highlights_the_phrase_and_filters_by_section_and_dates,
        accept_facet_counts_on_the_articles_page_equal_sql,
        accept_search_on_the_articles_page_keeps_facets_newest_first_without_suggestions,
        accept_facet_selections_filter_the_articles_to_the_sql_count,
        accept_chart_of_articles_per_month_per_section_is_drawn,
        accept_article_page_is_readable,
        accept_articles_table_shows_rows_in_the_first_screen,
        accept_only_read_only_plugins_are_loaded,
    )
] + [
    (f"canned query {name}: form and expected rows", partial(accept_canned_query, name=name))
    for name in sorted(CHECKS)
]


def test_the_served_archive_in_headless_chromium(served: Served, page: Page) -> None:
    """Every acceptance check on one crawl, one Datasette and one browser (as separate tests,
    pytest-xdist would give each worker its own); every failing check is reported."""
    failures = {}
    for title, check in ACCEPTANCE:
        try:
            check(served, page)
        except AssertionError as error:
            failures[title] = "".join(traceback.format_exception(error, limit=-1)).strip()
    assert failures == {}, "\n\n".join(f"{t}:\n{m}" for t, m in failures.items())
