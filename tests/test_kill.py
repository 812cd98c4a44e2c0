"""SIGKILL during ``qiosk reextract`` and during ``qiosk snapshot export`` (issue 8), each at
seeded points: afterwards the archive passes ``PRAGMA integrity_check``, running the command
again finishes the work, and the result equals that of an uninterrupted run; no half-written
snapshot passes ``verify``.

Kill points are drawn (seeded) as fractions of an uninterrupted run's duration, so they fall
early, midway and late in the work whatever the machine's speed.
"""

from __future__ import annotations

import filecmp
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.reextract import RUN, Crawled

from qiosk_scraper.archive import Archive

KILLS = 3


def _env(pythonpath: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def _run(args: list[str], cwd: Path, pythonpath: Path | None = None) -> float:
    """Run to completion; returns the seconds it took."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        cwd=cwd,
        env=_env(pythonpath),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - start


def _kill_after(args: list[str], cwd: Path, seconds: float, pythonpath: Path | None = None) -> bool:
    """Start the command in its own process group and SIGKILL the whole group after
    ``seconds`` (pool workers included), unless it finished before; True when it killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", RUN, *args],
        cwd=cwd,
        env=_env(pythonpath),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(seconds)
    running = process.poll() is None
    if running:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return running


def _integrity(db: Path) -> str:
    with Archive(db) as archive:
        return archive.db.execute("PRAGMA integrity_check").fetchone()[0]


def _state(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Articles and revisions, without the clock's values (a re-extraction's ``fetched_at``)."""
    with Archive(db) as archive:
        articles = archive.db.execute(
            "SELECT url, title, subtitle, body, content_hash, capture_id, extractor_version"
            " FROM articles ORDER BY url"
        ).fetchall()
        revisions = archive.db.execute(
            "SELECT a.url, r.revision, r.content_hash, r.record, r.changed_fields,"
            " r.silent_edit, r.extractor_version, r.capture_id"
            " FROM revisions r JOIN articles a ON a.id = r.article_id"
            " ORDER BY a.url, r.revision"
        ).fetchall()
    return articles, revisions


def test_reextract_killed_at_seeded_points_resumes_to_the_uninterrupted_result(
    crawled: Crawled,
    tmp_path: Path,
) -> None:
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    shutil.copytree(crawled.db.parent, clean)
    shutil.copytree(crawled.db.parent, killed)
    args = ["reextract", "--db", "qiosk.db", "--workers", "2"]
    took = _run(args, clean, crawled.changed_package)
    expected = _state(clean / "qiosk.db")
    assert expected[1] != _state(crawled.db)[1]  # the changed extractor made new revisions

    rng = random.Random(8)
    kills = 0
    for fraction in sorted(rng.uniform(0.1, 0.9) for _ in range(KILLS)):
        kills += _kill_after(args, killed, took * fraction, crawled.changed_package)
        assert _integrity(killed / "qiosk.db") == "ok"
    assert kills > 0  # at least one run was really cut short
    _run(args, killed, crawled.changed_package)
    assert _integrity(killed / "qiosk.db") == "ok"
    assert _state(killed / "qiosk.db") == expected


def _verify_fails(folder: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", RUN, "snapshot", "verify", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode != 0


def test_snapshot_export_killed_at_seeded_points_leaves_nothing_that_verifies(
    crawled: Crawled,
    tmp_path: Path,
) -> None:
    db = crawled.db
    reference, out = tmp_path / "reference", tmp_path / "snaps" / "killed"
    export = ["snapshot", "export", "--db", str(db), "--with-warc"]
    took = _run([*export[:2], str(reference), *export[2:]], tmp_path)

    rng = random.Random(7)
    kills = 0
    for fraction in sorted(rng.uniform(0.05, 0.95) for _ in range(KILLS)):
        kills += _kill_after([*export[:2], str(out), *export[2:]], tmp_path, took * fraction)
        assert _integrity(db) == "ok"
        # What a kill leaves: either no snapshot at all, or (killed after the final rename)
        # a complete one. Half-built folders are hidden beside it and never verify.
        for partial in out.parent.glob(".*.partial"):
            assert _verify_fails(partial), f"half-written {partial.name} passed verify"
        if out.exists():
            assert not _verify_fails(out)
            shutil.rmtree(out)
    assert kills > 0  # at least one export was really cut short
    _run([*export[:2], str(out), *export[2:]], tmp_path)
    # the next export removed what the killed ones left beside the snapshot
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    comparison = filecmp.dircmp(reference, out)
    assert not comparison.left_only and not comparison.right_only
    mismatched = [
        str(path.relative_to(reference))
        for path in sorted(reference.rglob("*"))
        if path.is_file() and not filecmp.cmp(path, out / path.relative_to(reference), False)
    ]
    assert mismatched == []
