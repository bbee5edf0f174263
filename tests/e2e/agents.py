"""Find and run the real agent CLIs (Claude Code, Codex) offline against a base URL.

The CLIs look up external hosts even when told not to, so they run inside a loopback-only
network namespace (`unshare --net`), together with whatever they talk to: see scenarios.py.
tests/e2e/install-agents.sh installs them into `.tools/agents` (or $HEADROOM_TOOLS_DIR).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL = "tests/e2e/install-agents.sh"


def tools_dir() -> Path:
    return Path(os.environ.get("HEADROOM_TOOLS_DIR") or REPO / ".tools")


def agent_binary(name: str) -> Path:
    """The installed CLI (`claude` or `codex`); a missing one is an error, never a skip."""
    path = tools_dir() / "agents" / "node_modules" / ".bin" / name
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} missing: run `bash {INSTALL}` (make tools does)")
    return path


def in_loopback_namespace(argv: Sequence[str]) -> list[str]:
    """`argv` in a new network namespace that has only loopback (root, or a user namespace)."""
    if shutil.which("unshare") is None:
        raise FileNotFoundError("unshare (util-linux) is needed to run the agent CLIs offline")
    userns = [] if os.geteuid() == 0 else ["--map-root-user"]
    return ["unshare", "--net", *userns, "--", *argv]


def bring_loopback_up() -> None:
    """`ip link set lo up` without iproute2: a new namespace starts with lo down."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


def claude_env(base_url: str, home: Path, api_key: str, custom_headers: str = "") -> dict[str, str]:
    """What a developer exports to use the gateway, plus what keeps the CLI offline and quiet.
    `custom_headers`: ANTHROPIC_CUSTOM_HEADERS, `Name: value` lines."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }
    if custom_headers:
        env["ANTHROPIC_CUSTOM_HEADERS"] = custom_headers
    return env


def run_claude(
    base_url: str,
    prompt: str,
    workdir: Path,
    *,
    api_key: str,
    custom_headers: str = "",
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """`claude -p PROMPT --allowedTools Bash --output-format json` in `workdir` (also HOME)."""
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [str(agent_binary("claude")), "-p", prompt, "--allowedTools", "Bash",
            "--output-format", "json"]  # fmt: skip
    env = claude_env(base_url, workdir, api_key, custom_headers)
    return subprocess.run(
        argv,
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def run_codex(
    base_url: str,
    prompt: str,
    workdir: Path,
    *,
    api_key: str,
    http_headers: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """`codex exec` with a model provider pointing at `base_url` (which ends in /v1), the
    config a developer puts in ~/.codex/config.toml, given here as -c overrides."""
    workdir.mkdir(parents=True, exist_ok=True)
    headers = ", ".join(f'"{k}" = "{v}"' for k, v in (http_headers or {}).items())
    provider = (f'{{name="gateway", base_url="{base_url}", wire_api="responses", '
                f'env_key="GATEWAY_API_KEY", http_headers={{{headers}}}}}')  # fmt: skip
    argv = [str(agent_binary("codex")), "exec", "--skip-git-repo-check", "--json",
            "--dangerously-bypass-approvals-and-sandbox",
            "-c", "model_provider=gateway", "-c", f"model_providers.gateway={provider}",
            "-m", "gpt-5", prompt]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
           "CODEX_HOME": str(workdir / ".codex"), "GATEWAY_API_KEY": api_key}  # fmt: skip
    (workdir / ".codex").mkdir(exist_ok=True)
    return subprocess.run(
        argv,
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
