"""Run the packaged Lambda artifact the way AWS does, on this machine.

AWS's runtime emulator ships in no registry, so `RuntimeAPI` is a small implementation of
the Lambda Runtime API's invocation loop (stdlib HTTP server). `LambdaRuntime` unpacks
nothing itself: it starts AWS's real runtime client (`python3.12 -m awslambdaric
handler.handler`) in an unpacked artifact, with only the artifact and the runtime client on
the module path, and invokes it through the emulator.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / "build" / "lambda-test"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:headroom-gateway"
_PREFIX = "/2018-06-01/runtime"
_OUTCOMES = ("response", "error")


@dataclass
class Invocation:
    """One finished invocation: what the function posted back, and the bytes each way."""

    request_id: str
    outcome: str  # "response" or "error"
    payload: bytes
    event_bytes: int
    seconds: float

    def json(self) -> Any:
        return json.loads(self.payload)


class _Pending:
    def __init__(self, request_id: str, event: bytes) -> None:
        self.request_id = request_id
        self.event = event
        self.done = threading.Event()
        self.outcome = ""
        self.payload = b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a stopped runtime hung up
            super().handle_error(request, client_address)


class RuntimeAPI:
    """The Runtime API endpoints awslambdaric calls: next, response, error, init error."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._pending: dict[str, _Pending] = {}
        self.first_next_at: float | None = None
        self.init_error: bytes | None = None
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)  # releases a poller still waiting for an event
        self._server.shutdown()
        self._server.server_close()

    def invoke(
        self,
        event: dict[str, Any] | bytes,
        timeout: float = 60.0,
        alive: Callable[[], bool] | None = None,
    ) -> Invocation:
        """Queue an event and wait for the function's answer (or its death, or the timeout)."""
        raw = event if isinstance(event, bytes) else json.dumps(event).encode()
        pending = _Pending(str(uuid.uuid4()), raw)
        self._pending[pending.request_id] = pending
        started = time.perf_counter()
        self._queue.put(pending)
        try:
            while not pending.done.wait(0.02):
                if self.init_error is not None:
                    raise RuntimeError(f"function init failed: {self.init_error[:2000]!r}")
                if alive is not None and not alive():
                    raise RuntimeError("the runtime process exited during the invocation")
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"no answer within {timeout} s")
        finally:
            self._pending.pop(pending.request_id, None)
        seconds = time.perf_counter() - started
        return Invocation(pending.request_id, pending.outcome, pending.payload, len(raw), seconds)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint
            disable_nagle_algorithm = True  # TCP_NODELAY: else ~40-90 ms per small write

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"{_PREFIX}/invocation/next":
                    return self._reply(404, b'{"errorType":"NotFound"}')
                if api.first_next_at is None:
                    api.first_next_at = time.perf_counter()
                pending = api._queue.get()
                if pending is None:  # shutting down: leave the poller hanging up
                    api._queue.put(None)
                    self.close_connection = True
                    return
                deadline_ms = int((time.time() + 60) * 1000)
                trace = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0"
                self._reply(200, pending.event, {
                    "Lambda-Runtime-Aws-Request-Id": pending.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                    "Lambda-Runtime-Trace-Id": trace,
                })  # fmt: skip

            def do_POST(self) -> None:
                body = self._read_body()
                parts = self.path.removeprefix(_PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = body
                    return self._reply(202, b'{"status":"OK"}')
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in _OUTCOMES:
                    pending = api._pending.get(parts[1])
                    if pending is None:
                        return self._reply(400, b'{"errorType":"InvalidRequestID"}')
                    pending.outcome, pending.payload = parts[2], body
                    pending.done.set()
                    return self._reply(202, b'{"status":"OK"}')
                self._reply(404, b'{"errorType":"NotFound"}')

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                       ) -> None:  # fmt: skip
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                try:
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the runtime was stopped
                    self.close_connection = True

        return Handler


class LambdaRuntime:
    """The runtime client process in an unpacked artifact, fed by a `RuntimeAPI`."""

    def __init__(self, task_root: Path, python: str, runtime_client: Path, scratch: Path,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.task_root = task_root
        self.python = python
        self.runtime_client = runtime_client
        self.scratch = scratch
        self.extra_env = env or {}
        self.api = RuntimeAPI()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.log_path = scratch / "runtime.log"

    def start(self) -> LambdaRuntime:
        self.api.start()
        data = self.scratch / "tmp"
        data.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(data),
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "_HANDLER": "handler.handler",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "AWS_LAMBDA_FUNCTION_NAME": "headroom-gateway",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": "us-east-1",
            # Only the artifact and the runtime client: nothing else may satisfy an import.
            "PYTHONPATH": f"{self.task_root}{os.pathsep}{self.runtime_client}",
            "HEADROOM_DATA_DIR": str(data / "headroom-gateway"),
            "HEADROOM_WORKSPACE_DIR": str(data / "headroom"),
            **self.extra_env,
        }
        self.started_at = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                # -S: no site-packages of this interpreter, as /var/task holds everything
                [self.python, "-S", "-m", "awslambdaric", "handler.handler"],
                cwd=self.task_root, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_initialised(self, timeout: float = 60.0) -> float:
        """Seconds from process start to its first `invocation/next`: the init phase."""
        deadline = time.perf_counter() + timeout
        while self.api.first_next_at is None:
            if self.api.init_error is not None or not self.alive():
                raise RuntimeError(f"init failed:\n{self.log_tail()}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"init took over {timeout} s:\n{self.log_tail()}")
            time.sleep(0.005)
        return self.api.first_next_at - self.started_at

    def invoke(self, event: dict[str, Any] | bytes, timeout: float = 60.0) -> Invocation:
        try:
            return self.api.invoke(event, timeout, alive=self.alive)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}\n{self.log_tail()}") from error

    def peak_rss_bytes(self) -> int:
        """VmHWM: the most resident memory the runtime process has held."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc status")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.api.stop()


# -- the artifact and the runtime client, built once and cached by content ------------------


def find_python312() -> str | None:
    """CPython 3.12, the Lambda runtime's version: PATH or a pyenv install."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which("python3.12"),
                  *sorted(pyenv_root.glob("versions/3.12.*/bin/python3.12"))]  # fmt: skip
    probe = "import sys; assert sys.version_info[:2] == (3, 12)"
    for candidate in candidates:
        if candidate and subprocess.run([str(candidate), "-c", probe],
                                        capture_output=True).returncode == 0:  # fmt: skip
            return str(candidate)
    return None


def source_digest() -> str:
    """What the zip is made of: the build script, the handler, the project and its pins."""
    files = [ROOT / "pyproject.toml", *sorted((ROOT / "lambda").glob("*.py"))]
    for package in ("core", "adapters", "sidecar"):
        files += sorted((ROOT / package).rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build_artifact(arch: str = "x86_64") -> Path:
    """`lambda/build_zip.py`'s zip for these sources, rebuilt only when they change."""
    key = source_digest()
    folder = CACHE / f"{arch}-{key}"
    archive = folder / f"headroom-gateway-lambda-{arch}.zip"
    if archive.exists():
        return archive
    if CACHE.exists():
        for stale in CACHE.glob(f"{arch}-*"):
            shutil.rmtree(stale, ignore_errors=True)
    staging = folder / "staging"
    done = subprocess.run(
        [sys.executable, str(ROOT / "lambda" / "build_zip.py"), "--arch", arch,
         "--out", str(folder), "--build-dir", str(staging)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"build_zip.py failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    shutil.rmtree(staging, ignore_errors=True)
    (folder / "build.log").write_text(done.stdout)
    return archive


def unpack(archive: Path, destination: Path) -> Path:
    """Unzip as Lambda does into /var/task, keeping the files' modes."""
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            path = Path(bundle.extract(info, destination))
            mode = info.external_attr >> 16
            if mode:
                path.chmod(mode)
    return destination


def unzipped_bytes(archive: Path) -> int:
    with zipfile.ZipFile(archive) as bundle:
        return sum(info.file_size for info in bundle.infolist())


def runtime_client(python: str) -> Path:
    """awslambdaric for `python`, in its own folder: AWS's runtime provides it, not the zip."""
    folder = CACHE / "awslambdaric-py312"
    if not (folder / "awslambdaric").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--only-binary=:all:", "--target", str(folder), "awslambdaric>=3.0"],
                       check=True)  # fmt: skip
    return folder
