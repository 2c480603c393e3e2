"""One line of the doctor's checklist, and the statuses it can have."""

from __future__ import annotations

from dataclasses import asdict, dataclass

OK, WARNING, ERROR = "ok", "warning", "error"

Account = tuple[str, str] | None     # (account id, "live" | "test") the key reaches


@dataclass(frozen=True)
class Check:
    name: str
    status: str          # ok | warning | error
    detail: str          # what was found
    action: str = ""     # what to do about it (empty when nothing is needed)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
