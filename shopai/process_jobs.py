"""Run a job in a child process of its own, as a job of this process.

Training holds Python's interpreter lock for long stretches (pandas, the training loops' Python), and a worker
thread shares that lock with the window: while a model trained, a sort took 1.5 s and a search 3–4 s. A child
process has its own interpreter, so the window keeps its speed; the child also runs at a lower priority, so
on a 2-core machine the window's work comes first.

:func:`in_process` keeps the job protocol: it yields the child's :class:`~shopai.jobs.Progress` and returns its
result, a :class:`~shopai.jobs.UserError` in the child is raised here as one, and closing it (cancel) asks the
child to close its generator between two steps, so the child's ``finally`` blocks and rollbacks run as they
would in a thread; a child that has not stopped after :data:`GRACE_S` seconds is ended (the job's writes are
one transaction, so the shop stays as it was). At the job's ``commit`` progress the child waits until this
side has handed that progress on and been asked for more: a cancel that comes first stops the child before
its last step, so nothing lands unseen. The job function must be importable by name (a module-level
function) and its arguments and result picklable: the child is started fresh ("spawn"), never forked from a
process with threads.
"""
from __future__ import annotations

import os
import traceback
from typing import Any, Callable

from shopai.jobs import Job, Progress, UserError

# How long a cancelled child may take to roll back and stop before it is ended. Less than the 10 s the app
# waits for its worker threads when it quits: a thread still waiting on its child then would be cut off.
GRACE_S = 4.0
# A job is cancelled between two of its steps, and a training step (an epoch) can take minutes: while the
# child says nothing, its last progress is handed on again this often, so a Cancel or the app quitting reaches
# the child within this time instead of at the end of the step.
HEARTBEAT_S = 0.5
NICE = 5  # the child's priority below the window's (Unix)


class JobProcessError(RuntimeError):
    """The job failed in its child process (an unexpected error, or the process died); the message holds the
    child's traceback or exit code."""


def in_process(func: Callable[..., Job[Any]], *args: Any, **kwargs: Any) -> Job[Any]:
    """``func(*args, **kwargs)`` (a job) run in a child process; a job here, with the same progress and result."""
    import multiprocessing

    last = Progress(0, None, "Starting…")
    yield last  # cancelled here, nothing was made yet
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    stop, go = context.Event(), context.Event()
    process = context.Process(target=_child, args=(func, args, kwargs, send, stop, go, os.getpid()),
                              name=f"shopai-{getattr(func, '__module__', 'job')}", daemon=True)
    try:
        process.start()  # pickles func and its arguments: a local function fails here, before any child runs
    except BaseException:
        receive.close()
        raise
    finally:
        send.close()  # the child holds the sending end now: reading sees EOF when it is gone
    finished = False
    try:
        while True:
            if not receive.poll(HEARTBEAT_S):  # (a child that is gone makes the pipe readable: EOF below)
                yield last
                continue
            try:
                kind, value = receive.recv()
            except EOFError:
                process.join(GRACE_S)
                raise JobProcessError(f"the background process ended unexpectedly (exit code {process.exitcode}); "
                                      "perhaps the computer ran short of memory")
            if kind == "progress":
                last = value
                yield value
                if value.commit:  # asked for more after it: the child may make its work permanent
                    go.set()
            elif kind == "result":
                finished = True
                return value
            elif kind == "user_error":
                finished = True
                raise UserError(value)
            else:  # "crash": (type name, message, traceback text)
                finished = True
                name, message, details = value
                raise JobProcessError(f"{name}: {message}\n\nIn the background process:\n{details}")
    finally:
        if not finished:  # cancelled (closed) or failed here: ask the child to stop, end it if it does not
            stop.set()
        process.join(GRACE_S if not finished else 2 * GRACE_S)
        if process.is_alive():
            process.terminate()
            process.join(GRACE_S)
            if process.is_alive():
                process.kill()
                process.join()
        receive.close()


def _child(func: Callable[..., Job[Any]], args: tuple, kwargs: dict, send, stop, go, parent_pid: int) -> None:
    """The child process: run the job, send its progress and its end; stop between steps when asked (or when
    the window's process is gone); after the job's commit progress, go on only once the parent says so."""
    if hasattr(os, "nice"):
        try:
            os.nice(NICE)
        except OSError:
            pass
    gen = None
    try:
        gen = func(*args, **kwargs)
        while True:
            progress = next(gen)
            if stop.is_set() or os.getppid() != parent_pid:
                gen.close()
                return
            send.send(("progress", progress))
            if progress.commit:
                while not go.wait(0.05):
                    if stop.is_set() or os.getppid() != parent_pid:
                        gen.close()
                        return
    except StopIteration as end:
        send.send(("result", end.value))
    except UserError as exc:
        send.send(("user_error", str(exc)))
    except BaseException as exc:  # reported to the window, which shows its error dialog
        if stop.is_set():
            return
        send.send(("crash", (type(exc).__name__, str(exc), traceback.format_exc())))
    finally:
        send.close()
