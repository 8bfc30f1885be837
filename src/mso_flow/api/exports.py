"""Tabular responses: CSV (UTF-8 with BOM, so spreadsheet programs read Thai) and JSON lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from fastapi import Response

CSV = "text/csv; charset=utf-8"
JSONL = "application/x-ndjson"


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict | list) else value


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def to_jsonl(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)


def response(rows: Sequence[dict[str, Any]], format: str, name: str) -> Response:
    """`rows` as a downloadable CSV or JSON-lines file."""
    if format == "csv":
        body, media, ext = "\ufeff" + to_csv(rows), CSV, "csv"
    else:
        body, media, ext = to_jsonl(rows), JSONL, "jsonl"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{ext}"'}
    return Response(content=body.encode("utf-8"), media_type=media, headers=headers)
