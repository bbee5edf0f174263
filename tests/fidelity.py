"""Fidelity corpus: tool outputs with the facts an agent needs from each, and the checker.

Savings only count if the agent still sees what it needs. Each item pairs a tool output with
its facts (failing test ids, `file:line` failure locations and the lines under each failing
test's header, final summaries, every error/warning line, anomalous JSON items, page titles,
commit ids, changed files), derived from the output by deterministic rules. Some items are
captured from real tools run here (a third-party test suite with an injected bug, make + gcc,
`git log -p` of this repository); the rest come from tests/corpus.py's generators.

A fact is *kept* when the compressed text shows it (for a line that belongs under a header,
shown under that header and not under another), *retrievable* when a CCR marker in the
compressed text leads to an original holding it, and *lost* otherwise.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import ccr
from tests import corpus

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Fact:
    """A line (or a distinctive substring) that must stay visible, verbatim.

    With `under`, the line belongs to the section that `under` opens: it must be shown after
    that header and before `before` (the next section's header), never under another one."""

    text: str
    under: str | None = None
    before: str | None = None


@dataclass(frozen=True)
class Item:
    name: str
    output: str
    facts: tuple[Fact, ...]
    tool: str = "Bash"
    is_error: bool = False  # as Claude Code flags it: the command exited non-zero
    real: bool = False  # captured from a real tool run by this module


# -- fact extraction ---------------------------------------------------------------------

_SEVERE = re.compile(
    r"\b(error|errors|warning|warn|fatal|panic|panicked|critical|failed|failure)\b|\*\*\*",
    re.IGNORECASE,
)
_PYTEST_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")
_PYTEST_LOCATION = re.compile(r"^\S+\.py:\d+: \w+")
_PYTEST_SUMMARY = re.compile(r"^=+ .*\b(passed|failed|error)\b.* =+$")


def severe_lines(output: str) -> list[Fact]:
    """Every error / warning / fatal / failure line, verbatim."""
    return [Fact(line) for line in output.splitlines() if line.strip() and _SEVERE.search(line)]


def pytest_facts(output: str) -> list[Fact]:
    """Failing test ids, summaries, locations, and each failure's lines under its header."""
    lines = output.splitlines()
    facts = [Fact(line) for line in lines if re.match(r"^(FAILED|ERROR) ", line)]
    facts += [Fact(line) for line in lines if re.search(r"::\S+ (FAILED|ERROR)\b", line)]
    facts += [Fact(line) for line in lines if _PYTEST_SUMMARY.match(line)]
    start = next((i for i, line in enumerate(lines) if "= FAILURES =" in line), None)
    if start is not None:
        end = next((i for i in range(start, len(lines)) if "short test summary" in lines[i]
                    or _PYTEST_SUMMARY.match(lines[i])), len(lines))  # fmt: skip
        headers = [i for i in range(start, end) if _PYTEST_HEADER.match(lines[i])]
        for n, h in enumerate(headers):
            stop = headers[n + 1] if n + 1 < len(headers) else end
            following = lines[stop] if stop < len(lines) else None
            for line in lines[h + 1 : stop]:
                if _PYTEST_LOCATION.match(line) or line.startswith("E   "):
                    facts.append(Fact(line, under=lines[h], before=following))
    return _unique(facts)


def git_log_facts(output: str) -> list[Fact]:
    """Commit ids, commit subjects and every changed file."""
    lines = output.splitlines()
    facts = [Fact(line) for line in lines if re.match(r"^commit [0-9a-f]{40}", line)]
    facts += [Fact(line) for line in lines if line.startswith("diff --git ")]
    for i, line in enumerate(lines):
        if line.startswith("Date:") and i + 2 < len(lines) and lines[i + 2].startswith("    "):
            facts.append(Fact(lines[i + 2]))  # the subject line
    return _unique(facts)


def not_ready_pods(output: str) -> list[Fact]:
    """The name of every pod that is not ready: the anomalies of a `kubectl get pods` list."""
    pods = json.loads(output)["items"]
    return [Fact(p["metadata"]["name"]) for p in pods
            if not all(c["ready"] for c in p["status"]["containerStatuses"])]  # fmt: skip


def html_title(output: str) -> list[Fact]:
    found = re.search(r"<title>(.*?)</title>", output, re.S)
    return [Fact(found.group(1))] if found else []


def _unique(facts: list[Fact]) -> list[Fact]:
    return list(dict.fromkeys(facts))


# -- real tool runs ----------------------------------------------------------------------

#: Injected into simplejson's own test suite: floats lose precision when encoded.
_SIMPLEJSON_BUG = """\
import simplejson
import simplejson.encoder

simplejson._toggle_speedups(False)
simplejson.encoder.FLOAT_REPR = lambda f: "%.6g" % f
"""


def real_pytest(workdir: Path) -> Item:
    """simplejson's test suite (shipped in its wheel) run with `pytest -v` and a float bug."""
    import simplejson

    tests = workdir / "sjtests"
    shutil.copytree(Path(simplejson.__file__).parent / "tests", tests)
    (tests / "conftest.py").write_text(_SIMPLEJSON_BUG)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "sjtests"],
        cwd=workdir, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = run.stdout + run.stderr
    if run.returncode != 1 or " failed" not in output:
        raise RuntimeError(f"the injected bug did not fail simplejson's tests:\n{output[-2000:]}")
    return Item("pytest -v simplejson (real)", output, tuple(pytest_facts(output)),
                is_error=True, real=True)  # fmt: skip


_C_CLEAN = "int f{n}(int x) {{ return x * {n} + 1; }}\n"
_C_WARN = (
    "#include <stdio.h>\nint g{n}(int x) {{\n  int unused{n} = x;\n  unsigned u = 1;\n"
    '  if (x < u) printf("%d\\n", x);\n  return x;\n}}\n'
)
_C_ERROR = "int h{n}(int x) {{\n  return x + missing_symbol_{n};\n}}\n"
_MAKEFILE = """\
CFLAGS = -Wall -Wextra -O0
SRCS = $(wildcard src/*.c)
OBJS = $(SRCS:src/%.c=build/%.o)
all: $(OBJS)
build/%.o: src/%.c
\t@mkdir -p build
\t@echo "  CC      $@"
\t@gcc $(CFLAGS) -c $< -o $@
"""


def real_make_gcc(workdir: Path, files: int = 300) -> Item:
    """A kbuild-style `make -k` of C files with gcc: mostly `CC` lines, warnings, errors."""
    src = workdir / "src"
    src.mkdir()
    for n in range(files):
        template = _C_ERROR if n % 40 == 17 else _C_WARN if n % 15 == 4 else _C_CLEAN
        (src / f"unit_{n:03d}.c").write_text(template.format(n=n))
    (workdir / "Makefile").write_text(_MAKEFILE)
    run = subprocess.run(["make", "-k", "-j1"], cwd=workdir, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=600)  # fmt: skip
    output = run.stdout
    if run.returncode == 0 or "error:" not in output:
        raise RuntimeError(f"the broken C files did not fail the build:\n{output[-2000:]}")
    return Item("make + gcc build (real)", output, tuple(severe_lines(output)),
                is_error=True, real=True)  # fmt: skip


def real_git_log(commits: int = 6) -> Item:
    """`git log -p` of this repository's core/: commit headers, messages and diffs."""
    run = subprocess.run(
        ["git", "-C", str(REPO), "log", "-p", "--no-color", f"-n{commits}", "--", "core"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    output = run.stdout
    return Item("git log -p core/ (real)", output, tuple(git_log_facts(output)), real=True)


# -- the corpus --------------------------------------------------------------------------


def generated_items() -> list[Item]:
    """Generator output with facts: large enough that compression must drop something."""
    pytest_log = corpus.pytest_verbose(2000, seed=31)
    cargo = corpus.cargo_output(60, 800, seed=32)
    build = corpus.build_log(1500, seed=33)
    app = corpus.app_log(1500, seed=34)
    pods = corpus.kubectl_pods_json(150, seed=35)
    page = corpus.html_page(40, seed=36)
    diff = corpus.git_diff(30, seed=37)
    return [
        Item("pytest -v, 2000 tests", pytest_log, tuple(pytest_facts(pytest_log)), is_error=True),
        Item("cargo build + test", cargo, tuple(severe_lines(cargo)), is_error=True),
        Item("CI build log", build, tuple(severe_lines(build)), is_error=True),
        Item("application log", app, tuple(severe_lines(app))),
        Item("kubectl get pods -o json", pods, tuple(not_ready_pods(pods))),
        Item("HTML page (curl)", page, tuple(html_title(page))),
        Item("git diff", diff, tuple(git_log_facts(diff))),
    ]


def real_items(workdir: Path) -> list[Item]:
    return [real_pytest(workdir / "pytest"), real_make_gcc(workdir / "make"), real_git_log()]


def all_items() -> list[Item]:
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("pytest", "make"):
            (Path(tmp) / name).mkdir()
        return real_items(Path(tmp)) + generated_items()


# -- the checker -------------------------------------------------------------------------


def shown(fact: Fact, text: str) -> bool:
    """The fact is visible in `text`, and under its own header when it has one."""
    if fact.under is None:
        return fact.text in text
    start = text.find(fact.under)
    if start < 0:
        return False
    at = text.find(fact.text, start + len(fact.under))
    if at < 0:
        return False
    if fact.before is None:
        return True
    end = text.find(fact.before, start + len(fact.under))
    return end >= 0 and at < end


def check(
    item: Item, compressed: str, retrieve: Callable[[str], str | None] | None = None
) -> Counter[str]:
    """How many of the item's facts are kept, retrievable (through a marker) or lost."""
    originals = [retrieve(key) for key in ccr.hashes_in(compressed)] if retrieve else []
    tally: Counter[str] = Counter(kept=0, retrievable=0, lost=0)
    for fact in item.facts:
        if shown(fact, compressed):
            tally["kept"] += 1
        elif any(original is not None and shown(fact, original) for original in originals):
            tally["retrievable"] += 1
        else:
            tally["lost"] += 1
    return tally


def lost_facts(item: Item, compressed: str) -> list[Fact]:
    return [fact for fact in item.facts if not shown(fact, compressed)]
