"""The same commands on a Chargebee site: `sync --provider chargebee --site ...`, then status, mrr,
explain (Chargebee's own mrr beside ours), export and report read it; bad input is one line and an exit code."""

from __future__ import annotations

import json

from importlib import resources

import jsonschema
import pytest

from connector.demo_chargebee import DEFAULT_KEY, NOW, FakeChargebee, build_site
from connector.store import AccountIdentity, open_store
from tests.support.cli import run_cli

SITE_DAY = "2025-01-01"   # the fake site's "now" (NOW)


@pytest.fixture(scope="module")
def served():
    site = build_site(seed=7, customers=32)
    with FakeChargebee(site) as server:   # the Starter limit of a test site: 150/minute
        yield server


def run(args, server, env=None):
    """The CLI with the fake site's address and key (and no Stripe settings at all)."""
    environ = {"CHARGEBEE_API_KEY": DEFAULT_KEY, "CHARGEBEE_API_BASE": server.url, **(env or {})}
    return run_cli(args, base=None, key=None, env=environ)


@pytest.fixture(scope="module")
def synced(served, tmp_path_factory):
    db = tmp_path_factory.mktemp("cb") / "acme.db"
    result = run(["sync", "--provider", "chargebee", "--site", "acme-test", "--db", str(db), "--format", "json"],
                 served)
    assert result.exit_code == 0, result.output
    return db, json.loads(result.stdout)


def test_sync_stores_the_site_and_status_names_the_provider_and_its_cursors(synced, served):
    db, summary = synced
    status = json.loads(run(["status", "--db", str(db), "--format", "json"], served).stdout)
    assert (status["provider"], status["account_id"], status["mode"], status["api_version"]) == (
        "chargebee", "acme-test", "test", "v2/pc2")
    rows = {s["stream"]: s for s in status["streams"]}
    for stream in ("customers", "subscriptions", "invoices", "transactions", "item_prices"):
        assert rows[stream]["rows"] == served.site.count(stream, include_deleted=False), stream
        assert rows[stream]["phase"] == "incremental" and rows[stream]["updated_cursor"]
    assert rows["unbilled_charges"]["next_run"].startswith("read it in full again")
    assert summary["streams"]


def test_mrr_on_the_sites_day_and_explain_shows_chargebees_own_mrr_beside_ours(synced, served):
    db, _ = synced
    current = json.loads(run(["mrr", "current", "--date", SITE_DAY, "--db", str(db), "--format", "json"],
                             served).stdout)
    assert {row["currency"] for row in current["rows"]} >= {"USD", "EUR"}
    active = next(s for s in served.site.objects["subscriptions"]
                  if s["status"] == "active" and not s["deleted"] and s["mrr"] and not s.get("due_invoices_count"))
    explained = json.loads(run(["explain", active["customer_id"], "--date", SITE_DAY, "--section", "provider_mrr",
                                "--db", str(db), "--format", "json"], served).stdout)
    row = next(r for r in explained["provider_mrr"] if r["subscription_id"] == active["id"])
    assert row["provider_mrr"]["amount_minor"] == active["mrr"]
    assert row["our_mrr"]["amount_minor"] == active["mrr"] and row["difference"]["amount_minor"] == 0


def test_export_and_report_read_a_chargebee_store(synced, served, tmp_path):
    db, _ = synced
    result = run(["export", "--to", f"jsonl:{tmp_path / 'out'}", "--db", str(db), "--format", "json"], served)
    assert result.exit_code == 0, result.output
    tables = {t["table"]: t for t in json.loads(result.stdout)["tables"]}
    assert tables["billing_subscriptions"]["rows_sent"] > 0
    lines = [p for p in (tmp_path / "out" / "billing_subscriptions").rglob("*") if p.is_file()]
    providers = {json.loads(line)["provider"] for path in lines for line in path.read_text().splitlines()}
    assert providers == {"chargebee"}
    report = run(["report", "--db", str(db)], served)
    assert report.exit_code == 0 and "MRR" in report.output


def test_a_chargebee_site_into_a_stripe_store_is_refused_in_one_line(served, tmp_path):
    db = tmp_path / "stripe.db"
    store = open_store(db)
    store.bind_account(AccountIdentity("stripe", "acct_1", False, "2026-10-28.endive"))
    store.close()
    result = run(["sync", "--provider", "chargebee", "--site", "acme-test", "--db", str(db)], served)
    assert result.exit_code == 5
    assert result.stderr.strip().splitlines() == [
        f"error: {db} holds a Stripe account (acct_1), not a Chargebee one: one provider account per store; "
        "pass another --db"]
    assert open_store(db, read_only=True).account().provider == "stripe"


@pytest.mark.parametrize("args, env, code, message", [
    (["--provider", "chargebee"], {}, 2, "no Chargebee site"),
    (["--provider", "chargebee", "--site", "Acme Corp"], {}, 2, "is not a site name"),
    (["--provider", "chargebee", "--site", "acme-test"], {"CHARGEBEE_API_KEY": ""}, 3, "CHARGEBEE_API_KEY is not set"),
    (["--provider", "chargebee", "--site", "acme-test"], {"CHARGEBEE_API_KEY": "test_other_site_key_9999"}, 3,
     "rejected the API key"),
    (["--provider", "chargebee", "--site", "acme-test"], {"CHARGEBEE_API_KEY": "test_key\r\nX-Injected: 1"}, 3,
     "CHARGEBEE_API_KEY holds a space, control or non-ASCII character"),
    (["--provider", "paddle"], {}, 2, "--provider"),
])
def test_bad_input_is_one_line_and_its_exit_code(served, tmp_path, args, env, code, message):
    result = run(["sync", *args, "--db", str(tmp_path / "x.db")], served, env)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert not (tmp_path / "x.db").exists()      # nothing written on bad input


def test_the_site_comes_from_the_environment_and_a_flag_wins(served):
    result = run(["auth", "--provider", "chargebee", "--format", "json"], served, {"CHARGEBEE_SITE": "acme-test"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["account_id"] == "acme-test"
    # (with a loopback API base the site names the account only: the flag's site is the one identified)
    result = run(["auth", "--provider", "chargebee", "--site", "other-test", "--format", "json"], served,
                 {"CHARGEBEE_SITE": "acme-test"})
    assert result.exit_code == 0 and json.loads(result.stdout)["account_id"] == "other-test"


def test_doctor_checks_a_chargebee_site(served, tmp_path):
    result = run(["doctor", "--provider", "chargebee", "--site", "acme-test", "--db", str(tmp_path / "none.db"),
                  "--format", "json"], served)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["API"]["status"] == "ok" and "v2/pc2" in checks["API"]["detail"]
    assert checks["API key"]["detail"].startswith("CHARGEBEE_API_KEY: Chargebee API key, test site")
    assert DEFAULT_KEY not in result.output
    assert NOW  # the fake site's day anchors the MRR above


def test_a_key_without_events_access_is_enough_for_a_chargebee_sync(served):
    # Chargebee's streams are listed by update time: the events list is not needed (Stripe's are)
    server_key = "test_no_events_key_0001"
    served.denied[server_key] = {"events"}
    result = run(["auth", "--provider", "chargebee", "--site", "acme-test", "--format", "json"], served,
                 {"CHARGEBEE_API_KEY": server_key})
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert [row["stream"] for row in info["streams"] if not row["readable"]] == ["events"]
    assert "events" not in info["needed"]


def test_doctor_warns_but_does_not_fail_when_a_chargebee_key_may_not_read_events(served, tmp_path):
    served.denied["test_no_events_key_0002"] = {"events"}
    result = run(["doctor", "--provider", "chargebee", "--site", "acme-test", "--db", str(tmp_path / "none.db"),
                  "--format", "json"], served, {"CHARGEBEE_API_KEY": "test_no_events_key_0002"})
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["read events"]["status"] == "warning"
    assert all(c["status"] != "error" for c in checks.values()) and result.exit_code == 0


def test_a_product_catalog_1_site_syncs_through_the_cli(tmp_path):
    site = build_site(seed=2, customers=8, catalog="v1")
    with FakeChargebee(site) as server:
        db = tmp_path / "pc1.db"
        result = run(["sync", "--provider", "chargebee", "--site", "acme-test", "--db", str(db), "--format", "json"],
                     server)
        assert result.exit_code == 0, result.output
        status = json.loads(run(["status", "--db", str(db), "--format", "json"], server).stdout)
        rows = {s["stream"]: s["rows"] for s in status["streams"]}
        assert status["api_version"] == "v2/pc1"
        assert (rows["plans"], rows["addons"], rows["item_prices"]) == (site.count("plans"), site.count("addons"), 0)
        refused = run(["sync", "--provider", "chargebee", "--site", "acme-test", "--streams", "item_prices",
                       "--db", str(db)], server)
        assert refused.exit_code == 2 and "unknown stream 'item_prices'" in refused.stderr


def test_demo_provider_chargebee_json_validates_and_reconciles(tmp_path):
    result = run_cli(["demo", "--provider", "chargebee", "--customers", "16", "--db", str(tmp_path / "d.db"),
                      "--report", str(tmp_path / "r.html"), "--format", "json"], base=None, key=None)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    schema = json.loads(resources.files("connector").joinpath("schemas/output.json").read_text())
    jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/demo"}).validate(document)
    assert document["mrr"]["as_of"] == SITE_DAY and document["mrr"]["policy"] == "chargebee"
    assert document["provider_mrr"] and all(row["ours"] == row["chargebee"] for row in document["provider_mrr"])
