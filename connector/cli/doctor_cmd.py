"""Commands registered by this module; see its register()."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Nothing registered yet."""
