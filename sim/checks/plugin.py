"""The pytest plugin (entry point `pytest11`): expectation files become test items.

Every file matching the ini option `cancelsim_expectations` (glob patterns relative to
the rootdir, e.g. `tests/policies/*.yaml`; nothing by default) is collected; each case is
one item; the file's scenario is run once, when its first item runs. A bad file is one
failing item with its one-line problems, never a traceback.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.checks.runner import LoadedFile, judge, load_file, run_file
from sim.errors import InputError


def pytest_addoption(parser: Any) -> None:
    parser.addini(
        "cancelsim_expectations",
        "glob patterns (relative to the rootdir) of cancelsim expectation files; "
        "none: the plugin collects nothing",
        type="linelist",
        default=[],
    )


def pytest_collect_file(parent: Any, file_path: Path) -> Any:
    """Opt-in: only files matching the project's `cancelsim_expectations` patterns."""
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    patterns = parent.config.getini("cancelsim_expectations")
    try:
        relative = file_path.relative_to(Path(str(parent.config.rootpath))).as_posix()
    except ValueError:
        return None
    if any(fnmatch.fnmatch(relative, p) for p in patterns):
        return ExpectationFileNode.from_parent(parent, path=file_path)
    return None


class CaseFailed(Exception):
    """A case whose expectations the results do not meet."""


class ExpectationFileNode(pytest.File):
    """One expectation file: runs its scenario once for all its cases."""

    _results: Any = None
    _error: InputError | None = None

    def collect(self) -> Iterator[pytest.Item]:
        try:
            loaded = load_file(self.path)
        except InputError as exc:
            yield BrokenFileItem.from_parent(self, name="(invalid file)", error=exc)
            return
        for index, case in enumerate(loaded.spec.cases):
            item = CaseItem.from_parent(self, name=case.name, loaded=loaded, index=index)
            for word in [*loaded.spec.keywords, *case.keywords]:
                item.keywords[word] = True
                item.extra_keyword_matches.add(word)  # what pytest's -k matches on
            yield item

    def results(self, loaded: LoadedFile) -> Any:
        if self._error is not None:
            raise self._error
        if self._results is None:
            try:
                self._results = run_file(loaded)
            except InputError as exc:
                self._error = exc
                raise
        return self._results


class CaseItem(pytest.Item):
    def __init__(self, *, loaded: LoadedFile, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.index = index

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, ExpectationFileNode)
        verdict = judge(self.loaded, self.index, parent.results(self.loaded))
        if not verdict.passed:
            raise CaseFailed(verdict.failure())

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed | InputError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.loaded.lines[self.index]
        return self.path, line - 1, f"{self.path.name}:{line}: {self.name}"


class BrokenFileItem(pytest.Item):
    """Stands for a file that cannot be read: fails with its problems, one line each."""

    def __init__(self, *, error: InputError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name}: invalid expectation file"
