"""Chargebee's error bodies, as the API sends them (see ../shared/reference/chargebee/*.json)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, error_code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_code = error_code or code


def error_body(status: int, code: str, message: str, error_code: str | None = None) -> dict[str, Any]:
    return {"message": message, "api_error_code": code, "error_code": error_code or code,
            "error_msg": message, "http_status_code": status}


RATE_LIMITED = (
    "Sorry, access has been blocked temporarily due to request count exceeding acceptable limits. "
    "Please try after some time."
)
AUTH_FAILED = "Sorry, authentication failed. Invalid api key."
INTERNAL = "Sorry,Something went wrong when trying to process the request."
