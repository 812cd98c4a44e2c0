"""A module-scoped crawl of the mirror for re-extraction tests (the ``crawled`` fixture, offered
to every test by conftest), and the reextract command run in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.crawl import REPO, crawl_cli

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import running_mirror

CHANGE = """

_extract_article_as_released = extract_article


def extract_article(*args, **kwargs):  # the deliberate change of the test
    article = _extract_article_as_released(*args, **kwargs)
    if article.subtitle:
        article.subtitle = article.subtitle.upper()
    return article
"""


RUN = "import sys; from qiosk_scraper.cli import main; sys.exit(main())"


@dataclass
class Crawled:
    db: Path
    changed_package: Path  # the folder to put on PYTHONPATH


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp("reextract")
    db = folder / "archive" / "qiosk.db"
    with running_mirror(articles=60, seed=4) as mirror:
        crawl_cli("--site", mirror.base_url, "--db", str(db), "--delay", "0")
    package = folder / "changed"
    shutil.copytree(
        REPO / "qiosk_scraper",
        package / "qiosk_scraper",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    with (package / "qiosk_scraper" / "extract" / "article.py").open("a") as source:
        source.write(CHANGE)
    yield Crawled(db, package)


def reextract(db: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, "-c", RUN, "reextract", "--db", str(db), "--workers", "2"],
        cwd=db.parent,  # not the repository: only PYTHONPATH decides which package runs
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def rows(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with Archive(db) as archive:
        return (
            archive.db.execute("SELECT * FROM articles ORDER BY id").fetchall(),
            archive.db.execute("SELECT * FROM revisions ORDER BY article_id, revision").fetchall(),
        )
