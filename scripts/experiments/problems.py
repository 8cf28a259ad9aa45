"""What is wrong with an experiments file, and where: the one error type the language raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scripts.errors import UserError


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at one place: `str()` is `FILE:LINE:COL: dotted.field.path: message`."""

    file: str
    line: int
    column: int
    field: str
    message: str

    @classmethod
    def at(cls, where: Any, field: str, message: str) -> Problem:
        """A problem at a `source.Position` (or anything with its file, line and column)."""
        return cls(where.file, where.line, where.column, field, message)

    def __str__(self) -> str:
        field = self.field or "(file)"
        message = " ".join(self.message.split())  # always one line
        return f"{self.file}:{self.line}:{self.column}: {field}: {message}"


class InvalidExperiments(UserError):
    """Every problem found in an experiments file (or in the profile and overrides applied to it)."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))
