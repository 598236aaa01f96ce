"""Where runs execute: in this process, a local process pool, or a Dask cluster.

Every choice is a `concurrent.futures.Executor`; results do not depend on which.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shlex
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import (
    Executor,
    Future,
    InvalidStateError,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from contextlib import ExitStack, contextmanager
from typing import Any

from sim.errors import InputError, Problem

SCHEDULER_TIMEOUT = 5.0
"""Seconds to reach a Dask scheduler before giving up (Dask's own default is 30 s); the
Dask setting `cancelsim.scheduler-timeout` changes it, e.g. in the environment:
DASK_CANCELSIM__SCHEDULER_TIMEOUT=20s."""

PARENT_POLL = 0.5
"""Seconds between a pool worker's checks that the process that started it still runs."""


class SchedulerError(InputError):
    """The Dask cluster cannot be used: Dask is not installed, the scheduler address is
    malformed, nothing answers there in time, or the connection is lost mid-run. One line,
    exit status 2 from the command; the runs finished before a loss are kept."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__([Problem(where, 0, 0, "", message)])


class InlineExecutor(Executor):
    """Runs each task at once in this process (one job: no pool, plain tracebacks)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
            if isinstance(exc, KeyboardInterrupt):
                raise
        return future


def default_jobs() -> int:
    return os.cpu_count() or 1


@contextmanager
def open_executor(
    kind: str = "process", jobs: int | None = None, scheduler: str | None = None
) -> Iterator[Executor]:
    """`process` (a local pool; one job runs inline) or `dask` (a LocalCluster of `jobs`
    worker processes, or the cluster at `scheduler`). A scheduler that cannot be used
    raises `SchedulerError`, before any run or when the connection is lost."""
    jobs = jobs or default_jobs()
    if scheduler is not None or kind == "dask":
        with _dask(jobs, scheduler) as executor:
            yield executor
    elif jobs == 1:
        yield InlineExecutor()
    else:
        pool = _process_pool(jobs)
        try:
            yield pool
        except BaseException:
            _stop(pool)
            raise
        if getattr(pool, "_broken", False):  # a worker died: the others may still be busy
            _stop(pool)
        else:
            pool.shutdown(wait=True)


def check_cluster(kind: str, scheduler: str | None) -> None:
    """Raise `SchedulerError` now if the Dask executor asked for cannot be used: Dask not
    installed, a malformed scheduler address, or no scheduler answering there (see
    `_identify`, `scheduler_timeout()`). For a command to call before it writes anything."""
    if scheduler is None and kind != "dask":
        return
    _import_dask(scheduler)
    if scheduler is not None:
        _identify(scheduler, scheduler_timeout())


# ----------------------------------------------------------------- the local process pool
def _process_pool(jobs: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context()
    # Under fork and spawn a worker's parent is this process; under forkserver it is the
    # fork server, which outlives this process as long as its workers do.
    direct = os.name == "posix" and context.get_start_method() != "forkserver"
    return ProcessPoolExecutor(
        jobs,
        mp_context=context,
        initializer=_worker_defaults,
        initargs=(os.getpid() if direct else 0,),
    )


def _worker_defaults(parent: int = 0) -> None:
    """A worker dies on SIGTERM, whatever handler the command installed before forking it,
    and when the process that started it is gone (even killed with SIGKILL)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _exit_with_parent(parent)


def _exit_with_parent(parent: int, every: float = PARENT_POLL) -> threading.Thread:
    """End this process, from a daemon thread checking every `every` seconds, once the
    process that started it is gone: its parent is no longer `parent` (0: not checked),
    or multiprocessing's handle on the starting process says it has ended.

    A process whose parent dies is handed to init (or a subreaper) at that moment, so
    `os.getppid()` changing is the parent's death, zombie or not, and a worker started
    after its parent already died fails the first check. That covers fork, where the
    handle is no use (it is a pipe whose write end later workers inherit, so it never
    closes while a sibling lives), and spawn. Under forkserver the parent is the fork
    server, which lives on while its workers do, so there the handle (a pipe only the
    starting process holds; a process handle on Windows) tells. Linux's PR_SET_PDEATHSIG
    was not used: it fires when the *thread* that forked the worker ends, and a pool
    forks its workers from whichever thread submits."""
    starter = multiprocessing.parent_process()

    def gone() -> bool:
        if parent and os.getppid() != parent:
            return True
        return starter is not None and not starter.is_alive()

    def watch() -> None:
        while not gone():
            time.sleep(every)
        os._exit(1)  # the runs of this worker are not wanted by anyone now

    watcher = threading.Thread(target=watch, name="cancelsim-parent-watch", daemon=True)
    watcher.start()
    return watcher


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop at once: cancel what waits, end the workers (their runs are not wanted now).

    Python 3.11 has no public way to end a pool's workers: `_processes` is private."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()


# ----------------------------------------------------------------- Dask
def scheduler_timeout() -> float:
    """`SCHEDULER_TIMEOUT`, or the Dask setting `cancelsim.scheduler-timeout`."""
    import dask
    from dask.utils import parse_timedelta

    value = dask.config.get("cancelsim.scheduler-timeout", default=None)
    return SCHEDULER_TIMEOUT if value is None else float(parse_timedelta(value, "s"))


def _where(scheduler: str | None) -> str:
    """The option a message is about: `--scheduler ADDRESS` (quoted when it must be, as a
    shell would need it; shortened) or `--executor dask`."""
    if scheduler is None:
        return "--executor dask"
    shown = shlex.quote(scheduler) if scheduler.isprintable() else repr(scheduler)
    return f"--scheduler {shown if len(shown) <= 100 else shown[:97] + '...'}"


def _import_dask(scheduler: str | None) -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SchedulerError(
            _where(scheduler), "needs Dask, which is not installed: pip install 'cancelsim[dask]'"
        ) from None


_EXPECTED = "expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (what `dask scheduler` prints)"


def _identify(address: str, timeout: float) -> None:
    """Check that `address` is well formed and that a Dask scheduler answers there: a
    connection within `timeout` seconds, then its handshake and an `identity` call (all
    within twice that)."""
    from distributed.comm.addressing import get_address_host_port
    from distributed.core import rpc
    from distributed.security import Security

    where = _where(address)
    if not address.strip():
        raise SchedulerError(where, f"is empty; {_EXPECTED}")
    try:
        _, port = get_address_host_port(address)
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is out of range")
    except (ValueError, TypeError) as exc:
        raise SchedulerError(
            where, f"not a Dask scheduler address ({_reason(exc)}); {_EXPECTED}"
        ) from None

    async def identity() -> dict[str, Any]:
        args = Security().get_connection_args("client")
        async with rpc(address, timeout=timeout, connection_args=args) as remote:
            return await remote.identity()

    # Connecting gives up after `timeout` (Dask retries a refused connection meanwhile, as a
    # scheduler may be starting); a server that accepts but does not answer gets as long
    # again. A thread of its own, so that this works under a running event loop (a notebook).
    try:
        with ThreadPoolExecutor(1) as thread:
            info = thread.submit(asyncio.run, asyncio.wait_for(identity(), 2 * timeout)).result()
    except TimeoutError:
        raise SchedulerError(
            where,
            f"cannot connect to the Dask scheduler (no answer in {2 * timeout:g} s); {_CHECK}",
        ) from None
    except OSError as exc:
        why = f"{_unreachable(address) or _reason(exc)}; tried for {timeout:g} s"
        raise SchedulerError(
            where, f"cannot connect to the Dask scheduler ({why}); {_CHECK}"
        ) from None
    except (ValueError, TypeError) as exc:
        raise SchedulerError(
            where, f"cannot connect to the Dask scheduler ({_reason(exc)}); {_CHECK}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - another service: its bytes read as a frame
        raise SchedulerError(
            where,
            f"does not answer as a Dask scheduler ({type(exc).__name__}); another service "
            f"may listen there; {_CHECK}",
        ) from None
    kind = info.get("type") if isinstance(info, dict) else None
    if kind != "Scheduler":
        raise SchedulerError(
            where,
            f"answers as a Dask {kind or 'server'}, not as the scheduler; "
            "give the address of the scheduler (port 8786 unless it was started with --port)",
        )


_CHECK = "check the address, and that `dask scheduler` runs there and can be reached"


def _reason(exc: BaseException) -> str:
    """An exception's message, on one line and shortened."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _unreachable(address: str) -> str | None:
    """Why a plain TCP connection to a TCP-based address fails at once (refused, unknown
    host), or None. Dask retries until its timeout and then only says it timed out."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    if parse_address(address)[0] not in ("tcp", "tls", "ws", "wss"):
        return None
    try:
        socket.create_connection(get_address_host_port(address), timeout=1).close()
    except OSError as exc:
        return exc.strerror or ("no answer" if isinstance(exc, TimeoutError) else _reason(exc))
    return None


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask logs a lost scheduler with tracebacks; the command says it in one line."""
    handlers = [
        h for h in logging.getLogger("distributed").handlers if isinstance(h, logging.StreamHandler)
    ]
    with ExitStack() as stack:
        for handler in handlers:
            stack.callback(handler.setLevel, handler.level)
            handler.setLevel(logging.CRITICAL)
        yield


@contextmanager
def _dask(jobs: int, scheduler: str | None) -> Iterator[Executor]:
    _import_dask(scheduler)
    from distributed import Client, LocalCluster

    with _quiet_dask():
        if scheduler is not None:
            timeout = scheduler_timeout()
            _identify(scheduler, timeout)
            try:
                client = Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, ValueError, TypeError) as exc:  # it went away since _identify
                raise SchedulerError(
                    _where(scheduler),
                    f"cannot connect to the Dask scheduler ({_reason(exc)}); {_CHECK}",
                ) from None
            cluster = None
        else:
            cluster = LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster, set_as_default=False)
        try:
            yield ClusterExecutor(client, _where(scheduler))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


class ClusterExecutor(Executor):
    """A Dask client's executor whose futures fail with `SchedulerError` when the client
    loses its scheduler. Dask then cancels every task at once; without this, each run
    would look cancelled (a failed run) instead of the cluster being gone."""

    def __init__(self, client: Any, where: str) -> None:
        self._client = client
        self._inner = client.get_executor()
        self._where = where

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._client.status != "running":
            raise self.lost()
        inner = self._inner.submit(fn, *args, **kwargs)
        outer: Future[Any] = Future()

        def relay(done: Future[Any]) -> None:
            if not done.cancelled():
                error = done.exception()
            elif self._client.status != "running":
                error = self.lost()
            else:  # cancelled on the cluster (by another client): the run did not happen
                error = SchedulerError(self._where, "the Dask cluster cancelled a run")
            try:
                if error is None:
                    outer.set_result(done.result())
                else:
                    outer.set_exception(error)
            except InvalidStateError:  # the caller cancelled it meanwhile
                pass

        def cancel(done: Future[Any]) -> None:
            if done.cancelled():
                inner.cancel()

        outer.add_done_callback(cancel)
        inner.add_done_callback(relay)
        return outer

    def lost(self) -> SchedulerError:
        return SchedulerError(
            self._where,
            "lost the connection to the Dask scheduler; the runs finished so far are kept, "
            "run the same command again to resume",
        )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)
