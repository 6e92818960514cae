"""The one thread that runs every engine's batches in this process, and the short-lived threads that load models.

torch's CPU kernels parallelise with OpenMP, and libgomp (torch's OpenMP on Linux) gives each thread that
starts a parallel region a team of helper threads of its own. Once a process holds more of them than it has
CPUs, libgomp's waiting threads stop spinning and go to sleep between regions (``do_spin`` switches to
``gomp_throttled_spin_count_var`` when ``gomp_managed_threads > gomp_available_cpus``), so every small
product then waits for its helpers to wake. A second team alive slowed the text side's 8-row decoding steps
by about 40% (measured on 2 cores: 1.1 -> 1.6 s for 20 tokens), and one team per loaded model plus the
thread that loaded it is more teams than a small machine has CPUs. With every batch on this one thread
the process keeps one team. Nothing is lost by running the models' batches in turn: on one device they
share the same cores (or the same GPU) anyway. A model loads on a thread of its own that ends with the
load, taking its team with it, so that a long load holds up no other model's batches.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_jobs: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def call(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the compute thread, in submission order; its result, or its exception re-raised here."""
    if threading.current_thread() is _thread:  # already there (a job that calls another): run it in place
        return fn(*args)
    future: Future = Future()
    _jobs.put((future, fn, args))
    _ensure_started()
    return future.result()


def _ensure_started() -> None:
    global _thread
    with _start_lock:
        if _thread is None:
            _thread = threading.Thread(target=_serve, name="torch-compute", daemon=True)
            _thread.start()


def _serve() -> None:
    while True:
        _settle(*_jobs.get())


def in_passing_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a new thread that ends when it returns (and with it any OpenMP team it started)."""
    future: Future = Future()
    thread = threading.Thread(target=_settle, args=(future, fn, args), name="torch-load", daemon=True)
    thread.start()
    thread.join()
    return future.result()


def _settle(future: Future, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # the job's failure is its caller's; the thread that ran it carries on
        future.set_exception(exc)
