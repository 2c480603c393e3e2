"""Day and month movements from hand-built segments: kinds, amounts, causes, policy rules."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mrr.engine import Rules, compute_ledgers
from connector.mrr.ledger import Run

from tests.support.segments import seg

HORIZON = date(2024, 12, 31)


def ledger(segments, **rules):
    [result] = compute_ledgers(segments, Rules("default", "fp", **rules), HORIZON)
    return result


def days(result):
    return [(m.day.isoformat(), m.kind, m.amount_minor, m.cause) for m in result.days]


def months(result):
    return [(f.month, f.mrr_minor, f.movement, f.movement_minor, f.cause) for f in result.months]


def test_plan_change_quantity_discount_and_add_on_causes():
    result = ledger([
        seg("c", "2024-01-10", "2024-03-05", 1000, source="si_basic"),
        seg("c", "2024-03-05", "2024-05-01", 3000, source="si_pro"),              # plan change
        seg("c", "2024-05-01", None, 6000, source="si_pro"),                       # quantity 2
        seg("c", "2024-06-01", "2024-09-01", -600, source="di_10", source_type="discount"),
        seg("c", "2024-07-15", None, 500, sub="sub_2", source="si_addon"),        # add-on
        seg("c", "2024-02-01", "2024-02-01", 999, source="si_empty"),             # empty: ignored
    ])
    assert result.runs == [
        Run(date(2024, 1, 10), date(2024, 3, 5), 1000),
        Run(date(2024, 3, 5), date(2024, 5, 1), 3000),
        Run(date(2024, 5, 1), date(2024, 6, 1), 6000),
        Run(date(2024, 6, 1), date(2024, 7, 15), 5400),
        Run(date(2024, 7, 15), date(2024, 9, 1), 5900),
        Run(date(2024, 9, 1), None, 6500),
    ]
    assert days(result) == [
        ("2024-01-10", "new", 1000, "new_subscription"),
        ("2024-03-05", "expansion", 2000, "plan_change"),
        ("2024-05-01", "expansion", 3000, "quantity"),
        ("2024-06-01", "contraction", -600, "discount_start"),
        ("2024-07-15", "expansion", 500, "add_on"),
        ("2024-09-01", "expansion", 600, "discount_end"),
    ]
    assert months(result)[:3] == [
        ("2024-01", 1000, "new", 1000, "new_subscription"),
        ("2024-02", 1000, "", 0, ""),
        ("2024-03", 3000, "expansion", 2000, "plan_change"),
    ]
    assert months(result)[-1] == ("2024-12", 6500, "", 0, "")
    assert sum(f.movement_minor for f in result.months) == 6500


def test_churn_is_booked_in_the_month_after_the_last_month_with_mrr():
    result = ledger([seg("c", "2024-01-15", "2024-03-20", 2000, cause="trial_conversion")])
    assert days(result) == [
        ("2024-01-15", "new", 2000, "trial_conversion"),
        ("2024-03-20", "churn", -2000, "cancellation"),
    ]
    assert months(result) == [
        ("2024-01", 2000, "new", 2000, "trial_conversion"),
        ("2024-02", 2000, "", 0, ""),
        ("2024-03", 0, "churn", -2000, "cancellation"),
    ]


def test_a_gap_shorter_than_the_minimum_is_not_a_churn():
    segments = [seg("c", "2024-01-01", "2024-01-31", 1000), seg("c", "2024-02-10", None, 1000, source="si_2")]
    assert [d[1] for d in days(ledger(segments))] == ["new", "churn", "reactivation"]
    short = ledger(segments, reactivation_min_gap_days=14)
    assert [d[1:3] for d in days(short)] == [("new", 1000), ("contraction", -1000), ("expansion", 1000)]
    assert months(short)[:2] == [
        ("2024-02", 1000, "new", 1000, "new_subscription"),  # first month-end with MRR
        ("2024-03", 1000, "", 0, ""),
    ]


def test_a_short_gap_across_a_month_end_is_contraction_then_expansion():
    segments = [seg("c", "2024-01-01", "2024-02-25", 1000), seg("c", "2024-03-05", None, 1000, source="si_2")]
    result = ledger(segments, reactivation_min_gap_days=30)
    assert months(result)[:3] == [
        ("2024-01", 1000, "new", 1000, "new_subscription"),
        ("2024-02", 0, "contraction", -1000, "cancellation"),
        ("2024-03", 1000, "expansion", 1000, "add_on"),
    ]
    default = ledger(segments)
    assert [f[2] for f in months(default)[:3]] == ["new", "churn", "reactivation"]


def test_same_month_new_and_churn_can_be_ignored_for_what_follows():
    segments = [seg("c", "2024-01-05", "2024-01-20", 1000), seg("c", "2024-03-01", None, 1500, source="si_2")]
    assert months(ledger(segments))[0] == ("2024-03", 1500, "reactivation", 1500, "reactivation")
    ignored = ledger(segments, same_month_new_churn_ignored=True)
    assert [d[1] for d in days(ignored)] == ["new", "churn", "new"]
    assert months(ignored)[0] == ("2024-03", 1500, "new", 1500, "new_subscription")


def test_currencies_are_separate_ledgers_and_usage_is_optional():
    segments = [
        seg("c", "2024-01-01", None, 1000),
        seg("c", "2024-01-01", None, 900, currency="eur", source="si_eur"),
        seg("c", "2024-01-01", None, 300, source="mi_usage").__class__(
            customer_id="c", currency="usd", start=date(2024, 1, 1), end=None, mrr_minor=300, series="usage",
            source_type="subscription_item", source_id="si_usage", subscription_id="sub_1",
        ),
    ]
    without = compute_ledgers(segments, Rules("default", "fp"), HORIZON)
    assert [(l.currency, l.runs) for l in without] == [
        ("eur", [Run(date(2024, 1, 1), None, 900)]),
        ("usd", [Run(date(2024, 1, 1), None, 1000)]),
    ]
    with_usage = compute_ledgers(segments, Rules("default", "fp", include_usage_in_mrr=True), HORIZON)
    assert with_usage[1].runs == [Run(date(2024, 1, 1), None, 1300)]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from datetime import timedelta  # noqa: E402

from connector.mrr.ledger import last_day_of_month, mrr_on  # noqa: E402
from connector.mrr.model import Segment  # noqa: E402

_span = st.tuples(st.integers(0, 500), st.one_of(st.none(), st.integers(1, 120)), st.integers(-500, 5000))


@settings(max_examples=150, deadline=None)
@given(spans=st.lists(_span, min_size=1, max_size=6), min_gap=st.sampled_from([0, 10, 45]), ignore=st.booleans())
def test_movements_always_add_up_to_the_mrr_change(spans, min_gap, ignore):
    base = date(2023, 1, 1)
    segments = [
        Segment("c", "usd", base + timedelta(days=o), None if n is None else base + timedelta(days=o + n), a,
                source_id=f"s{i}", subscription_id="sub")
        for i, (o, n, a) in enumerate(spans)
    ]
    results = compute_ledgers(segments, Rules("p", "fp", min_gap, ignore), HORIZON)
    for result in results:
        final = result.days[-1].after_minor if result.days else 0
        assert sum(m.amount_minor for m in result.days) == final
        for earlier, later in zip(result.days, result.days[1:]):
            assert earlier.after_minor == later.before_minor
        for figure in result.months:
            assert figure.movement_minor == figure.mrr_minor - figure.start_mrr_minor
            month_end = last_day_of_month(int(figure.month[:4]), int(figure.month[5:]))
            assert figure.mrr_minor == mrr_on(result.runs, month_end)
            assert (figure.movement == "") == (figure.movement_minor == 0)
        if result.months:
            assert sum(f.movement_minor for f in result.months) == result.months[-1].mrr_minor


def test_the_current_month_is_the_mrr_on_the_as_of_day():
    segments = [seg("c", "2024-01-10", "2024-03-30", 2000)]   # cancellation scheduled for 30 March
    rules = Rules("default", "fp")
    [before] = compute_ledgers(segments, rules, date(2024, 3, 23))
    assert months(before)[-1] == ("2024-03", 2000, "", 0, "")
    [after] = compute_ledgers(segments, rules, date(2024, 3, 30))
    assert months(after)[-1] == ("2024-03", 0, "churn", -2000, "cancellation")


@given(st.lists(st.tuples(st.sampled_from(["si_a", "si_b", "si_c", ""]), st.integers(0, 3), st.integers(1, 3)),
                min_size=1, max_size=5))
@settings(max_examples=200, deadline=None)
def test_each_movement_names_the_sorted_distinct_sources_of_the_pieces_that_start_or_end_on_its_day(pieces):
    """Day movements take a shortcut for one piece replacing another: same sources as the general rule."""
    segments = []
    for source, start_month, months_long in pieces:
        start = date(2024, 1 + start_month, 1)
        segments.append(seg("c", start.isoformat(), date(2024, 1 + start_month + months_long, 1).isoformat(),
                            1000 + 100 * len(segments), source=source))
    result = ledger(segments)
    for movement in result.days:
        touching = {s.source_id for s in segments if movement.day in (s.start, s.end) and s.source_id}
        assert movement.source_ids == tuple(sorted(touching))
    for figure in result.months:
        assert figure.source_ids == tuple(sorted(figure.source_ids)) and len(set(figure.source_ids)) == len(figure.source_ids)
