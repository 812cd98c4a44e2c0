"""The archived record of a fetched article page, and the version of the extractor that made it.

:data:`EXTRACTOR_VERSION` names the extractor that made a record: the toolkit's version plus a
hash of the source files the record depends on (the ``extract`` package, the record schema in
``article.py`` and URL canonicalisation in ``urls.py``). The version string alone would not do:
an extractor fixed between releases would carry the same name as the one it replaces. Every
revision stores it, so an archive tells which extractor produced each state. The crawl, the
re-extraction and the import of web-archive captures all make records here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from qiosk_scraper import __version__
from qiosk_scraper.extract.article import extract_article
from qiosk_scraper.urls import canonicalize, same_site

_PACKAGE = Path(__file__).resolve().parent.parent  # qiosk_scraper/
_EXTRACTOR_SOURCES = ("extract/*.py", "article.py", "urls.py")
OUTLET = "responsiblestatecraft"  # the profile of crawls recorded before profiles existed


def extractor_version() -> str:
    """``<toolkit version>+<first 12 hex of the SHA-256 of the extractor's sources>``."""
    digest = hashlib.sha256()
    files = sorted({path for pattern in _EXTRACTOR_SOURCES for path in _PACKAGE.glob(pattern)})
    for path in files:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"{__version__}+{digest.hexdigest()[:12]}"


EXTRACTOR_VERSION = extractor_version()


def extract_record(
    body: bytes, page_url: str, fetched_at: str, site: str, outlet_layers: bool = True
) -> dict[str, Any]:
    """The archived record of a fetched article page (``page_url`` canonical): the extractor's
    record with its URL canonicalised; a canonical link off the site is not honoured.
    ``outlet_layers``: the profile's (False: the generic path alone)."""
    return extract_with_provenance(body, page_url, fetched_at, site, outlet_layers)[0]


def extract_with_provenance(
    body: bytes, page_url: str, fetched_at: str, site: str, outlet_layers: bool = True
) -> tuple[dict[str, Any], dict[str, str]]:
    """:func:`extract_record`'s record, and beside it (never in it) the layer each field came
    from (the crawl's extraction health counts fields from a fallback layer)."""
    moment = datetime.fromisoformat(fetched_at)
    article = extract_article(body, page_url, moment, outlet_layers=outlet_layers)
    record = article.to_record(extras=False)
    url = canonicalize(record["url"])
    record["url"] = url if same_site(url, site) else page_url
    return record, dict(article.provenance)


# The CMS each outlet layer reads (``extract.markup``: RebelMouse; ``extract.wordpress``).
_ERAS = {"markup": "rebelmouse", "wordpress": "wordpress"}


def markup_era(provenance: dict[str, str]) -> str:
    """The CMS whose markup a page's body was read from (``rebelmouse``, ``wordpress``), or
    ``other`` (the generic path): tells a WordPress-era capture from a later one."""
    layer = provenance.get("body", "").split("+", 1)[0]
    return _ERAS.get(layer, "other")
