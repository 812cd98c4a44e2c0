"""Shared fixtures: a running default mirror for the whole session; a fresh archive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.reextract import crawled  # noqa: F401 (a module-scoped fixture for every test)

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import RunningMirror, running_mirror


@pytest.fixture(scope="session")
def mirror() -> Iterator[RunningMirror]:
    """The default mirror (120 articles, seed 1, edition 1) served on a free local port."""
    with running_mirror() as running:
        yield running


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive(tmp_path / "qiosk.db") as opened:
        yield opened
