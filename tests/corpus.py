"""Deterministic, realistic agent tool output for tests and benchmarks.

Coding and devops agents mostly resend tool output: kubectl JSON, build and test logs, grep
hits, diffs, file reads. These generators produce that output at a chosen size from a seed,
so tests and `make bench` measure the same kinds of bytes a real session carries.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

_WORDS = (
    "request handler cache session replica token payload timeout retry upstream config "
    "deploy service pod node queue worker metric latency buffer index schema record "
    "client server gateway policy tenant bucket object stream batch shard lease"
).split()
_MODULES = ["api", "core", "auth", "billing", "storage", "scheduler", "ingest", "search"]
_LEVELS = ["INFO"] * 14 + ["DEBUG"] * 4 + ["WARN"] * 2 + ["ERROR"]


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


def _sentence(rng: random.Random, words: int = 12) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def kubectl_pods_json(items: int, seed: int = 1) -> str:
    """`kubectl get pods -A -o json`: a large array of near-identical objects."""
    rng = _rng(seed)
    pods = []
    for i in range(items):
        app = rng.choice(_MODULES)
        ready = rng.random() > 0.03
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{app}-{rng.randrange(16**8):08x}-{rng.randrange(16**5):05x}",
                    "namespace": rng.choice(["prod", "staging", "platform"]),
                    "labels": {"app": app, "pod-template-hash": f"{rng.randrange(16**8):08x}"},
                    "creationTimestamp": f"2026-11-{rng.randint(1, 22):02d}T0{i % 10}:12:00Z",
                    "uid": f"{rng.randrange(16**8):08x}-{rng.randrange(16**4):04x}",
                },
                "spec": {
                    "nodeName": f"ip-10-0-{rng.randint(0, 15)}-{rng.randint(1, 254)}.ec2.internal",
                    "containers": [
                        {
                            "name": app,
                            "image": f"registry.example.com/{app}:1.{rng.randint(0, 9)}.0",
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                        }
                    ],
                },
                "status": {
                    "phase": "Running" if ready else "CrashLoopBackOff",
                    "podIP": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                    "containerStatuses": [
                        {
                            "name": app,
                            "ready": ready,
                            "restartCount": 0 if ready else rng.randint(3, 40),
                        }
                    ],
                },
            }
        )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}, indent=2)


def build_log(lines: int, seed: int = 2) -> str:
    """A CI build: long runs of routine progress lines, a few warnings, one error."""
    rng = _rng(seed)
    out = ["> Task :compileJava", "Starting build with 8 workers"]
    for i in range(lines):
        module = rng.choice(_MODULES)
        roll = rng.random()
        if roll < 0.02:
            out.append(f"warning: [deprecation] {module}.Client#connect() is deprecated")
        else:
            out.append(
                f"[{i:05d}] Compiling {module}/src/{rng.choice(_WORDS)}_{rng.randint(1, 99)}.java"
                f" ({rng.randint(2, 400)} ms)"
            )
    out.append("error: cannot find symbol: method retryBudget(int) in class gateway.Policy")
    out.append("BUILD FAILED in 2m 13s")
    return "\n".join(out)


def pytest_verbose(tests: int, seed: int = 3) -> str:
    """`pytest -v`: one PASSED line per test, two failures with tracebacks at the end."""
    rng = _rng(seed)
    out = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.12.1, pytest-8.3.3, pluggy-1.5.0 -- /usr/bin/python3",
        f"collected {tests} items",
        "",
    ]
    failed = {rng.randrange(tests), rng.randrange(tests)}
    for i in range(tests):
        module = rng.choice(_MODULES)
        status = "FAILED" if i in failed else "PASSED"
        pct = int(100 * (i + 1) / tests)
        out.append(
            f"tests/{module}/test_{rng.choice(_WORDS)}.py::test_{rng.choice(_WORDS)}_"
            f"{rng.choice(_WORDS)}_{i} {status} [{pct:3d}%]"
        )
    out.append("")
    out.append("=================================== FAILURES ===================================")
    for i in sorted(failed):
        out += [
            f"_________________________ test_case_{i} _________________________",
            "    def test_case():",
            ">       assert replay(prefix) == sent",
            "E       AssertionError: assert b'{\"a\": 1}' == b'{\"a\":1}'",
            "tests/core/test_replay.py:42: AssertionError",
        ]
    out.append(
        f"=========== {len(failed)} failed, {tests - len(failed)} passed in 41.20s ==========="
    )
    return "\n".join(out)


def cargo_output(crates: int, tests: int, seed: int = 4) -> str:
    """`cargo build && cargo test`: Compiling lines, then `test x ... ok` lines."""
    rng = _rng(seed)
    out = []
    for _ in range(crates):
        name = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
        out.append(f"   Compiling {name} v0.{rng.randint(1, 30)}.{rng.randint(0, 9)}")
    out.append("    Finished `test` profile [unoptimized + debuginfo] target(s) in 48.31s")
    out.append("     Running unittests src/lib.rs (target/debug/deps/gateway-3f2a9c1e)")
    out.append(f"running {tests} tests")
    bad = rng.randrange(tests)
    for i in range(tests):
        status = "FAILED" if i == bad else "ok"
        out.append(f"test {rng.choice(_MODULES)}::tests::{rng.choice(_WORDS)}_{i} ... {status}")
    out.append("failures:")
    out.append(f"---- core::tests::case_{bad} stdout ----")
    out.append("thread 'core::tests::case' panicked at src/core.rs:88:9: prefix changed")
    out.append(f"test result: FAILED. {tests - 1} passed; 1 failed; 0 ignored; finished in 3.02s")
    return "\n".join(out)


def app_log(lines: int, seed: int = 5) -> str:
    """Service logs with timestamps and levels: mostly INFO noise, some errors."""
    rng = _rng(seed)
    out = []
    for i in range(lines):
        level = rng.choice(_LEVELS)
        module = rng.choice(_MODULES)
        out.append(
            f"2026-11-22T10:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d}Z "
            f"{level:5s} [{module}] request_id={rng.randrange(16**8):08x} "
            f"{_sentence(rng, 6)} latency_ms={rng.randint(1, 900)}"
        )
    return "\n".join(out)


def grep_output(hits: int, seed: int = 6) -> str:
    """`grep -rn`: many hits in few files, the shape a lossless fold can shrink."""
    rng = _rng(seed)
    files = [f"src/{m}/{rng.choice(_WORDS)}.py" for m in _MODULES for _ in range(3)]
    out = []
    for _ in range(hits):
        path = rng.choice(files)
        out.append(
            f"{path}:{rng.randint(1, 900)}:        session = self.{rng.choice(_WORDS)}"
            f"_store.get(tenant, key)  # {rng.choice(_WORDS)}"
        )
    out.sort()
    return "\n".join(out)


def git_diff(files: int, seed: int = 7) -> str:
    """`git diff`: hunks with context lines; mostly irreducible."""
    rng = _rng(seed)
    out = []
    for _ in range(files):
        path = f"src/{rng.choice(_MODULES)}/{rng.choice(_WORDS)}.py"
        out += [f"diff --git a/{path} b/{path}", f"--- a/{path}", f"+++ b/{path}"]
        start = rng.randint(1, 400)
        out.append(f"@@ -{start},9 +{start},10 @@ class {rng.choice(_WORDS).title()}Handler:")
        for _ in range(3):
            out.append(f"     {rng.choice(_WORDS)} = {rng.choice(_WORDS)}({rng.choice(_WORDS)})")
        out.append(f"-    return self.{rng.choice(_WORDS)}(timeout=5)")
        out.append(f"+    return self.{rng.choice(_WORDS)}(timeout=self.deadline)")
        out.append(f"+    # {_sentence(rng, 8)}")
        for _ in range(3):
            out.append(f"     {rng.choice(_WORDS)}.{rng.choice(_WORDS)}()")
    return "\n".join(out)


def file_read(lines: int, seed: int = 8) -> str:
    """A `Read` tool result: numbered source lines, the format Claude Code uses."""
    rng = _rng(seed)
    out = []
    indent = 0
    for i in range(1, lines + 1):
        if i % 12 == 1:
            indent = 0
            code = f"def {rng.choice(_WORDS)}_{rng.choice(_WORDS)}(self, {rng.choice(_WORDS)}):"
        else:
            indent = 4 if i % 12 < 6 else 8
            code = f"{rng.choice(_WORDS)} = self.{rng.choice(_WORDS)}.get({rng.choice(_WORDS)!r})"
        out.append(f"{i:6d}\t{' ' * indent}{code}")
    return "\n".join(out)


def prose(paragraphs: int, seed: int = 9) -> str:
    """Design-doc prose: the kind only an ML compressor (Kompress) can shrink."""
    rng = _rng(seed)
    return "\n\n".join(
        " ".join(_sentence(rng, rng.randint(8, 20)) for _ in range(5)) for _ in range(paragraphs)
    )


def html_page(sections: int, seed: int = 10) -> str:
    """A fetched documentation page: markup, navigation and scripts around the text."""
    rng = _rng(seed)
    nav = "".join(f'<li><a href="/docs/{w}">{w}</a></li>' for w in _WORDS[:20])
    body = "".join(
        f"<section><h2>{rng.choice(_WORDS).title()}</h2><p>{_sentence(rng, 30)}</p>"
        f'<div class="ad"><script>track("{i}")</script></div></section>'
        for i in range(sections)
    )
    return (
        f"<html><head><title>Docs</title><style>body{{font:14px sans-serif}}</style></head>"
        f"<body><nav><ul>{nav}</ul></nav><main>{body}</main><footer>(c) 2026</footer></body></html>"
    )


#: Content kinds by name, each taking a size knob and a seed, for tests and the benchmark.
CONTENT: dict[str, Callable[..., str]] = {
    "json": lambda n, seed=1: kubectl_pods_json(n, seed),
    "build_log": lambda n, seed=2: build_log(n, seed),
    "pytest": lambda n, seed=3: pytest_verbose(n, seed),
    "cargo": lambda n, seed=4: cargo_output(n // 4, n, seed),
    "app_log": lambda n, seed=5: app_log(n, seed),
    "grep": lambda n, seed=6: grep_output(n, seed),
    "diff": lambda n, seed=7: git_diff(n, seed),
    "read": lambda n, seed=8: file_read(n, seed),
    "prose": lambda n, seed=9: prose(n, seed),
    "html": lambda n, seed=10: html_page(n, seed),
}

#: Roughly how many tokens one unit of each kind's size knob produces (cl100k).
TOKENS_PER_UNIT = {
    "json": 265, "build_log": 17, "pytest": 20, "cargo": 15, "app_log": 40,
    "grep": 24, "diff": 110, "read": 12, "prose": 75, "html": 67,
}  # fmt: skip

#: The tool that produced each kind, as an agent would name it.
TOOL_FOR = {
    "json": "Bash",
    "build_log": "Bash",
    "pytest": "Bash",
    "cargo": "Bash",
    "app_log": "Bash",
    "grep": "Grep",
    "diff": "Bash",
    "read": "Read",
    "prose": "WebFetch",
    "html": "WebFetch",
}


def tool_turn_openai(
    call_id: str, tool: str, output: str, args: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One agent step in OpenAI Chat Completions shape: assistant call, tool result."""
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": tool,
                        "arguments": json.dumps(args or {"cmd": call_id}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": output},
    ]


def tool_turn_anthropic(
    call_id: str, tool: str, output: str, args: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One agent step in Anthropic Messages shape: tool_use block, tool_result block."""
    return [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": f"Running {tool}."},
                {
                    "type": "tool_use",
                    "id": call_id,
                    "name": tool,
                    "input": args or {"cmd": call_id},
                },  # fmt: skip
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call_id, "content": output}],
        },
    ]


#: Kinds whose generated output reports a failure: a non-zero exit, so Claude Code flags
#: the result `is_error: true`.
FAILING = frozenset({"build_log", "pytest", "cargo"})
_CODING_SIZES = {
    "json": 40, "build_log": 400, "pytest": 300, "cargo": 300, "app_log": 300,
    "grep": 120, "diff": 12, "read": 200, "prose": 8, "html": 20,
}  # fmt: skip
#: A devops session: cluster state, service logs, CI builds, config reads; no prose.
_DEVOPS_SIZES = {
    "json": 60, "app_log": 500, "build_log": 500, "read": 120, "grep": 80, "diff": 6,
}  # fmt: skip


def agent_session(
    turns: int,
    fmt: str = "openai",
    seed: int = 11,
    flag_errors: bool = False,
    sizes: dict[str, int] | None = None,
) -> list[list[dict[str, Any]]]:
    """A coding/devops session as it grows: element t is the full history sent at turn t.

    Each turn appends one tool step with a realistic mix of output kinds and sizes, the
    way Claude Code or Codex resend their whole history every turn. With `flag_errors`,
    failing logs carry `is_error: true` (Anthropic format), as Claude Code sends them.
    """
    rng = _rng(seed)
    step = tool_turn_openai if fmt == "openai" else tool_turn_anthropic
    sizes = sizes or _CODING_SIZES
    history: list[dict[str, Any]] = []
    if fmt == "openai":
        history.append({"role": "system", "content": "You are a coding agent. Be precise."})
    history.append({"role": "user", "content": "The gateway tests fail on main; find out why."})
    snapshots = []
    for t in range(turns):
        kind = rng.choice(list(sizes))
        output = CONTENT[kind](max(1, int(sizes[kind] * rng.uniform(0.5, 1.5))))
        new = step(f"call_{seed}_{t:03d}", TOOL_FOR[kind], output)
        if flag_errors and fmt == "anthropic" and kind in FAILING:
            new[-1]["content"][0]["is_error"] = True
        history = history + new
        snapshots.append([dict(m) for m in history])
    return snapshots


def devops_session(
    turns: int, fmt: str = "openai", seed: int = 12, flag_errors: bool = False
) -> list[list[dict[str, Any]]]:
    """A devops session (kubectl, service logs, CI builds, config reads), as it grows."""
    return agent_session(turns, fmt, seed, flag_errors, _DEVOPS_SIZES)


def idle_session(
    turns: int, fmt: str = "openai", seed: int = 13
) -> list[tuple[float, list[dict[str, Any]]]]:
    """A coding session with coffee breaks: (seconds since the previous turn, full history).

    The agent reads a handful of files, edits them, reads them again and reruns the same
    test and kubectl commands, so old Reads and outputs go stale; every ~10 turns the user
    is away for 10-30 minutes, long enough for the provider's 5-minute cache to expire.
    """
    rng = _rng(seed)
    step = tool_turn_openai if fmt == "openai" else tool_turn_anthropic
    files = [f"src/{m}/{w}.py" for m, w in zip(_MODULES[:6], _WORDS[:6], strict=True)]
    history: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing gateway tests."}]
    timeline = []
    for t in range(turns):
        call = f"call_{seed}_{t:03d}"
        roll = rng.random()
        path = rng.choice(files)
        if roll < 0.4:
            new = step(call, "Read", file_read(rng.randint(120, 300), seed=files.index(path)),
                       {"file_path": path})  # fmt: skip
        elif roll < 0.6:
            new = step(call, "Edit", f"The file {path} has been updated.",
                       {"file_path": path, "old_string": "a", "new_string": f"b{t}"})  # fmt: skip
        elif roll < 0.8:
            new = step(call, "Bash", pytest_verbose(300, seed=seed + t),
                       {"command": "pytest -v tests/"})  # fmt: skip
            if fmt == "anthropic":
                new[-1]["content"][0]["is_error"] = True
        else:
            new = step(call, "Bash", kubectl_pods_json(40, seed=seed + t),
                       {"command": "kubectl get pods -A -o json"})  # fmt: skip
        history = history + new
        gap = rng.uniform(600, 1800) if t and t % 10 == 0 else rng.uniform(15, 90)
        timeline.append((gap, [dict(m) for m in history]))
    return timeline
