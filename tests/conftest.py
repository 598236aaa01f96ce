"""Test set-up: every test writes only under temporary folders."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest

_SCRATCH = tempfile.mkdtemp(prefix="cancelsim-tests-")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_SCRATCH, "matplotlib"))
os.environ.setdefault("DASK_TEMPORARY_DIRECTORY", os.path.join(_SCRATCH, "dask"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(_SCRATCH, "hypothesis"))

from hypothesis import settings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

set_hypothesis_home_dir(os.path.join(_SCRATCH, "hypothesis"))
settings.register_profile(
    "cancelsim", database=DirectoryBasedExampleDatabase(os.path.join(_SCRATCH, "examples"))
)
settings.load_profile("cancelsim")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def short_calendar(monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs that fail: a business-day calendar that ends with the run (no margin, no
    growth), and the
    delay to give a bank card's refund so that it falls past it (validation allows up to
    120 business days, so a valid file cannot make a run fail this way). Runs in this
    process or a forked pool worker see the patch."""
    import importlib

    monkeypatch.setattr(importlib.import_module("sim.engine.simulate"), "CALENDAR_MARGIN_DAYS", 0)
    monkeypatch.setattr(importlib.import_module("sim.model.calendar"), "GROWTH_DAYS", 0)
    return "100 business days"


@pytest.fixture(scope="session")
def quick_study():
    from sim.model.load import load_study

    return load_study(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml")


pytest_plugins = ["pytester"]  # the cancelsim plugin's own tests run pytest in-process


# --- Mutation runs (see MUTATION.md) ------------------------------------------------
# mutmut runs each mutant's tests with `-x` from its `mutants/` copy, where
# `mutmut-stats.json` holds every test's duration on the unmutated code. Two things make
# a run fit the hour: the fastest tests run first, so a detected mutant costs only the
# time to its first failing test; and each test gets a CPU-time limit (ten times its
# clean duration as mutmut timed it, wall-clock, plus 5 s; 10 s for a test mutmut has no
# time for, and for its fixtures' set-up, which mutmut does not time),
# so a mutant that loops forever fails within seconds instead of using up mutmut's limit
# for all of the mutant's tests (minutes each). Neither applies outside a mutant run;
# neither changes what a test asserts.
_MUTATION_STATS = Path("mutmut-stats.json")
_DURATIONS = pytest.StashKey[dict[str, float]]()
_SETUP_CPU_SECONDS = 10.0  # the slowest set-up takes under 0.4 s (pytest --durations)


def _mutant_durations() -> dict[str, float]:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant or not _MUTATION_STATS.is_file():
        return {}
    import json

    return json.loads(_MUTATION_STATS.read_text())["duration_by_test"]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_DURATIONS] = _mutant_durations()


class MutantTooSlow(BaseException):
    """A test, or its set-up, used far more CPU time under a mutant than without it.

    A BaseException, and raised again every second, so that code which catches errors
    to carry on (a failed run is stored, the next one starts) cannot swallow it.
    """


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    durations = config.stash[_DURATIONS]
    if durations:
        items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


@contextlib.contextmanager
def _cpu_limit(seconds: float, what: str):
    import signal

    def too_slow(signum, frame):
        raise MutantTooSlow(f"{what} used over {seconds:.0f} s of CPU")

    previous = signal.signal(signal.SIGPROF, too_slow)
    signal.setitimer(signal.ITIMER_PROF, seconds, 1.0)
    try:
        yield
    finally:  # disarm with the signal blocked, so that it cannot fire half-way
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPROF})
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    if not item.config.stash[_DURATIONS]:
        return (yield)
    with _cpu_limit(_SETUP_CPU_SECONDS, f"the set-up of {item.nodeid}"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    durations = item.config.stash[_DURATIONS]
    if not durations:
        return (yield)
    clean = durations.get(item.nodeid)
    limit = _SETUP_CPU_SECONDS if clean is None else 10 * clean + 5
    with _cpu_limit(limit, item.nodeid):
        return (yield)
