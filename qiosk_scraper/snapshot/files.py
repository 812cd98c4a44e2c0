"""Writing a snapshot's files with fixed bytes: JSON lines, CSV, Parquet, and copies of WARC
records."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from qiosk_scraper.article import RECORD_FIELDS
from qiosk_scraper.snapshot.layout import SnapshotError
from qiosk_scraper.warc import DEFAULT_MAX_BYTES


def _json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n"


class JsonLines:
    """A JSON lines file written a row at a time: keys sorted, UTF-8, ``\\n`` line ends."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("w", encoding="utf-8", newline="\n")
        self.count = 0

    def write(self, row: Mapping[str, Any]) -> None:
        self._handle.write(_json_line(row))
        self.count += 1

    def close(self) -> None:
        self._handle.close()


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    out = JsonLines(path)
    try:
        for row in rows:
            out.write(row)
    finally:
        out.close()
    return out.count


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a JSON lines file, one at a time."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


class CsvRows:
    """A CSV file (header, then a line per row, ``\\r\\n`` line ends) written a row at a
    time."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self._handle = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle, lineterminator="\r\n")
        self._columns = columns
        self._writer.writerow(columns)
        self.count = 0

    def write(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow([_csv_cell(row.get(name)) for name in self._columns])
        self.count += 1

    def close(self) -> None:
        self._handle.close()


def write_csv(path: Path, columns: list[str], rows: Iterable[Mapping[str, Any]]) -> int:
    out = CsvRows(path, columns)
    try:
        for row in rows:
            out.write(row)
    finally:
        out.close()
    return out.count


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


# Rows per row group of articles.parquet: one group is what the export holds in memory at once
# (10,000 before version 0.1.0's streaming export; files of more than 1,000 articles differ).
PARQUET_ROW_GROUP = 1_000
_PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "data_page_version": "1.0",
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "store_schema": True,
}
_CHUNK = 500  # records turned into Arrow columns at a time


def _parquet_table(records: list[Mapping[str, Any]]) -> pa.Table:
    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    rows = [
        {**r, "published": when(r.get("published")), "modified": when(r.get("modified"))}
        for r in records
    ]
    return pa.Table.from_pylist(rows, schema=_PARQUET_SCHEMA)


def write_parquet(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """One row per record, nested fields as lists of structs, times as UTC timestamps; returns
    the number of rows. The writer options are fixed; Parquet stores no write time
    (``created_by`` names the library version), so the bytes depend on the records and the
    pyarrow version only.

    The records are read as they come: at most a row group of them is held, as Arrow columns,
    and each row group is written as one contiguous table, so the file is the one
    ``pq.write_table`` makes of all the records at once."""
    count = 0
    pending: list[pa.Table] = []
    held = 0
    with pq.ParquetWriter(path, _PARQUET_SCHEMA, **_PARQUET_OPTIONS) as writer:

        def flush(rows: int) -> None:
            nonlocal pending, held
            table = pa.concat_tables(pending).combine_chunks()
            writer.write_table(table.slice(0, rows), row_group_size=PARQUET_ROW_GROUP)
            rest = table.slice(rows)
            pending, held = ([rest] if rest.num_rows else []), rest.num_rows

        chunk: list[Mapping[str, Any]] = []
        for record in records:
            chunk.append(record)
            count += 1
            if len(chunk) == _CHUNK:
                pending.append(_parquet_table(chunk))
                held += len(chunk)
                chunk = []
                while held >= PARQUET_ROW_GROUP:
                    flush(PARQUET_ROW_GROUP)
        if chunk:
            pending.append(_parquet_table(chunk))
            held += len(chunk)
        while held:
            flush(min(held, PARQUET_ROW_GROUP))
        if not count:  # as pq.write_table does: one empty row group
            writer.write_table(_parquet_table([]), row_group_size=PARQUET_ROW_GROUP)
    return count


class WarcCopier:
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
            payload = record.raw_stream.read()
        except (ArchiveLoadFailed, StopIteration, OSError, EOFError, zlib.error) as error:
            raise SnapshotError(f"{what}: not a WARC record at its offset ({error})") from error
        recorded = capture.get("payload_sha256")
        if recorded and hashlib.sha256(payload).hexdigest() != recorded:
            raise SnapshotError(f"{what}: its payload is not the one the archive recorded")
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
