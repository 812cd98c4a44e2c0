"""Crawl processes killed and compared: captures counted read-only, children and liveness
from /proc, a crawl SIGKILLed after N captures, and the archive's rows keyed by URL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from support.crawl import REPO


def count_captures(db: Path) -> int:
    """Captures committed so far, read without writing (the crawl owns the file)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM captures").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        conn.close()


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def crawl_killed_after(command: list[str], db: Path, more: int) -> int:
    """Run the crawl; SIGKILL it once ``more`` captures beyond those already in the archive
    are committed, and see its extraction workers leave too. Returns how many captures there
    were at the kill."""
    start = count_captures(db)
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while process.poll() is None:
            now = count_captures(db)
            if now - start >= more:
                workers = children(process.pid)
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                deadline = time.monotonic() + 10
                while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert [pid for pid in workers if alive(pid)] == [], "orphaned workers"
                return now
            time.sleep(0.02)
        raise AssertionError(f"the crawl ended (exit {process.returncode}) before the kill")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def natural_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The archive's article tables, keyed by article URL and labels (see the module doc)."""
    conn = sqlite3.connect(db)
    queries = {
        "articles": (
            "SELECT url, post_id, title, subtitle, article_type, section, published, modified, "
            "body, word_count, language, content_hash, extractor_version, gone_at FROM articles"
        ),
        "revisions": (
            "SELECT a.url, r.revision, r.content_hash, r.record, r.changed_fields, r.silent_edit, "
            "r.extractor_version FROM revisions r JOIN articles a ON a.id = r.article_id"
        ),
        "article_authors": (
            "SELECT a.url, x.position, au.name, au.url FROM article_authors x "
            "JOIN articles a ON a.id = x.article_id JOIN authors au ON au.id = x.author_id"
        ),
        "article_tags": (
            "SELECT a.url, x.position, t.label FROM article_tags x "
            "JOIN articles a ON a.id = x.article_id JOIN tags t ON t.id = x.tag_id"
        ),
        "article_sections": (
            "SELECT a.url, s.label, x.is_primary, x.listed FROM article_sections x "
            "JOIN articles a ON a.id = x.article_id JOIN sections s ON s.id = x.section_id"
        ),
        "images": (
            "SELECT a.url, i.position, i.url, i.alt, i.caption, i.credit, i.lead FROM images i "
            "JOIN articles a ON a.id = i.article_id"
        ),
        "links": (
            "SELECT a.url, k.position, k.url, k.text FROM links k "
            "JOIN articles a ON a.id = k.article_id"
        ),
    }
    try:
        return {name: sorted(conn.execute(sql).fetchall()) for name, sql in queries.items()}
    finally:
        conn.close()
