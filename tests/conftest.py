"""Test set-up: every test writes only under temporary folders."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def quick_study():
    from sim.model.load import load_study

    return load_study(ROOT / "scenarios" / "quick.yaml")


pytest_plugins = ["pytester"]  # the cancelsim plugin's own tests run pytest in-process
