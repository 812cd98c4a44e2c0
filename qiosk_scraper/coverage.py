"""Coverage of the discovery sources: per crawl, how many archived articles each source
(sitemap, feeds, home, sections, tags, authors, stream, body) found, and which articles only one
source knows.

The spider records every (article URL, source) pair of a crawl in ``discoveries``; URLs are
resolved to archived articles here (old slugs and variants through ``url_aliases``; URLs that
are no article are left out). Comparing a crawl with the one before shows a shrinking source:
a sitemap that stopped listing old articles, a feed that lost items.

With ``--sources``, the sources of the archive itself: the site's own crawls (``crawl``) and
each web archive captures were imported from (``qiosk import`` / ``backfill``): how many
captures, articles and revisions each brought, and which articles only web archives know.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from qiosk_scraper.archive import Archive


class CoverageError(Exception):
    """No crawl with recorded discoveries to report on."""


@dataclass(frozen=True)
class SourceCoverage:
    source: str
    articles: int  # archived articles this source found in the crawl
    previous: int | None  # in the previous crawl (None: no previous crawl, or not used then)
    only_here: list[str]  # URLs of the articles no other source found, sorted


@dataclass(frozen=True)
class Coverage:
    crawl_id: int
    previous_crawl_id: int | None
    articles: int  # archived articles any source found
    sources: list[SourceCoverage]  # most articles first


def _found(archive: Archive, crawl_id: int) -> dict[str, set[int]]:
    found: dict[str, set[int]] = defaultdict(set)
    for source, article_id in archive.discovered_articles(crawl_id):
        found[source].add(article_id)
    return found


def coverage(archive: Archive, crawl_id: int | None = None) -> Coverage:
    """The coverage of crawl ``crawl_id`` (default: the latest with discoveries), compared
    with the crawl with discoveries before it."""
    crawls = archive.crawls_with_discoveries()
    if not crawls:
        raise CoverageError(f"{archive.path}: no crawl has recorded discoveries yet")
    if crawl_id is None:
        crawl_id = crawls[-1]
    if crawl_id not in crawls:
        raise CoverageError(f"{archive.path}: crawl {crawl_id} has no recorded discoveries")
    earlier = [c for c in crawls if c < crawl_id]
    previous_id = earlier[-1] if earlier else None
    found = _found(archive, crawl_id)
    before = _found(archive, previous_id) if previous_id is not None else {}
    sources_of: dict[int, set[str]] = defaultdict(set)
    for source, ids in found.items():
        for article_id in ids:
            sources_of[article_id].add(source)
    urls = archive.article_urls_by_id()
    sources = [
        SourceCoverage(
            source=source,
            articles=len(ids),
            previous=len(before[source]) if source in before else None,
            only_here=sorted(urls[i] for i in ids if sources_of[i] == {source}),
        )
        for source, ids in found.items()
    ]
    sources.sort(key=lambda s: (-s.articles, s.source))
    return Coverage(crawl_id, previous_id, len(sources_of), sources)


def coverage_table(report: Coverage) -> str:
    """The per-source figures as a text table."""
    rows = [("source", "articles", "previous", "change", "only this source")]
    for s in report.sources:
        change = "" if s.previous is None else f"{s.articles - s.previous:+,}"
        previous = "-" if s.previous is None else f"{s.previous:,}"
        rows.append((s.source, f"{s.articles:,}", previous, change, f"{len(s.only_here):,}"))
    return _text_table(rows)


def _text_table(rows: Sequence[tuple[str, ...]]) -> str:
    """A header row, a rule, then the rows; the first column left-aligned, the others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "   ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )
        for row in rows
    ]
    rule = "-" * len(lines[0])
    return "\n".join([lines[0], rule, *lines[1:]])


# -- the sources of the archive: crawls and web archives -------------------------------------


@dataclass(frozen=True)
class ArchiveSource:
    source: str  # "crawl" (the site's own crawls) or a web archive's --source name
    captures: int
    articles_brought: int  # articles whose first revision came from it
    articles_with_a_revision: int  # articles holding a revision from it
    revisions: int


@dataclass(frozen=True)
class ArchiveOnlyArticle:
    url: str
    title: str
    first_capture: str
    last_capture: str
    captures: int
    sources: list[str]
    gone_at: str | None


@dataclass(frozen=True)
class ArchiveSources:
    articles: int  # in the archive
    sources: list[ArchiveSource]  # crawl first, then the web archives by name
    archive_only: list[ArchiveOnlyArticle]  # by URL


def archive_sources(archive: Archive) -> ArchiveSources:
    """The sources of the archive's captures, articles and revisions."""
    return ArchiveSources(
        articles=archive.count("articles"),
        sources=[ArchiveSource(**row) for row in archive.source_figures()],
        archive_only=[ArchiveOnlyArticle(**row) for row in archive.archive_only_captures()],
    )


def sources_table(report: ArchiveSources) -> str:
    """The per-source figures as a text table."""
    rows = [("source", "captures", "articles brought", "articles with a revision", "revisions")]
    rows += [
        (
            s.source,
            f"{s.captures:,}",
            f"{s.articles_brought:,}",
            f"{s.articles_with_a_revision:,}",
            f"{s.revisions:,}",
        )
        for s in report.sources
    ]
    return _text_table(rows)


def archive_only_line(article: ArchiveOnlyArticle) -> str:
    """``URL  first .. last (n captures: sources)[, gone since ...]``"""
    first, last = article.first_capture[:10], article.last_capture[:10]
    span = first if first == last else f"{first} .. {last}"
    gone = f", gone since {article.gone_at[:10]}" if article.gone_at else ""
    captures = f"{article.captures:,} capture{'s' if article.captures != 1 else ''}"
    return f"{article.url}  {span} ({captures}: {', '.join(article.sources)}){gone}"
