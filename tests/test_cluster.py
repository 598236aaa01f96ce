"""Parallel runs under faults: pool and Dask workers outliving a killed command, the
scheduler named by --scheduler (malformed, unreachable, not a scheduler, lost mid-run,
Dask not installed), and a real Dask cluster losing a worker mid-run.

The tests marked `external` start real processes: `cancelsim run` commands, a `dask
scheduler` and `dask worker`s on 127.0.0.1. Every process is started in a session of its
own and killed with its whole process group at the end, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.experiment import executors
from sim.experiment.plan import plan
from sim.experiment.runner import RunFailure, execute
from sim.experiment.store import RunStore
from sim.model.load import Override, load_study

ROOT = Path(__file__).resolve().parent.parent
QUICK = str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml")
SMALL = ["--set", "horizon=2d", "--set", "warmup=1d", "--no-report"]
EXPECTED = "expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (what `dask scheduler` prints)"
CHECK = "check the address, and that `dask scheduler` runs there and can be reached"
LINUX = sys.platform.startswith("linux")


def _env() -> dict[str, str]:
    """The environment of every process started here: this checkout importable first (the
    tests may run in a copy of the repository), and conftest's scratch folders."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    assert "MPLCONFIGDIR" in env and "DASK_TEMPORARY_DIRECTORY" in env  # set by conftest
    return env


def _start(command: list[str], cwd: Path, log: Path | None = None) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL if log else subprocess.PIPE,
        stderr=log.open("w") if log else subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: killed whole at the end
    )


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the process and everything in its process group (orphans stay in it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=10)


def _cancelsim(out: Path | str, *extra: str, cwd: Path) -> subprocess.Popen:
    return _start(
        [sys.executable, "-m", "sim", "run", QUICK, *SMALL, "--out", str(out), *extra], cwd
    )


def _stored(out: Path) -> int:
    return len([p for p in (out / "runs").glob("*.json") if not p.name.endswith(".failed.json")])


def _wait_for(condition, seconds: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the command ended before {what}: {process.communicate()}")
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.02)


# ----------------------------------------------------------------- orphans
def _stat(pid: int) -> tuple[str, str] | None:
    """A process's state and start time (clock ticks after boot), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def _descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its start time (a reused pid is another process)."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in map(int, (task / "children").read_text().split()):
                    stat = _stat(child)
                    if stat and child not in found:
                        found[child] = stat[1]
                        todo.append(child)
    return found


def _alive(processes: dict[int, str]) -> list[int]:
    """Those still running: a zombie has exited (init reaps it when it gets to it)."""
    alive = []
    for pid, started in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[1] == started and stat[0] not in "ZX":
            alive.append(pid)
    return alive


@pytest.mark.external
@pytest.mark.skipif(not LINUX, reason="finds the workers through /proc")
@pytest.mark.parametrize("executor", ["process", "dask"])
def test_workers_end_when_the_command_is_killed(tmp_path, executor):
    """SIGKILL gives the command no chance to stop its workers: they must notice alone.
    The workers are every process below the command once a run is stored (for Dask, the
    LocalCluster's worker processes and multiprocessing's resource tracker)."""
    out = tmp_path / "out"
    command = _cancelsim(out, "--jobs", "2", "--executor", executor, "--reps", "40", cwd=tmp_path)
    workers: dict[int, str] = {}
    try:

        def running() -> bool:
            workers.update(_descendants(command.pid))
            return _stored(out) >= 1 and len(workers) >= 2

        _wait_for(running, 45, "a stored run and two workers", command)
        workers.update(_descendants(command.pid))
        os.kill(command.pid, signal.SIGKILL)
        killed = time.monotonic()
        command.wait(timeout=10)  # not communicate(): the workers hold its pipes open
        deadline = killed + 5
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        left = _alive(workers)
        assert not left, f"{len(left)} of {len(workers)} workers still run 5 s after the kill"
        print(f"{executor}: {len(workers)} workers gone {time.monotonic() - killed:.2f} s after")
    finally:
        _kill_group(command)  # orphans keep the command's process group
        for pid in _alive(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


_POOL_SCRIPT = """
import multiprocessing, sys, time
from sim.experiment.executors import open_executor

if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    with open_executor("process", 2) as pool:
        for future in [pool.submit(time.sleep, 0.5) for _ in range(2)]:
            future.result()  # both workers have started
        busy = [pool.submit(time.sleep, 60) for _ in range(2)]
        print("ready", flush=True)
        time.sleep(60)
"""


@pytest.mark.external
@pytest.mark.skipif(not LINUX, reason="finds the workers through /proc")
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_workers_end_with_their_parent_under_every_start_method(tmp_path, method):
    """Python 3.14 starts pool workers with forkserver on Linux, macOS with spawn: there a
    worker's parent is the fork server, which lives on while the workers do. Every
    process below the killed one must end (the fork server and the resource tracker too)."""
    script = tmp_path / "pool.py"
    script.write_text(_POOL_SCRIPT)
    process = _start([sys.executable, str(script), method], tmp_path)
    below: dict[int, str] = {}
    try:
        assert process.stdout.readline() == "ready\n", process.communicate()
        below.update(_descendants(process.pid))
        assert len(below) >= 2
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(below) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(below), f"{method}: still running 5 s after the kill"
    finally:
        _kill_group(process)


def test_a_pool_worker_ends_itself_when_its_parent_changes(monkeypatch):
    """The watcher ends the process once os.getppid() is no longer the parent it was given
    (the parent died and the worker was handed to init), and not before."""
    parents = iter([100, 100, 100, 1])
    ended: list[int] = []
    monkeypatch.setattr(os, "getppid", lambda: next(parents, 1))
    monkeypatch.setattr(os, "_exit", ended.append)
    watcher = executors._exit_with_parent(100, every=0.001)
    assert watcher.daemon
    watcher.join(5)
    assert not watcher.is_alive()
    assert ended == [1]
    assert next(parents, None) is None  # three checks found the parent, the fourth did not


def test_a_pool_worker_whose_parent_is_already_gone_ends_at_once(monkeypatch):
    """No wait first: with an hour between checks it still ends at once."""
    monkeypatch.setattr(os, "getppid", lambda: 1)
    ended: list[int] = []
    monkeypatch.setattr(os, "_exit", ended.append)
    watcher = executors._exit_with_parent(4321, every=3600)
    watcher.join(5)
    assert ended == [1]


class _Starter:
    """multiprocessing's handle on the process that started this one."""

    def __init__(self, answers: list[bool]) -> None:
        self.answers = iter(answers)

    def is_alive(self) -> bool:
        return next(self.answers, False)


def test_a_forkserver_worker_watches_the_process_that_started_it(monkeypatch):
    """Parent 0: the parent is not checked (it is the fork server), the starter is."""
    starter = _Starter([True, True])
    monkeypatch.setattr(executors.multiprocessing, "parent_process", lambda: starter)
    monkeypatch.setattr(os, "getppid", lambda: 1)  # would end it at once if checked
    ended: list[int] = []
    monkeypatch.setattr(os, "_exit", ended.append)
    executors._exit_with_parent(0, every=0.001).join(5)
    assert ended == [1]
    assert next(starter.answers, None) is None  # ended on the third answer, not before


def test_a_worker_whose_starter_ended_ends_even_if_its_parent_is_the_same(monkeypatch):
    monkeypatch.setattr(executors.multiprocessing, "parent_process", lambda: _Starter([]))
    monkeypatch.setattr(os, "getppid", lambda: 100)
    ended: list[int] = []
    monkeypatch.setattr(os, "_exit", ended.append)
    executors._exit_with_parent(100, every=3600).join(5)
    assert ended == [1]


def test_the_pool_workers_watch_this_process(monkeypatch):
    """Under fork (and spawn) a worker's parent is the process that made the pool; under
    forkserver it is not checked (0)."""
    contexts = {m: multiprocessing.get_context(m) for m in ("fork", "spawn", "forkserver")}
    for method, parent in [("fork", os.getpid()), ("spawn", os.getpid()), ("forkserver", 0)]:
        monkeypatch.setattr(executors.multiprocessing, "get_context", lambda m=method: contexts[m])
        pool = executors._process_pool(2)
        try:
            assert pool._initializer is executors._worker_defaults
            assert pool._initargs == (parent,), method
        finally:
            pool.shutdown()
    watched: list[int] = []
    monkeypatch.setattr(executors, "_exit_with_parent", watched.append)
    handlers: list[tuple] = []
    monkeypatch.setattr(executors.signal, "signal", lambda *args: handlers.append(args))
    executors._worker_defaults(55)
    assert watched == [55]
    assert handlers == [(signal.SIGTERM, signal.SIG_DFL)]


# ----------------------------------------------------------------- the --scheduler option
def _run_command(tmp_path: Path, *extra: str):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", QUICK, *SMALL, "--reps", "2", "--jobs", "1", "--out", str(out), *extra]
    )
    return result, out


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("nonsense", "nonsense"),
        ("tcp://", "tcp://"),
        ("tcp://host:notaport", "tcp://host:notaport"),
        ("ftp://x", "ftp://x"),
        ("tcp://127.0.0.1:99999", "tcp://127.0.0.1:99999"),
    ],
)
def test_a_malformed_scheduler_address_is_one_line_exit_2_and_nothing_written(
    tmp_path, address, shown
):
    result, out = _run_command(tmp_path, "--scheduler", address)
    assert result.exit_code == 2, result.output
    assert re.fullmatch(
        rf"--scheduler {re.escape(shown)}: not a Dask scheduler address \([^\n]+\); "
        rf"{re.escape(EXPECTED)}\n",
        result.stderr,
    ), result.stderr
    assert not out.exists()


def test_sensitivity_checks_the_scheduler_before_writing_its_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["sensitivity", "builtin:quick", "--method", "oat", "--scheduler", "nonsense"]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("--scheduler nonsense: not a Dask scheduler address (")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_scheduler_address_is_refused_not_ignored(tmp_path):
    """`--scheduler ''` used to run locally without a word."""
    result, out = _run_command(tmp_path, "--scheduler", "")
    assert result.exit_code == 2, result.output
    assert result.stderr == f"--scheduler '': is empty; {EXPECTED}\n"
    assert not out.exists()


def test_an_address_that_is_not_one_line_stays_on_one_line():
    with pytest.raises(executors.SchedulerError) as caught:
        executors.check_cluster("process", "tcp://a\nb")
    (problem,) = caught.value.problems
    assert str(problem).startswith("--scheduler 'tcp://a\\nb': not a Dask scheduler address (")
    assert "\n" not in str(problem)
    assert executors._where("x" * 200) == f"--scheduler {'x' * 97}..."
    assert executors._where("tcp://a b:1") == "--scheduler 'tcp://a b:1'"  # as a shell needs it
    assert executors._where(None) == "--executor dask"


@contextlib.contextmanager
def _refusing_port() -> Iterator[int]:
    """A port that refuses connections: bound (so no one else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextlib.contextmanager
def _silent_port() -> Iterator[int]:
    """A port that accepts connections and never says anything."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_exit_2_within_the_timeout(tmp_path):
    import dask

    with _refusing_port() as port, dask.config.set({"cancelsim.scheduler-timeout": "1s"}):
        started = time.monotonic()
        result, out = _run_command(tmp_path, "--scheduler", f"tcp://127.0.0.1:{port}")
        elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"--scheduler tcp://127.0.0.1:{port}: cannot connect to the Dask scheduler "
        f"(Connection refused; tried for 1 s); {CHECK}\n"
    )
    assert "cannot write" not in result.output
    assert not out.exists()
    assert elapsed < 4, elapsed  # 1 s of trying, the rest loading the scenario


def test_a_server_that_does_not_answer_is_given_up_on(tmp_path):
    import dask

    with _silent_port() as port, dask.config.set({"cancelsim.scheduler-timeout": "0.5s"}):
        started = time.monotonic()
        with pytest.raises(executors.SchedulerError) as caught:
            executors.check_cluster("process", f"tcp://127.0.0.1:{port}")
        elapsed = time.monotonic() - started
    assert str(caught.value) == (
        f"--scheduler tcp://127.0.0.1:{port}: cannot connect to the Dask scheduler "
        f"(no answer in 1 s); {CHECK}"
    )
    assert 1 <= elapsed < 3, elapsed


def test_the_scheduler_timeout_is_5_s_unless_dask_is_told_otherwise():
    import dask

    assert executors.scheduler_timeout() == executors.SCHEDULER_TIMEOUT == 5.0
    with dask.config.set({"cancelsim.scheduler-timeout": "1 minute"}):
        assert executors.scheduler_timeout() == 60.0
    with dask.config.set({"cancelsim.scheduler-timeout": 2}):
        assert executors.scheduler_timeout() == 2.0


def test_why_a_connection_fails_comes_from_a_plain_connection():
    with _refusing_port() as port:
        assert executors._unreachable(f"tcp://127.0.0.1:{port}") == "Connection refused"
    with _silent_port() as port:
        assert executors._unreachable(f"tcp://127.0.0.1:{port}") is None
    assert executors._unreachable("inproc://x/1/2") is None  # not TCP: Dask's own reason
    assert executors._reason(OSError("a\n  b")) == "a b"
    assert executors._reason(ValueError()) == "ValueError"
    assert executors._reason(ValueError("x" * 300)) == "x" * 197 + "..."


@pytest.mark.external
def test_the_default_timeout_is_seconds_not_half_a_minute(tmp_path):
    """As a user meets it: a command in its own process, Dask's defaults. It used to
    wait 31 s and then blame the disk."""
    with _refusing_port() as port:
        started = time.monotonic()
        command = _cancelsim(
            tmp_path / "out", "--scheduler", f"tcp://127.0.0.1:{port}", cwd=tmp_path
        )
        try:
            _, stderr = command.communicate(timeout=60)
        finally:
            _kill_group(command)
        elapsed = time.monotonic() - started
    assert command.returncode == 2, stderr
    assert stderr.splitlines() == [
        f"--scheduler tcp://127.0.0.1:{port}: cannot connect to the Dask scheduler "
        f"(Connection refused; tried for 5 s); {CHECK}"
    ]
    assert not (tmp_path / "out").exists()
    assert elapsed < 15, elapsed
    print(f"refused scheduler reported in {elapsed:.1f} s")


@pytest.mark.parametrize(
    ("option", "where"),
    [
        (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler tcp://127.0.0.1:8786"),
        (["--executor", "dask"], "--executor dask"),
    ],
)
def test_dask_not_installed_is_one_line_exit_2(tmp_path, monkeypatch, option, where):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    result, out = _run_command(tmp_path, *option)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"{where}: needs Dask, which is not installed: pip install 'cancelsim[dask]'\n"
    )
    assert not out.exists()


def test_no_dask_check_for_the_process_pool(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    executors.check_cluster("process", None)  # nothing to check, nothing imported


# ----------------------------------------------------------------- a lost scheduler
class _Client:
    """What ClusterExecutor uses of a Dask client: `status` and an executor. Runs finish
    in this process as they are submitted until the `lost`-th, when the scheduler goes
    away: as Dask does then, the client turns "connecting" and cancels every task."""

    def __init__(self, lost: int, status: str = "connecting") -> None:
        self.status = "running"
        self.lost, self.after, self.submitted = lost, status, 0

    def get_executor(self) -> _Client:
        return self

    def submit(self, fn, *args):
        self.submitted += 1
        future: Future = Future()
        if self.submitted < self.lost:
            future.set_result(fn(*args))
        else:
            self.status = self.after
            future.cancel()
        return future

    def shutdown(self, wait=True, *, cancel_futures=False) -> None:
        pass


@pytest.fixture(scope="module")
def small_specs():
    study = load_study(QUICK, [Override.parse("horizon=2d"), Override.parse("warmup=1d")])
    return plan([study], 2, 7)


def test_a_lost_scheduler_stops_the_batch_and_fails_no_run(tmp_path, small_specs):
    """Runs cancelled because the scheduler went away did not fail: they are not stored
    as failures (nor reported in a summary), and the runs finished before are kept."""
    store = RunStore(tmp_path / "runs")
    with pytest.raises(executors.SchedulerError) as caught:
        execute(
            small_specs, executors.ClusterExecutor(_Client(lost=3), "--scheduler tcp://x:1"), store
        )
    assert str(caught.value) == (
        "--scheduler tcp://x:1: lost the connection to the Dask scheduler; the runs "
        "finished so far are kept, run the same command again to resume"
    )
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2
    assert not list((tmp_path / "runs").glob("*.failed.json"))


def test_no_run_is_sent_to_a_client_that_lost_its_scheduler(small_specs):
    client = _Client(lost=99)
    executor = executors.ClusterExecutor(client, "--scheduler tcp://x:1")
    client.status = "closed"
    with pytest.raises(executors.SchedulerError, match="lost the connection"):
        executor.submit(print, "never")
    assert client.submitted == 0


def test_a_run_cancelled_by_the_cluster_is_not_a_failed_run(tmp_path, small_specs):
    store = RunStore(tmp_path / "runs")
    executor = executors.ClusterExecutor(_Client(lost=1, status="running"), "--scheduler tcp://x:1")
    with pytest.raises(
        executors.SchedulerError, match="^--scheduler tcp://x:1: the Dask cluster cancelled"
    ):
        execute(small_specs, executor, store)
    assert not list((tmp_path / "runs").glob("*"))


def test_a_run_whose_worker_died_is_still_a_failed_run(tmp_path, small_specs):
    """A task that killed its workers (Dask's KilledWorker) is the run's failure."""

    class Killing(_Client):
        def submit(self, fn, *args):
            future: Future = Future()
            future.set_exception(RuntimeError("KilledWorker: the task killed 3 workers"))
            return future

    store = RunStore(tmp_path / "runs")
    executor = executors.ClusterExecutor(Killing(lost=99), "--scheduler tcp://x:1")
    results, failures = execute(small_specs[:1], executor, store)
    assert results == []
    assert [f.error for f in failures] == [
        "the worker failed: RuntimeError: KilledWorker: the task killed 3 workers"
    ]
    assert isinstance(failures[0], RunFailure)
    assert len(list((tmp_path / "runs").glob("*.failed.json"))) == 1


def test_cancelling_a_run_cancels_its_task():
    client = _Client(lost=99)
    pending: Future = Future()
    client.submit = lambda fn, *args: pending  # type: ignore[method-assign]
    future = executors.ClusterExecutor(client, "--scheduler tcp://x:1").submit(print)
    assert future.cancel()
    assert pending.cancelled()


def test_a_result_after_the_caller_cancelled_is_dropped():
    """The task finished on the cluster just as the caller cancelled its run."""
    client = _Client(lost=99)
    running: Future = Future()
    assert running.set_running_or_notify_cancel()  # too late to cancel it
    client.submit = lambda fn, *args: running  # type: ignore[method-assign]
    future = executors.ClusterExecutor(client, "--scheduler tcp://x:1").submit(print)
    assert future.cancel()
    running.set_result("late")  # the relay must not fail on the cancelled future
    assert future.cancelled()


# ----------------------------------------------------------------- a real Dask cluster
class Cluster:
    """`dask scheduler` and `dask worker`s on 127.0.0.1, each its own process group, each
    worker in a working folder of its own (as on another machine)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def start_scheduler(self, port: int = 0) -> str:
        info = self.folder / f"scheduler-{len(self.processes)}.json"
        scheduler = self._start(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
            "--idle-timeout",
            "120",  # in case this test process dies without cleaning up
            "--scheduler-file",
            str(info),
        )

        def written() -> str:  # Dask writes the file in place: it may be half written
            with contextlib.suppress(OSError, ValueError, KeyError):
                return json.loads(info.read_text())["address"]
            return ""

        _wait_for(written, 30, "scheduler file", scheduler)
        self.address = written()
        return self.address

    def start_workers(self, count: int) -> None:
        from distributed import Client

        for _ in range(count):
            self.workers.append(
                self._start(
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--death-timeout",
                    "30",
                )
            )
        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(len([w for w in self.workers if w.poll() is None]), 30)

    def worker_addresses(self) -> list[str]:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            return list(client.scheduler_info()["workers"])

    def _start(self, *args: str) -> subprocess.Popen:
        number = len(self.processes)
        process = _start(
            [sys.executable, "-m", "dask", *args],
            self.folder / f"{args[0]}-{number}",
            log=self.folder / f"{args[0]}-{number}.log",
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            _kill_group(process)


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    running = Cluster(tmp_path / "cluster")
    try:
        running.start_scheduler()
        running.start_workers(2)
        yield running
    finally:
        running.stop()


RUNS = ["--reps", "8"]  # 24 runs: a few seconds on two workers, time to lose one


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    """The same experiment run in the command's own process (`--jobs 1`)."""
    folder = tmp_path_factory.mktemp("local")
    command = _cancelsim(folder / "out", *RUNS, "--jobs", "1", cwd=folder)
    try:
        _, stderr = command.communicate(timeout=120)
    finally:
        _kill_group(command)
    assert command.returncode == 0, stderr
    return folder / "out"


def _same_results(out: Path, local: Path) -> None:
    """The same results as the local run: summary.json and runs.csv; meta.json differs
    only in how it was run (executor, jobs, wall time, the command line)."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads((local / "summary.json").read_text())
    assert (out / "runs.csv").read_bytes() == (local / "runs.csv").read_bytes()
    how = {"executor", "jobs", "wall_seconds", "command"}
    meta, local_meta = (json.loads((f / "meta.json").read_text()) for f in (out, local))
    assert meta["executor"] == "dask" and local_meta["executor"] == "process"
    assert {k: v for k, v in meta.items() if k not in how} == {
        k: v for k, v in local_meta.items() if k not in how
    }


@pytest.mark.external
def test_a_worker_killed_mid_run_loses_no_run(tmp_path, cluster, local):
    """One of two workers is killed (its nanny and worker process, like a machine going
    away) once two runs are stored: its runs go to the other worker, and the command ends
    with the local run's results."""
    out = tmp_path / "out"
    command = _cancelsim(out, *RUNS, "--scheduler", cluster.address, cwd=tmp_path / "user")
    try:
        _wait_for(lambda: _stored(out) >= 2, 45, "two stored runs", command)
        assert command.poll() is None and _stored(out) < 24
        _kill_group(cluster.workers[0])
        _, stderr = command.communicate(timeout=60)
    finally:
        _kill_group(command)
    assert command.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert not list((out / "runs").glob("*.failed.json"))
    _same_results(out, local)


@pytest.mark.external
def test_a_scheduler_lost_mid_run_stops_in_one_line_and_the_command_resumes(
    tmp_path, cluster, local
):
    """The scheduler is killed once two runs are stored: one line, exit status 2, no run
    counted as failed, no summary; with the cluster back the same command finishes."""
    out = tmp_path / "out"
    again = [*RUNS, "--scheduler", cluster.address]
    command = _cancelsim(out, *again, cwd=tmp_path / "user")
    try:
        _wait_for(lambda: _stored(out) >= 2, 45, "two stored runs", command)
        _kill_group(cluster.processes[0])
        lost = time.monotonic()
        _, stderr = command.communicate(timeout=60)
        stopped = time.monotonic() - lost
    finally:
        _kill_group(command)
    assert command.returncode == 2, stderr
    assert stderr.splitlines()[-1:] == [
        f"--scheduler {cluster.address}: lost the connection to the Dask scheduler; the runs "
        "finished so far are kept, run the same command again to resume"
    ]
    assert "Traceback" not in stderr
    assert stopped < 15, stopped
    kept = _stored(out)
    assert 2 <= kept < 24
    assert not list((out / "runs").glob("*.failed.json"))
    assert not (out / "summary.json").exists()
    print(f"stopped {stopped:.1f} s after the scheduler was lost, {kept} runs kept")

    for worker in cluster.workers:  # workers close once their scheduler is gone
        _kill_group(worker)
    cluster.workers.clear()
    cluster.start_scheduler(port=int(cluster.address.rsplit(":", 1)[1]))
    cluster.start_workers(2)
    command = _cancelsim(out, *again, cwd=tmp_path / "user")
    try:
        _, stderr = command.communicate(timeout=60)
    finally:
        _kill_group(command)
    assert command.returncode == 0, stderr
    _same_results(out, local)


@pytest.mark.external
def test_a_worker_s_address_is_not_taken_for_the_scheduler_s(tmp_path, cluster):
    worker = cluster.worker_addresses()[0]
    command = _cancelsim(tmp_path / "out", "--scheduler", worker, cwd=tmp_path)
    try:
        _, stderr = command.communicate(timeout=60)
    finally:
        _kill_group(command)
    assert command.returncode == 2, stderr
    assert stderr.splitlines() == [
        f"--scheduler {worker}: answers as a Dask Worker, not as the scheduler; give the "
        "address of the scheduler (port 8786 unless it was started with --port)"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.external
def test_traces_of_cluster_runs_land_in_the_results_folder(tmp_path, cluster):
    """A relative --out: the workers run in folders of their own, and must still write
    the traces into the results folder (where the command resumes from them)."""
    user = tmp_path / "user"
    command = _cancelsim(
        "results", "--reps", "2", "--trace", "--scheduler", cluster.address, cwd=user
    )
    try:
        _, stderr = command.communicate(timeout=60)
    finally:
        _kill_group(command)
    assert command.returncode == 0, stderr
    traces = sorted(p.name for p in (user / "results" / "trace").glob("*.csv"))
    assert traces == [f"{p}-r{r}.csv" for p in ("amazon", "jd", "taobao") for r in (0, 1)]
    assert not list(cluster.folder.rglob("*.csv"))  # nothing in the workers' folders
    written = {p: p.stat().st_mtime_ns for p in (user / "results" / "trace").iterdir()}
    command = _cancelsim(
        "results", "--reps", "2", "--trace", "--scheduler", cluster.address, cwd=user
    )
    try:
        _, stderr = command.communicate(timeout=60)
    finally:
        _kill_group(command)
    assert command.returncode == 0, stderr
    assert {p: p.stat().st_mtime_ns for p in written} == written  # resumed: none run again


def test_another_service_on_the_scheduler_port_is_one_line(tmp_path):
    """A server that speaks first (an SSH banner) is read by Dask as a frame of an
    impossible size: one line, exit 2, not a MemoryError traceback."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def banner() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" * 10)

    threading.Thread(target=banner, daemon=True).start()
    try:
        result, out = _run_command(tmp_path, "--scheduler", f"tcp://127.0.0.1:{port}")
    finally:
        server.close()
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        f"--scheduler tcp://127.0.0.1:{port}: does not answer as a Dask scheduler ("
    )
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists()
