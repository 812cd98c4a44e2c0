"""Support for tests/test_extract_pool.py (no tests here): an archive pipeline whose extractor
kills its worker process on one page. Importable by the spawned workers (the crawl puts this
folder on ``sys.path``, and spawned processes inherit it)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from qiosk_scraper.extract.record import extract_with_provenance
from qiosk_scraper.pipelines import ArchivePipeline

CRASH_PATH = "QIOSK_TEST_CRASH_PATH"  # environment: the path of the page that kills a worker


def crash_on_path(
    body: bytes, url: str, fetched_at: str, site: str, outlet_layers: bool = True
) -> tuple[dict[str, Any], dict[str, str]]:
    if urlsplit(url).path == os.environ.get(CRASH_PATH):
        os._exit(3)  # as a segfault in a C extension would: no exception, the process is gone
    return extract_with_provenance(body, url, fetched_at, site, outlet_layers)


class CrashingPipeline(ArchivePipeline):
    extractor = staticmethod(crash_on_path)
