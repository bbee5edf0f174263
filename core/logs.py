"""Signal-preserving line filter for logs, test runs, builds and error output.

headroom's log engine summarises a log by picking lines it scores as important, and on real
`pytest` output with several failures it shows one test's error lines under another test's
header. An agent acting on that is misled, which is worse than seeing nothing. This filter
instead keeps every line in its original order and only removes lines that carry no signal:
passing and skipped test lines, progress lines (Compiling, Downloading, ...), INFO/DEBUG/TRACE
records and exact repeats. Each removed run is replaced by one line saying how many lines of
which kind went, so the model never mistakes the rest for the whole. Anything that mentions
an error, failure, warning, traceback, assertion or panic is always kept, as are a few lines
at the head and the tail (the command's banner and its final summary).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from core.runs import collapse_runs

#: Words that make a line signal, matched on the lowercased line. Plain literals first, so
#: the regex engine can skip ahead by their first characters: this runs on every log line.
_SIGNAL_WORDS = re.compile(
    r"error|fail|fatal|panic|warn|exception|traceback|assert|critical|abort|denied|refused|"
    r"timed? out|crash|killed|oom|segfault|unhandled|not ready|unhealthy|backoff|"
    r"line \d|test result:"
)
#: Line openings that carry signal: pytest's `E ` and `> ` lines, stack frames, section rules.
_SIGNAL_START = re.compile(r"E\s|>\s|\s*at \S+\(|\s*File \"|-{4,} |={3,}|_{3,}")
_LOCATION = re.compile(r"\.[A-Za-z_]\w*:\d")  # file.py:42
_PASSED_COUNT = re.compile(r"\d passed")


def has_signal(line: str) -> bool:
    """True for a line that must never be dropped: it reports a problem, a location or a
    summary."""
    low = line.lower()
    return bool(
        _SIGNAL_WORDS.search(low)
        or _SIGNAL_START.match(line)
        or (":" in line and _LOCATION.search(line))
        or ("passed" in low and _PASSED_COUNT.search(low))
    )


#: Whole-line shapes of a passing or skipped test (pytest -v, unittest, cargo, go, jest): these
#: win over the signal words, which often appear in test names (`test_decode_error PASSED`).
_PASSING = re.compile(
    r"^\S+::\S+ (?:PASSED|XFAIL)(?:\s+\[\s*\d+%\])?\s*$|^test \S+ \.\.\. ok\s*$|"
    r"^\w\S* \(\S+\) \.\.\. ok\s*$|^\s*(?:✓|✔|√) [^\n]*$|^--- PASS: \S+ \([\d.]+s\)\s*$|"
    r"^ok\s+\S+\s+[\d.]+s\s*$|^\s*PASS\s+\S+\s*$"
)
_SKIPPED = re.compile(
    r"^\S+::\S+ SKIPPED(?:\s+\(.*\))?(?:\s+\[\s*\d+%\])?\s*$|^test \S+ \.\.\. ignored\s*$"
)
#: `go test -v` announces every test before its result; the result line is what matters.
_TEST_START = re.compile(r"=== (?:RUN|PAUSE|CONT)\s+\S+\s*$")
_PROGRESS = re.compile(
    r"^\s*(?:\[\s*\d+(?:/\d+)?\]\s*)?(?:Compiling|Downloading|Downloaded|Collecting|Installing|"
    r"Building|Fetching|Resolving|Unpacking|Extracting|Checking|Fresh|Updating|Using cached|"
    r"Requirement already satisfied|copying|creating|running|adding|byte-compiling|"
    r"Processing|Preparing|Progress|Pulling|Waiting|Verifying|Linking|CC|CXX|LD|AR)\b|"
    r"^\s*\d{1,3}%|\[\s*\d{1,3}%\]\s*$|^\s*[#=>.\-]{10,}\s*\d{1,3}%"
)
_LEVEL = re.compile(r"(?:^|[\s\[|:])(?:INFO|DEBUG|TRACE|NOTICE|VERBOSE)(?:[\s\]|:]|$)")

_KIND_WORDS = {
    "passing": "passing tests",
    "skipped": "skipped tests",
    "progress": "progress lines",
    "info": "INFO/DEBUG lines",
    "repeat": "repeated lines",
}


@dataclass(frozen=True)
class Filtered:
    """The filtered text and how many lines of each kind it left out."""

    text: str
    dropped: dict[str, int]


def noise_kind(line: str) -> str | None:
    """The kind of no-signal record this line is, or None when it must be kept."""
    if _PASSING.search(line):
        return "passing"
    if _SKIPPED.search(line):
        return "skipped"
    if _TEST_START.match(line):
        return "progress"
    if has_signal(line):
        return None
    if _PROGRESS.search(line):
        return "progress"
    if _LEVEL.search(line):
        return "info"
    return None


def filter_lines(text: str, head: int = 5, tail: int = 5) -> Filtered | None:
    """`text` without its no-signal lines, each dropped run announced; None if nothing goes."""
    lines = text.splitlines()
    kinds: list[str | None] = []
    previous: str | None = None
    for index, line in enumerate(lines):
        kind: str | None
        if index < head or index >= len(lines) - tail:
            kind = None
        elif line == previous and line.strip():
            kind = "repeat"
        else:
            kind = noise_kind(line)
        kinds.append(kind)
        previous = line
    out, dropped = collapse_runs(lines, kinds, announce)
    if not dropped:
        return None
    return Filtered("\n".join(out), dict(dropped))


def announce(run: Counter[str]) -> str:
    """One line naming what a dropped run held, e.g. `[headroom: 412 passing tests omitted]`."""
    parts = [f"{count} {_KIND_WORDS[kind]}" for kind, count in sorted(run.items())]
    return f"[headroom: {', '.join(parts)} omitted]"
