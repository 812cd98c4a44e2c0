"""`qiosk demo` runs the main job end to end: mirror, crawl, archive, snapshot (verified)."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_crawls_the_mirror_and_exports_a_verified_snapshot(tmp_path):
    db, snapshot = tmp_path / "demo.db", tmp_path / "snap"
    args = ["demo", "--port", str(_free_port()), "--articles", "60", "--no-serve"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "qiosk_scraper",
            *args,
            "--db",
            str(db),
            "--snapshot",
            str(snapshot),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        (archived,) = conn.execute("SELECT count(*) FROM articles").fetchone()
    lines = (snapshot / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    assert archived == len(lines) >= 60
    assert {json.loads(line)["url"] for line in lines} == {
        url for (url,) in sqlite3.connect(db).execute("SELECT url FROM articles")
    }
    for step in ("==> crawl", "==> snapshot", "==> verify"):
        assert step in done.stdout


def test_demo_names_the_failing_step_when_the_mirror_port_is_taken(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "qiosk_scraper", "demo", "--port", str(port), "--no-serve",
             "--db", str(tmp_path / "d.db"), "--snapshot", str(tmp_path / "s")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert "cannot serve on 127.0.0.1" in done.stderr
    assert "Error: the mirror exited" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "d.db").exists()
