"""Extraction in worker processes beside the reactor (issue 9): the archive a pooled crawl
writes is the one an in-process crawl writes, and a worker that dies on a page loses that page
alone. Real crawls of the mirror in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from support.crawl import REPO, crawl_with_settings
from support.pool import CRASH_PATH

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import RunningMirror

TESTS = Path(__file__).resolve().parent

CRASH_CRAWL = textwrap.dedent(
    """
    import sys
    site, db, tests = sys.argv[1:]
    sys.path.insert(0, tests)  # the workers, spawned, inherit it and find support.pool
    from scrapy.crawler import CrawlerProcess
    from qiosk_scraper.crawl import crawl_settings
    from qiosk_scraper.spiders.outlet import OutletSpider

    settings = crawl_settings(progress=False)
    settings.set("ITEM_PIPELINES", {"support.pool.CrashingPipeline": 300}, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(OutletSpider, site=site, db=db, delay=0, profile="responsiblestatecraft")
    process.start()
    """
)


def records(db: Path) -> dict[str, tuple[str, str]]:
    with Archive(db) as archive:
        return {
            row["url"]: (row["content_hash"], row["extractor_version"])
            for row in archive.db.query("SELECT url, content_hash, extractor_version FROM articles")
        }


def test_a_pooled_crawl_archives_what_an_in_process_one_does(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    site = mirror.base_url
    pooled, alone = tmp_path / "pooled" / "qiosk.db", tmp_path / "alone" / "qiosk.db"
    crawl_with_settings({"site": site, "db": str(pooled), "delay": 0}, {})
    crawl_with_settings({"site": site, "db": str(alone), "delay": 0}, {"QIOSK_EXTRACT_WORKERS": 0})
    assert len(records(pooled)) == len(mirror.site.gold(site))
    assert records(pooled) == records(alone)
    with Archive(pooled) as archive:
        stats = archive.crawl(1)["stats"]
        assert (stats["qiosk/extract_pools_started"], stats["qiosk/extract_workers"]) == (
            1,
            os.cpu_count(),
        )
    with Archive(alone) as archive:
        assert "qiosk/extract_workers" not in archive.crawl(1)["stats"]


def test_a_worker_dying_on_a_page_loses_that_page_alone(
    mirror: RunningMirror, tmp_path: Path
) -> None:
    site = mirror.base_url
    gold = mirror.site.gold(site)
    victim = f"/{sorted(gold)[5]}/"
    db = tmp_path / "crash" / "qiosk.db"
    done = subprocess.run(
        [sys.executable, "-c", CRASH_CRAWL, site, str(db), str(TESTS)],
        cwd=REPO,
        env={**os.environ, CRASH_PATH: victim},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with Archive(db) as archive:
        crashed = [e for e in archive.errors() if e["kind"] == "extractor_crashed"]
        assert [e["url"] for e in crashed] == [site + victim]
        assert "died" in crashed[0]["message"]
        urls = set(archive.article_urls())
        assert urls == {gold[slug]["url"] for slug in gold} - {site + victim}
        assert archive.crawl(1)["status"] == "finished"
