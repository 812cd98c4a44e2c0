"""A pipeline that never finishes an article, for a crawl run with ``PYTHONPATH=tests`` and
``-s ITEM_PIPELINES={"support.blocked.BlockedPipeline": 300}`` (no tests here)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from qiosk_scraper.items import ArticlePage
from qiosk_scraper.pipelines import ArchivePipeline

BLOCKED_ENV = "QIOSK_TEST_BLOCKED"


class BlockedPipeline(ArchivePipeline):
    """Creates the file named by ``$QIOSK_TEST_BLOCKED`` when the first article reaches it,
    and never finishes an article: a graceful stop waits on it for ever."""

    async def extract(self, page: ArticlePage) -> dict[str, Any]:
        Path(os.environ[BLOCKED_ENV]).touch()
        await asyncio.get_running_loop().create_future()  # never done
        raise AssertionError("unreachable")
