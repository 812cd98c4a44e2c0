"""The live-site defaults, asserted on a real crawler's effective settings (issue 4)."""

from __future__ import annotations

from pathlib import Path

from support.crawl import crawl_cli
from warcio.archiveiterator import ArchiveIterator

from qiosk_scraper.archive import Archive
from qiosk_scraper.middlewares import retry_after_seconds
from qiosk_scraper.mirror import RunningMirror


def test_defaults_are_polite_and_name_the_project(mirror: RunningMirror, tmp_path: Path) -> None:
    db = tmp_path / "qiosk.db"
    contact = "https://example.org/our-research-project"
    # No --delay: the settings meant for the real site (three requests at about one a second).
    # --verbose: Scrapy's log (the components enabled) on stderr.
    done = crawl_cli(
        "--site", mirror.base_url, "--db", str(db),
        "--sources", "feeds", "--max-articles", "1", "--contact", contact, "--verbose",
    )  # fmt: skip
    with Archive(db) as archive:
        settings = archive.crawl(1)["arguments"]["settings"]
        first, *rest = list(archive.db.query("SELECT url FROM captures ORDER BY id"))
    request_headers = []
    for path in (db.parent / "warc").glob("*.warc.gz"):
        with path.open("rb") as handle:
            request_headers += [
                record.http_headers
                for record in ArchiveIterator(handle)
                if record.rec_type == "request"
                and record.rec_headers.get_header("WARC-Target-URI").endswith("/feeds/feed.rss")
            ]
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["DOWNLOAD_DELAY"] == 1.0
    assert settings["RANDOMIZE_DOWNLOAD_DELAY"] is True
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["AUTOTHROTTLE_START_DELAY"] == 1.0
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert settings["RETRY_ENABLED"] is True and settings["RETRY_TIMES"] >= 3
    assert {429, 500, 502, 503, 504} <= {int(code) for code in settings["RETRY_HTTP_CODES"]}
    assert settings["QIOSK_RETRY_BACKOFF_BASE"] > 0
    user_agent = settings["USER_AGENT"]
    assert user_agent.startswith("qiosk-scraper/") and f"+{contact}" in user_agent
    assert [h.get_header("User-Agent") for h in request_headers] == [
        user_agent
    ]  # what the site saw
    assert first["url"] == mirror.base_url + "/robots.txt"  # asked before anything else
    assert len(rest) == 2  # the feed and one article
    assert "qiosk_scraper.middlewares.BackoffRetryMiddleware" in done.stderr
    assert "scrapy.downloadermiddlewares.retry.RetryMiddleware" not in done.stderr
    assert "RemoteControl" not in done.stderr and "TelnetConsole" not in done.stderr


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0  # already past
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
