"""Errors that carry one clear message per problem (file, row/field, what was expected)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in one input: where it is and what was expected."""

    file: str
    message: str
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", column '{self.field}'"
        return f"{where}: {self.message}"


def row_problem(file: str, data_row: int, message: str, field: str | None = None) -> Problem:
    """A problem in a table row; rows are 1-based DATA rows (the header is not counted),
    and the message says which line of the file that is."""
    return Problem(
        str(file),
        f"{message} (data row {data_row} = line {data_row + 1} of the file, counting the header)",
        data_row,
        field,
    )


class InputError(Exception):
    """Bad input: one or more problems, each naming the file and what is wrong."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(file or "<input>", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems found:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
