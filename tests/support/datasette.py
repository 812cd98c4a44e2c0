"""Small archives for the Datasette tests: numbered records, an archive built from them, and
a GET through Datasette in process."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qiosk_scraper.archive import Archive


def record(n: int, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": f"https://responsiblestatecraft.org/story-{n}/",
        "title": f"Story {n}",
        "subtitle": f"Dek {n}",
        "article_type": "Analysis",
        "section": "Middle East",
        "tags": ["Iran"],
        "authors": [{"name": "Jane Roe", "url": "https://responsiblestatecraft.org/author/jroe/"}],
        "published": f"2025-06-{n:02d}T12:00:00+00:00",
        "modified": None,
        "body": f"First paragraph of story {n}.\n\nSecond paragraph.",
        "images": [],
        "links": [],
        "word_count": 0,
        "language": "en",
    }
    base.update(changes)
    return base


def build_archive(path: Path, records: list[dict[str, Any]]) -> None:
    with Archive(path) as archive:
        crawl_id = archive.start_crawl("https://responsiblestatecraft.org", {}, {})
        for i, rec in enumerate(records):
            capture_id = archive.add_capture(
                crawl_id,
                {"url": rec["url"], "status": 200, "fetched_at": f"2025-07-01T00:00:{i:02d}+00:00"},
            )
            archive.save_article(
                rec,
                crawl_id=crawl_id,
                capture_id=capture_id,
                fetched_at="2025-07-01T00:00:00+00:00",
            )
        archive.finish_crawl(crawl_id, {}, "finished")


def get(datasette: Any, path: str) -> Any:
    return asyncio.run(datasette.client.get(path))


SERVING = re.compile(r"serving .* at (http://127\.0\.0\.1:\d+)/archive/articles")


@contextmanager
def qiosk_serve(db: Path) -> Iterator[str]:
    """``qiosk serve`` on a free port: its base URL while it runs."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "qiosk"), "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once the port is bound
        match = SERVING.search(line)
        assert match, line + process.stderr.read()
        yield match[1]
    finally:
        process.terminate()
        process.communicate(timeout=30)
