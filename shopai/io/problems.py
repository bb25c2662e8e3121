"""A dry run's or an import's row problems, counted and grouped for a person to read.

A re-import of the whole 540,000-line UCI log has a problem on every line: no one reads them all, so a list
shows the counts over all of them, the commonest reasons, and the first few (skipped rows first).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from shopai.io.sniff import RowProblem

# an id or a number inside a message ("order C570867", "row 12"): blanked out to group the messages by reason
ID_LIKE = re.compile(r"[^\s,;:()]*\d[^\s,;:()]*")


@dataclass(frozen=True)
class ProblemSummary:
    """What a list of a dry run's or an import's problems shows, worked out where the problems are: exact
    counts over all of them, and the first few to list (skipped rows first, then the rows imported with a
    note)."""

    skipped: int = 0  # rows left out
    skipped_rows: int = 0  # of them, rows of the file (not the whole file)
    notes: int = 0  # rows imported with a note
    reasons: int = 0  # different reasons, ids and numbers blanked out
    common: tuple[tuple[str, int], ...] = ()  # the commonest reasons with their counts, most first
    listed: tuple = ()  # the RowProblems to list

    @property
    def total(self) -> int:
        return self.skipped + self.notes

    @property
    def more(self) -> int:
        """How many are counted but not listed."""
        return self.total - len(self.listed)


def summarise_problems(problems: Sequence[RowProblem], limit: int) -> ProblemSummary:
    """Count and group ``problems`` (every one of them) and keep the first ``limit`` to list."""
    skipped = [p for p in problems if p.skipped]
    notes = [p for p in problems if not p.skipped]
    # "cancelled line of order C570867" and "… C560540" are one reason: blank out ids and numbers (once per
    # different message: a log's lines repeat their order's message)
    by_reason: Counter[str] = Counter()
    for message, n in Counter(p.message for p in problems).items():
        by_reason[ID_LIKE.sub("…", message)] += n
    common = sorted(by_reason.items(), key=lambda kv: -kv[1])[:3]  # ties: the one met first
    listed = skipped[:limit] + notes[:max(0, limit - len(skipped))]
    return ProblemSummary(skipped=len(skipped), skipped_rows=sum(1 for p in skipped if p.row > 0), notes=len(notes),
                          reasons=len(by_reason), common=tuple(common), listed=tuple(listed))
