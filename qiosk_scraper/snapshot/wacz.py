"""A snapshot's captures as a WACZ file (Web Archive Collection Zipped, format 1.1.1), which replay
tools (ReplayWeb.page, pywb's ``wb-manager add --unpack-wacz``) open as they are.

The ZIP holds, all stored uncompressed as the format asks so that a reader can seek into it:

- ``archive/<name>.warc.gz``: the snapshot's WARC files (one gzip member per record);
- ``indexes/index.cdx``: their CDXJ index (``<SURT> <timestamp> {json}`` lines, sorted), made
  with cdxj-indexer, the reference indexer of the format's authors;
- ``pages/pages.jsonl``: the page list, one line per article (its capture's URL, time, title);
- ``datapackage.json`` (every file's size and SHA-256) and ``datapackage-digest.json``.

Like the rest of a snapshot the bytes are a function of the snapshot: entries in a fixed order
with the cut-off as their time, page ids derived from URL and time, no wall clock.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from qiosk_scraper.snapshot.layout import sha256_file

WACZ_VERSION = "1.1.1"
WACZ_FILE = "captures.wacz"  # in the snapshot directory
INDEX = "indexes/index.cdx"
PAGES = "pages/pages.jsonl"


@dataclass(frozen=True)
class WaczPage:
    """A page of the WACZ's page list."""

    url: str
    ts: str  # ISO 8601 UTC, as the capture's time
    title: str | None


def _wacz_time(iso: str) -> str:
    """``2025-01-02T03:04:05Z`` form of an ISO 8601 UTC time."""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%dT%H:%M:%SZ")


def cdxj_index(warcs: Sequence[Path]) -> bytes:
    """The sorted CDXJ lines of ``warcs``, each naming its file by base name."""
    with warnings.catch_warnings():
        # surt 0.3.1, which cdxj-indexer uses, has regex literals Python 3.12+ warns about when
        # it compiles them (SyntaxWarning; DeprecationWarning on 3.11)
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from cdxj_indexer.main import write_cdx_index
    out = io.StringIO()
    write_cdx_index(out, [str(p) for p in warcs], {"sort": True})
    return out.getvalue().encode("utf-8")


def pages_jsonl(pages: Sequence[WaczPage]) -> bytes:
    lines = [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}]
    for page in sorted(pages, key=lambda p: (p.url, p.ts)):
        ts = _wacz_time(page.ts)
        line = {"id": hashlib.sha256(f"{ts} {page.url}".encode()).hexdigest()[:32]}
        line.update({"url": page.url, "ts": ts})
        if page.title:
            line["title"] = page.title
        lines.append(line)
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def _entry(name: str, moment: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3  # Unix, whatever the machine
    info.external_attr = 0o644 << 16
    return info


def _resource(path: str, data_size: int, digest: str) -> dict[str, object]:
    return {
        "name": path.rsplit("/", 1)[-1].lower(),
        "path": path,
        "hash": f"sha256:{digest}",
        "bytes": data_size,
    }


def write_wacz(
    path: Path,
    warcs: Sequence[Path],
    pages: Sequence[WaczPage],
    *,
    created: str,
    title: str,
    description: str,
    software: str,
) -> None:
    """Write the WACZ at ``path`` (see the module's docstring); ``created`` is ISO 8601 UTC."""
    moment = datetime.fromisoformat(created)
    index = cdxj_index(warcs)
    page_list = pages_jsonl(pages)
    resources = [
        _resource(PAGES, len(page_list), hashlib.sha256(page_list).hexdigest()),
        _resource(INDEX, len(index), hashlib.sha256(index).hexdigest()),
        *(_resource(f"archive/{w.name}", w.stat().st_size, sha256_file(w)) for w in sorted(warcs)),
    ]
    package = {
        "profile": "data-package",
        "title": title,
        "description": description,
        "created": _wacz_time(created),
        "wacz_version": WACZ_VERSION,
        "software": software,
        "resources": resources,
    }
    package_bytes = (json.dumps(package, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    digest = {
        "path": "datapackage.json",
        "hash": f"sha256:{hashlib.sha256(package_bytes).hexdigest()}",
    }
    with zipfile.ZipFile(path, "x") as wacz:
        wacz.writestr(_entry(PAGES, moment), page_list)
        wacz.writestr(_entry(INDEX, moment), index)
        for warc in sorted(warcs):
            entry = _entry(f"archive/{warc.name}", moment)
            large = warc.stat().st_size >= zipfile.ZIP64_LIMIT
            with warc.open("rb") as source, wacz.open(entry, "w", force_zip64=large) as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
        wacz.writestr(_entry("datapackage.json", moment), package_bytes)
        wacz.writestr(
            _entry("datapackage-digest.json", moment),
            (json.dumps(digest, indent=2) + "\n").encode("utf-8"),
        )
