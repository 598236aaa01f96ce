"""User-facing input errors: one line per problem, pointing at file, line and column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place of one input file."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(ValueError):
    """Bad user input; carries every problem found, each printable on one line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(
        cls, file: str, message: str, path: str = "", line: int = 0, col: int = 0
    ) -> InputError:
        return cls([Problem(str(file), line, col, path, message)])


def join_path(parts: tuple[object, ...]) -> str:
    """Dotted key path for messages: ('a', 0, 'b') -> 'a[0].b'."""
    out = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
