"""What the live site says today of the articles only web archives know (``qiosk import`` and
``qiosk backfill`` ask it after importing, unless ``--no-check-live``).

An article archived from captures alone may have been deleted, may live on under another URL
(a WordPress-era date path that now redirects to a short slug, a moved article), or may still be
served but unlisted. Each such article not yet asked is requested once, politely (robots.txt,
one request at a time with the backfill's delay and retries), without following redirects:

- 404 or 410: the article is marked gone (``gone_at``), the answer kept as its evidence, as a
  crawl's recheck does;
- a redirect to an archived article that is the same one (published at the same minute, or
  under the same title): the captures are that article's earlier states; its history takes them by
  capture time and the old URL becomes its alias. A redirect to another article (a deleted
  piece sent to a related one, as sites do) joins nothing;
- 200: still served; the next crawl archives its current state;
- anything else (a redirect to a URL not archived, a server error, no answer): left as it is,
  counted with its reason.

Every answer is written to the archive's WARC and recorded as a capture of a crawl whose
arguments say ``check: live``, so an article is asked once; a complete crawl rechecks every
article that is not gone anyway. An archive no crawl has filled yet (captures imported into an
empty archive) is not checked: its first complete crawl asks every archived article, as politely,
and marks the gone ones.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from protego import Protego

from qiosk_scraper import __version__
from qiosk_scraper.archive import Archive
from qiosk_scraper.backfill.cdx import USER_AGENT, Answer, CdxError, PoliteHttp
from qiosk_scraper.urls import canonicalize
from qiosk_scraper.warc import WarcWriter

GONE = (404, 410)
NO_CRAWL = (
    "no crawl of the site in this archive yet; a complete qiosk crawl asks every archived "
    "article and marks the gone ones"
)
REDIRECTS = (301, 302, 303, 307, 308)
_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass
class LiveCheck:
    """What the live site answered, per outcome."""

    asked: int = 0
    gone: int = 0  # marked gone
    moved: int = 0  # history moved into the archived article the URL redirects to
    served: int = 0  # still answered 200
    left: Counter[str] = field(default_factory=Counter)  # reason -> articles left as they are
    skipped: str | None = None  # why nothing was asked

    def summary(self) -> str:
        if self.skipped:
            return f"live site: not asked ({self.skipped})"
        if not self.asked and not self.left:
            return "live site: no article only web archives know is left to ask"
        parts = [f"{self.gone} gone", f"{self.moved} moved into archived articles"]
        parts.append(f"{self.served} still served (the next crawl archives them)")
        parts += [f"{n} {reason}" for reason, n in sorted(self.left.items())]
        return f"live site, {self.asked} asked: " + ", ".join(parts)


class _Unreachable(Exception):
    """The site's robots.txt got no answer: its articles are not asked either."""


class _Robots:
    """robots.txt per origin, fetched once each; a 4xx (no robots.txt) allows everything, no
    answer at all makes the origin unreachable for this check."""

    def __init__(self, http: PoliteHttp) -> None:
        self.http, self.rules = http, dict[str, Protego | str]()

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.rules:
            try:
                answer = self.http.get(origin + "/robots.txt")
                text = answer.body.decode("utf-8", "replace") if answer.status == 200 else ""
                self.rules[origin] = Protego.parse(text)
            except CdxError as error:
                self.rules[origin] = _reason(error)
        rules = self.rules[origin]
        if isinstance(rules, str):
            raise _Unreachable(rules)
        return bool(rules.can_fetch(url, USER_AGENT))


def _reason(error: CdxError) -> str:
    """What a request that gave up met (``HTTP 503``, ``network error: ...``)."""
    found = re.search(r"\((.*)\)$", str(error))
    return found[1] if found else str(error)


def check_live(db: Path, site: str, http: PoliteHttp) -> LiveCheck:
    """Ask the live site about every article of the archive at ``db`` that only web archives
    know and no live check has asked (see the module's docstring)."""
    result = LiveCheck()
    with Archive(db) as archive:
        if not archive.has_crawled_articles():
            result.skipped = NO_CRAWL
            return result
        todo = archive.unchecked_archive_only()
        if not todo:
            return result
        robots = _Robots(http)
        crawl_id = archive.start_crawl(
            site, {"check": "live", "site": site}, {"qiosk-scraper": __version__}
        )
        writer = WarcWriter(
            archive.folder / "warc",
            f"live-{crawl_id:05d}",
            {"software": f"qiosk-scraper {__version__}", "operator": "qiosk live check"},
            relative_to=archive.folder,
        )
        status = "failed"
        try:
            for article_id, url in todo:
                try:
                    if not robots.allows(url):
                        result.left["not asked (robots.txt)"] += 1
                        continue
                    answer = http.get(url, follow=False)
                except _Unreachable as error:
                    result.left[f"not asked (no answer from the site: {error})"] += 1
                    continue
                except CdxError as error:
                    result.left[f"no answer ({_reason(error)})"] += 1
                    continue
                result.asked += 1
                at = datetime.now(UTC)
                capture_id = _keep(archive, writer, crawl_id, url, answer, at)
                _judge(archive, result, article_id, url, answer, at, capture_id)
            status = "finished"
        finally:
            writer.close()
            stats = {"asked": result.asked, "gone": result.gone, "moved": result.moved}
            archive.finish_crawl(crawl_id, {**stats, "served": result.served}, status)
    return result


def _keep(
    archive: Archive, writer: WarcWriter, crawl_id: int, url: str, answer: Answer, at: datetime
) -> int:
    """The answer written to WARC and recorded as a capture of the live check."""
    headers = [(k, v) for k, v in answer.headers.items() if k not in _DROPPED]
    location = writer.write_exchange(
        url=url,
        method="GET",
        request_headers=[("User-Agent", USER_AGENT)],
        status=answer.status,
        response_headers=headers,
        body=answer.body,
        fetched_at=at,
    )
    return archive.add_capture(
        crawl_id,
        {
            "url": url,
            "method": "GET",
            "status": answer.status,
            "fetched_at": at.isoformat(),
            "content_type": answer.headers.get("content-type"),
            "payload_sha256": location.payload_sha256,
            "payload_length": location.payload_length,
            "warc_file": location.file,
            "warc_offset": location.offset,
            "warc_length": location.length,
        },
    )


def _same_article(moved: dict[str, Any] | None, into: dict[str, Any] | None) -> bool:
    """Whether a redirect joins two states of one article (a move keeps its publication time
    or its title), not a deleted article sent to another one, as sites do."""
    if moved is None or into is None:
        return False
    published = [row["published"] for row in (moved, into)]
    if all(published):
        first, second = (datetime.fromisoformat(p) for p in published)
        if abs(first - second) <= timedelta(minutes=1):
            return True
    titles = [" ".join(str(row["title"] or "").casefold().split()) for row in (moved, into)]
    return bool(titles[0]) and titles[0] == titles[1]


def _judge(
    archive: Archive,
    result: LiveCheck,
    article_id: int,
    url: str,
    answer: Answer,
    at: datetime,
    capture_id: int,
) -> None:
    if answer.status in GONE:
        archive.mark_gone(article_id, at.isoformat(), capture_id)
        result.gone += 1
    elif answer.status in REDIRECTS and answer.headers.get("location"):
        target = canonicalize(urljoin(url, answer.headers["location"]))
        into = archive.find_article(target)
        if into is None or into == article_id:
            result.left["redirected to a URL not archived"] += 1
        elif not _same_article(archive.article_row(url), archive.article_row(target)):
            result.left["redirected to another article (not joined)"] += 1
        else:
            archive.move_history(article_id, into)
            result.moved += 1
    elif answer.status == 200:
        result.served += 1
    else:
        result.left[f"answered HTTP {answer.status}"] += 1
