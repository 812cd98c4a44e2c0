"""``qiosk snapshot export``: write the state of an archive at a cut-off as a self-contained,
byte-reproducible dataset.

Every byte written is a function of the archive's rows up to the cut-off (and of the toolkit's
versions, which the data package records): no wall-clock time, no random ids, rows and keys in a
fixed order, the SQLite file VACUUMed, Parquet written with fixed options. The files are written
into a hidden directory beside OUT_DIR, which is renamed into place only once complete, so an
interrupted export never leaves a directory that passes ``qiosk snapshot verify``. With
``--force`` the previous snapshot is moved aside first; an export killed between the two renames
leaves it aside, and the next export to OUT_DIR puts it back before anything else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import distributions
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from qiosk_scraper import __version__
from qiosk_scraper.archive import CRAWL_SOURCE, Archive, ArchiveError
from qiosk_scraper.archive.copies import WarcColumns
from qiosk_scraper.article import iso_utc
from qiosk_scraper.snapshot import layout
from qiosk_scraper.snapshot.files import (
    CsvRows,
    JsonLines,
    WarcCopier,
    read_jsonl,
    write_parquet,
)
from qiosk_scraper.snapshot.layout import SnapshotError
from qiosk_scraper.snapshot.select import SMALL_TABLES, Selection
from qiosk_scraper.snapshot.wacz import WACZ_FILE, WaczPage, write_wacz

OUTLET = "Responsible Statecraft"
LICENCE_NOTE = (
    "The article texts, headlines, bylines and image references are the copyright of their "
    "publisher; this snapshot is made for research (text and data mining) and for citing that "
    "research. Check the publisher's terms before redistributing it. The qiosk-scraper toolkit "
    "that made it is MIT licensed."
)
LICENCE_TITLE = "Article content: copyright of its publisher; for research and citation"
_CHILD_TABLES = ("article_authors", "article_tags", "images", "links")
_LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


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
    leftovers: tuple[str, ...] = ()  # what was done with killed exports' leftovers, a line each


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

    from qiosk_scraper.archive import SQLITE_VERSION

    toolkit = {
        "qiosk-scraper": __version__,
        "python": platform.python_version(),
        "sqlite": SQLITE_VERSION,
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


def _files(folder: Path) -> Iterator[str]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path.relative_to(folder).as_posix()


# -- the data package and README ----------------------------------------------------------------


def _resource(folder: Path, path: str, name: str, description: str, **extra: Any) -> dict[str, Any]:
    file = folder / path
    return {
        "name": name,
        "path": path,
        "description": description,
        **extra,
        "bytes": file.stat().st_size,
        "hash": f"sha256:{layout.sha256_file(file)}",
    }


def _command(selection: Selection, name: str, with_warc: bool, wacz: bool) -> str:
    warc = " --with-warc" if with_warc else ""
    warc += " --wacz" if wacz else ""
    return (
        f"qiosk snapshot export OUT_DIR --db ARCHIVE.db --as-of {selection.as_of} "
        f"--name {name}{warc}"
    )


def _rows_cell(resource: Mapping[str, Any]) -> str:
    if "tables" in resource:
        tables = resource["tables"]
        return f"{sum(tables.values())} in {len(tables)} tables"
    return str(resource.get("rows", resource.get("records", "")))


def _readme(package: Mapping[str, Any], selection: Selection) -> str:
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
        "## Sources",
        _sources_paragraph(qiosk["sources"]),
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


def _sources_paragraph(sources: list[dict[str, Any]]) -> str:
    """Where the captures come from: the site's crawls and each web archive (``qiosk.sources``
    of datapackage.json, its fields explained in ``qiosk.sources_fields``)."""
    lines = "\n".join(
        f"| {s['name']} | {s['captures']} | {s['articles']} | {s['articles_with_a_revision']} "
        f"| {s['revisions']} |"
        for s in sources
    )
    return (
        "Where the captures come from: `crawl` is the site's own crawls, the other sources "
        "the web archives captures were imported from (`qiosk import`, `qiosk backfill`; "
        "each capture's provenance is in the `capture_sources` table of `archive.db`). "
        "`datapackage.json` lists them in `qiosk.sources`.\n\n"
        "| source | captures | articles brought | articles with a revision | revisions |\n"
        f"|---|---|---|---|---|\n{lines}"
    )


def _wacz_resource(
    selection: Selection, folder: Path, name: str, warcs: list[Path]
) -> dict[str, Any]:
    """Write the snapshot's WACZ (its pages: each article's capture) and describe it."""
    pages = [WaczPage(url, fetched_at, title) for url, fetched_at, title in selection.pages()]
    write_wacz(
        folder / WACZ_FILE,
        warcs,
        pages,
        created=selection.as_of,
        title=f"{OUTLET} articles as of {selection.as_of}",
        description=f"The captures of snapshot {name} of articles of {OUTLET}.",
        software=f"qiosk-scraper {__version__}",
    )
    return _resource(
        folder,
        WACZ_FILE,
        "captures-wacz",
        "The WARC records of the captures as a WACZ (WARC files, CDXJ index, page list of the "
        "articles' captures, datapackage.json), for replay tools such as ReplayWeb.page and pywb.",
        type="file",
        format="wacz",
        mediatype="application/wacz",
        records=len(pages),
    )


def _load_articles(
    selection: Selection, target: Archive, folder: Path, work: Path, schemas: Mapping[str, Any]
) -> dict[str, int]:
    """Insert the articles into ``target`` as :meth:`Selection.articles` reads them, and
    their rows of the tables hanging off them after; write the CSVs of those tables. Returns
    the row counts of those tables."""
    streamed = ("articles", *_CHILD_TABLES)
    csvs = {
        table: CsvRows(
            folder / layout.csv_path(table),
            [column for column, _, _ in schemas[table]["columns"]],
        )
        for table in streamed
    }
    with tempfile.TemporaryDirectory(prefix="spill.", dir=work) as spill_folder:
        held = [*_CHILD_TABLES, *(["revisions"] if selection.has_revisions else [])]
        spills = {table: JsonLines(Path(spill_folder) / f"{table}.jsonl") for table in held}

        def article_rows() -> Iterator[dict[str, Any]]:
            for selected in selection.articles():
                csvs["articles"].write(selected.row)
                for table, rows in selected.children.items():
                    for row in rows:
                        csvs[table].write(row)
                        spills[table].write(row)
                for revision in selected.revisions:
                    spills["revisions"].write(revision)
                yield selected.row

        try:
            target.load_rows("articles", article_rows())
        finally:
            for csv_out in csvs.values():
                csv_out.close()
            for spill in spills.values():
                spill.close()
        selection.finish()
        for table in held:
            target.load_rows(table, read_jsonl(Path(spill_folder) / f"{table}.jsonl"))
    return {table: out.count for table, out in csvs.items()}


def _load_small_tables(
    selection: Selection,
    target: Archive,
    folder: Path,
    schemas: Mapping[str, Any],
    warc: WarcColumns,
    counts: dict[str, int],
) -> Counter[str | None]:
    """Load the tables that follow from the articles (:data:`SMALL_TABLES`) into ``target``
    as :meth:`Selection.rows` reads them, writing their CSVs alongside (their row counts into
    ``counts``); returns the number of captures per WARC file."""
    per_warc: Counter[str | None] = Counter()
    for table in SMALL_TABLES:
        rows = selection.rows(table, warc)
        if table == "captures":
            rows = _counted(rows, per_warc)
        if table not in layout.TABLES:  # no CSV
            target.load_rows(table, rows)
            continue
        columns = [column for column, _, _ in schemas[table]["columns"]]
        out = CsvRows(folder / layout.csv_path(table), columns)
        try:
            target.load_rows(table, _written(rows, out))
        finally:
            out.close()
        counts[table] = out.count
    return per_warc


def _written(rows: Iterable[dict[str, Any]], out: CsvRows) -> Iterator[dict[str, Any]]:
    for row in rows:
        out.write(row)
        yield row


def _counted(
    captures: Iterable[dict[str, Any]], per_warc: Counter[str | None]
) -> Iterator[dict[str, Any]]:
    for capture in captures:
        per_warc[capture["warc_file"]] += 1
        yield capture


def _write_all(
    source: Archive,
    selection: Selection,
    folder: Path,
    work: Path,
    name: str,
    with_warc: bool,
    wacz: bool = False,
) -> str:
    """Write every file of the snapshot into ``folder``; returns the fingerprint. ``work`` is
    a folder beside it for temporary files.

    The articles stream through (see :class:`Selection`): archive.db's ``articles`` rows are
    inserted as they are read, in one ``load_rows`` as when they were a list (its full-text
    index then has the same bytes), the rows of the tables hanging off the articles wait in
    temporary JSON lines files meanwhile, and the CSVs are written alongside. So do the rows
    of the other tables, read a chunk at a time."""
    (folder / layout.CSV_FOLDER).mkdir()
    with Archive(folder / layout.ARCHIVE_DB) as target:
        if selection.has_revisions:
            target.copy_table_definition(source, "revisions")
        schemas = {table: target.table_schema(table) for table in layout.TABLES}
        with target.loading_in_any_order():  # the captures an article needs are known after
            counts = _load_articles(selection, target, folder, work, schemas)
            copied_warcs: list[Path] = []
            if with_warc or wacz:
                copier = WarcCopier(source.folder, folder / layout.WARC_FOLDER)
                try:
                    for capture in selection.rows("captures"):
                        selection.keep_copy(capture["id"], copier.copy(capture))
                finally:
                    copier.close()
                copied_warcs = copier.files
            warc_files = (
                [p.relative_to(folder).as_posix() for p in copied_warcs] if with_warc else []
            )
            per_warc = _load_small_tables(
                selection, target, folder, schemas, "copied" if with_warc else "none", counts
            )
        target.seal()

    articles = JsonLines(folder / layout.ARTICLES_JSONL)
    revisions = JsonLines(folder / layout.REVISIONS_JSONL)

    def records() -> Iterator[dict[str, Any]]:
        for record, history in selection.records():
            articles.write(record)
            for revision in history:
                revisions.write(revision)
            yield record

    try:
        write_parquet(folder / layout.ARTICLES_PARQUET, records())
    finally:
        articles.close()
        revisions.close()

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
            records=selection.articles_count,
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
            records=selection.revisions_count,
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
            records=selection.articles_count,
        ),
        _resource(
            folder,
            layout.ARCHIVE_DB,
            "archive-db",
            "SQLite archive (the toolkit's schema) holding exactly the rows of the CSVs"
            + (" and revisions.jsonl" if selection.has_revisions else "")
            + " and the provenance of the captures imported from web archives "
            "(capture_sources), with its full-text index; VACUUMed, rollback journal.",
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
                rows=counts[table],
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
                records=per_warc[path],
            )
        )

    if wacz:
        resources.append(_wacz_resource(selection, folder, name, copied_warcs))
        if not with_warc:  # the WARC files were copied for the WACZ only
            shutil.rmtree(folder / layout.WARC_FOLDER, ignore_errors=True)

    sums = {resource["path"]: resource["hash"].split(":", 1)[1] for resource in resources}
    print_ = layout.fingerprint(sums)
    package: dict[str, Any] = {
        "name": name,
        "title": f"{OUTLET} articles as of {selection.as_of}",
        "description": f"Articles of {OUTLET} archived with qiosk-scraper; the state of the "
        f"archive at the cut-off {selection.as_of}.",
        "created": selection.as_of,
        "licenses": [{"title": LICENCE_TITLE, "path": layout.README}],
        "sources": [{"title": OUTLET, "path": site} for site in selection.sites]
        + [
            {"title": f"Web archive: {source['name']}"}
            for source in selection.sources
            if source["name"] != CRAWL_SOURCE
        ],
        "qiosk": {
            "format": layout.FORMAT_VERSION,
            "as_of": selection.as_of,
            "fingerprint": print_,
            "articles": selection.articles_count,
            "revisions": selection.revisions_count,
            "revision_history": selection.has_revisions,
            "with_warc": with_warc,
            "with_wacz": wacz,
            "command": _command(selection, name, with_warc, wacz),
            "crawls": [
                {k: c[k] for k in ("id", "site", "started", "ended", "status")}
                for c in selection.tables["crawls"]
            ],
            "sources": selection.sources,
            "sources_fields": layout.SOURCES_FIELDS,
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
    lines = [f"{layout.sha256_file(folder / f)}  {f}\n" for f in _files(folder) if f != layout.SUMS]
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


def _scratch_prefix(out_dir: Path) -> str:
    """Hidden folders beside ``out_dir`` are named after it and this process, so the next
    export can tell a killed export's leftovers from a running one's."""
    return f".{out_dir.name}.p{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_leftovers(out_dir: Path) -> tuple[str, ...]:
    """Clear what exports to ``out_dir`` killed before they could clean up left beside it (their
    process is gone): half-built (``.partial``) and scratch (``.work``) folders are removed; a
    previous snapshot moved aside (``.old``) by a ``--force`` killed between its two renames is
    put back in place, never lost. Returns what was done, a line each."""
    named = re.compile(rf"\.{re.escape(out_dir.name)}\.p(\d+)\.[^./]+\.(partial|work|old)")
    done = []
    if out_dir.parent.is_dir():
        for path in sorted(out_dir.parent.iterdir()):
            match = named.fullmatch(path.name)
            if not match or not path.is_dir() or path.is_symlink() or _alive(int(match[1])):
                continue
            moved = path / "snapshot"
            if match[2] == "old" and not os.path.lexists(out_dir) and moved.is_dir():
                os.replace(moved, out_dir)
                done.append(
                    f"restored {out_dir} from {path}: the previous snapshot, which an export "
                    "killed while replacing it had moved aside"
                )
            else:
                done.append(f"removed {path}: left by an export that was killed")
            shutil.rmtree(path)
    return tuple(done)


def _move_into_place(built: Path, out_dir: Path) -> None:
    if out_dir.is_dir() and any(out_dir.iterdir()):  # a previous snapshot, --force given
        old = Path(
            tempfile.mkdtemp(prefix=_scratch_prefix(out_dir), suffix=".old", dir=out_dir.parent)
        )
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
    wacz: bool = False,
    force: bool = False,
) -> ExportResult:
    """Export the archive at ``db`` into ``out_dir`` (see the module's docstring)."""
    if name is not None and not layout.NAME_PATTERN.match(name):
        raise SnapshotError(
            f"--name {name!r}: use 1 to 100 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    cut_off = parse_as_of(as_of) if as_of is not None else None
    leftovers = _remove_leftovers(out_dir)
    try:
        _check_target(out_dir, force)
    except SnapshotError as error:
        raise SnapshotError("; ".join([*leftovers, str(error)])) from error
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
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        # beside the snapshot (on its disk, which has room for it), not in a /tmp that may be RAM
        with (
            tempfile.TemporaryDirectory(
                prefix=_scratch_prefix(out_dir), suffix=".work", dir=out_dir.parent
            ) as work,
            source.snapshot_reading(Path(work) / "selection.db"),
        ):
            selection = Selection(source, cut_off)
            final_name = name or default_name(selection.sites, cut_off)
            building = Path(
                tempfile.mkdtemp(
                    prefix=_scratch_prefix(out_dir), suffix=".partial", dir=out_dir.parent
                )
            )
            try:
                building.chmod(0o777 & ~_umask())
                print_ = _write_all(
                    source, selection, building, Path(work), final_name, with_warc, wacz
                )
                count = sum(1 for _ in _files(building))
                _move_into_place(building, out_dir)
            except BaseException:
                shutil.rmtree(building, ignore_errors=True)
                raise
    return ExportResult(
        directory=out_dir,
        name=final_name,
        as_of=cut_off,
        articles=selection.articles_count,
        revisions=selection.revisions_count,
        captures=selection.captures_count,
        files=count,
        fingerprint=print_,
        leftovers=leftovers,
    )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
