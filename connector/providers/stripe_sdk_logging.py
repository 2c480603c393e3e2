"""The Stripe SDK's log calls, made only when someone reads them and never able to raise.

Imported once by the adapter (providers/stripe.py): it replaces the requestor's
``log_debug``/``log_info`` with calls that first ask whether ``STRIPE_LOG`` or the
``stripe`` logger wants the line.
"""

from __future__ import annotations

import logging
from typing import Any

from stripe import _api_requestor as stripe_requestor, _util as stripe_util


def _when_enabled(write: Any, level: int, console_levels: tuple[str, ...]) -> Any:
    """The SDK's log call, made only when someone reads it (``STRIPE_LOG`` or the ``stripe`` logger).

    Its requestor formats every response body for a debug line before the logger
    decides to drop it (a ``repr`` of the whole page: 4 % of the sync's CPU), and
    decodes it as strict UTF-8, which a truncated body makes raise.
    """
    def log_call(message: str, **params: Any) -> None:
        if stripe_util._console_log_level() in console_levels or stripe_util.logger.isEnabledFor(level):
            # the SDK decodes a body as strict UTF-8 to format it: a body cut inside a character
            # (a truncated response, retried as such) must not raise from the log line
            write(message, **{key: value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray))
                              else value for key, value in params.items()})
    return log_call


if hasattr(stripe_requestor, "log_debug") and hasattr(stripe_util, "_console_log_level"):
    stripe_requestor.log_debug = _when_enabled(stripe_util.log_debug, logging.DEBUG, ("debug",))
    stripe_requestor.log_info = _when_enabled(stripe_util.log_info, logging.INFO, ("debug", "info"))
