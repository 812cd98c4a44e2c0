"""Support for the fault tests (no tests here): the fault SPEC, the crawl settings, and what
each mirror fault kind must leave in ``errors``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from support.crawl import crawl_with_settings

from qiosk_scraper.archive import Archive
from qiosk_scraper.mirror import KINDS, FaultPlan
from qiosk_scraper.mirror.faults import Attempts

# Every fault kind.
SPEC = ",".join("timeout=4" if k == "timeout" else k for k in KINDS)
# Short waits for a test: the timeout fault answers after 4 s, the crawl gives up after 2.
SETTINGS = {"DOWNLOAD_TIMEOUT": 2, "QIOSK_RETRY_BACKOFF_BASE": 0.05}

# Mirror fault kind -> the errors.kind each of its faulty URLs must show (None: no error, and
# the article is archived exactly as on the clean mirror).
EXPECTED_KIND: dict[str, str | None] = {
    "http_500": "http_500",  # one row per failed answer, each retried
    "http_503": "http_503",
    "http_429": "http_429",
    "timeout": "timeout",
    "connection_reset": "connection_reset",  # an RST in the middle of the body
    "truncated_body": "truncated",  # a clean close short of Content-Length
    "wrong_charset": "wrong_charset",  # declared UTF-8: the page is archived decoded as cp1252
    "malformed_html": None,  # broken markup, intact article markup: archived as on the clean site
    "oversized": "oversized",  # over DOWNLOAD_MAXSIZE (8 MiB): refused, not archived
    "redirect_chain": None,  # four hops on the site: followed to the article
    "redirect_loop": "redirect_loop",  # recorded at the URL that redirects back
    "redirect_offsite": "redirect_offsite",  # another host, localhost, 169.254.169.254
    "redirect_scheme": "redirect_scheme",  # ftp:, javascript:, data:
    "not_html": "not_html",  # a PDF, a JPEG
    "corrupt_gzip": "decode_error",
    "empty_body": "empty_body",
    # The same post at /<slug>-2/, naming itself canonical: the archived URL is kept.
    "conflicting_canonical": "conflicting_canonical",
}
# The page of wrong_charset with no charset at all is "missing_charset" (see below).
TRANSIENT = ("http_500", "http_503", "http_429", "timeout", "connection_reset", "truncated_body")


def crawl(base_url: str, db: Any, **arguments: Any) -> None:
    crawl_with_settings({"site": base_url, "db": str(db), "delay": 0, **arguments}, SETTINGS)


def restart_faults(server: Any, plan: FaultPlan | None) -> None:
    """Serve ``plan`` (None: the clean mirror) from now on, its transient faults counted from
    zero again."""
    server.faults = plan
    server.attempts = Attempts()


def errors_by_url(archive: Archive, crawl_id: int, base: str) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for error in archive.errors(crawl_id):
        rows[error["url"].removeprefix(base)].append(error)
    return dict(rows)


def expected_errors(plan: FaultPlan, base: str) -> dict[str, list[str]]:
    """Path -> the errors.kind of each row the faults at that path leave (sorted)."""
    expected: dict[str, list[str]] = {}
    for fault in plan.faults:
        kind = EXPECTED_KIND[fault.kind]
        if kind is None:
            continue
        path = fault.path
        if fault.kind == "redirect_loop":
            # A -> B -> A: refused at B, whose answer points back to A.
            path = (plan.respond(fault.path, base).location or "").removeprefix(base)
        if fault.kind == "wrong_charset" and "no charset" in fault.note:
            kind = "missing_charset"
        count = fault.failures if fault.kind in TRANSIENT else 1
        assert count is not None, fault
        expected[path] = sorted([kind] * count)
    return expected
