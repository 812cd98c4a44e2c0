"""``qiosk serve`` facing a careless setup or a hostile reader (issue 12 item 11, issue 13 items
10-12): checks before the announcement, a warning for a network-visible host, no server path in
the answers, bounded results, no fts3_tokenizer, a Content-Security-Policy on every page."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.datasette import build_archive, get, record

from qiosk_scraper import datasette as qds
from qiosk_scraper.cli import main

QIOSK = str(Path(sys.executable).parent / "qiosk")
SERVING = re.compile(r"serving .* at (http://127\.0\.0\.1:\d+)/archive/articles")


# What an archive made before http(s)-only URLs holds from a hostile page (issue 13 item 9).
HOSTILE_URLS = {
    "authors": [
        {"name": "Piet Harbour", "url": "javascript:alert('author')"},
        {"name": "Nora Lamp", "url": "https://responsiblestatecraft.org/author/nlamp/"},
    ],
    "images": [
        {"url": "JaVaScRiPt:alert('image')", "alt": "", "caption": None, "credit": None,
         "lead": True}
    ],
    "links": [{"url": "javascript:alert(document.cookie)", "text": "online here"}],
}  # fmt: skip


@pytest.fixture(scope="module")
def archive_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("served-from-a-private-folder") / "archive.db"
    build_archive(path, [record(1, **HOSTILE_URLS), record(2)])
    return path


@pytest.fixture(scope="module")
def datasette(archive_db: Path) -> Iterator[Any]:
    served, _ = qds.build_datasette(archive_db)
    yield served
    for database in served.databases.values():
        database.close()


def serve_process(db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [QIOSK, "serve", "--db", str(db), "--port", "0", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def server(archive_db: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A real ``qiosk serve`` on a free port; its base URL from the line it printed."""
    process = serve_process(archive_db)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once the port is bound
        match = SERVING.search(line)
        assert match, line
        yield match[1], process
    finally:
        process.terminate()
        process.communicate(timeout=30)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])  # type: ignore[index]


# -- checked before announced (issue 12 item 11) ------------------------------------------------


def test_a_missing_or_foreign_database_fails_without_announcing(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    for db, reason in ((tmp_path / "none.db", "no such archive"), (other, "not a qiosk archive")):
        done = subprocess.run(
            [QIOSK, "serve", "--db", str(db), "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert reason in done.stderr
        assert "serving" not in done.stderr, done.stderr


def test_a_port_in_use_fails_with_one_line_and_without_announcing(archive_db: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [QIOSK, "serve", "--db", str(archive_db), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: port {port} on 127.0.0.1 is in use (another server?): pick another with --port"
    ]


def test_the_announced_url_answers(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    status, _, body = fetch(f"{base}/archive/articles.json?_shape=array")
    assert status == 200 and b"Story 1" in body


# -- a network-visible host, the server's paths (issue 13 item 12) ------------------------------


def test_a_non_loopback_host_is_warned_about(
    archive_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command runs up to serving (the port is bound, then closed without serving)."""
    ran: list[str] = []

    def run(self: qds.Server) -> None:
        ran.append(self.url)
        self.sock.close()

    monkeypatch.setattr(qds.Server, "run", run)
    result = CliRunner().invoke(
        main, ["serve", "--db", str(archive_db), "--host", "0.0.0.0", "--port", "0"]
    )
    assert result.exit_code == 0, result.output
    assert ran and ran[0].startswith("http://0.0.0.0:")
    assert "--host 0.0.0.0 makes the archive visible" in result.output
    assert "no authentication" in result.output
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert qds.network_warning(host) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.10", "archive.example.org"):
        assert qds.network_warning(host), host


def test_no_page_shows_where_the_archive_lives(datasette: Any, archive_db: Path) -> None:
    folder = str(archive_db.parent)
    databases = get(datasette, "/-/databases.json").json()
    assert [(d["name"], d["path"]) for d in databases] == [("archive", "archive.db")]
    for path in ("/", "/archive", "/archive.json", "/-/metadata.json", "/archive/articles/1"):
        response = get(datasette, path)
        assert response.status_code == 200, path
        assert folder not in response.text, path


# -- bounded results, no fts3_tokenizer (issue 13 items 10, 11) ---------------------------------


def test_a_huge_value_or_result_is_refused_small(datasette: Any) -> None:
    rows_of = "with recursive n(i) as (select 1 union all select i + 1 from n limit {}) "
    for sql, reason in (
        ("select zeroblob(200000000)", "string or blob too big"),
        ("select length(zeroblob(200000000))", "string or blob too big"),
        (rows_of.format(40) + "select zeroblob(2000000) from n", "result larger than 32 MB"),
        (rows_of.format(40) + "select printf('%.*c', 2000000, 'x') from n", "result larger"),
    ):
        response = get(datasette, "/archive.json?" + urllib.parse.urlencode({"sql": sql}))
        assert response.status_code == 400, sql
        assert reason in response.json()["error"], sql
        assert len(response.content) < 10_000
    ok = rows_of.format(3) + "select length(zeroblob(1000000)) as n from n"
    answer = get(datasette, "/archive.json?_shape=array&" + urllib.parse.urlencode({"sql": ok}))
    assert answer.json() == [{"n": 1000000}] * 3


def test_fts3_tokenizer_cannot_be_called(datasette: Any) -> None:
    with sqlite3.connect(":memory:") as plain:  # what a query reached before
        assert plain.execute("select fts3_tokenizer('simple')").fetchone()[0]
    for sql in ("select hex(fts3_tokenizer('simple'))", "select FTS3_Tokenizer('porter')"):
        response = get(datasette, "/archive.json?" + urllib.parse.urlencode({"sql": sql}))
        assert response.status_code == 400, sql
        assert "not authorized" in response.json()["error"]


def test_the_server_stays_small_under_a_huge_query(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = server
    fetch(f"{base}/archive/articles")
    before = rss_kb(process.pid)
    sql = urllib.parse.urlencode({"sql": "select zeroblob(200000000)"})
    for ext in (".json", ".csv", ""):
        status, _, body = fetch(f"{base}/archive{ext}?{sql}")
        assert len(body) < 100_000, ext
        assert status == 400 or (ext == ".csv" and body.strip() == b""), ext  # CSV streams
    assert rss_kb(process.pid) - before < 50_000  # kB; it grew by 2 GB before


# -- Content-Security-Policy (issue 13 item 9) --------------------------------------------------


def test_every_page_forbids_inline_script(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    for path in ("/", "/archive", "/archive/articles", "/archive/articles/1", "/archive/search"):
        status, headers, _ = fetch(base + path)
        assert status == 200, path
        policy = headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", policy)[1]  # type: ignore[index]
        assert "'unsafe-inline'" not in script_src and "'self'" in script_src, path
        assert "object-src 'none'" in policy and "base-uri 'none'" in policy


def test_the_article_page_links_only_web_urls(datasette: Any) -> None:
    html = get(datasette, "/archive/articles/1").text
    assert "javascript:" not in html.lower().replace("<code>javascript:", "")
    assert "(profile: <code>javascript:alert(&#39;author&#39;)</code>)" in html
    assert "<td><code>JaVaScRiPt:alert(&#39;image&#39;)</code></td>" in html
    assert '(<a href="https://responsiblestatecraft.org/author/nlamp/"' in html


def test_hostile_urls_and_inline_script_do_not_run_in_chromium(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    """Datasette's own inline scripts run (the SQL editor); nothing else does."""
    from playwright.sync_api import sync_playwright
    from support.browser import CHROMIUM, CHROMIUM_ARGS

    base, _ = server
    violations: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: violations.append(m.text) if "Policy" in m.text else None)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            for path in ("/archive/articles/1", "/archive/authors", "/archive/links", "/archive"):
                page.goto(base + path)
                page.wait_for_load_state("load")
                assert page.locator("a[href^='javascript' i]").count() == 0, path
            assert page.locator(".CodeMirror").count() == 1  # Datasette's inline script ran
            injected = page.evaluate(
                """() => { const s = document.createElement('script');
                           s.textContent = 'window.injected = 1';
                           document.body.appendChild(s); return window.injected; }"""
            )
            assert injected is None
        finally:
            browser.close()
    assert dialogs == []
    assert len(violations) == 1 and "inline script" in violations[0], violations
