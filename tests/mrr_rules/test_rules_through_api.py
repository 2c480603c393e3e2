"""Every rule of docs/mrr-rules.md on an account built through Stripe's API on the demo server (today's
API version, the official SDK), synced by the connector, with the exact MRR and movements asserted.

Each case starts an empty demo account on 2026-11-01, creates what it needs, moves the account clock
while Stripe's billing runs (connector/demo/live.py), syncs a fresh store as of the clock's day and
reads the facts, under the default policy and the presets the rule names.
"""

from __future__ import annotations

import pytest

from connector.demo import DemoServer
from connector.demo.live import FAILING_PAYMENT_METHOD as FAILING
from tests.support.api_account import DAY, START, ApiAccount, movements, mrr_on, mrr_tables
from tests.support.contract.demo_client import DemoClient
from tests.support.contract.response_check import ResponseChecker


@pytest.fixture
def api():
    with DemoServer(seed=1, customers=0, now=1_793_491_200) as server:
        account = ApiAccount(server)
        try:
            yield account
        finally:
            account.close()


def test_a_converted_trial_is_new_from_its_end(api):
    api.subscribe(api.price(10000), trial_end=api.clock + 14 * 86_400)
    api.advance_to(40)
    store = api.sync()
    assert movements(store) == [(api.day(14), "new", 10000, "trial_conversion")]
    assert mrr_on(store, api.day(13)) == {}


def test_a_trial_canceled_before_it_converts_has_no_mrr_and_the_later_payment_is_new(api):
    trial = api.subscribe(api.price(10000), trial_end=api.clock + 14 * 86_400)
    api.advance_to(9)
    api.cancel(trial)
    api.advance_to(30)
    api.subscribe(api.price(10000), customer=api.customer_of(trial))
    api.advance_to(45)
    store = api.sync()
    assert movements(store) == [(api.day(30), "new", 10000, "new_subscription")]
    assert movements(store, "stripe") == [(api.day(30), "new", 10000, "new_subscription")]


def test_a_trial_ending_with_cancel_at_period_end_never_has_mrr(api):
    api.subscribe(api.price(10000), trial_end=api.clock + 14 * 86_400, cancel_at_period_end=True)
    api.advance_to(40)
    store = api.sync()
    assert movements(store) == []
    assert movements(store, "stripe") == []
    assert movements(store, "chargebee") == []


@pytest.mark.parametrize("amount, tax_behavior, percentage, inclusive, on", [
    (12000, "inclusive", 20.0, True, "item"),        # $120 including 20 %: $100
    (10000, "exclusive", 20.0, False, "item"),       # $100 plus 20 %: $100
    (12000, "unspecified", 20.0, True, "item"),      # unspecified with an inclusive rate: inclusive
    (12000, "unspecified", 20.0, True, "default"),   # the subscription's default rate decides the same
    (10000, None, 8.25, False, "default"),           # no tax behaviour, exclusive rate: $100
])
def test_taxes_are_never_mrr_whatever_the_behaviour(api, amount, tax_behavior, percentage, inclusive, on):
    price, rate = api.price(amount, tax_behavior=tax_behavior), api.tax_rate(percentage, inclusive)
    rates = {"item_tax_rates": [rate]} if on == "item" else {"default_tax_rates": [rate]}
    api.subscribe(price, **rates)
    api.advance_to(70)   # two renewals: the invoice lines and the live item agree to the cent
    store = api.sync()
    assert movements(store) == [(api.day(0), "new", 10000, "new_subscription")]


def test_a_repeating_coupon_on_an_annual_plan_discounts_the_whole_invoiced_year(api):
    coupon = api.coupon(percent_off=20, duration="repeating", duration_in_months=3)
    api.subscribe(api.price(120000, "year"), discounts=[{"coupon": coupon}])
    api.advance_to(200)
    store = api.sync()
    assert movements(store) == [(api.day(0), "new", 8000, "new_subscription")]
    assert mrr_on(store, api.day(199)) == {"usd": 8000}


def test_a_repeating_coupon_on_a_monthly_plan_ends_with_its_months(api):
    coupon = api.coupon(percent_off=20, duration="repeating", duration_in_months=3)
    api.subscribe(api.price(10000), discounts=[{"coupon": coupon}])
    api.advance_to(100)
    store = api.sync()
    # 2026-11-01 + 3 months = 2027-02-01, day 92
    assert movements(store) == [(api.day(0), "new", 8000, "new_subscription"),
                                (api.day(92), "expansion", 2000, "discount_end")]


def test_unpaid_churns_when_it_became_unpaid_and_past_due_counts_until_then(api):
    subscription = api.subscribe(api.price(10000))
    api.advance_to(5)
    api.update(subscription, default_payment_method=FAILING)
    api.advance_to(50)   # the renewal of day 30 fails: past_due, unpaid 14 days later (day 44)
    store = api.sync()
    assert movements(store) == [(api.day(0), "new", 10000, "new_subscription"),
                                (api.day(44), "churn", -10000, "cancellation")]
    assert mrr_on(store, api.day(43)) == {"usd": 10000}
    assert movements(store, "stripe") == movements(store)
    # once Stripe no longer keeps the event (a fresh store as an old one): the end of the failed period
    api.advance_to(80)
    assert movements(api.sync()) == [(api.day(0), "new", 10000, "new_subscription"),
                                     (api.day(61), "churn", -10000, "cancellation")]


def test_a_full_refund_through_the_invoice_payment_makes_the_period_unpaid(api):
    subscription = api.subscribe(api.price(10000))
    api.advance_to(35)
    api.refund_latest(subscription)   # the renewal of day 30, found through its invoice payment
    api.advance_to(70)                # the next renewal (day 61) is paid
    store = api.sync()
    assert movements(store) == [(api.day(0), "new", 10000, "new_subscription"),
                                (api.day(30), "churn", -10000, "cancellation"),
                                (api.day(61), "reactivation", 10000, "reactivation")]


@pytest.mark.parametrize("policy, overrides, churn_day", [
    ("default", {}, 30), ("stripe", {}, 10), ("stripe", {"stripe_churn": "at_period_end"}, 30),
    ("chartmogul", {}, 30), ("chargebee", {}, 30),
])
def test_a_cancellation_at_the_period_end_churns_where_the_policy_says(api, policy, overrides, churn_day):
    subscription = api.subscribe(api.price(10000))
    api.advance_to(10)
    api.update(subscription, cancel_at_period_end=True)
    api.advance_to(45)
    kind = "contraction" if policy == "chargebee" else "churn"
    assert movements(api.sync(), policy, **overrides) == [
        (api.day(0), "new", 10000, "new_subscription"), (api.day(churn_day), kind, -10000, "cancellation")]


@pytest.mark.parametrize("policy, overrides, first", [
    ("default", {}, 10000), ("stripe", {}, 10000), ("stripe", {"stripe_discounts": "one_time"}, 5000),
    ("stripe", {"stripe_discounts": "both"}, 5000), ("profitwell", {}, 5000), ("chartmogul", {}, 5000),
])
def test_a_once_coupon_counts_as_the_policy_says(api, policy, overrides, first):
    api.subscribe(api.price(10000), discounts=[{"coupon": api.coupon(percent_off=50, duration="once")}])
    api.advance_to(45)
    expected = [(api.day(0), "new", first, "new_subscription")]
    if first != 10000:
        expected.append((api.day(30), "expansion", 10000 - first, "discount_end"))
    assert movements(api.sync(), policy, **overrides) == expected


def churned_and_back(api, cancel_day: int, return_day: int):
    """A $100/month customer canceled at once on ``cancel_day``, subscribed again on ``return_day``."""
    first = api.subscribe(api.price(10000))
    api.advance_to(cancel_day)
    api.cancel(first)
    api.advance_to(return_day)
    api.subscribe(api.price(10000), customer=api.customer_of(first))
    api.advance_to(return_day + 5)
    return api.sync()


def test_chargebee_reports_a_return_under_expansion_and_the_churn_under_contraction(api):
    store = churned_and_back(api, 10, 50)
    assert movements(store) == [(api.day(0), "new", 10000, "new_subscription"),
                                (api.day(10), "churn", -10000, "cancellation"),
                                (api.day(50), "reactivation", 10000, "reactivation")]
    assert [m[1] for m in movements(store, "chargebee")] == ["new", "contraction", "expansion"]
    # chartmogul: canceled at once, the billed period still counts (to day 30)
    assert movements(store, "chartmogul")[1] == (api.day(30), "churn", -10000, "cancellation")


def test_profitwell_leaves_out_a_customer_new_and_churned_in_the_same_month(api):
    store = churned_and_back(api, 12, 40)   # new and churned in November: back in December as new
    assert mrr_on(store, api.day(29)) == {}    # November's figure: the MRR on its last day
    assert movements(store)[-1] == (api.day(40), "reactivation", 10000, "reactivation")
    assert movements(store, "profitwell")[-1] == (api.day(40), "new", 10000, "new_subscription")


@pytest.mark.parametrize("new_amount, quantity, change_day, renewal_day, kind, cause", [
    (None, 2, 10, 30, "expansion", "quantity"),         # 1 -> 2 seats
    (20000, None, 10, 30, "expansion", "plan_change"),  # $100 -> $200
    (None, 0, 40, 61, "churn", "cancellation"),         # to 0 seats mid-period
    (0, None, 40, 61, "churn", "cancellation"),         # to a $0 plan mid-period
])
def test_a_change_without_proration_is_dated_by_its_event_then_by_the_renewal_never_backdated(
        api, new_amount, quantity, change_day, renewal_day, kind, cause):
    subscription = api.subscribe(api.price(10000))
    item = {"quantity": quantity} if quantity is not None else {"price": api.price(new_amount)}
    api.advance_to(change_day)
    api.change_item(subscription, proration_behavior="none", **item)
    amount = 10000 if kind == "expansion" else -10000
    api.advance_to(change_day + 5)   # the event is kept: it dates the change
    assert movements(api.sync()) == [(api.day(0), "new", 10000, "new_subscription"),
                                     (api.day(change_day), kind, amount, cause)]
    api.advance_to(change_day + 35)  # gone from Stripe's 30 days: the first invoice billing the change dates it
    assert movements(api.sync()) == [(api.day(0), "new", 10000, "new_subscription"),
                                     (api.day(renewal_day), kind, amount, cause)]


def test_an_event_dates_a_change_only_within_the_current_period(api):
    """An event older than the current period (though still kept) re-dates nothing: history is what the
    invoices billed, for a store that saw the event while its period was current as for a fresh one."""
    subscription = api.subscribe(api.price(10000))
    api.advance_to(25)
    api.change_item(subscription, quantity=2, proration_behavior="none")
    api.advance_to(27)
    nightly = api.sync()
    assert movements(nightly)[-1] == (api.day(25), "expansion", 10000, "quantity")
    api.advance_to(35)   # a new period began on day 30; the event (day 25) is still among the kept ones
    api.sync(nightly)
    fresh = api.sync()
    expected = [(api.day(0), "new", 10000, "new_subscription"), (api.day(30), "expansion", 10000, "quantity")]
    assert movements(nightly) == movements(fresh) == expected
    assert mrr_tables(nightly) == mrr_tables(fresh)


def test_a_change_with_prorations_is_dated_by_the_proration_line_for_good(api):
    subscription = api.subscribe(api.price(10000))
    api.advance_to(10)
    api.change_item(subscription, quantity=2)
    api.advance_to(75)
    assert movements(api.sync()) == [(api.day(0), "new", 10000, "new_subscription"),
                                     (api.day(10), "expansion", 10000, "quantity")]


def test_an_annual_plan_changed_without_proration_is_never_backdated(api):
    subscription = api.subscribe(api.price(120000, "year"))
    api.advance_to(120)
    api.change_item(subscription, quantity=2, proration_behavior="none")
    api.advance_to(160)
    store = api.sync()
    assert movements(store) == [(api.day(0), "new", 10000, "new_subscription")]
    assert mrr_on(store, api.day(159)) == {"usd": 10000}


def test_a_schedule_phase_dates_a_change_for_as_long_as_the_schedule_is_kept(api):
    price = api.price(120000, "year")
    subscription = api.subscribe(price)
    api.advance_to(5)
    schedule = api.sdk.v1.subscription_schedules.create(params={"from_subscription": subscription})
    api.sdk.v1.subscription_schedules.update(schedule.id, params={"phases": [
        {"items": [{"price": price, "quantity": 1}], "start_date": schedule.phases[0].start_date,
         "end_date": START + 100 * DAY},
        {"items": [{"price": price, "quantity": 2}], "start_date": START + 100 * DAY,
         "end_date": START + 800 * DAY, "proration_behavior": "none"},
    ]})
    api.advance_to(150)   # the phase began on day 100; its event has left Stripe's 30 days, the schedule has not
    store = api.sync()
    assert movements(store) == [(api.day(0), "new", 10000, "new_subscription"),
                                (api.day(100), "expansion", 10000, "quantity")]


@pytest.mark.parametrize("proration, new_day", [("none", 10), ("create_prorations", 0)])
def test_a_future_billing_cycle_anchor_without_proration_is_free_until_the_anchor(api, proration, new_day):
    api.subscribe(api.price(10000), billing_cycle_anchor=START + 10 * DAY, proration_behavior=proration)
    api.advance_to(5)
    assert movements(api.sync()) == ([] if proration == "none" else [(api.day(0), "new", 10000, "new_subscription")])
    api.advance_to(20)
    assert movements(api.sync()) == [(api.day(new_day), "new", 10000, "new_subscription")]


@pytest.mark.parametrize("proration", ["none", "create_prorations"])
def test_a_billing_cycle_reset_dates_the_change_at_the_new_anchor(api, proration):
    subscription = api.subscribe(api.price(10000))
    api.advance_to(10)
    api.change_item(subscription, price=api.price(20000), proration_behavior=proration, billing_cycle_anchor="now")
    assert api.sdk.v1.subscriptions.retrieve(subscription).billing_cycle_anchor == START + 10 * DAY
    api.advance_to(75)   # two periods from the new anchor, the event long gone
    store = api.sync()
    assert movements(store) == [(api.day(0), "new", 10000, "new_subscription"),
                                (api.day(10), "expansion", 10000, "plan_change")]
    assert mrr_on(store, api.day(20)) == {"usd": 20000}


def test_what_the_rule_accounts_serve_is_held_to_stripes_definitions(api):
    """The objects these cases are built from, read as the connector reads them, pass the SDK contract."""
    price, rate = api.price(12000, tax_behavior="inclusive"), api.tax_rate(20.0, True)
    coupon = api.coupon(percent_off=20, duration="repeating", duration_in_months=3)
    subscription = api.subscribe(price, item_tax_rates=[rate], discounts=[{"coupon": coupon}])
    api.advance_to(5)
    schedule = api.sdk.v1.subscription_schedules.create(params={"from_subscription": subscription}).id
    api.change_item(subscription, quantity=2)
    api.advance_to(40)
    client, checker = DemoClient(api.server), ResponseChecker()
    checks = [
        (f"/v1/subscriptions/{subscription}", "subscription", {"expand[]": "schedule"}, ["schedule"]),
        (f"/v1/subscription_schedules/{schedule}", "subscription_schedule", {}, []),
        (f"/v1/tax_rates/{rate}", "tax_rate", {}, []),
        (f"/v1/prices/{price}", "price", {}, []),
        (f"/v1/coupons/{coupon}", "coupon", {}, []),
    ]
    for path, name, params, expand in checks:
        checker.check_body(client.get(path, **params), name, expand)
    for path, name in (("/v1/invoices", "invoice"), ("/v1/invoice_payments", "invoice_payment"),
                       ("/v1/charges", "charge"), ("/v1/invoiceitems", "invoiceitem"), ("/v1/events", "event")):
        checker.check_body(client.get(path, limit=100), name, is_list=True)
    assert [str(p) for p in checker.problems] == []
    assert checker.objects >= 20


def test_syncing_along_the_way_gives_the_tables_of_one_fresh_sync(api):
    """Incremental == fresh on the rule accounts: changes of every kind, synced at several moments."""
    annual, monthly = api.price(120000, "year"), api.price(10000)
    a = api.subscribe(annual)
    b = api.subscribe(monthly, trial_end=START + 14 * DAY)
    c = api.subscribe(monthly, discounts=[{"coupon": api.coupon(percent_off=20, duration="repeating",
                                                                 duration_in_months=2)}])
    nightly = api.sync()
    for day, step in ((9, lambda: api.change_item(a, quantity=2, proration_behavior="none")),
                      (20, lambda: api.update(c, default_payment_method=FAILING)),
                      (33, lambda: api.change_item(b, quantity=3)),
                      (47, lambda: api.update(b, cancel_at_period_end=True)),
                      (70, lambda: api.change_item(c, price=monthly, quantity=0, proration_behavior="none"))):
        api.advance_to(day)
        step()
        if day % 2:
            api.sync(nightly)
    api.advance_to(90)
    api.sync(nightly)
    assert mrr_tables(nightly) == mrr_tables(api.sync())

