"""rgcd: Grand Central Dispatch for Python on Linux, with cygcd's API.

``import rgcd as cygcd`` runs programs written for cygcd. All times are float seconds
(negative: forever). Waits release the GIL; an exception raised in a callback goes to
``sys.unraisablehook`` and never stops the queue or the process.
"""

from ._constants import *  # noqa: F401,F403
from ._constants import (
    AUTORELEASE_FREQUENCY_INHERIT, AUTORELEASE_FREQUENCY_NEVER, AUTORELEASE_FREQUENCY_WORK_ITEM,
    DISPATCH_TIME_FOREVER, DISPATCH_TIME_NOW, IO_RANDOM, IO_STOP, IO_STREAM, MSEC_PER_SEC,
    NSEC_PER_MSEC, NSEC_PER_SEC, NSEC_PER_USEC, PROC_EXEC, PROC_EXIT, PROC_FORK, PROC_SIGNAL,
    QOS_CLASS_BACKGROUND, QOS_CLASS_DEFAULT, QOS_CLASS_UNSPECIFIED, QOS_CLASS_USER_INITIATED,
    QOS_CLASS_USER_INTERACTIVE, QOS_CLASS_UTILITY, QUEUE_PRIORITY_BACKGROUND,
    QUEUE_PRIORITY_DEFAULT, QUEUE_PRIORITY_HIGH, QUEUE_PRIORITY_LOW, USEC_PER_SEC,
)
from ._data import Data
from ._io import IOChannel, read_async, write_async
from ._workloop import Workloop
from ._queue import Group, Once, Queue, Semaphore, apply, get_specific, time_from_now, walltime
from ._source import ProcessSource, ReadSource, SignalSource, Timer, WriteSource
from ._debug import live_objects, pool_thread_count
from ._executor import Executor

__version__ = "0.1.0"

__all__ = [
    "Queue", "Group", "Semaphore", "Once", "apply", "time_from_now", "walltime",
    "Timer", "SignalSource", "ReadSource", "WriteSource", "ProcessSource",
    "Data", "IOChannel", "Workloop", "read_async", "write_async", "get_specific",
    "DISPATCH_TIME_NOW", "DISPATCH_TIME_FOREVER", "NSEC_PER_SEC", "NSEC_PER_MSEC",
    "NSEC_PER_USEC", "USEC_PER_SEC", "MSEC_PER_SEC",
    "QUEUE_PRIORITY_HIGH", "QUEUE_PRIORITY_DEFAULT", "QUEUE_PRIORITY_LOW",
    "QUEUE_PRIORITY_BACKGROUND",
    "QOS_CLASS_USER_INTERACTIVE", "QOS_CLASS_USER_INITIATED", "QOS_CLASS_DEFAULT",
    "QOS_CLASS_UTILITY", "QOS_CLASS_BACKGROUND", "QOS_CLASS_UNSPECIFIED",
    "PROC_EXIT", "PROC_FORK", "PROC_EXEC", "PROC_SIGNAL",
    "IO_STREAM", "IO_RANDOM", "IO_STOP",
    "AUTORELEASE_FREQUENCY_INHERIT", "AUTORELEASE_FREQUENCY_WORK_ITEM",
    "AUTORELEASE_FREQUENCY_NEVER",
    "live_objects", "pool_thread_count", "Executor",
]
