"""The fetch threads share two malloc arenas (connector/sync/arenas.py): the call is made, with
glibc's own parameter, before the pipeline starts its threads."""

from __future__ import annotations

import ctypes
import sys
import threading
from contextlib import nullcontext

import pytest

from connector.sync import arenas, pipeline
from connector.sync.pipeline import Job, Pipeline


def _has_glibc_mallopt() -> bool:
    try:
        return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "mallopt")
    except OSError:
        return False


@pytest.mark.skipif(not _has_glibc_mallopt(), reason="no glibc mallopt on this platform")
def test_glibc_accepts_the_arena_cap():
    # mallopt answers 1 only for a parameter it knows: a wrong M_ARENA_MAX would be refused
    assert arenas.M_ARENA_MAX == -8
    assert arenas.limit_malloc_arenas() is True


def test_the_cap_is_set_before_the_fetch_threads_start(monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, "limit_malloc_arenas",
                        lambda: calls.append([t.name for t in threading.enumerate() if t.name.startswith("fetch")]))
    applied = []
    work = Pipeline(workers=4)
    work.submit(Job("customers", fetch=lambda: "page", apply=applied.append))
    assert work.run(nullcontext) == {}
    assert applied == ["page"]
    assert calls == [[]]   # once, and no fetch thread existed yet
