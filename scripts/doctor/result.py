"""One line of the doctor's report: what was checked, how it went, and the command that fixes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(Enum):
    """How a check went. Only FAIL makes `doctor` exit non-zero."""

    OK = "ok"
    FAIL = "fail"
    WARN = "warn"  # could not be confirmed, or works but not as recommended
    SKIP = "skip"  # not run: an earlier check it depends on failed

    @property
    def mark(self) -> str:
        return _MARKS[self]


_MARKS = {Status.OK: "✓", Status.FAIL: "✗", Status.WARN: "!", Status.SKIP: "–"}


@dataclass(frozen=True)
class Check:
    """`name`: what was checked; `detail`: one line saying what was found; `fix`: the command (or
    commands, one a line) that fixes a failed check, copy-pasteable; empty when nothing to fix."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict, compare=False)  # for --format json

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status.value, "detail": self.detail}
        if self.fix:
            out["fix"] = self.fix
        if self.data:
            out["data"] = self.data
        return out


def ok(name: str, detail: str, **data: Any) -> Check:
    return Check(name, Status.OK, detail, data=data)


def fail(name: str, detail: str, fix: str = "", **data: Any) -> Check:
    return Check(name, Status.FAIL, detail, fix, data=data)


def warn(name: str, detail: str, fix: str = "", **data: Any) -> Check:
    return Check(name, Status.WARN, detail, fix, data=data)


def skip(name: str, reason: str) -> Check:
    return Check(name, Status.SKIP, f"skipped: {reason}")


def first_names(names: tuple[str, ...]) -> str:
    """`a, b and 3 more`: the experiments a line is about, kept short."""
    return ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
