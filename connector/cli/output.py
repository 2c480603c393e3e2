"""The one output layer: every command prints its data through here.

``--format table`` is for people, ``json`` and ``csv`` for machines; ``--json``
is an alias of ``--format json`` and naming both differently is a usage error.

The JSON contract (docs/json-schema.md, ``connector/schemas/output.json``):
real types (integers, booleans, null), times as ISO-8601 UTC
(``2026-12-06T03:02:50Z``), and money, in every command alike, as::

    {"amount": "4635.31", "amount_minor": 463531, "currency": "EUR"}

an exact decimal string in major units, the integer minor units and the
upper-case ISO code. Rows hold money in ``*_minor`` columns next to a
``currency`` column; here they become money objects (JSON) or exact decimals
in major units (table, CSV). CSV is one table per invocation, with a header.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from ..mrr.amounts import major
from ..output_values import money

FORMATS = ("table", "json", "csv")
MINOR = "_minor"


def output_options(func: Callable) -> Callable:
    """``--format table|json|csv`` and ``--json``, resolved into one ``output_format`` argument."""

    @functools.wraps(func)
    def resolved(*args, output_format: str | None, as_json: bool, **kwargs):
        return func(*args, output_format=resolve_format(output_format, as_json), **kwargs)

    resolved = click.option("--json", "as_json", is_flag=True, help="Shortcut for --format json.")(resolved)
    return click.option(
        "--format", "output_format", type=click.Choice(FORMATS), default=None,
        help="Output for people (table, the default) or machines (json, csv).",
    )(resolved)


def resolve_format(output_format: str | None, as_json: bool) -> str:
    if as_json and output_format not in (None, "json"):
        raise click.UsageError(f"--json and --format {output_format} contradict each other: pass one of them")
    return "json" if as_json else output_format or "table"


# ---- rows -------------------------------------------------------------------------------


def _currency_for(row: Mapping[str, Any], base: str) -> str | None:
    """The currency of ``base``_minor: its own ``base_currency`` column, the reporting one, or the row's."""
    if f"{base}_currency" in row:
        return row[f"{base}_currency"]
    if base.startswith("reporting_") and "reporting_currency" in row:
        return row["reporting_currency"]
    return row.get("currency")


def json_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row for JSON: each ``x_minor`` becomes ``x`` as a money object; currency codes upper-case."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.endswith(MINOR):
            base = key[: -len(MINOR)]
            out[base] = money(value, _currency_for(row, base))
        elif key == "currency" or key.endswith("_currency"):
            out[key] = value.upper() if isinstance(value, str) else value
        else:
            out[key] = value
    return out


def major_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row for a table or CSV: each ``x_minor`` becomes ``x`` as an exact decimal in major units."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.endswith(MINOR):
            base = key[: -len(MINOR)]
            currency = _currency_for(row, base)
            out[base] = major(value, currency) if currency else None
        elif key == "currency" or key.endswith("_currency"):
            # ISO codes upper-case, as in JSON; a label in that column ("total") stays as written
            out[key] = value.upper() if isinstance(value, str) and len(value) == 3 else value
        else:
            out[key] = value
    return out


# ---- printing -------------------------------------------------------------------------------


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def print_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> None:
    """One CSV table with a header (the header alone when there are no rows but columns are known)."""
    columns = list(columns or (rows[0].keys() if rows else []))
    if not columns:
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _csv_text(row.get(c)) for c in columns])
    click.echo(buffer.getvalue(), nl=False)


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Aligned columns; numbers right-aligned. "(no rows)" on stderr when empty."""
    if not rows:
        click.echo("(no rows)", err=True)
        return
    columns = list(columns or rows[0].keys())
    text = [[_table_text(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(columns)]
    numeric = [all(_looks_numeric(r[i]) for r in text) for i in range(len(columns))]

    def line(cells):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(cells, widths, numeric)).rstrip()

    click.echo(line(columns))
    for cells in text:
        click.echo(line(cells))


def _table_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _looks_numeric(text: str) -> bool:
    return text == "" or text.lstrip("+-").replace(".", "", 1).replace(",", "").isdigit()


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    output_format: str,
    *,
    envelope: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Rows with money in ``*_minor`` columns: JSON ``{**envelope, "rows": [...]}``, or a table / CSV."""
    if output_format == "json":
        print_json({**(envelope or {}), "rows": [json_row(row) for row in rows]})
        return
    printable = [major_row(row) for row in rows]
    names = [c[: -len(MINOR)] if c.endswith(MINOR) else c for c in columns] if columns else None
    if output_format == "csv":
        print_csv(printable, names)
    else:
        print_table(printable, names)


def warn(message: str | None) -> None:
    """One line on stderr for the person (tables and CSV); JSON carries the same text."""
    if message:
        click.echo(f"warning: {message}", err=True)
