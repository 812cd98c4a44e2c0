"""``qiosk snapshot verify``: check a snapshot directory against its own description.

Checks, each problem named once with the file it concerns: the file list against
``SHA256SUMS`` (missing and added files), every checksum, ``datapackage.json`` against
``SHA256SUMS`` (paths, hashes, sizes, fingerprint), the data package with the Frictionless
library (metadata; types, keys and row counts of the CSVs), and the record and row counts of the
other files, and every record of ``articles.jsonl`` against the one ``archive.db`` holds for its
URL (a forger who re-seals the checksums must forge both alike). It computes the snapshot's
fingerprint from the files as found (what a citation quotes) and, given the cited one, fails
when they differ: without a signature, the fingerprint is what ties a snapshot to its citation.
It reads nothing outside the directory: symbolic links are not followed, paths that
leave the directory (``..``, absolute paths, URLs) and external schema or profile references are
refused, and the SQLite file is opened read-only and immutable. It writes nothing.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq
from frictionless import Checklist, FrictionlessException, Package
from pyarrow import ArrowException
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from qiosk_scraper.archive import Archive, ArchiveError
from qiosk_scraper.snapshot import layout
from qiosk_scraper.snapshot.select import source_figures

_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_REFERENCE_KEYS = ("$schema", "profile")
_ERRORS_PER_FILE = 5
_FINGERPRINT = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
_EDITED_DIGITS = 8


@dataclass(frozen=True)
class Problem:
    path: str  # the file concerned, relative to the snapshot directory
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _safe(path: object) -> bool:
    """Whether ``path`` is a plain relative path that stays inside the directory."""
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        return False
    if urlsplit(path).scheme:
        return False
    parts = PurePosixPath(path)
    return not parts.is_absolute() and ".." not in parts.parts


def _edited(listed: str, actual: str) -> bool:
    """Whether a listed checksum differs from the file's in a few hex digits only: the list was
    edited, not the file (a changed file changes its SHA-256 in about 60 of 64 digits)."""
    return sum(a != b for a, b in zip(listed, actual, strict=True)) <= _EDITED_DIGITS


@dataclass(frozen=True)
class Verification:
    problems: list[Problem]
    fingerprint: str | None  # sha256 hex of the data files as found; None without a directory


def parse_fingerprint(text: str) -> str:
    """The hex digest of a cited fingerprint, ``sha256:<64 hex digits>`` (or the digits alone);
    ValueError naming the expected form otherwise."""
    match = _FINGERPRINT.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a fingerprint: expected sha256:<64 hex digits>")
    return match[1]


class _Verification:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.files: dict[str, str] = {}  # regular files present: path -> sha256
        self.sums: dict[str, str] = {}
        self.changed: set[str] = set()  # files missing or not matching SHA256SUMS
        self.described: set[str] = set()  # resource paths of datapackage.json

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def run(self) -> list[Problem]:
        self.scan()
        has_sums = self.read_sums()
        package = self.read_package()
        if not has_sums:
            return self.problems
        self.check_files()
        if package is not None and self.cross_check(package):
            # The data behind checksums that pass is checked too (a forger may have updated
            # the checksums; an export may be wrong); behind failing ones it says nothing new.
            self.validate(package, data=not self.problems)
        return self.problems

    def scan(self) -> None:
        for folder, dirs, names in os.walk(self.root, followlinks=False):
            here = Path(folder)
            for name in sorted(dirs + names):
                path = here / name
                relative = path.relative_to(self.root).as_posix()
                if path.is_symlink():
                    self.problem(relative, "a symbolic link (not followed): remove it")
                elif name in names and not path.is_file():
                    self.problem(relative, "not a regular file")
                elif name in names:
                    self.files[relative] = layout.sha256_file(path)
            dirs[:] = [d for d in dirs if not (here / d).is_symlink()]

    def read_sums(self) -> bool:
        if layout.SUMS not in self.files:
            self.problem(layout.SUMS, "missing")
            return False
        data = (self.root / layout.SUMS).read_bytes()
        text = data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, 1):
            match = _SUM_LINE.match(line)
            if not match:
                self.problem(layout.SUMS, f"line {number} is not '<sha256>  <file>'")
                continue
            digest, name = match.groups()
            if not _safe(name):
                self.problem(layout.SUMS, f"line {number}: {name!r} is outside the directory")
            elif name in self.sums or name == layout.SUMS:
                self.problem(layout.SUMS, f"line {number}: {name} listed twice or itself")
            else:
                self.sums[name] = digest
        canonical = "".join(f"{d}  {n}\n" for n, d in sorted(self.sums.items()))
        if not self.problems_with(layout.SUMS) and data != canonical.encode("utf-8"):
            self.problem(layout.SUMS, "not in its own form (sorted '<sha256>  <file>' lines)")
        return True

    def problems_with(self, path: str) -> bool:
        return any(problem.path == path for problem in self.problems)

    def check_files(self) -> None:
        """Files against SHA256SUMS, naming the file at fault: a file that is changed, missing
        or added, or SHA256SUMS when its entry is what changed."""
        known = self.described | {layout.DATAPACKAGE, layout.README}
        for name, digest in sorted(self.sums.items()):
            if name not in self.files:
                if name in known or not self.described:
                    self.changed.add(name)
                    self.problem(name, "missing (listed in SHA256SUMS)")
                else:
                    self.problem(layout.SUMS, f"lists {name}, which is not in the snapshot")
            elif self.files[name] != digest:
                if _edited(digest, self.files[name]):
                    self.problem(
                        layout.SUMS, f"the checksum listed for {name} was edited (not the file)"
                    )
                else:
                    self.changed.add(name)
                    self.problem(name, "SHA-256 differs from SHA256SUMS: the file was changed")
        for name in sorted(set(self.files) - set(self.sums) - {layout.SUMS}):
            if name in known:
                self.problem(layout.SUMS, f"does not list {name}")
            else:
                self.problem(name, "not part of the snapshot (not in SHA256SUMS): remove it")

    def read_package(self) -> dict[str, Any] | None:
        """The descriptor, once its references are known to stay inside the directory."""
        name = layout.DATAPACKAGE
        if name not in self.files:
            if name not in self.sums:  # else reported as missing with the other files
                self.problem(name, "missing")
            return None
        try:
            package = json.loads((self.root / name).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            self.problem(name, f"not valid JSON ({error})")
            return None
        resources = package.get("resources") if isinstance(package, dict) else None
        if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
            self.problem(name, "not a data package (no list of resources)")
            return None
        safe = True
        for key in _REFERENCE_KEYS:
            if key in package:
                self.problem(name, f"{key!r} references are not followed (refused)")
                safe = False
        for resource in resources:
            label = resource.get("name", "?")
            if not _safe(resource.get("path")):
                self.problem(
                    name,
                    f"resource {label!r}: path {resource.get('path')!r} points outside the "
                    "directory (refused)",
                )
                safe = False
                continue
            self.described.add(resource["path"])
            for key in ("schema", "dialect", *_REFERENCE_KEYS):
                if key in resource and not isinstance(resource[key], dict):
                    self.problem(
                        name,
                        f"resource {label!r}: {key} {resource[key]!r} is a reference "
                        "(refused: only inline descriptions are read)",
                    )
                    safe = False
        return package if safe else None

    def cross_check(self, package: dict[str, Any]) -> bool:
        """datapackage.json against the files as checked; False when it cannot be trusted."""
        if layout.DATAPACKAGE in self.changed:
            return False  # reported; its contents say nothing reliable
        # What each file's checksum should be: the file's own when it passed (an entry of
        # SHA256SUMS found edited is not held against datapackage.json), else the listed one.
        known = self.described | {layout.DATAPACKAGE, layout.README}
        truth = {
            name: self.sums[name]
            for name in self.sums
            if name in known and (name in self.changed or name not in self.files)
        }
        truth.update(
            (name, digest)
            for name, digest in self.files.items()
            if (name in self.sums or name in known) and name not in self.changed
        )
        truth.pop(layout.SUMS, None)
        for resource in package["resources"]:
            path, label = resource["path"], resource.get("name", "?")
            if path not in truth:
                self.problem(layout.DATAPACKAGE, f"resource {label!r}: no file {path}")
            elif path not in self.changed:
                if resource.get("hash") != f"sha256:{truth[path]}":
                    self.problem(
                        layout.DATAPACKAGE, f"resource {label!r}: hash differs from the file's"
                    )
                size = (self.root / path).stat().st_size
                if resource.get("bytes") != size:
                    self.problem(
                        path, f"{size} bytes, datapackage.json says {resource.get('bytes')}"
                    )
        for name in sorted(set(truth) - known):
            self.problem(name, "not described in datapackage.json")
        qiosk = package.get("qiosk")
        if not isinstance(qiosk, dict):
            self.problem(layout.DATAPACKAGE, "no 'qiosk' section: not a qiosk snapshot")
        elif qiosk.get("fingerprint") != layout.fingerprint(truth):
            self.problem(layout.DATAPACKAGE, "fingerprint does not match the files' checksums")
        return True

    def validate(self, descriptor: dict[str, Any], *, data: bool) -> None:
        """The data package with Frictionless: its metadata, and with ``data`` the CSVs (types,
        keys, foreign keys, row counts) and the counts of the other files."""
        try:
            package = Package.from_descriptor(descriptor, basepath=str(self.root))
        except FrictionlessException as error:
            notes = "; ".join(e.message for e in error.to_errors()) or str(error)
            self.problem(layout.DATAPACKAGE, f"not a valid data package: {notes}")
            return
        if not data:
            return
        checklist = Checklist(skip_errors=["hash-count", "byte-count"])  # checked above
        for resource, entry in zip(package.resources, descriptor["resources"], strict=True):
            path = entry["path"]
            if entry.get("type") == "table":
                report = resource.validate(checklist)
                errors = report.flatten(["rowNumber", "type", "note"])
                for row, kind, note in errors[:_ERRORS_PER_FILE]:
                    where = f"row {row}: " if row else ""
                    self.problem(path, f"{where}{kind}: {note}")
                if len(errors) > _ERRORS_PER_FILE:
                    self.problem(path, f"... and {len(errors) - _ERRORS_PER_FILE} more errors")
            else:
                self.count(path, entry)
        paths = {entry["path"] for entry in descriptor["resources"]}
        if {layout.ARTICLES_JSONL, layout.ARCHIVE_DB} <= paths and not self.problems:
            self.compare_records()
        qiosk = descriptor.get("qiosk")
        if layout.ARCHIVE_DB in paths and isinstance(qiosk, dict) and "sources" in qiosk:
            self.compare_sources(qiosk["sources"])  # snapshots made before it have none

    def compare_sources(self, declared: object) -> None:
        """``qiosk.sources`` of datapackage.json against the captures, revisions and
        capture_sources of archive.db."""
        try:
            rows = Archive.source_rows_read_only(self.root / layout.ARCHIVE_DB)
        except ArchiveError as error:
            self.problem(layout.ARCHIVE_DB, str(error).split(": ", 1)[-1])
            return
        found = source_figures(rows["captures"], rows["revisions"], rows["capture_sources"])
        if declared != found:
            self.problem(
                layout.DATAPACKAGE,
                f"qiosk.sources differs from the captures and revisions of {layout.ARCHIVE_DB}: "
                f"{json.dumps(found, separators=(',', ':'))}",
            )

    def compare_records(self) -> None:
        """articles.jsonl against archive.db: the same URLs, each with the same record."""
        try:
            stored = Archive.records_read_only(self.root / layout.ARCHIVE_DB)
        except ArchiveError as error:
            self.problem(layout.ARCHIVE_DB, str(error).split(": ", 1)[-1])
            return
        text = (self.root / layout.ARTICLES_JSONL).read_text(encoding="utf-8")
        listed = [json.loads(line) for line in text.split("\n") if line]
        differences = []
        for record in listed:
            url = record.get("url")
            if url not in stored:
                differences.append(f"{url} is not in {layout.ARCHIVE_DB}")
                continue
            fields = sorted(
                k for k in record.keys() | stored[url].keys() if record.get(k) != stored[url].get(k)
            )
            if fields:
                differences.append(f"{url}: {', '.join(fields)} differ from {layout.ARCHIVE_DB}")
        for url in sorted(stored.keys() - {r.get("url") for r in listed}):
            differences.append(f"{url} is in {layout.ARCHIVE_DB}, not in this file")
        for difference in differences[:_ERRORS_PER_FILE]:
            self.problem(layout.ARTICLES_JSONL, difference)
        if len(differences) > _ERRORS_PER_FILE:
            more = len(differences) - _ERRORS_PER_FILE
            self.problem(layout.ARTICLES_JSONL, f"... and {more} more records differ")

    def count(self, path: str, entry: dict[str, Any]) -> None:
        """Record or row counts of the files Frictionless does not read as tables."""
        file = self.root / path
        fmt = entry.get("format")
        if fmt == "jsonl":
            names = [f["name"] for f in entry.get("schema", {}).get("fields", [])]
            text = file.read_bytes().decode("utf-8", errors="replace")
            lines = text.split("\n")  # not splitlines(): U+2028 may be inside a record
            if lines.pop() != "":
                self.problem(path, "does not end with a newline")
            for number, line in enumerate(lines, 1):
                try:
                    row = json.loads(line)
                except ValueError:
                    row = None
                if not isinstance(row, dict) or sorted(row) != sorted(names):
                    self.problem(path, f"line {number} is not a record with the schema's fields")
                    break
            self.expect(path, "records", entry.get("records"), len(lines))
        elif fmt == "parquet":
            try:
                metadata = pq.ParquetFile(file).metadata
            except (ArrowException, OSError) as error:
                self.problem(path, f"not a readable Parquet file ({error})")
                return
            self.expect(path, "records", entry.get("records"), metadata.num_rows)
        elif fmt == "sqlite":
            try:
                tables = Archive.count_rows_read_only(file)
            except ArchiveError as error:
                self.problem(path, str(error).split(": ", 1)[-1])
                return
            declared = entry.get("tables") or {}
            for table in sorted(set(declared) | set(tables)):
                self.expect(path, f"rows of {table}", declared.get(table), tables.get(table))
        elif fmt == "warc":
            try:
                with file.open("rb") as handle:
                    found = sum(
                        1 for record in ArchiveIterator(handle) if record.rec_type == "response"
                    )
            except (ArchiveLoadFailed, OSError, EOFError) as error:
                self.problem(path, f"not a readable WARC file ({error})")
                return
            self.expect(path, "records", entry.get("records"), found)

    def expect(self, path: str, what: str, declared: object, found: object) -> None:
        if declared != found:
            self.problem(path, f"{what}: {found}, datapackage.json says {declared}")


def verify(directory: Path, *, fingerprint: str | None = None) -> Verification:
    """Every problem found in the snapshot at ``directory`` (none when it is intact), and its
    fingerprint; with ``fingerprint`` (a cited one, see :func:`parse_fingerprint`), a problem
    when the snapshot's differs."""
    if not directory.is_dir():
        return Verification([Problem(str(directory), "not a directory")], None)
    verification = _Verification(directory)
    problems = verification.run()
    found = layout.fingerprint(verification.files)
    if fingerprint is not None and parse_fingerprint(fingerprint) != found:
        problems.append(
            Problem(
                ".",
                f"fingerprint sha256:{found} is not the one cited "
                f"(sha256:{parse_fingerprint(fingerprint)}): not the snapshot cited",
            )
        )
    return Verification(problems, found)


def verify_snapshot(directory: Path, *, fingerprint: str | None = None) -> list[Problem]:
    """Every problem found in the snapshot at ``directory``; empty when it is intact."""
    return verify(directory, fingerprint=fingerprint).problems
