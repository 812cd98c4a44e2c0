"""The outlet spider's crawl state (qiosk_scraper.spiders.frontier) and its decisions, without
a crawl."""

from __future__ import annotations

from typing import Any

from qiosk_scraper.items import ArticlePage
from qiosk_scraper.spiders.frontier import DISCOVERY_BATCH, Frontier

SITE = "https://rs.example"


def page(url: str) -> ArticlePage:
    return ArticlePage(url=url, body=b"", fetched_at="2025-06-01T00:00:00+00:00", capture_id=1)


def test_the_article_budget_counts_each_article_taken_and_stops_at_max_articles() -> None:
    frontier = Frontier(SITE, max_articles=2)
    assert frontier.budget_left
    assert frontier.take_article(f"{SITE}/a/")
    assert frontier.take_article(f"{SITE}/b/")
    assert not frontier.budget_left
    assert not frontier.take_article(f"{SITE}/c/")
    assert frontier.articles_requested == 2
    assert frontier.met(f"{SITE}/a/") and not frontier.met(f"{SITE}/c/")


def test_without_max_articles_the_budget_never_runs_out() -> None:
    frontier = Frontier(SITE)
    assert all(frontier.take_article(f"{SITE}/{n}/") for n in range(1000))
    assert frontier.budget_left


def test_an_article_met_or_held_is_waiting_and_asking_again_takes_no_budget() -> None:
    frontier = Frontier(SITE, max_articles=1)
    frontier.take_article(f"{SITE}/a/")
    frontier.hold(f"{SITE}/held/", "tags", "7", True)
    assert frontier.waiting(f"{SITE}/a/") and frontier.waiting(f"{SITE}/held/")
    assert not frontier.waiting(f"{SITE}/new/")
    frontier.asked_again(f"{SITE}/held/")
    assert frontier.held == {} and frontier.met(f"{SITE}/held/")
    assert frontier.articles_requested == 1  # a re-check is outside the budget


def test_held_articles_keep_their_first_source_and_are_released_once_in_order() -> None:
    frontier = Frontier(SITE)
    frontier.hold(f"{SITE}/b/", "tags", None, True)
    frontier.hold(f"{SITE}/a/", "body", None, False)
    frontier.hold(f"{SITE}/b/", "stream", "9", True)
    assert list(frontier.release_held().items()) == [
        (f"{SITE}/b/", ("tags", None, True)),
        (f"{SITE}/a/", ("body", None, False)),
    ]
    assert frontier.release_held() == {}


def test_the_unmet_archived_articles_leave_out_those_met_even_while_they_are_taken() -> None:
    frontier = Frontier(SITE)
    frontier.take_article(f"{SITE}/b/")
    unmet = frontier.unmet([f"{SITE}/a/", f"{SITE}/b/", f"{SITE}/c/", f"{SITE}/d/"])
    assert next(unmet) == f"{SITE}/a/"
    frontier.take_article(f"{SITE}/c/")  # asked meanwhile (a held article, say)
    assert list(unmet) == [f"{SITE}/d/"]


def test_the_unmet_articles_are_asked_again_only_once() -> None:
    frontier = Frontier(SITE)
    assert frontier.first_recheck()
    assert not frontier.first_recheck()


def test_the_progress_total_counts_sitemap_and_requested_articles_once_each() -> None:
    frontier = Frontier(SITE)
    assert frontier.listed_in_sitemap(f"{SITE}/a/")
    assert frontier.listed_in_sitemap(f"{SITE}/b/")
    assert not frontier.listed_in_sitemap(f"{SITE}/a/")
    frontier.take_article(f"{SITE}/b/")
    frontier.take_article(f"{SITE}/c/")
    assert frontier.known_articles() == 3


def test_a_page_other_than_an_article_is_requested_once() -> None:
    frontier = Frontier(SITE)
    assert frontier.new_page(f"{SITE}/sitemap.xml")
    assert not frontier.new_page(f"{SITE}/sitemap.xml")
    assert frontier.new_page(f"{SITE}/feeds/feed.rss")
    assert not frontier.met(f"{SITE}/sitemap.xml")  # no article taken, no budget spent
    assert frontier.articles_requested == 0


def test_a_url_is_resolved_to_its_archived_article_asking_the_archive_once() -> None:
    frontier = Frontier(SITE)
    asked: list[str] = []
    archived = {f"{SITE}/old-slug/": {"url": f"{SITE}/new-slug/", "id": 4}}

    def lookup(url: str) -> dict[str, Any] | None:
        asked.append(url)
        return archived.get(url)

    assert frontier.resolve(f"{SITE}/old-slug/", lookup) == (
        f"{SITE}/new-slug/",
        archived[f"{SITE}/old-slug/"],
    )
    assert frontier.resolve(f"{SITE}/old-slug/", lookup) == (f"{SITE}/new-slug/", None)
    assert frontier.resolve(f"{SITE}/fresh/", lookup) == (f"{SITE}/fresh/", None)
    assert frontier.resolve(f"{SITE}/fresh/", lookup) == (f"{SITE}/fresh/", None)
    assert asked == [f"{SITE}/old-slug/", f"{SITE}/fresh/"]


def test_a_post_id_keeps_the_url_it_was_first_met_at() -> None:
    frontier = Frontier(SITE)
    assert frontier.post_url("12", f"{SITE}/a/") == f"{SITE}/a/"
    assert frontier.post_url("12", f"{SITE}/a-renamed/") == f"{SITE}/a/"
    assert frontier.post_url("13", f"{SITE}/a-renamed/") == f"{SITE}/a-renamed/"


def test_an_alias_is_recorded_once_per_pair() -> None:
    frontier = Frontier(SITE)
    assert frontier.new_alias(f"{SITE}/a?x=1", f"{SITE}/a")
    assert not frontier.new_alias(f"{SITE}/a?x=1", f"{SITE}/a")
    assert frontier.new_alias(f"{SITE}/a", f"{SITE}/a?x=1")


def test_on_site_is_the_site_host_with_or_without_www_remembered_per_origin() -> None:
    frontier = Frontier(SITE)
    assert frontier.on_site("https://www.rs.example/a/")
    assert frontier.on_site("https://rs.example/b/")
    assert not frontier.on_site("https://other.example/rs.example/")
    assert not frontier.on_site("mailto:editor@rs.example")
    assert sorted(frontier.origins) == [
        "https://other.example",
        "https://rs.example",
        "https://www.rs.example",
        "mailto:editor@rs.example",
    ]


def test_pages_claiming_an_archived_url_wait_for_it_and_are_released_in_order() -> None:
    frontier = Frontier(SITE)
    archived = f"{SITE}/archived/"
    assert not frontier.claimed(archived)
    frontier.claim(archived, page(f"{SITE}/one/"))
    frontier.claim(archived, page(f"{SITE}/two/"))
    assert frontier.claimed(archived)
    assert [p.url for p in frontier.release_claims(archived)] == [f"{SITE}/one/", f"{SITE}/two/"]
    assert not frontier.claimed(archived)
    assert frontier.release_claims(archived) == []


def test_the_claims_unanswered_at_the_end_are_handed_over_once() -> None:
    frontier = Frontier(SITE)
    frontier.claim(f"{SITE}/x/", page(f"{SITE}/one/"))
    frontier.claim(f"{SITE}/y/", page(f"{SITE}/two/"))
    unanswered = frontier.unanswered_claims()
    assert {archived: [p.url for p in pages] for archived, pages in unanswered.items()} == {
        f"{SITE}/x/": [f"{SITE}/one/"],
        f"{SITE}/y/": [f"{SITE}/two/"],
    }
    assert frontier.unanswered_claims() == {}
    assert not frontier.claimed(f"{SITE}/x/")


def test_discoveries_are_queued_once_and_a_full_batch_asks_to_be_written() -> None:
    frontier = Frontier(SITE)
    assert not frontier.discovered_by(f"{SITE}/a/", "sitemap")
    assert not frontier.discovered_by(f"{SITE}/a/", "sitemap")
    assert not frontier.discovered_by(f"{SITE}/a/", "tags")
    assert frontier.unwritten == [(f"{SITE}/a/", "sitemap"), (f"{SITE}/a/", "tags")]
    due = [frontier.discovered_by(f"{SITE}/{n}/", "feeds") for n in range(DISCOVERY_BATCH - 2)]
    assert due == [False] * (DISCOVERY_BATCH - 3) + [True]
    frontier.written()
    assert frontier.unwritten == []
    assert not frontier.discovered_by(f"{SITE}/a/", "sitemap")  # written already
    assert frontier.unwritten == []
