"""Where runs execute: in this process, a local process pool, or a Dask cluster.

Every choice is a `concurrent.futures.Executor`; results do not depend on which.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


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
    worker processes, or the cluster at `scheduler`)."""
    jobs = jobs or default_jobs()
    if scheduler or kind == "dask":
        with _dask(jobs, scheduler) as executor:
            yield executor
    elif jobs == 1:
        yield InlineExecutor()
    else:
        pool = ProcessPoolExecutor(jobs, initializer=_worker_defaults)
        try:
            yield pool
        except BaseException:
            _stop(pool)
            raise
        if getattr(pool, "_broken", False):  # a worker died: the others may still be busy
            _stop(pool)
        else:
            pool.shutdown(wait=True)


def _worker_defaults() -> None:
    """A worker dies on SIGTERM, whatever handler the command installed before forking it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop at once: cancel what waits, end the workers (their runs are not wanted now).

    Python 3.11 has no public way to end a pool's workers: `_processes` is private."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()


@contextmanager
def _dask(jobs: int, scheduler: str | None) -> Iterator[Executor]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError("the dask executor needs: pip install 'cancelsim[dask]'") from exc
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
