"""Raw provider objects → the neutral schema (schema.py), one module per provider (stripe.py)."""

from .schema import TABLES, ensure_schema, unclassified_summary
from .stripe import map_all, map_changes

__all__ = ["TABLES", "ensure_schema", "map_all", "map_changes", "unclassified_summary"]
