"""Structure-preserving filter for diffs and `git log -p`.

headroom's diff engine keeps a few hunks and drops the rest, commit headers and file headers
included, so an agent reading `git log -p` no longer sees which commits and files changed.
This filter keeps every header (commit id, author, date, message, `diff --git`, file modes,
`---`/`+++`, hunk ranges), keeps changed lines up to a budget per file with one line of
context either side, and replaces each removed run with a line saying what it held.
"""

from __future__ import annotations

import re
from collections import Counter

from core.runs import collapse_runs

_HEADER = re.compile(
    r"^(commit [0-9a-f]{7,40}|Author:|AuthorDate:|Commit:|CommitDate:|Date:|Merge:|diff --git |"
    r"diff --cc |new file mode|deleted file mode|old mode|new mode|index [0-9a-f]|similarity |"
    r"dissimilarity |rename (from|to) |copy (from|to) |Binary files |--- |\+\+\+ |@@)"
)
_WORDS = {"+": "added", "-": "removed", " ": "context", "?": "other"}


def filter_diff(text: str, changed_per_file: int = 40) -> tuple[str, dict[str, int]] | None:
    """The diff with headers kept, long hunks cut, each cut announced; None if nothing goes."""
    lines = text.splitlines()
    keep = [True] * len(lines)
    kind = ["?"] * len(lines)
    in_hunk = False
    budget = changed_per_file
    for i, line in enumerate(lines):
        if _HEADER.match(line):
            in_hunk = line.startswith("@@")
            if line.startswith(("diff --git", "diff --cc", "commit ")):
                budget = changed_per_file
            continue
        if not in_hunk or not line or line[0] not in "+- ":
            in_hunk = in_hunk and line.startswith("\\")  # "\ No newline at end of file"
            continue  # commit messages and anything unrecognised stay
        kind[i] = line[0]
        if line[0] == " ":
            keep[i] = False  # decided below from its neighbours
        elif budget > 0:
            budget -= 1
        else:
            keep[i] = False
    for i, line in enumerate(lines):  # one context line either side of a kept change
        if kind[i] == " ":
            keep[i] = any(
                0 <= j < len(lines) and kind[j] in "+-" and keep[j] for j in (i - 1, i + 1)
            )
    dropping = [None if kept else _WORDS[k] for kept, k in zip(keep, kind, strict=True)]
    out, dropped = collapse_runs(lines, dropping, _announce)
    if not dropped:
        return None
    return "\n".join(out), dict(dropped)


def _announce(run: Counter[str]) -> str:
    """One line naming what a cut held, e.g. `[headroom: 120 added, 3 context lines omitted]`."""
    return "[headroom: " + ", ".join(f"{n} {w}" for w, n in sorted(run.items())) + " lines omitted]"
