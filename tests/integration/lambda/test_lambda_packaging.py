"""What lambda/build_zip.py puts in the zip, and the Lambda image's Dockerfile.

The zip must fit Lambda (250 MiB unzipped), carry the compress path and nothing heavy
beside it, resolve tokenizers offline, and start without compiling (read-only /var/task).
There is no Docker daemon here: the Dockerfile is checked by reading it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.packaging.test_dockerfiles import contract_offline_env, parse

from .lambda_harness import ROOT

pytestmark = pytest.mark.integration

BUILD_ZIP = ROOT / "lambda" / "build_zip.py"
#: tiktoken caches a vocabulary under the sha1 of its URL.
VOCABULARY_URLS = [
    f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    for name in ("cl100k_base", "o200k_base")
]


@pytest.fixture(scope="module")
def build_zip() -> ModuleType:
    spec = importlib.util.spec_from_file_location("headroom_build_zip", BUILD_ZIP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def names(lambda_zip: Path) -> set[str]:
    with zipfile.ZipFile(lambda_zip) as bundle:
        return set(bundle.namelist())


def top_level(names: set[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


def test_unzipped_size_fits_and_verify_fails_above_a_limit(lambda_zip: Path) -> None:
    with zipfile.ZipFile(lambda_zip) as bundle:
        unzipped = sum(info.file_size for info in bundle.infolist())
    assert unzipped < 250 * 2**20
    ok = subprocess.run([sys.executable, str(BUILD_ZIP), "--verify", str(lambda_zip)],
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert f"{unzipped / 2**20:.1f} MiB unzipped" in ok.stdout
    limit = int(unzipped / 2**20) - 1
    over = subprocess.run([sys.executable, str(BUILD_ZIP), "--verify", str(lambda_zip),
                           "--limit-mib", str(limit)], capture_output=True, text=True)  # fmt: skip
    assert over.returncode == 1
    assert f"over the {limit} MiB limit" in over.stderr


def test_handler_at_the_root_with_the_project_packages(names: set[str]) -> None:
    assert "handler.py" in names
    for package in ("core", "adapters", "adapters/http", "sidecar"):
        assert f"{package}/__init__.py" in names, package
    assert "headroom/__init__.py" in names and "mangum/__init__.py" in names


def test_heavy_dependencies_off_the_compress_path_are_left_out(names: set[str]) -> None:
    roots = top_level(names)
    for absent in ("litellm", "openai", "ast_grep", "hf_xet", "uvicorn", "pytest", "bin",
                   "awslambdaric", "tests"):  # fmt: skip
        assert absent not in roots, absent
    assert not [n for n in names if "/__pycache__/" in n and ".cpython-312." not in n]
    assert not [n for n in names if n.endswith(".dist-info/RECORD")]


def test_headroom_version_is_the_projects_pin(names: set[str], build_zip: ModuleType) -> None:
    pinned = build_zip.headroom_requirement().split("==")[1]
    assert f"headroom_ai-{pinned}.dist-info/METADATA" in names


def test_requirements_swap_headroom_for_its_compress_path_subset(build_zip: ModuleType) -> None:
    requirements = [build_zip._dist_name(spec) for spec in build_zip.requirements()]
    for absent in ("headroom-ai", "litellm", "ast-grep-cli", "hf-xet", "uvicorn", "openai"):
        assert absent not in requirements, absent
    for present in ("tiktoken", "fastapi", "mangum", "pydantic-settings", "trafilatura",
                    "redis", "boto3"):  # fmt: skip
        assert present in requirements, present


def test_tiktoken_vocabulary_ships_beside_the_handler(names: set[str]) -> None:
    shipped = {n.split("/", 1)[1] for n in names if n.startswith("tiktoken_cache/")}
    for url in VOCABULARY_URLS:
        assert hashlib.sha1(url.encode()).hexdigest() in shipped, url
    handler = (ROOT / "lambda" / "handler.py").read_text()
    assert '"tiktoken_cache"' in handler


def test_the_model_price_map_ships_beside_the_handler(names: set[str], lambda_zip: Path) -> None:
    """litellm stays out of the zip, its price map comes along: requests are priced."""
    shipped = "price_map/model_prices_and_context_window_backup.json"
    assert shipped in names
    with zipfile.ZipFile(lambda_zip) as bundle:
        prices = json.loads(bundle.read(shipped))
    assert prices["claude-sonnet-4-5"]["input_cost_per_token"] > 0
    assert prices["gpt-4o"]["output_cost_per_token"] > 0
    handler = (ROOT / "lambda" / "handler.py").read_text()
    assert '"price_map"' in handler and "HEADROOM_PRICE_MAP_FILE" in handler


def test_bytecode_is_precompiled_for_312_with_unchecked_hashes(lambda_zip: Path) -> None:
    """/var/task is read-only: without .pyc, every cold start compiles every module; with
    timestamp-checked .pyc, unzipping changes the times and they are ignored."""
    with zipfile.ZipFile(lambda_zip) as bundle:
        sources = [
            n
            for n in bundle.namelist()
            if n.endswith(".py") and n.split("/")[0] in ("core", "adapters", "headroom")
        ]
        missing, checked = [], []
        for source in sources:
            folder, _, file = source.rpartition("/")
            compiled = f"{folder}/__pycache__/{file[:-3]}.cpython-312.pyc"
            try:
                header = bundle.read(compiled)[:8]
            except KeyError:
                missing.append(source)
                continue
            if int.from_bytes(header[4:8], "little") != 0b01:  # hash-based, not checked
                checked.append(compiled)
    assert sources and not missing and not checked


def test_zip_bytes_are_reproducible(build_zip: ModuleType, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "a.py").write_text("x = 1\n")
    (tree / "run.sh").write_text("#!/bin/sh\n")
    (tree / "run.sh").chmod(0o755)
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    build_zip.write_zip(tree, first)
    (tree / "pkg" / "a.py").touch()  # a new mtime must not change the bytes
    build_zip.write_zip(tree, second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as bundle:
        modes = {i.filename: i.external_attr >> 16 for i in bundle.infolist()}
    assert modes == {"pkg/a.py": 0o644, "run.sh": 0o755}


def test_dockerfile_builds_the_same_task_root_on_the_lambda_base_image() -> None:
    dockerfile = parse(ROOT / "lambda" / "Dockerfile")
    assert dockerfile.global_args["LAMBDA_IMAGE"] == "public.ecr.aws/lambda/python:3.12"
    assert {stage.base for stage in dockerfile.stages} == {"${LAMBDA_IMAGE}"}
    assert json.loads(dockerfile.final.all("CMD")[-1]) == ["handler.handler"]
    env = dockerfile.final.env()
    for key, value in contract_offline_env().items():
        assert env.get(key) == value, key
    assert env["HEADROOM_PROFILE"] == "lambda"
    assert env["TIKTOKEN_CACHE_DIR"] == "/var/task/tiktoken_cache"
    assert env["HEADROOM_PRICE_MAP_FILE"] == (
        "/var/task/price_map/model_prices_and_context_window_backup.json")  # fmt: skip
    assert env["HEADROOM_DATA_DIR"].startswith("/tmp/")
    build = dockerfile.stage("build")
    assert any("lambda/build_zip.py" in run and "--arch" in run for run in build.all("RUN"))
    assert "--from=build /build/task-root/ /var/task/" in dockerfile.final.all("COPY")
    copied = [rest.split()[0] for rest in build.all("COPY")]
    assert {"pyproject.toml", "core/", "adapters/", "sidecar/", "lambda/"} <= set(copied)
    ignore_file = (ROOT / "lambda" / "Dockerfile.dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in ignore_file if line.strip() and line[0] != "#"}
    assert {".venv", "build", "dist", "tests"} <= ignored
    assert not {"lambda", "core", "adapters", "sidecar", "pyproject.toml"} & ignored
