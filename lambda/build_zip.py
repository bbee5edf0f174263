"""Build the Lambda zip (`dist/headroom-gateway-lambda-<arch>.zip`) for the python3.12 runtime.

headroom-ai's full dependency set is ~430 MB, over Lambda's 250 MB unzipped limit; the
compress path needs a fraction of it. So headroom-ai goes in without its dependencies, then
only the ones it imports on that path (litellm, ast-grep and hf-xet stay out). Two data
files litellm ships are copied beside the handler instead: tiktoken's vocabulary to
`tiktoken_cache/` (tiktoken would otherwise download it at run time) and the model price map
to `price_map/` (the usage ledger, metrics and OTLP price requests with it). Bytecode is
compiled with unchecked hashes by a python3.12 when one is found: /var/task is read-only, so
without it every cold start recompiles every module. Fails above the size limit.

    python lambda/build_zip.py --arch x86_64|arm64 [--python-version 3.12] [--out dist/]
    python lambda/build_zip.py --verify dist/headroom-gateway-lambda-x86_64.zip
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("core", "adapters", "sidecar")
#: What the zip takes from litellm's package (litellm itself stays out).
VOCABULARY_DIR = "litellm_core_utils/tokenizers"
PRICE_MAP = "model_prices_and_context_window_backup.json"
#: Lambda's limit on a function's unzipped deployment package (250 MB).
UNZIPPED_LIMIT_BYTES = 250 * 2**20
#: Larger zips cannot be uploaded directly; they go through S3.
DIRECT_UPLOAD_LIMIT_BYTES = 50 * 2**20
#: Installed with --no-deps; its dependencies are chosen below.
HEADROOM_DIST = "headroom-ai"
#: headroom-ai's own dependencies that its import and compress path use. Left out: litellm
#: (proxy/LLM calls; only its vocabulary files are needed), ast-grep-cli (code tools),
#: hf-xet (model downloads).
HEADROOM_RUNTIME_DEPS = (
    "tiktoken", "pydantic", "click", "rich", "opentelemetry-api", "pyyaml", "tomlkit",
    "truststore", "filelock", "httpx",
)  # fmt: skip
#: Project dependencies a Lambda never imports: uvicorn serves the sidecar only.
SKIPPED_PROJECT_DEPS = ("uvicorn",)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same zip bytes
STRIPPED_DIRS = {"__pycache__", "bin"}
STRIPPED_DIST_INFO_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=("x86_64", "arm64"), default="x86_64")
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--compile-python", help="interpreter of --python-version for .pyc")
    parser.add_argument("--no-pin", action="store_true",
                        help="resolve versions afresh instead of this environment's")  # fmt: skip
    parser.add_argument("--limit-mib", type=float, default=UNZIPPED_LIMIT_BYTES / 2**20)
    parser.add_argument("--verify", type=Path, metavar="ZIP",
                        help="only check the unzipped size of an existing zip")  # fmt: skip
    args = parser.parse_args(argv)
    limit = int(args.limit_mib * 2**20)
    if args.verify:
        return report(args.verify, unzipped_size(args.verify), limit)

    target = args.build_dir / f"lambda-{args.arch}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    install_dependencies(target, args.arch, args.python_version, pin=not args.no_pin)
    copy_project(target)
    litellm = litellm_data(args.build_dir)
    copy_vocabulary(litellm / VOCABULARY_DIR, target / "tiktoken_cache")
    (target / "price_map").mkdir()
    shutil.copy2(litellm / PRICE_MAP, target / "price_map" / PRICE_MAP)
    strip(target)
    compiler = args.compile_python or find_python(args.python_version)
    if compiler:
        compile_bytecode(target, compiler)
    else:
        print(f"warning: no python{args.python_version} found; shipping sources only "
              "(slower cold starts)", file=sys.stderr)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    archive = args.out / f"headroom-gateway-lambda-{args.arch}.zip"
    write_zip(target, archive)
    return report(archive, unzipped_size(archive), limit)


def report(archive: Path, unzipped: int, limit: int) -> int:
    """Print the sizes; non-zero when the unzipped package would not fit Lambda."""
    zipped = archive.stat().st_size
    print(f"{archive}: {zipped / 2**20:.1f} MiB zipped, {unzipped / 2**20:.1f} MiB unzipped "
          f"(limit {limit / 2**20:.0f} MiB)")  # fmt: skip
    if zipped > DIRECT_UPLOAD_LIMIT_BYTES:
        print("note: over 50 MiB zipped, so deploy it through an S3 object, not a direct upload")
    if unzipped > limit:
        print(f"error: unzipped size {unzipped / 2**20:.1f} MiB is over the "
              f"{limit / 2**20:.0f} MiB limit", file=sys.stderr)  # fmt: skip
        return 1
    return 0


def requirements() -> list[str]:
    """The project's dependencies, headroom-ai's runtime subset instead of headroom-ai."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    skipped = {HEADROOM_DIST, *SKIPPED_PROJECT_DEPS}
    kept = [spec for spec in project if _dist_name(spec) not in skipped]
    return kept + list(HEADROOM_RUNTIME_DEPS)


def headroom_requirement() -> str:
    project: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    return next(spec for spec in project if _dist_name(spec) == HEADROOM_DIST)


def _dist_name(spec: str) -> str:
    name = spec
    for stop in "[<>=!~; ":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-")


def install_dependencies(target: Path, arch: str, python_version: str, pin: bool) -> None:
    """pip for the Lambda platform: manylinux wheels only, for CPython `python_version`."""
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[arch]
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--target", str(target), "--no-compile", "--only-binary=:all:",
           "--implementation", "cp", "--python-version", python_version,
           "--platform", f"manylinux_2_28_{machine}",
           "--platform", f"manylinux2014_{machine}"]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        if pin:
            constraints = Path(scratch) / "constraints.txt"
            constraints.write_text(installed_versions())
            pip += ["--constraint", str(constraints)]
        subprocess.run([*pip, *requirements()], check=True)
        subprocess.run([*pip, "--upgrade", "--no-deps", headroom_requirement()], check=True)


def installed_versions() -> str:
    """Pins to this environment's versions: the zip then carries what the tests ran with."""
    pins = set()
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and not dist.version.startswith("0.0.0") and "+" not in dist.version:
            pins.add(f"{name.lower()}=={dist.version}")
    pins = {pin for pin in pins if not pin.startswith("headroom-gateway==")}
    return "\n".join(sorted(pins)) + "\n"


def copy_project(target: Path) -> None:
    for package in PROJECT_PACKAGES:
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    shutil.copy2(ROOT / "lambda" / "handler.py", target / "handler.py")


def copy_vocabulary(source: Path, destination: Path) -> None:
    """tiktoken's cache layout (files named by the sha1 of their URL), taken from litellm."""
    destination.mkdir(parents=True)
    copied = 0
    for file in source.iterdir():
        if file.is_file() and file.suffix not in (".py", ".pyc"):
            shutil.copy2(file, destination / file.name)
            copied += 1
    if not copied:
        raise SystemExit(f"no tokenizer vocabulary files in {source}")


def litellm_data(build_dir: Path) -> Path:
    """litellm's package directory, for the data files the zip ships from it: the installed
    one (located, not imported: slow to import), else its wheel's, fetched without
    dependencies and only those files taken out."""
    spec = importlib.util.find_spec("litellm")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / PRICE_MAP).is_file() and (Path(location) / VOCABULARY_DIR).is_dir():
            return Path(location)
    download = build_dir / "litellm-wheel"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", "--dest", str(download), "litellm"],
                   check=True)  # fmt: skip
    wheel = sorted(download.glob("litellm-*.whl"))[-1]
    extracted = build_dir / "litellm-data"
    wanted = (f"litellm/{VOCABULARY_DIR}/", f"litellm/{PRICE_MAP}")
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(wanted) and not name.endswith("/"):
                archive.extract(name, extracted)
    return extracted / "litellm"


def strip(target: Path) -> None:
    """Drop what nothing imports: caches, console scripts, install records."""
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_dir() and path.name in STRIPPED_DIRS and path.parent == target:
            shutil.rmtree(path)
        elif path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path)
        elif path.parent.name.endswith(".dist-info") and path.name in STRIPPED_DIST_INFO_FILES:
            path.unlink()


def find_python(version: str) -> str | None:
    """An interpreter of the target version: this one, PATH, or a pyenv install."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pyenv = sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    candidates = [sys.executable, shutil.which(f"python{version}"), *pyenv]
    for candidate in candidates:
        if candidate and _python_version(str(candidate)) == version:
            return str(candidate)
    return None


def _python_version(python: str) -> str | None:
    """What `python` really runs (a pyenv shim may name a version it cannot start)."""
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def compile_bytecode(target: Path, python: str) -> None:
    """Unchecked-hash .pyc: valid whatever the file times become after unzipping."""
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0",
                    "--invalidation-mode", "unchecked-hash", str(target)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as bundle:
        return sum(info.file_size for info in bundle.infolist())


def write_zip(source: Path, archive: Path) -> None:
    """Sorted entries with fixed dates and the files' modes: reproducible bytes."""
    partial = archive.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), ZIP_DATE)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())
    partial.replace(archive)


if __name__ == "__main__":
    raise SystemExit(main())
