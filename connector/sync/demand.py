"""Which list a full sync will wait for most, estimated from the pages read so far.

Where each endpoint's budget binds (live mode), a sync lasts as long as the
busiest endpoint's requests at its own rate, and the stream behind that
endpoint must find its work fast enough to keep it busy. A frontier (the open
slice, ``slices.py``) hands on one reach of pages per round trip; with the
short reach, on a loaded machine (round trips of ~0.9 s), a usage-heavy
account's invoice items list got 11 pages a second of its 25 (BENCHMARKS.md,
seventh session). So the stream whose own list is the busiest gets the far
reach. The others keep the short one: read faster than they need, they take
the CPU and the workers the busiest endpoint's reads wait for (a far reach for
every stream fed the invoice-lines endpoint less).

No knowledge of the account's age is needed: the streams cover about the same
history, so the stream whose full pages each span the fewest seconds of
creation time has the most pages, and a nested list (invoice lines beyond the
ten an invoice embeds) needs as many requests per second of history as its
parent's pages bring per second they span.
"""

from __future__ import annotations

from collections.abc import Mapping

# Within this share of the busiest estimate counts as the busiest too: the estimate comes from a
# few pages, and two lists of one size both bind.
NEAR_BUSIEST = 0.8


class EndpointDemand:
    """Requests per second of history, per list stream and per nested list (``stream/table``).

    Fed and asked by the writer thread only (``FullRead._apply``)."""

    def __init__(self) -> None:
        self._seconds: dict[str, int] = {}    # stream -> seconds of creation time its full pages spanned
        self._requests: dict[str, int] = {}   # stream or stream/table -> requests those pages needed

    def observe(self, stream: str, span: int, nested_reads: Mapping[str, int] | None = None) -> None:
        """A full page of ``stream`` whose objects span ``span`` seconds of creation time (> 0), and
        the nested reads it brought, per child table."""
        self._seconds[stream] = self._seconds.get(stream, 0) + span
        for key, requests in [(stream, 1), *((f"{stream}/{table}", n) for table, n in (nested_reads or {}).items())]:
            self._requests[key] = self._requests.get(key, 0) + requests

    def is_busiest(self, stream: str) -> bool:
        """Whether ``stream``'s own list is (about) the one needing the most requests per second of history."""
        demand = {key: requests / self._seconds[key.split("/")[0]] for key, requests in self._requests.items()}
        return stream in demand and demand[stream] >= NEAR_BUSIEST * max(demand.values())
