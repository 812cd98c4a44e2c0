"""The live check after an import: each article only web archives know is asked of the live
site once, politely; only a 404/410 marks it gone, only a redirect to an archived article moves
its history, and every answer is kept in the archive's WARC as evidence."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from click.testing import CliRunner
from support.backfill import Handler, Page, write_warc
from support.crawl import serving
from support.records import crawled

from qiosk_scraper.archive import Archive
from qiosk_scraper.backfill.cdx import PoliteHttp
from qiosk_scraper.backfill.live import NO_CRAWL, check_live
from qiosk_scraper.cli import main
from qiosk_scraper.mirror import Site
from qiosk_scraper.warc import WarcWriter, read_response

# what the live site answers for each of five archived articles, in the order of their URLs
ANSWERS = ("gone", "served", "elsewhere", "private", "broken", "related")


def _live_site(paths: dict[str, str], asked: list[str]) -> type[Handler]:
    """robots.txt disallows the "private" article; the others answer as ``ANSWERS`` says."""

    class Live(Handler):
        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path == "/robots.txt":
                private = next(p for p, kind in paths.items() if kind == "private")
                self.answer(200, {}, f"User-agent: *\nDisallow: {private}\n".encode())
                return
            kind = paths.get(self.path)
            if kind == "gone":
                self.answer(410, {"Content-Type": "text/html"}, b"<html>gone</html>")
            elif kind == "served":
                self.answer(200, {"Content-Type": "text/html"}, b"<html>still here</html>")
            elif kind == "elsewhere":
                self.answer(301, {"Location": "/somewhere-new/"}, b"")
            elif kind == "related":  # sent to another archived article: not the same one
                served = next(p for p, kind in paths.items() if kind == "served")
                self.answer(301, {"Location": served}, b"")
            else:
                self.answer(500, {}, b"down")

    return Live


def _imported(warc: Path, db: Path, site: str) -> Path:
    """``qiosk import`` of ``warc`` into ``db``, without the live check."""
    result = CliRunner().invoke(
        main,
        ["import", str(warc), "--source", "own-warc", "--db", str(db), "--site", site,
         "--profile", "responsiblestatecraft", "--no-check-live"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return db


def _crawl_one(db: Path, site: Site, base: str) -> None:
    """A crawl of ``base`` that archived one article (the newest), as a crawl before the
    import would have."""
    meta = site.order[0]
    record = site.gold(base)[meta.slug]
    writer = WarcWriter(db.parent / "warc", "crawl", {"software": "tests"}, relative_to=db.parent)
    with Archive(db) as archive:
        crawl_id = archive.start_crawl(base, {"delay": 0}, {"qiosk-scraper": "test"})
        body = site.respond(meta.path, base).body
        crawled(archive, crawl_id, writer, record, body, "2026-01-01T00:00:00+00:00", "test")
        archive.finish_crawl(crawl_id, {}, "finished")
    writer.close()


def test_the_live_site_decides_gone_and_nothing_else(tmp_path: Path) -> None:
    site = Site(articles=60, seed=7)
    asked: list[str] = []
    paths: dict[str, str] = {}
    with serving(_live_site(paths, asked)) as base:
        crawled_one = site.order[0]  # archived by a crawl: see _crawl_one
        metas = sorted((m for m in site.metas if m is not crawled_one), key=lambda m: m.path)
        metas = metas[: len(ANSWERS)]
        paths.update({m.path: kind for m, kind in zip(metas, ANSWERS, strict=True)})
        warc = tmp_path / "captures.warc.gz"
        pages = [
            Page(base + m.path, site.respond(m.path, base).body, f"2024-05-0{i}T10:00:00Z")
            for i, m in enumerate(metas, start=1)
        ]
        write_warc(warc, pages)
        db = _imported(warc, tmp_path / "archive" / "qiosk.db", base)
        assert asked == []  # --no-check-live: the site is not asked
        # an archive no crawl has filled is not checked: its first crawl asks every article
        skipped = check_live(db, base, PoliteHttp(delay=0, retries=0))
        assert skipped.summary() == f"live site: not asked ({NO_CRAWL})" and asked == []
        _crawl_one(db, site, base)
        result = check_live(db, base, PoliteHttp(delay=0, retries=0))
        assert result.summary() == (
            "live site, 4 asked: 1 gone, 0 moved into archived articles, "
            "1 still served (the next crawl archives them), 1 no answer (HTTP 500), "
            "1 not asked (robots.txt), 1 redirected to a URL not archived, "
            "1 redirected to another article (not joined)"
        )
        by_kind = {kind: path for path, kind in paths.items()}
        assert by_kind["private"] not in asked  # robots.txt is obeyed
        with Archive(db) as archive:
            rows = {
                urlsplit(r["url"]).path: r
                for r in archive.db.query("SELECT url, gone_at, gone_capture_id FROM articles")
            }
            assert len(rows) == len(ANSWERS) + 1  # nothing lost, nothing joined
            assert [p for p, r in rows.items() if r["gone_at"] is not None] == [by_kind["gone"]]
            evidence = archive.db.execute(
                "SELECT status, warc_file, warc_offset FROM captures WHERE id = ?",
                [rows[by_kind["gone"]]["gone_capture_id"]],
            ).fetchone()
        assert evidence[0] == 410
        _, _, body = read_response(db.parent / evidence[1], evidence[2])
        assert body == b"<html>gone</html>"

        # a second check asks again only what had no answer; the robots rule still holds
        asked.clear()
        again = check_live(db, base, PoliteHttp(delay=0, retries=0))
        assert again.asked == 0 and asked == ["/robots.txt", by_kind["broken"]]
        assert dict(again.left) == {"no answer (HTTP 500)": 1, "not asked (robots.txt)": 1}


def test_a_dead_live_site_marks_nothing_and_is_asked_once(tmp_path: Path) -> None:
    site = Site(articles=60, seed=7)
    with serving(Handler) as base:  # bound, then closed: nothing listens at this address
        dead = base
    warc = tmp_path / "two.warc.gz"
    pages = [
        Page(dead + m.path, site.respond(m.path, dead).body, "2024-01-01T00:00:00Z")
        for m in site.order[1:3]
    ]
    write_warc(warc, pages)
    db = _imported(warc, tmp_path / "archive" / "qiosk.db", dead)
    _crawl_one(db, site, dead)
    http = PoliteHttp(delay=0, retries=1, backoff=0)
    checked = check_live(db, dead, http)
    assert checked.asked == 0 and checked.gone == 0
    refused = "network error: [Errno 111] Connection refused"
    assert dict(checked.left) == {f"not asked (no answer from the site: {refused})": 2}
    assert http.requests == 2  # robots.txt and its one retry; then no article is tried
    with Archive(db) as archive:
        assert archive.archive_only_articles() == sorted(p.url for p in pages)
        assert len(archive.unchecked_archive_only()) == 2  # asked again next time
        gone = archive.db.execute("SELECT count(*) FROM articles WHERE gone_at IS NOT NULL")
        assert gone.fetchone()[0] == 0
