"""The re-crawl decisions (qiosk_scraper.recrawl) as pure functions, without a crawl."""

from __future__ import annotations

from datetime import datetime

from qiosk_scraper.recrawl import (
    known_as_of,
    parse_http_date,
    preferred,
    sitemap_verdict,
    validator_headers,
)

ARCHIVED = {
    "url": "https://rs.example/a/",
    "gone_at": None,
    "capture_id": 7,
    "last_modified": "Tue, 03 Jun 2025 10:00:00 GMT",
    "published": "2025-06-01T08:00:00+00:00",
    "modified": "2025-06-02T09:00:00+00:00",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_newest_time_the_site_gave_is_the_stored_state() -> None:
    assert known_as_of(ARCHIVED) == at("2025-06-03T10:00:00+00:00")
    assert known_as_of({**ARCHIVED, "last_modified": None}) == at("2025-06-02T09:00:00+00:00")
    assert known_as_of({"modified": "not a date", "published": "2025-06-01T08:00:00"}) == at(
        "2025-06-01T08:00:00+00:00"
    )
    assert known_as_of({}) is None
    assert parse_http_date("yesterday") is None


def test_a_sitemap_entry_is_fetched_only_when_newer_than_the_stored_state() -> None:
    assert sitemap_verdict(ARCHIVED, at("2025-06-03T10:00:01+00:00"), refresh=False) == "fetch"
    assert sitemap_verdict(ARCHIVED, at("2025-06-03T10:00:00+00:00"), refresh=False) == "skip"
    assert sitemap_verdict(ARCHIVED, at("2025-05-01T00:00:00+00:00"), refresh=False) == "skip"
    no_dates = {"url": ARCHIVED["url"], "gone_at": None, "capture_id": 7}
    assert sitemap_verdict(no_dates, at("2020-01-01T00:00:00+00:00"), refresh=False) == "fetch"


def test_unknown_gone_uncaptured_undated_or_refreshed_entries_are_plain_discoveries() -> None:
    later = at("2030-01-01T00:00:00+00:00")
    assert sitemap_verdict(None, later, refresh=False) == "discovered"
    assert sitemap_verdict(ARCHIVED, None, refresh=False) == "discovered"
    assert sitemap_verdict(ARCHIVED, later, refresh=True) == "discovered"
    gone = {**ARCHIVED, "gone_at": "2025-07-01T00:00:00+00:00"}
    assert sitemap_verdict(gone, later, refresh=False) == "discovered"
    assert sitemap_verdict({**ARCHIVED, "capture_id": None}, later, refresh=False) == "discovered"


def test_validators_come_only_from_a_200_capture_that_has_them() -> None:
    capture = {"id": 3, "status": 200, "etag": '"v1"', "last_modified": ARCHIVED["last_modified"]}
    assert validator_headers(capture) == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": ARCHIVED["last_modified"],
    }
    assert validator_headers({**capture, "etag": None}) == {
        "If-Modified-Since": ARCHIVED["last_modified"]
    }
    assert validator_headers({**capture, "status": 404}) == {}
    assert validator_headers({"id": 3, "status": 200}) == {}
    assert validator_headers(None) == {}


def test_of_two_self_canonical_urls_the_shorter_then_the_first_is_kept() -> None:
    assert preferred("https://rs.example/a/", over="https://rs.example/a-2/")
    assert not preferred("https://rs.example/a-2/", over="https://rs.example/a/")
    assert preferred("https://rs.example/ab/", over="https://rs.example/ac/")
    assert not preferred("https://rs.example/a/", over="https://rs.example/a/")
