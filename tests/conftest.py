"""Shared fixtures: a running default mirror for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qiosk_scraper.mirror import RunningMirror, running_mirror


@pytest.fixture(scope="session")
def mirror() -> Iterator[RunningMirror]:
    """The default mirror (120 articles, seed 1, edition 1) served on a free local port."""
    with running_mirror() as running:
        yield running
