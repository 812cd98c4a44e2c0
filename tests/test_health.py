"""The layout-drift alarm (issue 15): per-field fill rates of each crawl's extracted articles,
and the summary's warning when a rate falls well below the previous crawls'. The rule alone,
then real crawls of the mirror: a clean ``--refresh`` re-crawl says nothing; a re-crawl of a
mirror whose credit markup the extractor does not know names the field and both rates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.crawl import crawl_cli

from qiosk_scraper.archive import Archive
from qiosk_scraper.health import FieldCount, count_fields, drift_warnings, pooled
from qiosk_scraper.mirror import Site, running_mirror
from qiosk_scraper.mirror.site import Response

CREDIT_ALARM = "the outlet's markup may have changed; see extraction_health"


def record(credit: str | None = "Reuters", tags: list[str] | None = None) -> dict[str, Any]:
    images = [{"url": "https://x.org/a.jpg", "alt": "", "caption": None, "credit": credit,
               "lead": True}]  # fmt: skip
    return {"images": images, "tags": tags or [], "section": "Asia", "authors": [{"name": "A"}],
            "subtitle": None, "published": "2026-01-01T00:00:00+00:00"}  # fmt: skip


def counts(filled: int, articles: int, fallback: int | None = 0) -> dict[str, FieldCount]:
    return {"lead_image_credit": FieldCount(articles, filled, None),
            "authors": FieldCount(articles, articles, fallback)}  # fmt: skip


def test_counting_reads_each_field_and_its_layer() -> None:
    found = count_fields(
        [
            (record(), {"images": "markup", "authors": "markup"}),
            (record(credit=None, tags=["Iran"]), {"authors": "trafilatura", "tags": "meta"}),
            ({**record(), "images": [{"url": "u", "credit": "X", "lead": False}]}, {}),
        ]
    )
    assert found["lead_image"] == FieldCount(3, 2, 0)
    assert found["lead_image_credit"] == FieldCount(3, 1, None)  # an in-body credit is not one
    assert found["tags"] == FieldCount(3, 1, 0)  # article:tag meta is no fallback
    assert found["authors"] == FieldCount(3, 3, 1)  # trafilatura's byline is
    assert found["dek"] == FieldCount(3, 0, 0)


def test_a_large_drop_with_enough_articles_on_both_sides_warns() -> None:
    previous = pooled([counts(47, 50), counts(47, 50)])
    assert drift_warnings(counts(6, 50), previous) == [
        f"lead image credit: 12% of articles (previous crawls 94%): {CREDIT_ALARM}"
    ]


@pytest.mark.parametrize(
    ("now", "before"),
    [
        (counts(6, 50), counts(9, 9)),  # too few articles before
        (counts(1, 9), counts(94, 100)),  # too few now
        (counts(33, 50), counts(94, 100)),  # 66% after 94%: a drop of 28 points
        (counts(94, 100), counts(6, 50)),  # a rise
        (counts(6, 50), {}),  # no previous crawl
    ],
)
def test_small_samples_small_drops_and_rises_say_nothing(
    now: dict[str, FieldCount], before: dict[str, FieldCount]
) -> None:
    assert drift_warnings(now, before) == []


def test_a_drop_of_exactly_30_points_warns() -> None:
    assert len(drift_warnings(counts(64, 100), counts(94, 100))) == 1


def test_a_field_moving_to_the_generic_fallback_warns() -> None:
    lines = drift_warnings(counts(47, 50, fallback=40), counts(47, 50, fallback=0))
    assert lines == [f"authors from the generic fallback: 80% of articles (previous crawls 0%): "
                     f"{CREDIT_ALARM}"]  # fmt: skip


def test_a_crawl_is_compared_with_the_latest_crawls_of_its_site_and_profile(
    tmp_path: Path,
) -> None:
    site, other = "https://example.org", "https://example.net"
    outlet, generic = {"profile": "responsiblestatecraft"}, {"profile": "generic"}
    with Archive(tmp_path / "qiosk.db") as archive:
        assert archive.previous_health_crawls(1, 5) == []  # nothing recorded yet
        ids = [
            archive.start_crawl(s, a, {})
            for s, a in [(site, outlet), (other, outlet), (site, generic), (site, outlet),
                         (site, outlet), (site, outlet)]
        ]  # fmt: skip
        for crawl_id in ids[:4] + ids[5:]:  # ids[4] extracted nothing
            archive.record_extraction_health(crawl_id, counts(crawl_id, 50))
        assert archive.previous_health_crawls(ids[5], 5) == [ids[3], ids[0]]
        assert archive.previous_health_crawls(ids[5], 1) == [ids[3]]
        found = archive.extraction_health([ids[0], ids[4]])
    assert found == {ids[0]: counts(ids[0], 50)}


# -- real crawls ------------------------------------------------------------------------------


class UnknownCredits(Site):
    """The outlet's markup changed (test-only): the hero credit's class, the "Top photo
    credit:" lines and the tag links' class are ones the extractor does not know."""

    def respond(self, target: str, base_url: str) -> Response:
        response = super().respond(target, base_url)
        if response.status == 200 and response.content_type.startswith("text/html"):
            body = response.body.decode()
            body = body.replace('class="photo-credit"', 'class="pic-source"')
            body = re.sub(r"Top (photo|image) credit:", "Pictured:", body)
            body = body.replace('class="tags-primary-link"', 'class="topic-chip"')
            response.body = body.encode()
        return response


@dataclass
class Crawls:
    db: Path
    summaries: list[str]  # stdout of: first crawl, clean --refresh, drifted --refresh
    credited: float  # the gold share of articles with a lead image credit


@pytest.fixture(scope="module")
def crawls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawls]:
    db = tmp_path_factory.mktemp("drift") / "qiosk.db"
    with running_mirror(articles=60, seed=2) as mirror:
        options = ("--site", mirror.base_url, "--db", str(db), "--delay", "0")
        gold = mirror.site.gold(mirror.base_url).values()
        summaries = [crawl_cli(*options).stdout, crawl_cli(*options, "--refresh").stdout]
        mirror.server.site = UnknownCredits(articles=60, seed=2)
        summaries.append(crawl_cli(*options, "--refresh").stdout)
    credited = sum(any(i["lead"] and i["credit"] for i in r["images"]) for r in gold) / len(gold)
    yield Crawls(db, summaries, credited)


def test_each_crawl_records_its_fill_rates(crawls: Crawls) -> None:
    with Archive(crawls.db) as archive:
        health = archive.extraction_health([1, 2, 3])
    credit = [health[crawl]["lead_image_credit"] for crawl in (1, 2, 3)]
    assert [c.articles for c in credit] == [60, 60, 60]
    assert [c.filled for c in credit] == [round(crawls.credited * 60)] * 2 + [0]
    assert health[3]["lead_image"] == health[1]["lead_image"]  # the hero itself was still found


def test_a_clean_refresh_prints_no_alarm(crawls: Crawls) -> None:
    assert "warning:" not in crawls.summaries[0] + crawls.summaries[1]


def test_a_refresh_of_changed_markup_names_the_field_and_both_rates(crawls: Crawls) -> None:
    alarms = [line for line in crawls.summaries[2].splitlines() if line.startswith("warning:")]
    assert alarms == [
        f"warning: lead image credit: 0% of articles (previous crawls {crawls.credited:.0%}): "
        f"{CREDIT_ALARM}"
    ]
    # the crawl still finished (crawl_cli fails on a non-zero exit status)
    assert crawls.summaries[2].splitlines()[0].endswith(": finished")
