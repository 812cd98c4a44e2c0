"""Each Scrapy component of the crawl built through a real crawler
(``scrapy.utils.test.get_crawler``), as Scrapy builds it: from the project's settings, with the
outlet spider's session; each refuses loudly (NotConfigured, with the reason) without what it
needs. Fast: no reactor, no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.misc import load_object
from scrapy.utils.reactor import install_reactor, is_reactor_installed
from scrapy.utils.test import get_crawler

from qiosk_scraper import settings as project_settings
from qiosk_scraper.crawl import CrawlProgress
from qiosk_scraper.spiders.outlet import OutletSpider

SITE = "https://responsiblestatecraft.org"


def project() -> dict[str, Any]:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    return {name: settings[name] for name in settings if name.isupper()}


COMPONENTS = sorted(
    path
    for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES")
    for path, order in project()[name].items()
    if path.startswith("qiosk_scraper.") and order is not None
)


@pytest.fixture(autouse=True, scope="module")
def reactor() -> Iterator[None]:
    """The reactor the crawl runs on, installed in this test process (never run): Scrapy checks
    that one is there when a crawler is made. No test here or in any other module runs a
    crawl in the test process itself, so its event loop is closed after this module (the
    process then exits without an unclosed-socket warning)."""
    if not is_reactor_installed():
        install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    yield
    from twisted.internet import reactor as installed

    loop = getattr(installed, "_asyncioEventloop", None)
    if loop is not None and not loop.is_closed():
        loop.close()


@pytest.fixture
def crawler(tmp_path: Path) -> Iterator[Crawler]:
    """A crawler of the outlet spider with its session open on a fresh archive."""
    crawler = get_crawler(OutletSpider, project())
    spider = OutletSpider.from_crawler(
        crawler, site=SITE, db=str(tmp_path / "qiosk.db"), profile="responsiblestatecraft"
    )
    crawler.spider = spider
    yield crawler
    spider.session.close({}, "finished")


def test_the_project_enables_its_components() -> None:
    assert "qiosk_scraper.pipelines.ArchivePipeline" in COMPONENTS
    assert "qiosk_scraper.middlewares.RequestGuardMiddleware" in COMPONENTS
    assert len(COMPONENTS) >= 6


@pytest.mark.parametrize("path", COMPONENTS)
def test_each_component_is_built_from_the_crawler_with_the_session(
    path: str, crawler: Crawler
) -> None:
    component = load_object(path).from_crawler(crawler)
    assert component.session is crawler.spider.session  # type: ignore[union-attr]


@pytest.mark.parametrize("path", COMPONENTS)
def test_each_component_refuses_a_spider_without_a_session(path: str) -> None:
    crawler = get_crawler(settings_dict=project())
    crawler.spider = object()  # type: ignore[assignment]
    with pytest.raises(NotConfigured, match=path.rsplit(".", 1)[1]):
        load_object(path).from_crawler(crawler)


def test_the_request_guard_refuses_what_the_crawl_must_not_fetch(crawler: Crawler) -> None:
    guard = load_object("qiosk_scraper.middlewares.RequestGuardMiddleware").from_crawler(crawler)
    assert guard.process_request(Request(f"{SITE}/golden-dome/")) is None
    with pytest.raises(Exception, match=r"(?i)host|site"):
        guard.process_request(Request("https://example.org/elsewhere/"))


def test_retries_off_turn_the_backoff_retry_off(crawler: Crawler) -> None:
    crawler.settings.frozen = False
    crawler.settings.set("RETRY_ENABLED", False)
    with pytest.raises(NotConfigured, match="RETRY_ENABLED"):
        load_object("qiosk_scraper.middlewares.BackoffRetryMiddleware").from_crawler(crawler)


def test_the_progress_line_is_an_extension_that_needs_its_setting() -> None:
    crawler = get_crawler(settings_dict={"QIOSK_PROGRESS": False})
    with pytest.raises(NotConfigured, match="QIOSK_PROGRESS"):
        CrawlProgress.from_crawler(crawler)
