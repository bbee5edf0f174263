"""Agent sessions run inside a loopback-only network namespace, reported as JSON.

    unshare --net -- python -m tests.e2e.scenarios claude|codex OUT.json

Inside the namespace this starts the fake provider and the gateway (its proxy pointed at the
fake with HEADROOM_ANTHROPIC_API_URL / HEADROOM_OPENAI_API_URL), runs the real CLI a few
times, and writes what the provider received and what the CLI printed. The tests
(test_claude_code.py, test_codex.py) assert on that report: the pytest process cannot reach
into the namespace, so everything that talks runs in here.

The fake model: when the request declares the CLI's shell tool (Bash, exec_command) and has
not called it yet, it calls it with a command whose output is compressible and under the
CLI's output cap; once the result is back it answers FINAL. With `retrieve`, it first
retrieves any CCR marker through `headroom_retrieve` (which only the gateway declares and
answers).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.agents import bring_loopback_up, run_claude, run_codex
from tests.fake_provider import Exchange, FakeProvider, Reply, retrieve_model
from tests.processes import Sidecar

API_KEY = "sk-ant-e2e-0123456789"
PROXY_TOKEN = "e2e-proxy-token"
FINAL = "FINAL: 150 pods, all Running."
PROMPT = "List the pods and tell me whether they are all running."
COMMAND = (
    'python3 -c \'import json; print(json.dumps({"kind": "PodList", "items": ['
    '{"name": f"api-{i}", "namespace": "prod", "phase": "Running", "restarts": i % 3, '
    '"node": f"ip-10-0-{i % 7}-12.ec2.internal", "image": "registry.local/api:1.4.2"} '
    "for i in range(150)]}, indent=1))'"
)


#: Codex caps a command's output near 10,000 characters and prefixes it with a header
#: ("Chunk ID: ...\nOutput:\n"): an application log that fits, since the header hides JSON.
CODEX_COMMAND = (
    "python3 -c 'for i in range(80): print(f\"2026-12-03T09:{i // 60:02d}:{i % 60:02d}Z INFO  "
    "api.handler request_id=req-{i:05d} method=GET path=/v1/items/{i % 17} status=200 "
    "duration_ms={i * 7 % 90}\")'"
)
#: The shell tool of each CLI and the arguments that run a command with it.
CLAUDE_SHELL = ("Bash", {"command": COMMAND, "description": "List pods"})
CODEX_SHELL = ("exec_command", {"cmd": CODEX_COMMAND})


def agent_model(shell: tuple[str, dict[str, Any]], retrieve: bool) -> Callable[[Exchange], Reply]:
    tool, arguments = shell

    def answer(exchange: Exchange) -> Reply:
        if tool not in exchange.tool_names:
            return Reply.say("ok")  # the CLI's side requests (titles, summaries)
        if not any(call.name == tool for call in exchange.calls):
            return Reply.call(tool, arguments)
        retrieving = retrieve_model(exchange) if retrieve else None
        return retrieving or Reply.say(FINAL)

    return answer


def recorded(fake: FakeProvider) -> list[dict[str, Any]]:
    return [{"method": r.method, "path": r.path, "headers": r.headers, "api": r.api,
             "body": base64.b64encode(r.body).decode(), "outcome": r.outcome,
             "usage": r.usage.__dict__ if r.usage else None} for r in fake.requests]  # fmt: skip


def claude_runs(workdir: Path) -> list[dict[str, Any]]:
    """Direct to the fake (the reference), through the gateway, and the retrieve loop."""
    runs: list[dict[str, Any]] = []
    with FakeProvider(chunk_delay=0.001) as fake:
        env = {"HEADROOM_ANTHROPIC_API_URL": fake.url, "HEADROOM_PROXY_TOKEN": PROXY_TOKEN}
        with Sidecar(env=env, workdir=workdir / "gateway") as gateway:
            headers = f"X-Headroom-Proxy-Token: {PROXY_TOKEN}"
            for name, url, retrieve in (("direct", fake.url, False),
                                        ("gateway", gateway.url, False),
                                        ("retrieve", gateway.url, True)):  # fmt: skip
                fake.reset()
                fake.model = agent_model(CLAUDE_SHELL, retrieve)
                started = time.perf_counter()
                done = run_claude(url, PROMPT, workdir / name, api_key=API_KEY,
                                  custom_headers=headers if url != fake.url else "")  # fmt: skip
                runs.append({"name": name, "rc": done.returncode, "stdout": done.stdout,
                             "stderr": done.stderr[-4000:], "requests": recorded(fake),
                             "seconds": time.perf_counter() - started,
                             "gateway_log": gateway.log_tail()})  # fmt: skip
    return runs


def codex_runs(workdir: Path) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    with FakeProvider(chunk_delay=0.001) as fake:
        env = {"HEADROOM_OPENAI_API_URL": fake.url, "HEADROOM_PROXY_TOKEN": PROXY_TOKEN}
        with Sidecar(env=env, workdir=workdir / "gateway") as gateway:
            for name, url, retrieve in (("direct", fake.url, False),
                                        ("gateway", gateway.url, False),
                                        ("retrieve", gateway.url, True)):  # fmt: skip
                fake.reset()
                fake.model = agent_model(CODEX_SHELL, retrieve)
                headers = {"X-Headroom-Proxy-Token": PROXY_TOKEN} if url != fake.url else {}
                done = run_codex(url + "/v1", PROMPT, workdir / name, api_key=API_KEY,
                                 http_headers=headers)  # fmt: skip
                runs.append({"name": name, "rc": done.returncode, "stdout": done.stdout,
                             "stderr": done.stderr[-4000:], "requests": recorded(fake),
                             "gateway_log": gateway.log_tail()})  # fmt: skip
    return runs


def command_output(command: str) -> str:
    """What the shell tool returns for `command`, to compare with what reached the provider."""
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True)
    return done.stdout


def main(argv: list[str]) -> int:
    scenario, out = argv[0], Path(argv[1])
    bring_loopback_up()
    with tempfile.TemporaryDirectory(prefix=f"e2e-{scenario}-") as scratch:
        runs = {"claude": claude_runs, "codex": codex_runs}[scenario](Path(scratch))
    command = {"claude": COMMAND, "codex": CODEX_COMMAND}[scenario]
    out.write_text(json.dumps({"command_output": command_output(command), "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
