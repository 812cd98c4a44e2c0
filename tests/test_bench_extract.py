"""bench_extract.py's timing against another version of the package: each version is timed in
a child process that imports the package from the folder it is given."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from qiosk_scraper.mirror import Site

REPO = Path(__file__).resolve().parent.parent
BASE = "https://responsiblestatecraft.org"


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_extract", REPO / "benchmarks" / "bench_extract.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_version_is_timed_from_its_own_package(tmp_path: Path) -> None:
    bench = _bench()
    site = Site(articles=60)
    pages = tmp_path / "pages"
    pages.mkdir()
    for number, meta in enumerate(site.order[:2]):
        (pages / f"{number:05d}.html").write_bytes(site.respond(meta.path, BASE).body)
        (pages / f"{number:05d}.url").write_text(BASE + meta.path, encoding="utf-8")
    assert bench._child_ms(pages, None) > 0
    broken = tmp_path / "broken"
    shutil.copytree(REPO / "qiosk_scraper", broken / "qiosk_scraper",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    with (broken / "qiosk_scraper" / "extract" / "article.py").open("a") as source:
        source.write("\n\ndef extract_article(*args, **kwargs):\n    raise SystemExit(3)\n")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        bench._child_ms(pages, broken)
    assert failed.value.returncode == 3
