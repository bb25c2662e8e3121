"""The job protocol: long work is a generator that yields Progress and returns its result.

The UI runs jobs in a worker thread and closes the generator on cancel; the CLI and tests drive
them synchronously with :func:`run_job`. A job must leave the database unchanged when closed early
(do writes in one transaction at the end, or roll back in ``finally``).

A job whose last step makes its work permanent (a COMMIT, a model file put in place, a file renamed into
its place) yields a Progress with ``commit=True`` just before that step. Whoever drives the job and asks
it for more after that progress lets it run to its end: cancel is too late from there on, and the result
is delivered, so a job the window calls cancelled has never changed anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """How far a job has come. ``total`` is None when unknown. ``commit``: the job's last step comes next,
    which makes its work permanent; from here on it cannot be cancelled."""

    done: float
    total: float | None = None
    message: str = ""
    commit: bool = field(default=False, kw_only=True)  # keyword-only: subclasses add positional fields

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


Job = Generator[Progress, None, T]


class UserError(Exception):
    """A problem the user can fix (bad file, too little data); shown in plain words, not as a crash."""


class Cancelled(Exception):
    """Raised by :func:`run_job` when ``should_stop`` asks the job to stop."""


def run_job(
    job: Job[T],
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> T:
    """Drive a job to its end on this thread and return its result.

    If ``should_stop`` returns True between two progress steps, the generator is closed (its
    ``finally`` blocks run here) and :class:`Cancelled` is raised; once the job has yielded its
    ``commit`` progress it is no longer asked.
    """
    committing = False
    try:
        while True:
            progress = next(job)
            committing = committing or progress.commit
            if on_progress is not None:
                on_progress(progress)
            if not committing and should_stop is not None and should_stop():
                job.close()
                raise Cancelled()
    except StopIteration as stop:
        return stop.value
