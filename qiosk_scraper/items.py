"""What the spider hands to the pipeline: a fetched article page, not yet extracted."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArticlePage:
    """An article page as fetched: the pipeline extracts and archives it."""

    url: str  # canonical URL of the response (after redirects)
    body: bytes = field(repr=False)  # as parsed (content encodings undone); kept out of logs
    fetched_at: str  # ISO 8601 UTC, the capture's time
    capture_id: int | None  # the ``captures`` row of the response
    post_id: str | None = None  # the CMS post id, when the page or a teaser names it
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (url, kind) for this article
    source: str = ""  # the discovery source that led to it
    expected: bool = True  # the source promised an article (else a non-article is no error)
    rechecked: bool = False  # held while the URL its post is archived at was asked again
