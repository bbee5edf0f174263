"""How long a central-policy change takes to reach every replica (target < 5 s).

Two real sidecars read one ConfigMap-style mount (symlink swap, default 1 s poll); a team's
kill switch is flipped on and off several times, and each flip is timed until both
replicas answer that team's next request accordingly (`x-headroom-outcome`).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests import corpus
from tests.integration.http.test_policy_replicas import configmap
from tests.processes import Sidecar

TOKEN = "bench-policy"
ON = b"teams:\n  payments:\n    kill_switch: true\n"
OFF = b"teams:\n  payments:\n    kill_switch: false\n"


def run_policy_bench(flips: int = 6) -> dict[str, Any]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "go"},
            *corpus.tool_turn_openai("c1", "Bash", corpus.kubectl_pods_json(30))]}  # fmt: skip
    headers = {"authorization": f"Bearer {TOKEN}", "x-headroom-team": "payments"}
    with tempfile.TemporaryDirectory() as mount:
        path = configmap(Path(mount), OFF)
        env = {"HEADROOM_POLICY_FILE": str(path), "HEADROOM_PROXY_TOKEN": TOKEN}
        with Sidecar(env) as a, Sidecar(env) as b, httpx.Client(timeout=30) as client:
            seconds = []
            for flip in range(flips):
                content, wanted = (ON, "bypassed") if flip % 2 == 0 else (OFF, "compressed")
                started = time.perf_counter()
                configmap(Path(mount), content)
                pending = {a.url, b.url}
                while pending:
                    for url in list(pending):
                        answer = client.post(f"{url}/v1/compress", json=body, headers=headers)
                        if answer.headers.get("x-headroom-outcome") == wanted:
                            pending.discard(url)
                    time.sleep(0.02)
                seconds.append(time.perf_counter() - started)
    out = {"replicas": 2, "poll_seconds": 1.0, "flips": flips,
           "p50_seconds": statistics.median(seconds), "max_seconds": max(seconds)}  # fmt: skip
    print(f"  policy change to every replica: {out}")
    return out
