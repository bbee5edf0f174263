"""The container images, checked from their Dockerfiles (no Docker daemon here to build them).

A small parser reads the instructions per stage; the tests assert what the chart and
tests/CONTRACT.md rely on: non-root numeric USER, offline env, baked tokenizer files, the
entry point, and in the GPU image no CPU `onnxruntime` beside `onnxruntime-gpu`.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.packaging.k8s_support import CHART, REPO

pytestmark = pytest.mark.packaging

SIDECAR = REPO / "sidecar"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for rest in self.all("ENV"):
            for token in shlex.split(rest):
                key, _, value = token.partition("=")
                out[key] = value
        return out


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def runs(self) -> list[str]:
        return [r for s in self.stages for r in s.all("RUN")]


def parse(path: Path) -> Dockerfile:
    """Logical lines (continuations joined, comments dropped) grouped into stages."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif not stages:
            assert keyword == "ARG", f"{path}: only ARG may precede FROM, got {keyword}"
            key, _, value = rest.partition("=")
            global_args[key] = value.strip('"')
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return Dockerfile(global_args, stages)


def contract_offline_env() -> dict[str, str]:
    """The offline switches tests/CONTRACT.md says every image sets."""
    text = (REPO / "tests" / "CONTRACT.md").read_text()
    match = re.search(r"Offline env always set in images: `([^`]+)`", text, re.S)
    assert match, "CONTRACT.md no longer lists the images' offline env"
    return dict(token.split("=", 1) for token in match.group(1).split())


def commands(run: str) -> list[list[str]]:
    """Shell words of each simple command in a RUN line (split on && ; | outside quotes)."""
    lexer = shlex.shlex(run, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    out: list[list[str]] = [[]]
    for token in lexer:
        if token in {"&&", ";", "|", "||"}:
            out.append([])
        else:
            out[-1].append(token)
    return [c for c in out if c]


def pip_steps(run: str) -> list[str]:
    """`install:<arg>` / `uninstall:<arg>` for each package argument of pip in a RUN line."""
    steps = []
    for words in commands(run):
        if len(words) >= 2 and words[0].endswith("pip") and words[1] in {"install", "uninstall"}:
            steps += [f"{words[1]}:{w}" for w in words[2:] if not w.startswith("-")]
    return steps


IMAGES = {"cpu": SIDECAR / "Dockerfile", "gpu": SIDECAR / "Dockerfile.gpu"}


@pytest.fixture(params=sorted(IMAGES), scope="module")
def image(request: pytest.FixtureRequest) -> tuple[str, Dockerfile]:
    return request.param, parse(IMAGES[request.param])


def test_multi_stage_and_final_stage_runs_as_chart_uid(image: tuple[str, Dockerfile]) -> None:
    _, dockerfile = image
    assert len(dockerfile.stages) >= 2, "build tools must stay in a build stage"
    users = dockerfile.final.all("USER")
    assert users, "the final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so the kubelet can verify runAsNonRoot without reading /etc/passwd.
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0
    chart_context = yaml.safe_load((CHART / "values.yaml").read_text())["containerSecurityContext"]
    assert int(uid) == chart_context["runAsUser"] == 10001
    assert int(gid) == chart_context["runAsGroup"]


def test_offline_env_and_baked_tokenizers(image: tuple[str, Dockerfile]) -> None:
    _, dockerfile = image
    env = dockerfile.final.env()
    for key, value in contract_offline_env().items():
        assert env.get(key) == value, f"{key} must be {value} in the image"
    cache = env["TIKTOKEN_CACHE_DIR"]
    assert any(
        "litellm/litellm_core_utils/tokenizers" in run and cache in run for run in dockerfile.runs()
    ), "tokenizer files must be copied into the cache"
    assert f"--from=build {cache} {cache}" in dockerfile.final.all("COPY")
    assert env["HEADROOM_DATA_DIR"] == "/var/lib/headroom-gateway"
    assert env["HOME"] == "/tmp", "a read-only root filesystem leaves only /tmp writable"
    assert any(
        "-o 10001 -g 10001" in run and env["HEADROOM_DATA_DIR"] in run
        for run in dockerfile.final.all("RUN")
    )


def test_entrypoint_and_project_install(image: tuple[str, Dockerfile]) -> None:
    _, dockerfile = image
    assert json.loads(dockerfile.final.all("ENTRYPOINT")[-1]) == ["headroom-gateway"]
    assert json.loads(dockerfile.final.all("CMD")[-1]) == ["serve"]
    assert "8787" in dockerfile.final.all("EXPOSE")
    build = dockerfile.stage("build")
    installs = [step for run in build.all("RUN") for step in pip_steps(run)]
    assert "install:." in installs or "install:.[kompress]" in installs
    assert not [run for run in dockerfile.final.all("RUN") if pip_steps(run)], (
        "the runtime stage must not install Python packages (no compilers there)"
    )


def test_cpu_image_base() -> None:
    dockerfile = parse(IMAGES["cpu"])
    assert dockerfile.global_args["PYTHON_IMAGE"].startswith("python:3.12-slim")
    assert {s.base for s in dockerfile.stages} == {"${PYTHON_IMAGE}"}


def test_gpu_image_uses_onnxruntime_gpu_only() -> None:
    dockerfile = parse(IMAGES["gpu"])
    base = dockerfile.global_args["CUDA_IMAGE"]
    assert base.startswith("nvidia/cuda:") and "cudnn" in base and "runtime" in base
    env = dockerfile.final.env()
    assert env["HEADROOM_PROFILE"] == "service"
    assert env["HEADROOM_KOMPRESS_MODEL_DIR"] == "/opt/kompress"

    steps = [step for run in dockerfile.stage("build").all("RUN") for step in pip_steps(run)]
    installed = [s.split(":", 1)[1] for s in steps if s.startswith("install:")]
    names = [re.split(r"[<>=!~\[ ]", p, maxsplit=1)[0].lower() for p in installed]
    assert "onnxruntime" not in names, "never install the CPU onnxruntime in the GPU image"
    assert "onnxruntime-gpu" in names
    gpu_at = steps.index(next(s for s in steps if s.startswith("install:onnxruntime-gpu")))
    assert steps.index("uninstall:onnxruntime") < gpu_at, "remove CPU onnxruntime first"
    assert steps.index("install:.[kompress]") < steps.index("uninstall:onnxruntime")
    assert not [s for s in steps[gpu_at + 1 :] if s.startswith("install:")], (
        "nothing may be installed after onnxruntime-gpu (it could bring onnxruntime back)"
    )
    assert any(
        "onnxruntime-gpu" in run and "importlib.metadata" in run for run in dockerfile.runs()
    ), "the build must prove no CPU onnxruntime is left"


def test_gpu_image_kompress_weights_from_build_arg() -> None:
    dockerfile = parse(IMAGES["gpu"])
    stage = dockerfile.stage("kompress")
    assert 'KOMPRESS_MODEL_DIR=""' in stage.all("ARG")
    source, target = stage.all("COPY")[0].split()
    default = re.fullmatch(r"\$\{KOMPRESS_MODEL_DIR:-([^}]+)\}/", source)
    assert default, "weights come from the build arg, with a default that always exists"
    assert (REPO / default.group(1)).is_dir()
    assert target == "/opt/kompress/"
    assert "--from=kompress /opt/kompress /opt/kompress" in dockerfile.final.all("COPY")


@pytest.mark.parametrize("name", sorted(IMAGES.values()), ids=lambda p: p.name)
def test_dockerignore_keeps_what_pip_install_needs(name: Path) -> None:
    patterns = [
        line.strip()
        for line in Path(f"{name}.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = [
        "pyproject.toml",
        "README.md",
        "core",
        "adapters",
        "sidecar",
        "sidecar/kompress/README.md",
    ]
    for path in needed:
        assert not any(fnmatch.fnmatch(path, p) for p in patterns), f"{path} is ignored"
    assert ".git" in patterns and ".venv" in patterns
