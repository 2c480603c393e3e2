"""The docs stay in step with the code: every neutral column, every rule and its preset values."""

from __future__ import annotations

from pathlib import Path

from connector.mapping.schema import TABLES
from connector.mrr.policy import PRESETS, RULE_NAMES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_schema_doc_lists_every_table_and_column():
    text = (DOCS / "schema.md").read_text()
    missing = [f"{name}.{column}" for name, table in TABLES.items() for column in table.column_names
               if f"## `{name}`" not in text or f"| `{column}` |" not in text]
    assert missing == []


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def test_rules_doc_has_one_row_per_rule_with_every_preset_value():
    rows = {}
    for line in (DOCS / "mrr-rules.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[2:]
    assert list(rows) == list(RULE_NAMES)
    for rule in RULE_NAMES:
        expected = [_shown(PRESETS[p].settings()[rule]) for p in ("default", "stripe", "chartmogul", "profitwell", "chargebee")]
        assert rows[rule] == expected, rule
