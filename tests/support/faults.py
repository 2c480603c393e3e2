"""benchmarks/faults.py loaded as a module (benchmarks/ is a folder of scripts, not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "faults.py"


def _load():
    if "benchmarks_faults" in sys.modules:
        return sys.modules["benchmarks_faults"]
    spec = importlib.util.spec_from_file_location("benchmarks_faults", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks_faults"] = module  # the campaign's worker processes find it by name
    spec.loader.exec_module(module)
    return module


faults = _load()

# The connector's longest pause between two attempts in the suite's campaigns (30 s by default). Their
# runs spent most of their wall time asleep in 16-30 s pauses (a request failing several times in a
# row, a 429 storm) while the rest of the sync was done; shorter pauses leave the faults, the attempts
# per request, where kills land and every check as they were.
RETRY_WAIT_SECONDS = 2.0
