"""cancelsim as a user who installs it meets it: a wheel, a fresh environment, an empty
folder far from the repository.

The wheel is built from a copy of the sources (nothing is written into the checkout)
without the network (`--no-build-isolation`: the dev extra brings setuptools and wheel)
and installed with `--no-deps` into a new virtual environment; its dependencies come
from the test's own environment through a `.pth` line, so cancelsim itself can only be
the wheel's copy (checked), with the bundled files inside it as package data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.external, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the wheel installed; its `bin` folder."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(ROOT / "sim", source / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q"]
        + ["--no-index", "-w", str(dist), str(source)],
        check=True,
        cwd=base,
    )
    (wheel,) = dist.glob("cancelsim-*.whl")
    env_dir = base / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies (numpy, simpy, ...) from this environment; not cancelsim, which an
    # editable install maps with a finder that a plain path line does not load.
    Path(target, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q"]
        + ["--no-index", str(wheel)],
        check=True,
    )
    return env_dir / "bin"


def cli(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(bin_dir / "cancelsim"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_wheel_carries_the_bundled_files_and_runs_a_study_from_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import sim, sim.model.builtin as b; print(sim.__file__); print(b.FOLDER)",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    env_root = installed.parent
    assert all(Path(p).is_relative_to(env_root) for p in where), where  # not the checkout
    bundled = Path(where[1])
    assert {p.name for p in (bundled / "policies").glob("*.yaml")} >= {
        "amazon.yaml",
        "taobao.yaml",
        "jd.yaml",
    }
    assert (bundled / "schemas" / "scenario.schema.json").is_file()

    made = cli(installed, tmp_path, "init", "study", "--from", "quick", "--jobs", "1")
    assert made.returncode == 0, made.stderr
    study = tmp_path / "study"
    first = (study / "scenario.yaml").read_text(encoding="utf-8").splitlines()[0]
    schema = Path(first.split("$schema=", 1)[1])
    assert schema == bundled / "schemas" / "scenario.schema.json" and schema.is_file()

    files = ["scenario.yaml", *sorted(str(p.relative_to(study)) for p in study.rglob("*.yaml"))]
    checked = cli(installed, study, "validate", *dict.fromkeys(files), "builtin:amazon")
    assert checked.returncode == 0, checked.stderr
    assert "tests/policies/study.yaml: valid expectation file" in checked.stdout
    assert "builtin:amazon: valid policy file" in checked.stdout

    ran = cli(installed, study, "run", "--reps", "2", "--jobs", "1", "--no-report")
    assert ran.returncode == 0, ran.stderr
    results = study / "results" / "study"
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["policies"]) == {"amazon", "taobao", "jd"}
    assert not (results / "report.html").exists()

    drawn = cli(installed, study, "report", "results/study")
    assert drawn.returncode == 0, drawn.stderr
    assert (results / "report.html").stat().st_size > 10_000

    tested = cli(installed, study / "policies", "test", "--jobs", "1")  # found by going up
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines()[-1] == "3 passed, 0 failed"

    bundled_run = cli(
        installed,
        tmp_path,
        "run",
        "builtin:quick",
        "--set",
        "horizon=2d",
        "--set",
        "warmup=1d",
        "--reps",
        "2",
        "--jobs",
        "1",
        "--no-report",
        "--format",
        "json",
    )
    assert bundled_run.returncode == 0, bundled_run.stderr
    assert (tmp_path / "results" / "quick" / "summary.json").is_file()
    assert not list(bundled.rglob("results"))  # nothing written inside the package


def test_the_main_command_with_no_argument_runs_the_bundled_baseline(
    installed: Path, tmp_path: Path
) -> None:
    ran = cli(installed, tmp_path, "run", "--reps", "2", "--jobs", "2", "--no-report")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.splitlines()[0] == "Playing builtin:baseline (no SCENARIO given)."
    summary = json.loads((tmp_path / "results" / "baseline" / "summary.json").read_text())
    assert summary["scenario"] == "baseline" and summary["replications"] == 2
