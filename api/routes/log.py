"""The log of scored readings (cursor pages), one reading, and the streamed CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.errors import ApiError
from api.params import integer, log_filter, optional_cursor
from api.rows import CSV_HEAD, CSV_TAIL, encode_cursor
from api.runtime import runtime

bp = Blueprint("log", __name__)

MAX_PAGE = 500
MAX_EXPORT_ROWS = 10_000_000
_FLUSH_ROWS = 500
# A cell starting with one of these is a formula to a spreadsheet: defuse it (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@bp.get("/api/log")
def log_page() -> Response:
    filters = log_filter(request.args)
    limit = integer(request.args, "limit", 50, 1, MAX_PAGE)
    items, next_cursor = runtime().queries.log_page(filters, limit, optional_cursor(request.args))
    return jsonify({"items": items, "next_cursor": encode_cursor(next_cursor) if next_cursor else None})


@bp.get("/api/readings/<machine_id>/<reading_id>")
def reading(machine_id: str, reading_id: str) -> Response:
    found = runtime().queries.reading(machine_id, reading_id)
    if found is None:
        raise ApiError(404, f"no reading {reading_id!r} of machine {machine_id!r}", "reading_id")
    return jsonify(found)


@bp.get("/api/export.csv")
def export_csv() -> Response:
    """The log's rows as CSV, newest first, streamed page by page (memory stays flat)."""
    filters = log_filter(request.args)
    limit = integer(request.args, "limit", MAX_EXPORT_ROWS, 1, MAX_EXPORT_ROWS)
    state = runtime()
    rows = islice(state.queries.iter_log(filters), limit)
    return Response(
        _csv_chunks(rows, state.value_fields(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="forewarn-log.csv"'},
    )


def _csv_chunks(rows: Iterable[dict[str, Any]], value_fields: list[str]) -> Iterator[str]:
    """One column per prediction field, `values` spread into one column per profile field.

    The value columns are the fields of the profiles of the machines the filters select (in
    profile order); a value whose machine's profile lacks the column leaves the cell empty.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*CSV_HEAD, *value_fields, *CSV_TAIL])
    for count, row in enumerate(rows, start=1):
        values = row["values"]
        writer.writerow(
            [
                *(_cell(row[name]) for name in CSV_HEAD),
                *(_cell(values.get(name)) for name in value_fields),
                *(_cell(row[name]) for name in CSV_TAIL),
            ]
        )
        if count % _FLUSH_ROWS == 0:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value
