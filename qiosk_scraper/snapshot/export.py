"""``qiosk snapshot export``: write the state of an archive at a cut-off as a self-contained,
byte-reproducible dataset.

Every byte written is a function of the archive's rows up to the cut-off (and of the toolkit's
versions, which the data package records): no wall-clock time, no random ids, rows and keys in a
fixed order, the SQLite file VACUUMed, Parquet written with fixed options. The files are written
into a hidden directory beside OUT_DIR, which is renamed into place only once complete, so an
interrupted export never leaves a directory that passes ``qiosk snapshot verify``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import distributions
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from qiosk_scraper import __version__
from qiosk_scraper.archive import Archive, ArchiveError
from qiosk_scraper.article import RECORD_FIELDS, iso_utc
from qiosk_scraper.snapshot import layout
from qiosk_scraper.warc import DEFAULT_MAX_BYTES

OUTLET = "Responsible Statecraft"
LICENCE_NOTE = (
    "The article texts, headlines, bylines and image references are the copyright of their "
    "publisher; this snapshot is made for research (text and data mining) and for citing that "
    "research. Check the publisher's terms before redistributing it. The qiosk-scraper toolkit "
    "that made it is MIT licensed."
)
LICENCE_TITLE = "Article content: copyright of its publisher; for research and citation"
_LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


class SnapshotError(Exception):
    """The snapshot cannot be made; the message says why."""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    name: str
    as_of: str
    articles: int
    revisions: int
    captures: int
    files: int
    fingerprint: str


def parse_as_of(value: str) -> str:
    """An ISO 8601 date or date-time as the archive's UTC string; no offset means UTC and a
    date alone means its start (00:00 UTC)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise SnapshotError(f"--as-of {value!r} is not an ISO 8601 date or date-time") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_utc(moment)


def default_name(sites: list[str], as_of: str) -> str:
    """``qiosk-<host>-<cut-off>``, e.g. ``qiosk-responsiblestatecraft-org-20250101t000000z``."""
    host = urlsplit(sites[0]).netloc if sites else "archive"
    stamp = datetime.fromisoformat(as_of).strftime("%Y%m%dt%H%M%Sz")
    slug = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "archive"
    return f"qiosk-{slug}-{stamp}"[:100]


def toolkit_versions() -> dict[str, Any]:
    """The toolkit's version, and the dependency versions of ``requirements.lock`` (the
    installed distributions when the lock file is not beside the package)."""
    import platform
    import sqlite3

    toolkit = {
        "qiosk-scraper": __version__,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pyarrow": pa.__version__,
    }
    if _LOCK.is_file():
        source = "requirements.lock"
        pins = [_PIN.match(line) for line in _LOCK.read_text(encoding="utf-8").splitlines()]
        dependencies = {m.group(1).lower(): m.group(2) for m in pins if m}
    else:
        source = "installed distributions"
        dependencies = {
            str(d.metadata["Name"]).lower(): d.version
            for d in distributions()
            if d.metadata["Name"] and str(d.metadata["Name"]).lower() != "qiosk-scraper"
        }
    return {
        "toolkit": toolkit,
        "dependencies_from": source,
        "dependencies": dict(sorted(dependencies.items())),
    }


# -- selecting the rows ------------------------------------------------------------------------


@dataclass
class _Selection:
    as_of: str
    has_revisions: bool
    records: list[dict[str, Any]]  # articles.jsonl, sorted by URL
    revisions: list[dict[str, Any]]  # revisions.jsonl
    tables: dict[str, list[dict[str, Any]]]  # rows of archive.db and the CSVs
    sites: list[str]


def _by_key(rows: Iterable[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(row[k] for k in keys))


def select(source: Archive, as_of: str) -> _Selection:
    """The snapshot's rows: per article, its latest revision fetched by ``as_of``; articles
    published after ``as_of`` are left out."""
    rows = source.snapshot_rows(as_of)
    stored = {row["id"]: row for row in rows["articles"]}
    history: dict[int, list[dict[str, Any]]] = {}
    for revision in rows["revisions"]:
        history.setdefault(revision["article_id"], []).append(revision)
    author_ids = {(a["name"], a["url"]): a["id"] for a in rows["authors"]}
    tag_ids = {t["label"]: t["id"] for t in rows["tags"]}
    section_ids = {s["label"]: s["id"] for s in rows["sections"]}
    article_columns = [name for name, _, _ in source.table_schema("articles")["columns"]]

    articles: list[dict[str, Any]] = []
    records: list[tuple[str, int, dict[str, Any]]] = []
    revisions: list[dict[str, Any]] = []
    child: dict[str, list[dict[str, Any]]] = {
        "article_authors": [],
        "article_tags": [],
        "images": [],
        "links": [],
    }
    section_flags: dict[tuple[int, int], dict[str, int]] = {}
    for article_id, states in sorted(history.items()):
        latest = states[-1]
        record = json.loads(latest["record"])
        if record.get("published") and record["published"] > as_of:
            continue
        url = record["url"]
        records.append((url, article_id, record))
        row = dict(stored[article_id])
        row.update({name: record.get(name) for name in article_columns if name in record})
        # The fetch that stored this state, not a later re-fetch: the row then depends on the
        # revisions up to the cut-off alone, so later crawls do not change the snapshot.
        row.update(
            content_hash=latest["content_hash"],
            extractor_version=latest["extractor_version"],
            last_fetched=latest["fetched_at"],
            capture_id=latest["capture_id"],
        )
        if row["gone_at"] is not None and row["gone_at"] > as_of:
            row["gone_at"] = None
        articles.append(row)
        for state in states:
            revisions.append(
                {
                    "url": url,
                    "article_id": article_id,
                    "revision": state["revision"],
                    "fetched_at": state["fetched_at"],
                    "content_hash": state["content_hash"],
                    "record": json.loads(state["record"]),
                    "changed_fields": json.loads(state["changed_fields"] or "[]"),
                    "silent_edit": bool(state["silent_edit"]),
                    "extractor_version": state["extractor_version"],
                    "capture_id": state["capture_id"],
                }
            )
        for position, author in enumerate(record.get("authors") or []):
            key = (author["name"], author.get("url"))
            if key not in author_ids:
                raise SnapshotError(f"{url}: author {key} is missing from the authors table")
            child["article_authors"].append(
                {"article_id": article_id, "author_id": author_ids[key], "position": position}
            )
        for position, label in enumerate(record.get("tags") or []):
            if label not in tag_ids:
                raise SnapshotError(f"{url}: tag {label!r} is missing from the tags table")
            child["article_tags"].append(
                {"article_id": article_id, "tag_id": tag_ids[label], "position": position}
            )
        for position, image in enumerate(record.get("images") or []):
            child["images"].append(
                {
                    "article_id": article_id,
                    "position": position,
                    "url": image["url"],
                    "alt": image.get("alt") or "",
                    "caption": image.get("caption"),
                    "credit": image.get("credit"),
                    "lead": int(bool(image.get("lead"))),
                }
            )
        for position, link in enumerate(record.get("links") or []):
            child["links"].append({"article_id": article_id, "position": position, **link})
        if record.get("section"):
            if record["section"] not in section_ids:
                raise SnapshotError(f"{url}: section {record['section']!r} is not archived")
            flags = section_flags.setdefault((article_id, section_ids[record["section"]]), {})
            flags["is_primary"] = 1

    included = {row["id"] for row in articles}
    for article_id, section_id in rows["listed"]:
        if article_id in included:
            section_flags.setdefault((article_id, section_id), {})["listed"] = 1
    article_sections = [
        {
            "article_id": article_id,
            "section_id": section_id,
            "is_primary": flags.get("is_primary", 0),
            "listed": flags.get("listed", 0),
        }
        for (article_id, section_id), flags in sorted(section_flags.items())
    ]
    used_captures = {r["capture_id"] for r in revisions}
    used_authors = {r["author_id"] for r in child["article_authors"]}
    used_tags = {r["tag_id"] for r in child["article_tags"]}
    used_sections = {r["section_id"] for r in article_sections}
    crawl_ids = {c["crawl_id"] for c in rows["captures"] if c["id"] in used_captures}
    tables = {
        "crawls": [c for c in rows["crawls"] if c["started"] <= as_of or c["id"] in crawl_ids],
        "captures": [c for c in rows["captures"] if c["id"] in used_captures],
        "authors": [a for a in rows["authors"] if a["id"] in used_authors],
        "tags": [t for t in rows["tags"] if t["id"] in used_tags],
        "sections": [s for s in rows["sections"] if s["id"] in used_sections],
        "articles": _by_key(articles, "id"),
        "article_authors": _by_key(child["article_authors"], "article_id", "position"),
        "article_tags": _by_key(child["article_tags"], "article_id", "position"),
        "article_sections": article_sections,
        "images": _by_key(child["images"], "article_id", "position"),
        "links": _by_key(child["links"], "article_id", "position"),
        "url_aliases": [a for a in rows["url_aliases"] if a["article_id"] in included],
    }
    if rows["has_revisions"]:
        tables["revisions"] = [r for r in rows["revisions"] if r["article_id"] in included]
    records.sort(key=lambda item: (item[0], item[1]))
    order = {article_id: i for i, (_, article_id, _) in enumerate(records)}
    revisions.sort(key=lambda r: (order[r["article_id"]], r["revision"]))
    return _Selection(
        as_of=as_of,
        has_revisions=rows["has_revisions"],
        records=[record for _, _, record in records],
        revisions=revisions,
        tables=tables,
        sites=sorted({crawl["site"] for crawl in rows["crawls"]}),
    )


# -- writing the files --------------------------------------------------------------------------


def _json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n"


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(_json_line(row))
            count += 1
    return count


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(name)) for name in columns])


_TIMESTAMP = pa.timestamp("s", tz="UTC")
_PARQUET_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("title", pa.string()),
        ("subtitle", pa.string()),
        ("article_type", pa.string()),
        ("section", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("authors", pa.list_(pa.struct([("name", pa.string()), ("url", pa.string())]))),
        ("published", _TIMESTAMP),
        ("modified", _TIMESTAMP),
        ("body", pa.string()),
        (
            "images",
            pa.list_(
                pa.struct(
                    [
                        ("url", pa.string()),
                        ("alt", pa.string()),
                        ("caption", pa.string()),
                        ("credit", pa.string()),
                        ("lead", pa.bool_()),
                    ]
                )
            ),
        ),
        ("links", pa.list_(pa.struct([("url", pa.string()), ("text", pa.string())]))),
        ("word_count", pa.int64()),
        ("language", pa.string()),
    ]
)
assert tuple(_PARQUET_SCHEMA.names) == RECORD_FIELDS


def _write_parquet(path: Path, records: list[dict[str, Any]]) -> None:
    """One row per record, nested fields as lists of structs, times as UTC timestamps. The
    writer options are fixed; Parquet stores no write time (``created_by`` names the library
    version), so the bytes depend on the records and the pyarrow version only."""

    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    rows = [
        {**r, "published": when(r.get("published")), "modified": when(r.get("modified"))}
        for r in records
    ]
    table = pa.Table.from_pylist(rows, schema=_PARQUET_SCHEMA)
    pq.write_table(
        table,
        path,
        row_group_size=10_000,
        version="2.6",
        data_page_version="1.0",
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        store_schema=True,
    )


class _WarcCopier:
    """Copies response records (gzip members) of the archive's WARC files into the snapshot's
    own, rotating like the crawler does."""

    def __init__(self, source_folder: Path, target: Path) -> None:
        self.source_folder = source_folder
        self.target = target
        self.files: list[Path] = []
        self._out: IO[bytes] | None = None
        self._inputs: dict[str, IO[bytes]] = {}

    def copy(self, capture: Mapping[str, Any]) -> dict[str, Any]:
        """Copy the capture's record; returns its new warc_file, warc_offset, warc_length."""
        what = f"capture {capture['id']} ({capture['url']})"
        if not capture.get("warc_file") or capture.get("warc_offset") is None:
            raise SnapshotError(f"{what} has no WARC record to copy")
        data = self._read(
            what, capture["warc_file"], capture["warc_offset"], capture["warc_length"]
        )
        try:
            record = next(iter(ArchiveIterator(io.BytesIO(data))))
            target_uri = record.rec_headers.get_header("WARC-Target-URI")
            kind = record.rec_headers.get_header("WARC-Type")
        except (ArchiveLoadFailed, StopIteration, OSError, EOFError, zlib.error) as error:
            raise SnapshotError(f"{what}: not a WARC record at its offset ({error})") from error
        if kind != "response" or target_uri != capture["url"]:
            raise SnapshotError(
                f"{what}: the record at its offset is a {kind} record of {target_uri}"
            )
        out = self._output()
        offset = out.tell()
        out.write(data)
        return {
            "warc_file": self.files[-1].relative_to(self.target.parent).as_posix(),
            "warc_offset": offset,
            "warc_length": len(data),
        }

    def _read(self, what: str, name: str, offset: int, length: int) -> bytes:
        if name not in self._inputs:
            path = self.source_folder / name
            try:
                self._inputs[name] = path.open("rb")
            except OSError as error:
                raise SnapshotError(
                    f"{what}: cannot open its WARC file {path} ({error})"
                ) from error
        handle = self._inputs[name]
        handle.seek(offset)
        data = handle.read(length)
        if len(data) != length or data[:2] != b"\x1f\x8b":
            raise SnapshotError(
                f"{what}: {name} has no complete gzip member of {length} bytes at {offset}"
            )
        try:
            gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise SnapshotError(f"{what}: corrupt gzip member in {name} ({error})") from error
        return data

    def _output(self) -> IO[bytes]:
        if self._out is None or self._out.tell() >= DEFAULT_MAX_BYTES:
            self.close_output()
            self.target.mkdir(exist_ok=True)
            path = self.target / f"captures-{len(self.files):05d}.warc.gz"
            self._out = path.open("xb")
            self.files.append(path)
        return self._out

    def close_output(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def close(self) -> None:
        self.close_output()
        for handle in self._inputs.values():
            handle.close()
        self._inputs.clear()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[str]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path.relative_to(folder).as_posix()


def fingerprint(sums: Mapping[str, str]) -> str:
    """SHA-256 over the ``SHA256SUMS`` lines of the data files (every file but README.md,
    datapackage.json and SHA256SUMS, which name the fingerprint): one value to cite."""
    lines = "".join(
        f"{digest}  {name}\n"
        for name, digest in sorted(sums.items())
        if name not in (layout.README, layout.DATAPACKAGE, layout.SUMS)
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


# -- the data package and README ----------------------------------------------------------------


def _resource(folder: Path, path: str, name: str, description: str, **extra: Any) -> dict[str, Any]:
    file = folder / path
    return {
        "name": name,
        "path": path,
        "description": description,
        **extra,
        "bytes": file.stat().st_size,
        "hash": f"sha256:{_sha256(file)}",
    }


def _command(selection: _Selection, name: str, with_warc: bool) -> str:
    warc = " --with-warc" if with_warc else ""
    return (
        f"qiosk snapshot export OUT_DIR --db ARCHIVE.db --as-of {selection.as_of} "
        f"--name {name}{warc}"
    )


def _rows_cell(resource: Mapping[str, Any]) -> str:
    if "tables" in resource:
        tables = resource["tables"]
        return f"{sum(tables.values())} in {len(tables)} tables"
    return str(resource.get("rows", resource.get("records", "")))


def _readme(package: Mapping[str, Any], selection: _Selection) -> str:
    """README.md: one paragraph a line (Markdown), every value from the data package."""
    qiosk = package["qiosk"]
    toolkit = qiosk["toolkit"]["qiosk-scraper"]
    crawls = "\n".join(
        f"- crawl {c['id']}: {c['site']}, started {c['started']}, {c['status']}"
        for c in selection.tables["crawls"]
    )
    files = "\n".join(
        f"| `{r['path']}` | {_rows_cell(r)} | {r['description']} |" for r in package["resources"]
    )
    history = (
        "The archive keeps a revision history: each article is its latest revision fetched by "
        "the cut-off, and `revisions.jsonl` lists every revision up to it."
        if selection.has_revisions
        else "The archive has no revision history (its schema has no `revisions` table): an "
        "article is included when its stored state was fetched by the cut-off, and "
        "`revisions.jsonl` holds that one state as revision 1."
    )
    paragraphs = [
        f"# {package['title']}",
        f"Snapshot `{package['name']}` of the articles of {OUTLET} "
        f"({', '.join(selection.sites)}), archived with qiosk-scraper {toolkit}: the state of "
        f"the archive as of **{selection.as_of}** (the cut-off, also the data package's "
        f"`created`). {qiosk['articles']} articles, {qiosk['revisions']} revisions. {history} "
        "Articles published after the cut-off are left out.",
        f"Fingerprint: `sha256:{qiosk['fingerprint']}`, the SHA-256 of the `SHA256SUMS` lines "
        "of the data files (every file but this README, `datapackage.json` and `SHA256SUMS`).",
        "## How to cite",
        f"> {OUTLET} article archive, snapshot {package['name']}, state as of "
        f"{selection.as_of}, {qiosk['articles']} articles; made with qiosk-scraper {toolkit}; "
        f"fingerprint sha256:{qiosk['fingerprint']}.",
        "## Check it",
        "    qiosk snapshot verify DIR",
        "checks every file against `SHA256SUMS` and `datapackage.json` (validated with the "
        "Frictionless library), the row counts and the file list; `sha256sum -c SHA256SUMS` "
        "checks the checksums alone. Open `archive.db` read-only (`sqlite3 "
        "'file:archive.db?mode=ro'`, `datasette -i archive.db`): writing to it changes its "
        "bytes.",
        "## Reproduce it",
        f"    {qiosk['command']}",
        "run on the archive this snapshot was exported from (or a copy of it), with the "
        "toolkit and dependency versions listed in `datapackage.json`, writes these files "
        "byte for byte. Crawls covered:",
        crawls,
        "## Files",
        f"| file | rows | what |\n|---|---|---|\n{files}",
        "`datapackage.json` describes every file (Frictionless Data Package: field types and "
        "descriptions, sizes, SHA-256); `SHA256SUMS` lists the checksum of every file but "
        "itself.",
        "## Licence",
        LICENCE_NOTE,
    ]
    return "\n\n".join(p for p in paragraphs if p) + "\n"


def _write_all(
    source: Archive, selection: _Selection, folder: Path, name: str, with_warc: bool
) -> str:
    """Write every file of the snapshot into ``folder``; returns the fingerprint."""
    tables = selection.tables
    captures = tables["captures"]
    if with_warc:
        copier = _WarcCopier(source.folder, folder / layout.WARC_FOLDER)
        try:
            tables["captures"] = [{**c, **copier.copy(c)} for c in captures]
        finally:
            copier.close()
        warc_files = [p.relative_to(folder).as_posix() for p in copier.files]
    else:
        tables["captures"] = [
            {**c, "warc_file": None, "warc_offset": None, "warc_length": None} for c in captures
        ]
        warc_files = []

    with Archive(folder / layout.ARCHIVE_DB) as target:
        if "revisions" in tables:
            target.copy_table_definition(source, "revisions")
        for table, rows in tables.items():
            target.load_rows(table, rows)
        target.seal()
        schemas = {table: target.table_schema(table) for table in layout.TABLES}

    (folder / layout.CSV_FOLDER).mkdir()
    for table in layout.TABLES:
        columns = [column for column, _, _ in schemas[table]["columns"]]
        _write_csv(folder / layout.csv_path(table), columns, tables[table])
    _write_jsonl(folder / layout.ARTICLES_JSONL, selection.records)
    _write_jsonl(folder / layout.REVISIONS_JSONL, selection.revisions)
    _write_parquet(folder / layout.ARTICLES_PARQUET, selection.records)

    record_schema = layout.record_schema()
    resources = [
        _resource(
            folder,
            layout.ARTICLES_JSONL,
            "articles-jsonl",
            "One article record per line (its state at the cut-off), sorted by URL, keys sorted.",
            type="file",
            format="jsonl",
            mediatype="application/jsonl",
            encoding="utf-8",
            schema=record_schema,
            records=len(selection.records),
        ),
        _resource(
            folder,
            layout.REVISIONS_JSONL,
            "revisions-jsonl",
            "Every revision of those articles fetched by the cut-off, by article URL and "
            "revision number, keys sorted.",
            type="file",
            format="jsonl",
            mediatype="application/jsonl",
            encoding="utf-8",
            schema=layout.revision_schema(),
            records=len(selection.revisions),
        ),
        _resource(
            folder,
            layout.ARTICLES_PARQUET,
            "articles-parquet",
            "articles.jsonl as Parquet: lists of structs for nested fields, UTC timestamps.",
            type="file",
            format="parquet",
            mediatype="application/vnd.apache.parquet",
            schema=record_schema,
            records=len(selection.records),
        ),
        _resource(
            folder,
            layout.ARCHIVE_DB,
            "archive-db",
            "SQLite archive (the toolkit's schema) holding exactly the rows of the CSVs"
            + (" and revisions.jsonl" if "revisions" in tables else "")
            + ", with its full-text index; VACUUMed, rollback journal.",
            type="file",
            format="sqlite",
            mediatype="application/vnd.sqlite3",
            tables=Archive.count_rows_read_only(folder / layout.ARCHIVE_DB),
        ),
    ]
    for table in layout.TABLES:
        resources.append(
            _resource(
                folder,
                layout.csv_path(table),
                layout.csv_resource(table),
                f"The {table} table of archive.db.",
                type="table",
                format="csv",
                mediatype="text/csv",
                encoding="utf-8",
                dialect={"csv": {"delimiter": ",", "lineTerminator": "\r\n"}},
                schema=layout.table_schema(table, schemas[table]),
                rows=len(tables[table]),
            )
        )
    for index, path in enumerate(warc_files):
        resources.append(
            _resource(
                folder,
                path,
                f"warc-{index:05d}",
                "WARC response records (one gzip member each) of the captures the articles "
                "were extracted from; captures.csv gives each one's file, offset and length.",
                type="file",
                format="warc",
                mediatype="application/warc",
                compression="gz",
                records=sum(1 for c in tables["captures"] if c["warc_file"] == path),
            )
        )

    sums = {resource["path"]: resource["hash"].split(":", 1)[1] for resource in resources}
    print_ = fingerprint(sums)
    package: dict[str, Any] = {
        "name": name,
        "title": f"{OUTLET} articles as of {selection.as_of}",
        "description": f"Articles of {OUTLET} archived with qiosk-scraper; the state of the "
        f"archive at the cut-off {selection.as_of}.",
        "created": selection.as_of,
        "licenses": [{"title": LICENCE_TITLE, "path": layout.README}],
        "sources": [{"title": OUTLET, "path": site} for site in selection.sites],
        "qiosk": {
            "format": layout.FORMAT_VERSION,
            "as_of": selection.as_of,
            "fingerprint": print_,
            "articles": len(selection.records),
            "revisions": len(selection.revisions),
            "revision_history": selection.has_revisions,
            "with_warc": with_warc,
            "command": _command(selection, name, with_warc),
            "crawls": [
                {k: c[k] for k in ("id", "site", "started", "ended", "status")}
                for c in tables["crawls"]
            ],
            **toolkit_versions(),
        },
        "resources": resources,
    }
    readme = folder / layout.README
    readme.write_text(_readme(package, selection), encoding="utf-8", newline="\n")
    package["resources"].append(
        _resource(
            folder,
            layout.README,
            "readme",
            "What the snapshot holds, how to cite it and how to reproduce it.",
            type="file",
            format="md",
            mediatype="text/markdown",
            encoding="utf-8",
        )
    )
    (folder / layout.DATAPACKAGE).write_text(
        json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="\n"
    )
    lines = [f"{_sha256(folder / f)}  {f}\n" for f in _files(folder) if f != layout.SUMS]
    (folder / layout.SUMS).write_text("".join(lines), encoding="utf-8", newline="\n")
    return print_


# -- the export --------------------------------------------------------------------------------


def is_snapshot(folder: Path) -> bool:
    """Whether ``folder`` holds a snapshot made by this toolkit (its datapackage.json says so)."""
    try:
        package = json.loads((folder / layout.DATAPACKAGE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(package, dict) and isinstance(package.get("qiosk"), dict)


def _check_target(out_dir: Path, force: bool) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise SnapshotError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not is_snapshot(out_dir):
            raise SnapshotError(
                f"{out_dir} is not empty and holds no snapshot: choose a new directory"
            )
        if not force:
            raise SnapshotError(
                f"{out_dir} holds a snapshot already: give --force to replace it, or choose a "
                "new directory"
            )


def _move_into_place(built: Path, out_dir: Path) -> None:
    if out_dir.is_dir() and any(out_dir.iterdir()):  # a previous snapshot, --force given
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
        os.replace(out_dir, old / "snapshot")
        os.replace(built, out_dir)
        shutil.rmtree(old)
    else:
        if out_dir.is_dir():
            out_dir.rmdir()
        os.replace(built, out_dir)


def export_snapshot(
    db: Path,
    out_dir: Path,
    *,
    as_of: str | None = None,
    name: str | None = None,
    with_warc: bool = False,
    force: bool = False,
) -> ExportResult:
    """Export the archive at ``db`` into ``out_dir`` (see the module's docstring)."""
    if name is not None and not layout.NAME_PATTERN.match(name):
        raise SnapshotError(
            f"--name {name!r}: use 1 to 100 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    cut_off = parse_as_of(as_of) if as_of is not None else None
    _check_target(out_dir, force)
    if not db.is_file():
        raise SnapshotError(f"{db}: no such archive")
    try:
        source = Archive(db)
    except ArchiveError as error:
        raise SnapshotError(str(error)) from error
    with source:
        if cut_off is None:
            cut_off = source.latest_fetch()
            if cut_off is None:
                raise SnapshotError(f"{db}: the archive has no fetches to export")
        selection = select(source, cut_off)
        final_name = name or default_name(selection.sites, cut_off)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        building = Path(
            tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent)
        )
        try:
            building.chmod(0o777 & ~_umask())
            print_ = _write_all(source, selection, building, final_name, with_warc)
            count = sum(1 for _ in _files(building))
            _move_into_place(building, out_dir)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    return ExportResult(
        directory=out_dir,
        name=final_name,
        as_of=cut_off,
        articles=len(selection.records),
        revisions=len(selection.revisions),
        captures=len(selection.tables["captures"]),
        files=count,
        fingerprint=print_,
    )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


__all__ = [
    "ExportResult",
    "SnapshotError",
    "export_snapshot",
    "fingerprint",
    "is_snapshot",
    "parse_as_of",
    "toolkit_versions",
]
