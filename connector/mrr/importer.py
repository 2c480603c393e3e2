"""A generic provider: subscription periods from a CSV file, for data not in Stripe.

Columns: ``subscription_id, customer_id, start_date, end_date, monthly_amount``
(end date exclusive, empty = still active; amount in major units), separated by
commas, semicolons, tabs or pipes (detected from the header line). Every row is
validated before the store is even opened; a file with any bad row imports
nothing and the error lists each problem with its line number.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .currencies import is_iso_currency
from .model import currency_exponent, segment_row, write_customer_segments

PROVIDER = "import"
COLUMNS = ("subscription_id", "customer_id", "start_date", "end_date", "monthly_amount")
DELIMITERS = ",;\t|"
# Billing dates outside these years are typos (a two-digit year, 0202 for 2020), not history.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 12, 31)


class ImportFileError(ConfigError):
    """The file has bad rows; the message lists one problem per line."""


def _parse_date(text: str) -> date:
    return date.fromisoformat(text.strip())


def _out_of_range(day: date | None, column: str, line: int) -> list[str]:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        return [f"line {line}: {column} {day} is outside {FIRST_DAY.year}-{LAST_DAY.year}; check the year"]
    return []


def _delimiter(first_line: str) -> str:
    """The separator of the header line: the candidate that splits it into the most columns."""
    counts = {candidate: first_line.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _parse_row(row: dict[str, str], line: int, currency: str, exponent: int) -> tuple[dict[str, Any] | None, list[str]]:
    problems: list[str] = []
    subscription_id = (row.get("subscription_id") or "").strip()
    customer_id = (row.get("customer_id") or "").strip()
    if not subscription_id:
        problems.append(f"line {line}: subscription_id is empty")
    if not customer_id:
        problems.append(f"line {line}: customer_id is empty")
    start = end = None
    try:
        start = _parse_date(row.get("start_date") or "")
    except ValueError:
        problems.append(f"line {line}: start_date {row.get('start_date')!r} is not a date (YYYY-MM-DD)")
    end_text = (row.get("end_date") or "").strip()
    if end_text:
        try:
            end = _parse_date(end_text)
        except ValueError:
            problems.append(f"line {line}: end_date {end_text!r} is not a date (YYYY-MM-DD) or empty")
    problems += _out_of_range(start, "start_date", line) + _out_of_range(end, "end_date", line)
    if start and end and end < start:
        problems.append(f"line {line}: end_date {end} is before start_date {start}")
    elif start and end and end == start:
        problems.append(f"line {line}: the period {start} to {end} is empty (end_date is exclusive)")
    amount_minor = None
    amount_text = (row.get("monthly_amount") or "").strip()
    try:
        amount = Decimal(amount_text)
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problems.append(f"line {line}: monthly_amount {amount_text!r} is not a number")
    else:
        scaled = amount.scaleb(exponent)
        if amount < 0:
            problems.append(f"line {line}: monthly_amount {amount_text} is negative")
        elif scaled != scaled.to_integral_value():
            problems.append(
                f"line {line}: monthly_amount {amount_text} has more than {exponent} decimals for {currency.upper()}"
            )
        elif abs(scaled) >= 2**63:
            # SQLite integers are 64-bit; no subscription's MRR comes near it
            problems.append(f"line {line}: monthly_amount {amount_text} is out of range")
        else:
            amount_minor = int(scaled)
    if problems:
        return None, problems
    return {
        "segment_id": f"{PROVIDER}:{subscription_id}:{start.isoformat()}",
        "provider": PROVIDER,
        "customer_id": customer_id,
        "subscription_id": subscription_id,
        "source_type": "import",
        "source_id": f"{subscription_id}@{start.isoformat()}",
        "currency": currency,
        "start": start,
        "end": end,
        "amount_minor": amount_minor,
        "detail": {"line": line, "monthly_amount": amount_text},
    }, []


def read_subscription_periods(path: str | Path, currency: str) -> list[dict[str, Any]]:
    """Validate the whole file and return its periods; touches no store.

    Raises ImportFileError (exit 2) for any bad row, a missing column (naming
    the header as read) or an unknown currency; ConfigError for an unreadable file.
    """
    if not is_iso_currency(currency):
        raise ImportFileError(f"unknown currency {currency!r}: pass an ISO 4217 code such as USD with --currency")
    exponent = currency_exponent(currency)
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            delimiter = _delimiter(handle.readline())
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise ImportFileError(
                    f"{path}: missing column(s) {', '.join(missing)}; the header read (separator "
                    f"{delimiter!r}) was {delimiter.join(header)!r}; expected {', '.join(COLUMNS)}"
                )
            reader.fieldnames = header
            parsed, problems, seen = [], [], {}
            for row in reader:
                line = reader.line_num
                segment, row_problems = _parse_row(row, line, currency, exponent)
                problems.extend(row_problems)
                if segment is not None:
                    if segment["segment_id"] in seen:
                        problems.append(
                            f"line {line}: subscription {segment['subscription_id']} already has a period "
                            f"starting {segment['start']} (line {seen[segment['segment_id']]})"
                        )
                    seen[segment["segment_id"]] = line
                    parsed.append(segment)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not UTF-8 text; save it as CSV (UTF-8)") from None
    if problems:
        raise ImportFileError(f"{path}: {len(problems)} bad row(s), nothing imported:\n" + "\n".join(problems))
    return parsed


def write_subscription_periods(store, periods: list[dict[str, Any]]) -> int:
    """Store validated periods as segments of provider ``import``; returns rows written.

    Re-importing the same file writes nothing. Each customer in the file has
    their imported segments replaced as a whole (a period removed from the file
    is soft-deleted).
    """
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for segment in periods:
        by_customer.setdefault(segment["customer_id"], []).append(segment_row(**segment))
    written = 0
    with store.db.atomic():
        for customer_id, rows in sorted(by_customer.items()):
            written += write_customer_segments(store, PROVIDER, customer_id, rows)
    return written


def import_subscription_periods(store, path: str | Path, currency: str) -> int:
    """Validate the file, then write it (nothing written when any row is bad); returns rows written."""
    return write_subscription_periods(store, read_subscription_periods(path, currency))
