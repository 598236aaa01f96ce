"""Finished runs on disk, so that an interrupted experiment resumes where it stopped.

A run is stored under a key made of everything that decides its result: the policy's
and the scenario's content (after overrides and sweep values), the seed, the
replication and the package version. Writing is atomic (temporary file, then rename).

A stored run is read back as untrusted input: it is reused only if it is what cancelsim
wrote for that key (its form and types, the key and run it is stored under, a checksum
of its content) and keeps every invariant of a run (`RunResult.check`); any other is run
again, and the command says so on stderr, one line for all of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from sim.engine.recorder import InvariantError
from sim.engine.result import RunResult, StoredRunError, result_from_stored
from sim.engine.simulate import RunSpec, band_labels
from sim.experiment.output import (
    DamagedFile,
    Used,
    json_text,
    read_json,
    remove_file,
    write_atomic,
)

# Scenario keys that do not change what a single run computes.
NOT_IN_KEY = {"replications", "seed", "sweep", "baseline", "name", "description", "extends"}


def run_key(spec: RunSpec) -> str:
    """The content hash of a run's inputs.

    Mapping order is kept, not sorted: the order of payment methods and seller types
    decides which order gets which (common random numbers). The code of the package and
    the version of the holiday calendars are part of it too.
    """
    scenario = spec.scenario.model_dump(mode="json", exclude=NOT_IN_KEY)
    content = {
        "policy_key": spec.policy_key,
        "policy": spec.policy.to_json(),
        "scenario": scenario,
        "seed": spec.seed,
        "replication": spec.replication,
        "code": code_digest(),
    }
    text = json.dumps(content, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def code_digest() -> str:
    """What the simulator is: its version, its Python sources, the holidays package."""
    import holidays

    from sim import __version__

    digest = hashlib.sha256(f"{__version__} holidays {holidays.__version__}".encode())
    package = Path(__file__).resolve().parent.parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


say: Callable[[str], None] = _to_stderr
"""Where a store's notice goes; the command line sends it through its own console, which
keeps the line whole above its progress bar."""


class RunStore:
    """The `runs/` folder of a results folder, and what the results played through it use
    there (`used`: the runs stored or reused, their traces, the failures stored)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.invalid: list[tuple[str, str]] = []  # stored runs not valid: file, why
        self.used = Used()

    def load(self, spec: RunSpec) -> RunResult | None:
        """The stored run of `spec`, if there is a valid one (and, when the run is to
        write a trace, the trace it wrote is there unchanged); else None, to run it."""
        key = run_key(spec)
        read = self._read(key, spec)
        if read is None:
            return None
        record, result = read
        if spec.trace_path is not None:
            if not self._trace_kept(record, Path(spec.trace_path)):
                return None
            self.used.use_trace(Path(spec.trace_path), record["trace"])
        result.point = spec.point  # the same run may serve under another point index
        self._used(key)
        return result

    def save(self, spec: RunSpec, result: RunResult) -> None:
        trace = None
        if spec.trace_path is not None:  # written by the run (not where a remote worker ran)
            trace = _trace_record(Path(spec.trace_path))
            if trace is not None:
                self.used.use_trace(Path(spec.trace_path), trace)
        self.save_result(run_key(spec), result, trace)

    def save_result(self, key: str, result: RunResult, trace: dict | None = None) -> None:
        record: dict[str, Any] = {"key": key, "result": result.to_dict()}
        if trace is not None:
            record["trace"] = trace
        record["checksum"] = checksum(record)
        path = self.folder / f"{key}.json"
        if path.is_dir() and not path.is_symlink():  # an empty folder in its place goes
            with contextlib.suppress(OSError):  # (one with files stays: the write says so)
                path.rmdir()
        write_atomic(path, json_text(record))
        self._used(key)

    def has(self, key: str) -> bool:
        """A valid run is stored under `key`."""
        if self._read(key) is None:
            return False
        self._used(key)
        return True

    def save_failure(self, spec: RunSpec, failure: dict[str, Any]) -> None:
        key = run_key(spec)
        write_atomic(self.folder / f"{key}.failed.json", json_text(failure))
        self.used.failed.add(key)

    def report_invalid(self) -> None:
        """Say, in one line on stderr, which stored runs were not valid (to be run again)."""
        if not self.invalid:
            return
        shown = "; ".join(f"{name}: {why}" for name, why in self.invalid[:3])
        more = f"; and {len(self.invalid) - 3} more" if len(self.invalid) > 3 else ""
        count = len(self.invalid)
        say(
            f"{self.folder}: {count} stored run{'s were' if count > 1 else ' was'} not "
            f"valid and {'are' if count > 1 else 'is'} run again ({shown}{more})"
        )
        self.invalid = []

    def _used(self, key: str) -> None:
        """The run of `key` belongs to the results: a stored failure of it does not."""
        self.used.runs.add(key)
        self.used.failed.discard(key)
        remove_file(self.folder / f"{key}.failed.json")

    def _read(
        self, key: str, spec: RunSpec | None = None
    ) -> tuple[dict[str, Any], RunResult] | None:
        """The stored record of `key` and its run, if valid; else None (and, unless there
        is no such file, why in `invalid`)."""
        path = self.folder / f"{key}.json"
        try:
            record = read_json(path)
            run = stored_run(record, key, spec)
        except FileNotFoundError:
            return None
        except (DamagedFile, StoredRunError, InvariantError) as exc:
            self.invalid.append((path.name, " ".join(str(exc).split())[:300]))
            return None
        return record, run

    def _trace_kept(self, record: dict[str, Any], path: Path) -> bool:
        """The trace file this run wrote is there, unchanged."""
        return record.get("trace") is not None and record["trace"] == _trace_record(path)


RECORD_KEYS = [["key", "result", "checksum"], ["key", "result", "trace", "checksum"]]
LEGACY_KEYS = [["key", "result"]]


def stored_run(
    record: Any, key: str, spec: RunSpec | None = None, *, legacy: bool = False
) -> RunResult:
    """The run of a stored record, if it is what `RunStore.save_result` wrote under `key`
    (for `spec`): raises `StoredRunError` or `InvariantError` (one line) otherwise.
    `legacy` (redrawing a report): a record written before runs had a checksum or daily
    outcomes is read too (its summary is checked against its runs instead)."""
    forms = [*RECORD_KEYS, *LEGACY_KEYS] if legacy else RECORD_KEYS
    if not isinstance(record, dict) or list(record) not in forms:
        raise StoredRunError("expected a mapping of key, result, trace (optional) and checksum")
    if record["key"] != key:
        raise StoredRunError(f"key: {str(record['key'])[:40]!r} is not the key it is stored under")
    result = result_from_stored(record["result"], legacy=legacy)
    if spec is not None:
        if (result.policy, result.replication) != (spec.policy_key, spec.replication):
            raise StoredRunError(
                f"result: the run of {result.policy[:40]!r} replication {result.replication}, "
                f"not of {spec.policy_key!r} replication {spec.replication}"
            )
        run = next(p for p in spec.scenario.policies if p.key == spec.policy_key)
        if result.methods != tuple(run.payment_mix):
            raise StoredRunError("result.methods: not the payment methods of the scenario")
        if tuple(result.bands) != band_labels(spec):
            raise StoredRunError("result.bands: not the size bands this policy counts")
    trace = record.get("trace")
    if trace is not None and (
        not isinstance(trace, dict)
        or list(trace) != ["file", "bytes", "sha256"]
        or not isinstance(trace["file"], str)
        or type(trace["bytes"]) is not int
        or not isinstance(trace["sha256"], str)
    ):
        raise StoredRunError("trace: expected the trace file's name, bytes and sha256")
    if (not legacy or "checksum" in record) and record["checksum"] != checksum(record):
        raise StoredRunError("checksum: the stored run was changed after it was written")
    return result


def checksum(record: dict[str, Any]) -> str:
    """The SHA-256 of a stored record's content (without its checksum), in canonical
    JSON: any change to a stored run, other than of its layout, changes it."""
    content = {k: v for k, v in record.items() if k != "checksum"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _trace_record(path: Path) -> dict[str, Any] | None:
    """The name, size and SHA-256 of a trace file; None if there is no regular file."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "bytes": info.st_size, "sha256": digest.hexdigest()}
