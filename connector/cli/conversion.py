"""The reporting-currency options every MRR read shares: --reporting-currency, --rates, --refresh-rates."""

from __future__ import annotations

import click

from ..errors import ConfigError


def conversion_options(func):
    func = click.option(
        "--refresh-rates", is_flag=True,
        help="Download the ECB's newest reference rates into the cache first (needs a network; the rates "
        "shipped with the package are used otherwise).",
    )(func)
    func = click.option(
        "--rates", type=click.Path(dir_okay=False), default=None,
        help="CSV of exchange rates (currency,rate[,month]); its currencies take precedence over the ECB's "
        "(default: setting mrr.rates_file). Example: --rates rates.csv",
    )(func)
    return click.option(
        "--reporting-currency", default=None,
        help="Also show every figure converted into this currency at ECB reference rates (default: setting "
        "mrr.reporting_currency). Example: --reporting-currency USD",
    )(func)


def reporting_rates(settings, rates_path: str | None, refresh_rates: bool):
    """The rates of the converted view, or None when no reporting currency is set.

    A rates file without a reporting currency is an error: nothing is converted at a guessed target.
    """
    from ..mrr import ecb
    from ..mrr.reporting_rates import open_rates

    path = rates_path or settings.rates_file
    if not settings.reporting_currency:
        if rates_path:
            raise ConfigError("--rates needs a reporting currency: pass --reporting-currency or set "
                              "mrr.reporting_currency")
        return None
    if refresh_rates:
        target = ecb.refresh()
        click.echo(f"refreshed the ECB reference rates into {target}", err=True)
    return open_rates(settings.reporting_currency, path)
