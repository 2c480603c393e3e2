"""A fake Chargebee site for tests and the demo: a deterministic account served on 127.0.0.1 (see server.py)."""

from .account import NOW, SCENARIOS, Site, build_site
from .server import DEFAULT_KEY, Fault, FakeChargebee

__all__ = ["DEFAULT_KEY", "NOW", "SCENARIOS", "Fault", "FakeChargebee", "Site", "build_site"]
