"""Building the mirror as files, the command line, and editions."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from click.testing import CliRunner

from qiosk_scraper.cli import main
from qiosk_scraper.mirror import Site, running_mirror
from qiosk_scraper.mirror.build import file_for, site_targets

BASE = "http://127.0.0.1:8765"


def fetch(base: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """One GET, redirects not followed."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_two_builds_with_one_seed_are_byte_identical(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("one", "two"):
        result = runner.invoke(main, ["mirror", "build", str(tmp_path / name), "--articles", "60"])
        assert result.exit_code == 0, result.output
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert one == two
    other = tmp_path / "other"
    result = runner.invoke(main, ["mirror", "build", str(other), "--articles", "60", "--seed", "2"])
    assert result.exit_code == 0
    assert _tree(other) != one


def test_build_holds_the_served_site_and_its_gold(tmp_path: Path) -> None:
    site = Site(articles=60)
    out = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["mirror", "build", str(out), "--articles", "60", "--base-url", "https://rs.example"]
    )
    assert result.exit_code == 0, result.output
    gold = site.gold("https://rs.example")
    files = list((out / "gold").iterdir())
    assert sorted(f.stem for f in files) == sorted(gold)
    for f in files:
        assert json.loads(f.read_text()) == gold[f.stem]
    for target in site_targets(site):
        assert (out / file_for(target)).read_bytes() == site.respond(
            target, "https://rs.example"
        ).body
    redirects = (out / "_redirects").read_text().splitlines()
    assert "/feed/ /feeds/feed.rss 301" in redirects
    assert b"Page not found" in (out / "404.html").read_bytes()


def _changed_fields(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    return {k for k in a if a[k] != b[k]}


def test_edition_two_differs_by_exactly_the_announced_changes() -> None:
    first, second = Site(edition=1), Site(edition=2)
    assert first.changes() == {}
    changes = second.changes()
    g1, g2 = first.gold(BASE), second.gold(BASE)
    assert len(changes["edited"]) == 3 and len(changes["new"]) == 3
    assert len(changes["deleted"]) == 1 and len(changes["moved"]) == 1
    ((old_path, new_path),) = changes["moved"].items()
    old_slug, new_slug = old_path.strip("/"), new_path.strip("/")
    assert set(g1) - set(g2) == {*changes["deleted"], old_slug}
    assert set(g2) - set(g1) == {*changes["new"], new_slug}
    for slug in changes["edited"]:
        assert _changed_fields(g1[slug], g2[slug]) >= {"body", "modified"}
        assert _changed_fields(g1[slug], g2[slug]) <= {"body", "modified", "word_count", "links"}
        assert g2[slug]["modified"] > (g1[slug]["modified"] or g1[slug]["published"])
    assert _changed_fields(g1[old_slug], g2[new_slug]) == {"url"}
    untouched = (set(g1) & set(g2)) - set(changes["edited"])
    assert len(untouched) == 120 - 3 - 2
    assert all(g1[s] == g2[s] for s in untouched)
    newest = max(g1.values(), key=lambda r: r["published"])["published"]
    assert all(g2[s]["published"] > newest for s in changes["new"])


def test_edition_two_over_http() -> None:
    site = Site(edition=2)
    changes = site.changes()
    with running_mirror(site=site) as mirror:
        base = mirror.base_url
        deleted = Site(edition=1).by_slug[changes["deleted"][0]]
        status, _, body = fetch(base, deleted.path)
        assert status == 410 and b"removed" in body
        ((old_path, new_path),) = changes["moved"].items()
        status, headers, _ = fetch(base, old_path)
        assert (status, headers["location"]) == (301, base + new_path)
        feed = fetch(base, "/feeds/feed.rss")[2].decode()
        for slug in changes["new"]:
            assert f"<link>{base}/{slug}/</link>" in feed
            assert fetch(base, f"/{slug}/")[0] == 200
        assert (
            f"{base}{deleted.path}<" not in fetch(base, "/feeds/sitemaps/sitemap_1.xml")[2].decode()
        )


def test_later_editions_accumulate() -> None:
    third = Site(edition=3)
    changes = third.changes()
    assert len(changes["new"]) == 6 and len(changes["deleted"]) == 2 and len(changes["moved"]) == 2
    assert len(third.gold(BASE)) == 120 + 6 - 2


def test_serve_command_answers_http(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "from qiosk_scraper.cli import main; main()"]
    with subprocess.Popen(
        [*command, "mirror", "serve", "--port", "0", "--articles", "60", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert "mirror serving 60 articles at http://127.0.0.1:" in line
            base = line.rsplit(" ", 1)[1].strip().rstrip("/")
            assert fetch(base, "/")[0] == 200
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(timeout=10)


def test_commands_show_an_example() -> None:
    for args in (
        ["mirror", "--help"],
        ["mirror", "serve", "--help"],
        ["mirror", "build", "--help"],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and "Example: qiosk mirror" in result.output
