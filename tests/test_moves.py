"""An article moved to a new slug (301 from the old URL) stays one article with a url-only
revision, whichever of its URLs the re-crawl meets first. Real crawls against the mirror."""

from __future__ import annotations

from pathlib import Path

from support.crawl import crawl_cli, crawl_with_variants
from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.archive import CONFLICTING_CANONICAL, Archive
from qiosk_scraper.mirror import Site, running_mirror

CONDITIONAL = ("If-None-Match", "If-Modified-Since")


def requests_sent(archive: Archive, url: str) -> list[dict[str, str]]:
    """The conditional headers of every request for ``url`` in the archive's WARC files."""
    sent = []
    for path in sorted((archive.folder / "warc").glob("*.warc.gz")):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type != "request":
                    continue
                if record.rec_headers.get_header("WARC-Target-URI") != url:
                    continue
                headers = record.http_headers
                sent.append({name: headers.get_header(name) for name in CONDITIONAL})
    return sent


def test_a_move_met_through_its_old_url_is_one_article_and_sends_no_stale_validators(
    tmp_path: Path,
) -> None:
    first, second = Site(edition=1), Site(edition=2)
    [(old_path, new_path)] = second.changes()["moved"].items()
    db = tmp_path / "qiosk.db"
    with running_mirror(site=first) as mirror:
        base = mirror.base_url
        crawl_cli("--site", base, "--db", str(db), "--delay", "0")
        mirror.server.site = second
        # The old URL asked at once, conditionally (its stored validators), beside the usual
        # discovery that meets the new URL in the sitemap: both orders race in one crawl.
        crawl_with_variants(base, db, [base + old_path])
    old, new = base + old_path, base + new_path
    with Archive(db) as archive:
        assert new in archive.article_urls() and old not in archive.article_urls()
        revisions = archive.revisions(new)
        assert [r["changed_fields"] for r in revisions[1:]] == [["url"]]
        assert archive.find_article(old) == archive.find_article(new)
        kinds = {e["kind"] for e in archive.errors(2)}
        assert CONFLICTING_CANONICAL not in kinds
        aliases = {row["url"]: row["kind"] for row in archive.db.query("SELECT * FROM url_aliases")}
        assert aliases.get(old) == "redirect" and new not in aliases
        # The new URL was never asked with the old URL's validators (a 304 would have passed
        # for the old page); the old one was, as an archived article should be.
        sent_new = requests_sent(archive, new)
        assert sent_new and all(h == dict.fromkeys(CONDITIONAL) for h in sent_new)
        assert any(h["If-None-Match"] for h in requests_sent(archive, old))
