"""The errors a run can end with, each with its documented exit code.

The CLI turns any ``ConnectorError`` into one line on stderr and its exit code;
anything else is a bug and keeps its traceback. Messages never contain a secret:
an API key is only ever shown through ``config.describe_key``, and every
message passes through ``redact.redact`` when the error is made, so server text
quoted in it (a 400 repeating the Authorization header) cannot carry a secret.
"""

from .redact import redact

EXIT_OK = 0
EXIT_FAILED = 1           # a run failed for a reason not listed below
EXIT_USAGE = 2            # bad flag, bad config file, bad input file
EXIT_AUTH = 3             # missing, malformed or rejected API key (401)
EXIT_PERMISSION = 4       # the key may not read a stream (403) or it is absent (404)
EXIT_STORE = 5            # store file unreadable, not SQLite, other account or mode
EXIT_UNAVAILABLE = 6      # rate limited or provider unavailable beyond the retry budget
EXIT_EXPORT = 7           # an export target refused or failed; its watermark is unchanged
EXIT_REJECTED = 8         # the run completed, but some records were rejected (quarantined; see `status`)
EXIT_LOCKED = 9           # another process holds the store (a sync already running)

EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_FAILED: "the run failed",
    EXIT_USAGE: "usage or configuration error",
    EXIT_AUTH: "API key missing, malformed or rejected",
    EXIT_PERMISSION: "the key may not read a stream, or the endpoint does not exist",
    EXIT_STORE: "the store file is unusable or belongs to another account or mode",
    EXIT_UNAVAILABLE: "rate limited or provider unavailable after all retries",
    EXIT_EXPORT: "an export target failed; nothing was marked exported",
    EXIT_REJECTED: "completed, but some records were rejected and quarantined",
    EXIT_LOCKED: "another process holds the store",
}


class ConnectorError(Exception):
    """An expected failure with a message written for the person running the tool."""

    exit_code = EXIT_FAILED

    def __init__(self, message: object = "", *args: object):
        super().__init__(redact(str(message)), *args)


class ConfigError(ConnectorError):
    exit_code = EXIT_USAGE


class AuthError(ConnectorError):
    exit_code = EXIT_AUTH


class PermissionDenied(ConnectorError):
    exit_code = EXIT_PERMISSION


class NotFound(PermissionDenied):
    """HTTP 404 without the provider's proof that an object is gone: no such endpoint, or not its answer.

    Never a reason to delete anything: an HTML page from a proxy, or a JSON
    error without Stripe's ``code: resource_missing``, says nothing about the object.
    """


class ResourceMissing(NotFound):
    """The provider's own word that the object does not exist (Stripe: JSON ``resource_missing``)."""


class StoreError(ConnectorError):
    exit_code = EXIT_STORE


class UpstreamUnavailable(ConnectorError):
    exit_code = EXIT_UNAVAILABLE


class ExportError(ConnectorError):
    exit_code = EXIT_EXPORT


class StoreLocked(ConnectorError):
    """Another process (a sync already running) holds the store."""

    exit_code = EXIT_LOCKED


class PaginationError(ConnectorError):
    """A list that would loop: a repeated cursor, or has_more with an empty page."""

    exit_code = EXIT_FAILED
