"""Bad input to every ``qiosk`` command (issue 8): a missing, damaged or non-SQLite database, bad
dates, bad URLs, an output directory that cannot be written, a snapshot directory that does not
exist. Each gives one clear line naming the problem, a non-zero exit and no traceback, and
leaves every file it was given byte for byte as it was (and creates none in their place)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror.site import Site


def damaged(name: str) -> re.Pattern[str]:
    """The error line for a damaged archive: SQLite's own word, or the archive's check."""
    return re.compile(rf"{name}\.db: .*(damaged|malformed)")


# (command line, exit code, what the error line must say). Files in the working folder:
# good.db (an archive), notes.db (a text file), truncated.db (good.db cut in half, as a copy
# interrupted), garbled.db (good.db with a page overwritten), page.html (an article page),
# blocker (a plain file where a folder would have to be).
CASES = [
    # backfill, import
    ("backfill --cdx web.archive.org --dry-run", 2, "expected an http(s) URL"),
    ("backfill --cdx http://127.0.0.1:9/cdx --db notes.db", 1, "notes.db: not a usable SQLite"),
    ("backfill --cdx http://127.0.0.1:9/cdx --db garbled.db", 1, damaged("garbled")),
    ("import missing.warc.gz --source own --db good.db", 1, "missing.warc.gz: no such file"),
    ("import page.html --source own --db good.db", 1, "page.html: not a WARC (.warc, .warc.gz)"),
    ("import page.html --db good.db", 2, "Missing option '--source'"),
    # crawl
    ("crawl --db notes.db", 1, "notes.db: not a usable SQLite archive"),
    ("crawl --db truncated.db --site http://127.0.0.1:9", 1, damaged("truncated")),
    ("crawl --db garbled.db --site http://127.0.0.1:9", 1, damaged("garbled")),
    ("crawl --db blocker/qiosk.db", 1, "blocker"),
    ("crawl --db new.db --since 2024-13-45", 2, "'--since'"),
    ("crawl --db new.db --site responsiblestatecraft.org", 2, "expected an http(s) URL"),
    ("crawl --db new.db --site ftp://responsiblestatecraft.org", 2, "expected an http(s) URL"),
    ("crawl --db new.db --site http://host:port/", 2, "is not a URL"),
    # check-site
    ("check-site responsiblestatecraft.org", 2, "expected an http(s) URL"),
    ("check-site http://127.0.0.1:9 --delay 0", 1, "http://127.0.0.1:9/robots.txt: "),
    ("check-site http://127.0.0.1:9 --sample 0", 2, "'--sample'"),
    # extract, listing, eval
    ("extract missing.html", 1, "cannot read missing.html"),
    ("extract page.html --url not-a-url", 2, "'not-a-url': expected an http(s) URL"),
    ("extract page.html --fetched-at yesterday", 2, "not an ISO 8601 date-time: 'yesterday'"),
    ("listing page.html --url javascript:alert(1)", 2, "expected an http(s) URL"),
    ("eval nowhere", 1, "nowhere: not a directory"),
    ("eval notes.db", 1, "notes.db: not a directory"),
    # mirror
    ("mirror build blocker/site", 1, "blocker/site: Not a directory"),
    ("mirror build out --base-url localhost:8765", 2, "expected an http(s) URL"),
    ("mirror build out --articles 5", 2, "at least 60"),
    ("mirror build out --layout nope", 2, "'nope' is not one of"),
    ("mirror serve --port 70000", 2, "70000 is not in the range"),
    # snapshot
    ("snapshot export snap --db missing.db", 1, "missing.db: no such archive"),
    ("snapshot export snap --db notes.db", 1, "notes.db: not a usable SQLite archive"),
    ("snapshot export snap --db truncated.db", 1, damaged("truncated")),
    ("snapshot export snap --db garbled.db", 1, damaged("garbled")),
    ("snapshot export snap --db good.db --as-of yesterday", 1, "'yesterday' is not an ISO 8601"),
    ("snapshot export snap --db good.db --as-of 2025-02-30", 1, "'2025-02-30' is not an ISO 8601"),
    ("snapshot export blocker/snap --db good.db", 1, "blocker"),
    ("snapshot export /proc/qiosk/snap --db good.db", 1, "/proc/qiosk"),
    ("snapshot verify nowhere", 1, "nowhere: no such snapshot directory"),
    ("snapshot verify notes.db", 1, "notes.db: no such snapshot directory"),
    # serve
    ("serve --db missing.db", 1, "missing.db: no such archive"),
    ("serve --db notes.db", 1, "notes.db: not a readable SQLite file"),
    ("serve --db truncated.db", 1, damaged("truncated")),
    ("serve --db garbled.db", 1, damaged("garbled")),
    ("serve --db good.db --port 65536", 2, "'--port'"),
    ("serve --db good.db --host no-such-host.invalid", 1, "--host no-such-host.invalid: not an"),
    ("snapshot verify snap --fingerprint sha256:abc", 2, "'sha256:abc' is not a fingerprint"),
    # reextract, coverage
    ("reextract --db missing.db", 2, "'missing.db' does not exist"),
    ("reextract --db notes.db", 1, "notes.db: not a usable SQLite archive"),
    ("reextract --db truncated.db", 1, damaged("truncated")),
    ("reextract --db garbled.db", 1, damaged("garbled")),
    ("coverage --db missing.db", 2, "'missing.db' does not exist"),
    ("coverage --db notes.db", 1, "notes.db: not a usable SQLite archive"),
    ("coverage --db truncated.db", 1, damaged("truncated")),
    ("coverage --db garbled.db", 1, damaged("garbled")),
    ("coverage --db good.db", 1, "good.db: no crawl has recorded discoveries"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files every case starts from (copied per case)."""
    folder = tmp_path_factory.mktemp("inputs")
    site = Site(articles=60, seed=2)
    base = "https://responsiblestatecraft.org"
    with Archive(folder / "good.db") as archive:
        crawl_id = archive.start_crawl(base, {}, {})
        for meta, record in zip(site.order[:40], site.gold(base).values(), strict=False):
            archive.save_article(
                record, crawl_id=crawl_id, capture_id=None, fetched_at="2025-01-01T00:00:00+00:00",
                post_id=str(meta.index),
            )  # fmt: skip
        archive.finish_crawl(crawl_id, {}, "finished")
    good = (folder / "good.db").read_bytes()
    assert len(good) > 64 * 1024
    (folder / "truncated.db").write_bytes(good[: len(good) // 2])
    page = 16 * 1024  # a page in the middle, overwritten as a bad disk or copy would
    (folder / "garbled.db").write_bytes(good[:page] + b"\xa5" * 4096 + good[page + 4096 :])
    (folder / "notes.db").write_text("field notes, not a database\n" * 50)
    (folder / "page.html").write_bytes(site.respond(site.order[0].path, base).body)
    (folder / "blocker").write_text("a file where a folder would go\n")
    return folder


def fingerprints(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


# Runs each case as ``qiosk`` would, in its own folder, and reports the exit code and output.
# One Python process runs them all (each case starting up alone takes a second and more).
DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, os, sys, traceback
    from qiosk_scraper.cli import main

    results = []
    for folder, line in json.loads(sys.argv[1]):
        os.chdir(folder)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main.main(line.split(), prog_name="qiosk", standalone_mode=True)
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
        results.append((code, out.getvalue(), err.getvalue()))
    print(json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def ran(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case run in a copy of the inputs: exit code, output, and the folder's files
    before and after."""
    cases = []
    for number, (line, _, _) in enumerate(CASES):
        folder = tmp_path_factory.mktemp(f"case{number}")
        for path in inputs.iterdir():
            shutil.copy(path, folder / path.name)
        cases.append((str(folder), line))
    before = {line: fingerprints(Path(folder)) for folder, line in cases}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(cases)], capture_output=True, text=True,
        timeout=300, check=True,
    )  # fmt: skip
    results = json.loads(done.stdout.splitlines()[-1])
    return {
        line: (code, out, err, before[line], fingerprints(Path(folder)))
        for (folder, line), (code, out, err) in zip(cases, results, strict=True)
    }


@pytest.mark.parametrize(("line", "code", "message"), CASES, ids=[case[0] for case in CASES])
def test_bad_input_gives_one_clear_line_and_changes_nothing(
    ran: dict[str, Any], line: str, code: int, message: str | re.Pattern[str]
) -> None:
    returncode, stdout, stderr, before, after = ran[line]
    output = stdout + stderr
    assert returncode == code, output
    assert "Traceback" not in output, output
    errors = [text for text in stderr.splitlines() if text.startswith("Error:")]
    assert len(errors) == 1, output
    if isinstance(message, re.Pattern):
        assert message.search(errors[0]), errors[0]
    else:
        assert message in errors[0], errors[0]
    # The given files are untouched, and nothing new is left beside them.
    assert {name: after.get(name) for name in before} == before
    assert set(after) - set(before) == set(), sorted(set(after) - set(before))


def test_the_cases_cover_every_command() -> None:
    from qiosk_scraper.cli import main

    names = {" ".join(line.split()[:2]) for line, _, _ in CASES}
    commands = set()
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        subcommands = getattr(command, "commands", None)
        commands |= {f"{name} {sub}" for sub in subcommands} if subcommands else {name}
    missing = {c for c in commands if not any(n.startswith(c) for n in names)}
    assert missing == {"demo"}  # runs a mirror, a crawl and a server: its parts are tested here
