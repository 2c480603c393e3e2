"""Account shapes: what kind of business the demo account is (opt-in; the default is the demo's own).

The scheduler must not be tuned to one account, so the demo can also be shaped
like other Stripe accounts, each binding a different limit when synced:

* ``saas`` (default): the demo account as it has always been (every storyline in
  turn, mixed plans and intervals, a few multi-item subscriptions).
* ``b2c``: many customers on one cheap monthly plan, one-line invoices, a charge
  per invoice; the invoices, charges and invoice payments lists are equally big.
* ``seats``: seat-based B2B: a subscription carries 5-19 items (Stripe allows 20)
  and every invoice adds 10-240 one-off lines (seat changes billed as invoice
  items), so invoices have 20-260 lines and the invoice-lines endpoint binds.
* ``young``: an account a few months old: 40 % of customers have no subscription
  (no invoice at all) and the catalog is large (300 products, 1,800 prices, 400 coupons).
* ``usage``: usage-heavy: every invoice carries 2-7 usage invoice items (lines
  stay within the ten an invoice embeds), so ``/v1/invoiceitems`` is the busiest list.

A shape changes only what a parameter here names; with the default every draw of
the generators happens as before, so the default account stays byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ids import DAY


@dataclass(frozen=True)
class AccountShape:
    name: str = "saas"
    history_days: int = 1095
    # storylines dealt in turn (simulation.STORYLINES when None); "plain" forces nothing
    storylines: tuple[str, ...] | None = None
    # (product key, weight) and (interval, weight) of a plain customer's plan; None: the demo's mix
    plan_mix: tuple[tuple[str, int], ...] | None = None
    interval_mix: tuple[tuple[str, int], ...] | None = None
    metered_share: float = 0.08                 # monthly subscriptions that also bill metered usage
    setup_fee_share: float = 0.3                # first invoices with a one-off setup fee
    comeback_share: float = 0.3                 # churned customers who subscribe again
    extra_items: tuple[int, int] = (0, 0)       # add-on items per subscription (inclusive range)
    one_off_lines: tuple[int, int] = (0, 0)     # invoice items swept into each invoice (inclusive range)
    one_off_label: str = "Usage"
    without_subscription: float = 0.0           # customers who never subscribed
    extra_products: int = 0                     # catalog products beyond the demo's, each with 6 prices
    extra_coupons: int = 0

    @property
    def history_seconds(self) -> int:
        return self.history_days * DAY

    @property
    def extra_addons(self) -> int:
        """Add-on products beyond the demo's twelve that the largest subscription needs."""
        return max(0, self.extra_items[1] - 12)


_PLAIN = ("plain",) * 16
SHAPES: dict[str, AccountShape] = {
    "saas": AccountShape(),
    "b2c": AccountShape(
        name="b2c", storylines=(*_PLAIN, "trialing", "canceled_now", "past_due", "refund_partial"),
        plan_mix=(("starter", 80), ("pro", 20)), interval_mix=(("month", 100),),
        metered_share=0.0, setup_fee_share=0.0, comeback_share=0.05),
    "seats": AccountShape(
        name="seats", storylines=(*_PLAIN, "upgrade", "past_due", "refund_partial", "coupon_forever"),
        plan_mix=(("seats", 100),), interval_mix=(("month", 100),), metered_share=0.0,
        extra_items=(5, 19), one_off_lines=(10, 240), one_off_label="Seat change"),
    "young": AccountShape(
        name="young", history_days=120, without_subscription=0.4, extra_products=300, extra_coupons=400),
    "usage": AccountShape(
        name="usage", storylines=(*_PLAIN, "metered_tiered", "past_due", "refund_partial", "coupon_once"),
        interval_mix=(("month", 100),), metered_share=1.0, one_off_lines=(2, 7)),
}
DEFAULT_SHAPE = SHAPES["saas"]


def shape_named(name: str | AccountShape | None) -> AccountShape:
    """The shape called ``name`` (None: the default); raises ValueError naming the shapes there are."""
    if isinstance(name, AccountShape):
        return name
    if name is None:
        return DEFAULT_SHAPE
    try:
        return SHAPES[name]
    except KeyError:
        raise ValueError(f"unknown account shape {name!r}; one of {', '.join(SHAPES)}") from None
