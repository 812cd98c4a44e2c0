"""Writing a snapshot's files with fixed bytes: JSON lines, CSV, Parquet, and copies of WARC
records."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterable, Mapping
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


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
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


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
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


def write_parquet(path: Path, records: list[dict[str, Any]]) -> None:
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
