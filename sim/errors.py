"""User-facing input errors: one line per problem, pointing at file, line and column."""

from __future__ import annotations

from dataclasses import dataclass

from sim.visible import visible

MAX_PROBLEMS = 100


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
        line = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return visible(line)  # one line, whatever a name or a value holds


class InputError(ValueError):
    """Bad user input; carries every problem found, each printable on one line."""

    def __init__(self, problems: list[Problem]):
        ordered = sorted(problems)
        if len(ordered) > MAX_PROBLEMS:  # a hostile file can make thousands
            rest = len(ordered) - MAX_PROBLEMS
            ordered = [
                *ordered[:MAX_PROBLEMS],
                Problem(ordered[0].file, 0, 0, "", f"... and {rest:,} more problems"),
            ]
        self.problems = ordered
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
            text = str(part)
            text = text if text.isprintable() and len(text) <= 60 else repr(text)[:60]
            out += ("." if out else "") + text
    return out
