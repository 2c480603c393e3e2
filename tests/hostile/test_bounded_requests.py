"""Issue 14, hangs and resources: every list, request and body is bounded, with a one-line error."""

from __future__ import annotations

import gzip
import sqlite3

import pytest

from connector.http import retry_after_seconds
from tests.support.cli import last_line, run_cli
from tests.support.loopback import LoopbackServer, Reply, stripe_list, trickled, trickled_bytes


def customer(n: int, created: int) -> dict:
    return {"id": f"cus_{n:04d}", "object": "customer", "created": created}


SYNC_CUSTOMERS = ["sync", "--streams", "customers", "--skip-mrr", "--quiet"]


def sync_customers(server, tmp_path, **env):
    # one request at a time, so the requests a misbehaving list costs are an exact number
    return run_cli(
        [*SYNC_CUSTOMERS, "--db", str(tmp_path / "b.db")],
        base=server.url, fast=True, env={"BILLING_CONNECTOR_MAX_IN_FLIGHT": "1", **env},
    )


def customer_requests(server) -> int:
    return server.paths().count("/v1/customers")


def test_a_server_repeating_its_page_stops_within_a_few_requests(tmp_path):
    page = [customer(n, 1_700_000_000 - n) for n in range(3)]

    with LoopbackServer(lambda request: stripe_list("/v1/customers", page, True)) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == (
        "error: customers: /v1/customers returned the object cus_0002 it was asked to list after: "
        "it ignores starting_after; refusing to loop"
    )
    assert customer_requests(server) == 2


def test_a_server_cycling_two_pages_stops_at_the_first_repeated_cursor(tmp_path):
    pages = {None: [customer(1, 30), customer(2, 20)], "cus_0002": [customer(3, 10)], "cus_0003": [customer(1, 30), customer(2, 20)]}

    def answer(request):
        return stripe_list("/v1/customers", pages[request.query.get("starting_after")], True)

    with LoopbackServer(answer) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == "error: customers: /v1/customers returned cursor cus_0003 twice; refusing to loop"
    # the first page splits it in two slices (the frontier reaches 32 pages of 10 s back in test mode);
    # the older one sees objects outside its range, so the stream is re-read by cursor only:
    # None, cus_0002, cus_0003 (records cus_0002), cus_0002 (cus_0003 again)
    assert [
        (r.query.get("starting_after"), r.query.get("created[gte]"), r.query.get("created[lt]"))
        for r in server.requests if r.path == "/v1/customers"
    ] == [
        (None, None, None), ("cus_0002", "-300", None), (None, None, "-300"),
        (None, None, None), ("cus_0002", None, None), ("cus_0003", None, None), ("cus_0002", None, None),
    ]


def test_has_more_with_an_empty_page_is_refused(tmp_path):
    with LoopbackServer(lambda request: stripe_list("/v1/customers", [], True)) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == "error: customers: /v1/customers said has_more with an empty page; refusing to loop"
    assert customer_requests(server) == 1


def test_a_server_ignoring_created_filters_is_reread_by_cursor_and_ends_with_every_row(tmp_path):
    """Honours `starting_after` and `limit` but not `created[...]`: the sync still terminates, complete."""
    everyone = [customer(n, 1_700_000_000 - 600 * n) for n in range(250)]

    def answer(request):
        after = request.query.get("starting_after")
        start = 0 if after is None else next(i for i, c in enumerate(everyone) if c["id"] == after) + 1
        limit = int(request.query.get("limit", 10))
        chunk = everyone[start:start + limit]
        return stripe_list("/v1/customers", chunk, start + limit < len(everyone))

    with LoopbackServer(answer) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(tmp_path / "b.db") as db:
        stored = sorted(row[0] for row in db.execute("SELECT id FROM customers"))
    assert stored == sorted(c["id"] for c in everyone)
    cursor_only = [r for r in server.requests if r.path == "/v1/customers" and not any(k.startswith("created") for k in r.query)]
    assert [r.query.get("starting_after") for r in cursor_only] == [None, None, "cus_0099", "cus_0199"]
    # the first page, at most a handful of filtered requests in flight when it was seen, then 3 pages
    assert customer_requests(server) <= 1 + 16 + 3


def test_a_nested_list_repeating_its_page_names_its_endpoint(tmp_path):
    line = {"id": "il_1", "object": "line_item", "invoice": "in_1"}
    invoice = {"id": "in_1", "object": "invoice", "created": 5, "customer": "cus_1",
               "lines": {"object": "list", "data": [line], "has_more": True, "url": "/v1/invoices/in_1/lines"}}

    def answer(request):
        if request.path == "/v1/invoices":
            return stripe_list("/v1/invoices", [invoice], False)
        return stripe_list(request.path, [line], True)

    with LoopbackServer(answer) as server:
        result = run_cli(
            ["sync", "--streams", "invoices", "--skip-mrr", "--quiet", "--db", str(tmp_path / "b.db")],
            base=server.url, fast=True,
        )
    assert result.exit_code == 1
    assert last_line(result.stderr) == (
        "error: invoices: /v1/invoices/in_1/lines returned the object il_1 it was asked to list after: "
        "it ignores starting_after; refusing to loop"
    )
    assert server.paths().count("/v1/invoices/in_1/lines") == 2


def test_a_trickling_response_is_cut_at_the_deadline(tmp_path):
    def trickle(request):
        return trickled(server, b'{"object": "list", "data": [], "has_more": false}')

    with LoopbackServer(trickle) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 6
    assert last_line(result.stderr) == (
        "error: customers: provider unavailable on GET /v1/customers (no complete response within 1s) "
        "after retries: run again later; the sync resumes from its last committed page"
    )
    assert customer_requests(server) == 2  # BILLING_CONNECTOR_MAX_RETRIES


def test_trickled_headers_are_cut_at_the_deadline_too(tmp_path):
    with LoopbackServer(lambda request: trickled_bytes(server, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200)) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 6
    assert "(no complete response within 1s)" in last_line(result.stderr)
    assert customer_requests(server) == 2


def test_headers_cut_after_the_status_line_are_no_answer(tmp_path):
    """The status line at once, then headers a byte at a time: the watchdog shuts the socket mid-headers,
    which http.client reads as their end and an empty body: a 200 with nothing in it, once taken for an
    answer ("not valid JSON"). A response cut at its deadline is none, however it reads."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    with LoopbackServer(lambda request: trickled_bytes(server, b"X-Slow: " + b"a" * 200, at_once=head)) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 6
    assert "(no complete response within 1s)" in last_line(result.stderr)
    assert customer_requests(server) == 2


def test_a_gzip_bomb_stops_at_the_size_cap(tmp_path):
    bomb = gzip.compress(b'{"object": "list", "data": [' + b" " * (40 * 1024 * 1024) + b"]}", compresslevel=9)
    assert len(bomb) < 100 * 1024

    with LoopbackServer(lambda request: Reply(200, bomb, {"Content-Encoding": "gzip"})) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == (
        "error: customers: GET /v1/customers: the response is larger than 32 MiB decompressed (the limit); "
        "refusing it: is stripe.api_base a Stripe API?"
    )
    assert customer_requests(server) == 1  # final: a bomb is not retried


def test_an_encoding_we_did_not_ask_for_is_refused(tmp_path):
    with LoopbackServer(lambda request: Reply(200, b"xx", {"Content-Encoding": "br"})) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == "error: customers: GET /v1/customers: the response is in an encoding we did not ask for (br)"


def test_deeply_nested_json_is_a_one_line_error(tmp_path):
    deep = b'{"object": "list", "has_more": false, "data": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}"
    with LoopbackServer(lambda request: Reply(200, deep)) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == "error: customers: GET /v1/customers: the response is JSON nested too deep to read; refusing it"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "-inf", "1e400", "soon", "Wed, 99 Foo 2026 00:00:00 GMT", ""])
def test_a_retry_after_we_cannot_use_falls_back_to_our_own_backoff(tmp_path, value):
    answers = iter([Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": value})])

    def answer(request):
        reply = next(answers, None)
        return reply or stripe_list("/v1/customers", [customer(1, 5)], False)

    with LoopbackServer(answer) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert customer_requests(server) == 2


def test_retry_after_values():
    now = 1_800_000_000.0
    assert retry_after_seconds("3", now) == 3.0
    assert retry_after_seconds(" 0.5 ", now) == 0.5
    assert retry_after_seconds("-5", now) is None
    assert retry_after_seconds("nan", now) is None
    assert retry_after_seconds("1e400", now) is None
    assert retry_after_seconds("Fri, 15 Jan 2027 08:00:10 GMT", 1_800_000_000.0) == 10.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT", now) == 0.0
    assert retry_after_seconds("tomorrow", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_redirect_is_never_followed(tmp_path):
    redirect = Reply(302, b"", {"Location": "http://billing-mirror.example/v1/customers"})
    with LoopbackServer(lambda request: redirect) as server:
        result = sync_customers(server, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr).startswith("error: customers: Stripe refused GET /v1/customers (HTTP 302)")
    assert customer_requests(server) == 1
