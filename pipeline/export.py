"""`rss-ingest export`: stored articles as JSON Lines, CSV or Parquet, streamed in batches.

The output is written under a temporary name beside the target and renamed when complete, so
a failed or interrupted export never leaves a half-written file under the name asked for.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Boolean, Column, Float, Integer
from sqlalchemy.ext.asyncio import AsyncEngine

from pipeline.commands.context import CommandError
from storage.exports import ExportFilter, export_columns, stream_articles
from storage.models import UTCDateTime

FORMATS = ("jsonl", "csv", "parquet")
BATCH_ROWS = 1_000


class ExportError(CommandError):
    """An export that cannot be done; the message says why, in one line."""


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON- and CSV-ready values: datetimes as ISO 8601 UTC."""
    return {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in row.items()}


def arrow_type(column: Column[Any]) -> pa.DataType:
    if isinstance(column.type, UTCDateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(column.type, Boolean):
        return pa.bool_()
    if isinstance(column.type, Integer):
        return pa.int64()
    if isinstance(column.type, Float):
        return pa.float64()
    return pa.string()


def arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(column.name, arrow_type(column)) for column in export_columns()])


class RowWriter(Protocol):
    def write(self, rows: list[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


class JsonlWriter:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def write(self, rows: list[dict[str, Any]]) -> None:
        lines = (json.dumps(plain(row), ensure_ascii=False) + "\n" for row in rows)
        self._stream.write("".join(lines).encode("utf-8"))

    def close(self) -> None:
        self._stream.flush()


class CsvWriter:
    def __init__(self, stream: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        names = [column.name for column in export_columns()]
        self._writer = csv.DictWriter(self._text, fieldnames=names)
        self._writer.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._writer.writerows(plain(row) for row in rows)

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the stream belongs to the caller


class ParquetWriter:
    """One row group per batch, typed columns (timestamps with UTC zone, int64 ids)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._schema = arrow_schema()
        self._writer = pq.ParquetWriter(stream, self._schema, compression="zstd")

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._writer.write_table(pa.Table.from_pylist(rows, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


WRITERS: dict[str, type[JsonlWriter] | type[CsvWriter] | type[ParquetWriter]] = {
    "jsonl": JsonlWriter,
    "csv": CsvWriter,
    "parquet": ParquetWriter,
}


@contextmanager
def atomic_output(output: str) -> Iterator[IO[bytes]]:
    """Standard output for '-'; else a temporary file renamed to `output` only on success."""
    if output == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        stream = open(partial, "wb")  # noqa: SIM115 (closed below, before the rename)
    except OSError as error:
        raise ExportError(f"cannot write {output}: {error.strerror}") from None
    try:
        with stream:
            yield stream
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class ExportResult:
    rows: int
    last_id: int
    """The highest id written, or the --after-id given when nothing was."""


async def export_articles(
    engine: AsyncEngine, filters: ExportFilter, fmt: str, output: str
) -> ExportResult:
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and output == "-":
        raise ExportError("parquet cannot be streamed to standard output: give --output FILE")
    rows, last_id = 0, filters.after_id
    with atomic_output(output) as stream:
        writer = WRITERS[fmt](stream)
        async for batch in stream_articles(engine, filters, BATCH_ROWS):
            writer.write(batch)
            rows += len(batch)
            last_id = batch[-1]["id"]
        writer.close()
    return ExportResult(rows, last_id)
