"""The one redaction step every text that may carry server or secret text passes through.

Server error messages, log records, error lines, `doctor --json` details and
anything stored or exported from an error go through :func:`redact` first. It
removes, in this order:

* the value of an ``Authorization`` header and any ``Bearer``/``Basic`` token;
* any Stripe key pattern (``sk_``/``rk_``/``pk_``/``whsec_``, live or test):
  another account's key is a secret too;
* the exact configured API key (registered by ``Settings.api_key``) and the
  forms it travels in: base64 at any byte alignment (Basic auth, a logged
  header dump), and the URL-encoding of those.

Redaction is idempotent: redacting a redacted text changes nothing.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import quote

REDACTED = "[REDACTED]"

_STRIPE_KEY = re.compile(r"\b((?:sk|rk|pk)_(?:live|test)_|whsec_)[A-Za-z0-9]{4,}")
_AUTHORIZATION = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?!\[REDACTED\])[^\s\"',;}]+(?:\s+(?!\[REDACTED\])[^\s\"',;}]+)?")
_TOKEN = re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)(?!\[REDACTED\])[A-Za-z0-9._~+/=%-]{4,}")

_lock = threading.Lock()
_secret_forms: list[str] = []  # longest first, so a form never hides inside a shorter one
_secret_bytes: list[bytes] = []  # the same, encoded: what scrub_secrets looks for in a response body


def _base64_cores(secret: bytes) -> set[str]:
    """The part of base64(x + secret + y) that is the same whatever x and y are, per alignment."""
    cores = set()
    for pad in range(3):
        groups = (pad + len(secret)) // 3
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + secret).decode("ascii")
            core = encoded[4 if pad else 0: 4 * groups]
            if len(core) >= 8:
                cores.add(core)
    return cores


def register_secret(secret: str) -> None:
    """Redact this exact value (and its encodings) from now on; the API key is registered when read."""
    if len(secret) < 8:
        return  # too short to search for without redacting ordinary words
    forms = {secret, quote(secret, safe="")}
    for core in _base64_cores(secret.encode("utf-8")):
        forms.update({core, quote(core, safe="")})
    with _lock:
        for form in forms:
            if form not in _secret_forms:
                _secret_forms.append(form)
        _secret_forms.sort(key=len, reverse=True)
        _secret_bytes[:] = [form.encode("utf-8") for form in _secret_forms]


def redact(text: str) -> str:
    """``text`` with every secret, key pattern and Authorization value replaced by [REDACTED]."""
    if not text:
        return text
    # Whole header values and tokens first, so an encoded key inside one goes with its tail.
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
    text = _TOKEN.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _STRIPE_KEY.sub(lambda m: m.group(1) + REDACTED, text)
    with _lock:
        forms = list(_secret_forms)
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def scrub_secrets(body: bytes) -> bytes | None:
    """``body`` with every registered secret form replaced by [REDACTED]; None when it holds none.

    For a server's answers before anything is parsed or stored: a server that echoes the key
    (in an object's description, a metadata value, an error) must not get it into the store, its
    exports or a report. Only the configured key's own forms are looked for, not key *patterns*:
    an object may legitimately hold a publishable key. A form is letters, digits and ``+/=%_-``,
    so the replacement keeps a JSON text valid.
    """
    with _lock:
        forms = list(_secret_bytes)
    found = [form for form in forms if form in body]
    if not found:
        return None
    for form in found:
        body = body.replace(form, REDACTED.encode())
    return body


class RedactingFilter(logging.Filter):
    """A log filter that renders each record once and redacts it (message and traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_redaction() -> None:
    """Put the filter on every handler a record can reach: root's handlers and the last resort."""
    handlers = list(logging.getLogger().handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
