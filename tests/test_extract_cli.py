"""``qiosk extract``, ``qiosk listing`` and ``qiosk eval`` from the command line."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from qiosk_scraper.cli import main

GOLDEN = Path(__file__).parent / "golden"


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def test_extract_prints_the_record_with_the_canonical_link_as_default_url(tmp_path):
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress((GOLDEN / "rm-full.html").read_bytes()))
    result = run("extract", str(page), "--fetched-at", "2024-12-10T12:00:00+00:00")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    expected = json.loads((GOLDEN / "rm-full.json").read_text(encoding="utf-8"))
    assert record["url"] == expected["url"]
    assert record["body"] == expected["body"]
    assert record["provenance"]["published"] == "json-ld"


def test_extract_reads_standard_input():
    html = (GOLDEN / "rm-fresh.html").read_bytes()
    result = run(
        "extract", "-", "--url", "https://responsiblestatecraft.org/ceasefire-monitors/",
        "--fetched-at", "2025-06-18T16:20:00+00:00", stdin=html,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["published"] == "2025-06-18T11:20:00+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["extract", "missing.html"], "cannot read missing.html"),
        (["extract", "BAD.gz", "--url", "https://x.org/a/"], "cannot read"),
        (["extract", "RANDOM", "--url", "https://x.org/a/"], "not an article"),
        (["extract", "ABOUT"], "not an article"),
        (["extract", "GENERIC"], "no absolute canonical link"),
        (["extract", "ABOUT", "--fetched-at", "yesterday"], "not an ISO 8601"),
        (["listing", "RANDOM", "--url", "https://x.org/"], "not a listing"),
        (["eval", "missing-dir"], "not a directory"),
    ],
)
def test_bad_input_gives_one_error_line_and_a_non_zero_exit(tmp_path, args, message):
    (tmp_path / "BAD.gz").write_bytes(b"\x1f\x8b not really gzip")
    (tmp_path / "RANDOM").write_bytes(bytes(range(256)) * 4)
    paths = {
        "BAD.gz": str(tmp_path / "BAD.gz"),
        "RANDOM": str(tmp_path / "RANDOM"),
        "ABOUT": str(GOLDEN / "not-articles" / "about.html"),
        "GENERIC": str(GOLDEN / "generic-cp1252.html"),
    }
    result = run(*[paths.get(a, a) for a in args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_listing_prints_json_lines():
    result = run(
        "listing", str(GOLDEN / "listings" / "tag-page.html"),
        "--url", "https://responsiblestatecraft.org/tag/iran/",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [t["post_id"] for t in lines] == [9001, 9000]


def test_eval_prints_field_accuracy_and_body_f1():
    result = run("eval", str(GOLDEN))
    assert result.exit_code == 0, result.output
    assert f"pages: {len(list(GOLDEN.glob('*.json')))}" in result.output
    assert re.search(r"^  authors +100.00%$", result.output, re.M)
    assert "body F1: mean 1.0000  min 1.0000" in result.output
