"""The worker threads that compute, train and save while the window stays live."""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

# Nice value of the worker threads: on a 2-core machine a training batch or a layer
# recompute keeps both cores busy, and the window's thread must win them back at once.
WORKER_NICENESS = 10

__all__ = ["WORKER_NICENESS", "background_executor"]


def background_executor(name: str) -> ThreadPoolExecutor:
    """A one-thread executor whose thread, on Linux, runs at a lower priority than the
    window's (elsewhere a thread's priority cannot be lowered alone: it runs as is)."""
    return ThreadPoolExecutor(
        max_workers=1, thread_name_prefix=f"convviz-{name}", initializer=_lower_priority
    )


def _lower_priority() -> None:
    if not sys.platform.startswith("linux"):
        return  # setpriority on a thread id would renice the whole process there
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS)
    except OSError:
        pass  # not allowed here: the thread keeps the window's priority
