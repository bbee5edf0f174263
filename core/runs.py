"""Dropping runs of lines, each replaced by one note that says what it held: the shape every
signal-preserving filter (logs, diffs) shares, so the agent always sees that lines went."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence


def collapse_runs(
    lines: Sequence[str], kinds: Sequence[str | None], describe: Callable[[Counter[str]], str]
) -> tuple[list[str], Counter[str]]:
    """`lines` with each run of droppable lines (kind not None) replaced by
    `describe(count per kind)`; a run whose note would be longer than the run itself stays.
    Returns the lines and the count of what was dropped, per kind."""
    out: list[str] = []
    dropped: Counter[str] = Counter()
    index = 0
    while index < len(lines):
        if kinds[index] is None:
            out.append(lines[index])
            index += 1
            continue
        end = index
        while end < len(lines) and kinds[end] is not None:
            end += 1
        run = Counter(kind for kind in kinds[index:end] if kind is not None)
        note = describe(run)
        if len(note) < sum(len(line) + 1 for line in lines[index:end]):
            out.append(note)
            dropped.update(run)
        else:
            out.extend(lines[index:end])
        index = end
    return out, dropped
