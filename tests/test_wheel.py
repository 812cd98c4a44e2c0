"""A non-editable install runs the commands (issue 12 item 3): the project built as an sdist and
a wheel from it (``uv build``, offline, this venv's setuptools), the wheel installed without
dependencies into a fresh venv that borrows this venv's dependencies (not its editable
install), and ``qiosk serve`` run from a folder outside the repository: it serves with the
metadata and templates the wheel ships."""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.datasette import build_archive, record

REPO = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).with_name("uv")
SERVING = re.compile(r"serving .* at (http://127\.0\.0\.1:\d+)/archive/articles")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding the wheel; returns its bin folder."""
    folder = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "UV_OFFLINE": "1", "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(folder)}
    subprocess.run(
        [UV, "build", "--no-build-isolation", "--python", sys.executable, "--quiet",
         "--out-dir", folder / "dist", REPO],
        check=True, env=env, timeout=300,
    )  # fmt: skip
    (wheel,) = (folder / "dist").glob("qiosk_scraper-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    (borrowed,) = (venv / "lib").glob("python3.*/site-packages")
    # A path entry, not a site dir: this venv's .pth files (the editable install) stay unread.
    (borrowed / "borrowed.pth").write_text(site.getsitepackages()[0] + "\n")
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--no-deps", "--python", venv / "bin" / "python", wheel],
        check=True, env=env, timeout=300,
    )  # fmt: skip
    yield venv / "bin"


def test_the_wheel_is_what_runs_not_the_repository(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [installed / "python", "-c", "import qiosk_scraper.datasette as d; print(d.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    where = Path(done.stdout.strip())
    assert where.is_relative_to(installed.parent), where
    assert (where.parent / "serve_files" / "metadata.yml").is_file()
    assert not where.is_relative_to(REPO)


def test_qiosk_serve_from_the_wheel_serves_the_configured_pages(
    installed: Path, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    build_archive(db, [record(1), record(2)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    process = subprocess.Popen(
        [installed / "qiosk", "serve", "--db", db, "--port", "0"],
        cwd=elsewhere, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = SERVING.search(line)
        assert match, line + process.stderr.read()
        base = match[1]
        with urllib.request.urlopen(f"{base}/-/metadata.json", timeout=30) as response:
            assert json.load(response)["title"] == "Responsible Statecraft archive"
        with urllib.request.urlopen(f"{base}/archive/articles/1", timeout=30) as response:
            page = response.read().decode()
        assert '<article class="qiosk-article"' in page  # row.html of the wheel
        assert "<h1>Story 1</h1>" in page
    finally:
        process.terminate()
        process.communicate(timeout=30)
