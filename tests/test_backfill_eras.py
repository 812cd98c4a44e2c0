"""Issue 16's acceptance: a real pywb serves captures of the outlet across its eras, and
``qiosk backfill`` merges them into an archive crawled from the live site.

The live site is the mirror at edition 3 (two rounds of changes: articles edited, deleted,
moved). The web archive holds, at their own dates:

- WordPress-era captures (2019-2022) of the legacy articles at their date paths, in the old
  theme: two still live at that path, two since moved to a short slug (the date path 301s);
- RebelMouse captures of edition 1 and of edition 2 of the articles that changed since (edited,
  deleted, moved) and of some that did not.

The gold history of each article is worked out from the mirror alone: the true record of each
capture in time order, then the crawl's, with a state equal to the one before dropped. After
``backfill`` (and its live check), the archive must hold exactly that: every article, every
revision in order, the deleted ones marked gone with their capture dates, and the WordPress-era
states equal to their gold.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from support.backfill import Page, make_collection, range_server, running_pywb, write_warc
from support.crawl import crawl_cli, serving

from qiosk_scraper.archive import Archive
from qiosk_scraper.cli import main
from qiosk_scraper.mirror import Site, running_mirror

ARTICLES, SEED = 60, 7


@dataclass(frozen=True)
class Shot:
    """A capture of the web archive and the true record of what it shows."""

    url: str
    body: bytes
    at: datetime
    record: dict[str, Any]
    era: str


def _warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shots(base: str) -> tuple[list[Shot], dict[int, list[dict[str, Any]]], set[int]]:
    """The captures, the gold history of each article (by index) and the deleted indexes."""
    editions = {k: Site(articles=ARTICLES, seed=SEED, edition=k) for k in (1, 2, 3)}
    live = editions[3]
    legacy = range(live.shape.legacy_count)
    changed = live.changes()
    deleted_slugs = set(changed["deleted"])
    of_interest = {
        m.index
        for m in editions[1].all_metas
        if m.slug in set(changed["edited"]) | deleted_slugs
        or m.path in changed["moved"]
        or m.index in legacy
    }
    of_interest |= {editions[1].order[5].index, editions[1].order[30].index}  # unchanged ones
    shots: list[Shot] = []
    for index in legacy:  # the old theme, two months after publication
        meta = editions[1].all_metas[index]
        url, body, record = editions[1].wordpress_capture(meta.slug, base)
        shots.append(Shot(url, body, meta.published + timedelta(days=60), record, "wordpress"))
    for k in (1, 2):  # a capture at each edition's "now", of what that edition serves
        site = editions[k]
        gold = site.gold(base)
        for meta in site.metas:
            if meta.index in of_interest:
                body = site.respond(meta.path, base).body
                at = site.now - timedelta(hours=1)
                shots.append(Shot(base + meta.path, body, at, gold[meta.slug], "rebelmouse"))
    crawled = {m.index: rec for m in live.metas for rec in [live.gold(base)[m.slug]]}
    history: dict[int, list[dict[str, Any]]] = {}
    for shot in sorted(shots, key=lambda s: s.at):
        index = _index_of(editions, shot.url, base)
        history.setdefault(index, []).append(shot.record)
    for index, record in crawled.items():
        history.setdefault(index, []).append(record)
    for index, states in history.items():  # a state equal to the one before adds nothing
        history[index] = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    deleted = {m.index for m in editions[1].all_metas if m.slug in deleted_slugs}
    return shots, history, deleted


def _index_of(editions: dict[int, Site], url: str, base: str) -> int:
    path = url.removeprefix(base)
    for site in editions.values():
        for meta in site.all_metas:
            if path in (meta.path, meta.legacy_path, meta.first_path):
                return meta.index
    raise AssertionError(f"no article at {url}")


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _history(db: Path) -> list[Any]:
    """Every article's state and history, as the backfill left them."""
    with Archive(db) as archive:
        return [
            list(archive.db.execute(sql))
            for sql in (
                "SELECT url, title, first_seen, gone_at IS NOT NULL FROM articles ORDER BY url",
                "SELECT a.url, r.revision, r.fetched_at, r.content_hash, r.changed_fields "
                "FROM revisions r JOIN articles a ON a.id = r.article_id ORDER BY 1, 2",
            )
        ]


GOLD_FIELDS = ("url", "title", "subtitle", "authors", "published", "modified", "body", "tags")


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in GOLD_FIELDS}


def test_backfill_from_pywb_across_eras_equals_the_gold(tmp_path: Path) -> None:
    db = tmp_path / "archive" / "qiosk.db"
    live = Site(articles=ARTICLES, seed=SEED, edition=3)
    with running_mirror(site=live) as mirror:
        base = mirror.base_url
        crawled = crawl_cli("--site", base, "--db", str(db), "--delay", "0")
        assert crawled.returncode == 0, crawled.stdout + crawled.stderr
        shots, history, deleted = _shots(base)
        root = tmp_path / "pywb"
        root.mkdir()
        pages = [Page(s.url, s.body, _warc_date(s.at)) for s in shots]
        write_warc(root / "captures.warc.gz", pages)
        make_collection(root, "wb", [root / "captures.warc.gz"])
        shutil.copytree(db.parent, tmp_path / "ranged")  # the crawled archive, for byte ranges
        ranged = tmp_path / "ranged" / db.name
        backfill = ("--site", base, "--profile", "responsiblestatecraft", "--delay", "0")
        with running_pywb(root) as wayback:
            out = _run("backfill", "--cdx", f"{wayback}/wb/cdx", "--db", str(db), *backfill)
            with serving(range_server(root / "collections" / "wb" / "archive")) as files:
                by_range = _run(
                    "backfill", "--cdx", f"{wayback}/wb/cdx", "--db", str(ranged), *backfill,
                    "--warc-files", files, "--source", "common-crawl",
                )  # fmt: skip
    # Common Crawl's way (byte ranges of the WARC files the index names) gives the same archive
    assert [line.split(": ", 1)[1] for line in by_range.splitlines()] == [
        line.split(": ", 1)[1] for line in out.splitlines()
    ]
    assert _history(ranged) == _history(db)
    imported, checked = out.strip().splitlines()
    # the CDX query collapses a capture with the same bytes as the one before it of its URL
    kept = [
        s
        for s in sorted(shots, key=lambda s: (s.url, s.at))
        if not any(o.url == s.url and o.at < s.at for o in shots)
        or max((o for o in shots if o.url == s.url and o.at < s.at), key=lambda o: o.at).body
        != s.body
    ]
    wordpress = sum(s.era == "wordpress" for s in kept)
    rebelmouse = len(kept) - wordpress
    assert f": {len(kept)} captures;" in imported, imported
    assert f"markup of the article captures: {rebelmouse} rebelmouse, {wordpress} wordpress" in (
        imported
    )
    live_check = re.fullmatch(
        r"live site, (\d+) asked: (\d+) gone, (\d+) moved into archived articles, "
        r"0 still served \(the next crawl archives them\)",
        checked,
    )
    assert live_check is not None, checked
    asked, gone, moved = map(int, live_check.groups())
    assert gone == len(deleted) and asked == gone + moved

    editions = {k: Site(articles=ARTICLES, seed=SEED, edition=k) for k in (1, 2, 3)}
    url_of = {m.index: base + m.path for m in live.metas}
    for index in deleted:
        url_of[index] = base + editions[1].all_metas[index].path
    with Archive(db) as archive:
        articles = {
            r["url"]: r for r in archive.db.query("SELECT url, gone_at, first_seen FROM articles")
        }
        # every article once: the live ones and the deleted ones, no duplicate from a move
        assert set(articles) == set(url_of.values())
        found = {index: archive.revisions(url) for index, url in url_of.items()}
    for index, states in history.items():
        revisions = found[index]
        assert [_fields(r["record"]) for r in revisions] == [_fields(s) for s in states], index
        assert [r["revision"] for r in revisions] == list(range(1, len(states) + 1))
        times = [r["fetched_at"] for r in revisions]
        assert times == sorted(times)
    for index in deleted:  # marked gone, known by their capture dates
        row = articles[url_of[index]]
        assert row["gone_at"] is not None
        dates = sorted(s.at.isoformat() for s in shots if s.url == url_of[index])
        assert found[index][0]["fetched_at"] == dates[0]
        assert row["first_seen"] == dates[0]
    assert all(articles[url_of[i]]["gone_at"] is None for i in url_of if i not in deleted)
    # the WordPress-era states: the date-path captures of the moved legacy articles are their
    # first revisions, equal to the gold of the old theme's page
    for shot in (s for s in shots if s.era == "wordpress"):
        index = _index_of(editions, shot.url, base)
        first = found[index][0]
        assert _fields(first["record"]) == _fields(shot.record)
        assert first["fetched_at"] == shot.at.isoformat()
    totals = {
        "articles": len(url_of),
        "revisions": sum(len(states) for states in history.values()),
        "gone": len(deleted),
    }
    with Archive(db) as archive:
        figures = {
            "articles": len(articles),
            "revisions": archive.db.execute("SELECT count(*) FROM revisions").fetchone()[0],
            "gone": archive.db.execute(
                "SELECT count(*) FROM articles WHERE gone_at IS NOT NULL"
            ).fetchone()[0],
        }
    assert figures == totals, json.dumps([figures, totals])
