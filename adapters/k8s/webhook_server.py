"""HTTPS shell around `adapters.k8s.injection` for the Kubernetes API server.

Standard library only (http.server + ssl): the webhook pod then needs nothing beyond the
gateway image and starts in well under a second. Routes: `POST /mutate` (AdmissionReview v1)
and `GET /live` (plus `/livez`, `/ready`, `/readyz`, `/health`) for the kubelet.

The serving certificate is re-read when its file changes, so cert-manager renewals (a new
Secret projected into the pod) take effect without a restart.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeAlias

from adapters.k8s.injection import (
    DEFAULT_SPEC_FILE,
    SPEC_FILE_ENV,
    InjectSpec,
    admission_response,
    load_spec,
)

log = logging.getLogger("headroom_gateway.webhook")

StrPath: TypeAlias = str | os.PathLike[str]

#: The API server caps objects at ~3 MiB; anything larger is not an AdmissionReview.
MAX_BODY_BYTES = 8 * 1024 * 1024
HEALTH_PATHS = frozenset({"/live", "/livez", "/ready", "/readyz", "/health", "/startup"})


class _ReloadingContext:
    """Server SSLContext rebuilt when the certificate or key file changes on disk."""

    def __init__(self, certfile: StrPath, keyfile: StrPath) -> None:
        self._certfile = certfile
        self._keyfile = keyfile
        self._lock = threading.Lock()
        self._stamp: tuple[float, float] | None = None
        self._context = self._load()

    def _mtimes(self) -> tuple[float, float]:
        return os.stat(self._certfile).st_mtime, os.stat(self._keyfile).st_mtime

    def _load(self) -> ssl.SSLContext:
        stamp = self._mtimes()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self._certfile, self._keyfile)
        self._stamp = stamp
        return context

    def current(self) -> ssl.SSLContext:
        with self._lock:
            try:
                if self._mtimes() != self._stamp:
                    self._context = self._load()
                    log.info("reloaded TLS certificate %s", self._certfile)
            except (OSError, ssl.SSLError) as exc:
                # Mid-rotation (key and cert not yet consistent): keep serving the old pair.
                log.warning("TLS reload failed, keeping previous certificate: %s", exc)
            return self._context


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"
    # Socket timeout: a client that stalls the handshake or the body frees its thread.
    timeout = 10

    def setup(self) -> None:
        super().setup()
        assert isinstance(self.connection, ssl.SSLSocket)
        self.connection.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in HEALTH_PATHS:
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/mutate":
            self._send_json(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send_json(411, {"error": "Content-Length required"})
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_json(413, {"error": "body too large"})
            return
        try:
            review = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            self._send_json(400, {"error": "body is not JSON"})
            return
        request = review.get("request") if isinstance(review, dict) else None
        try:
            result = admission_response(review, self.server.spec)
        except Exception:  # a bug here must not block pods, even with failurePolicy Fail
            log.exception("admission failed, allowing the pod unchanged")
            uid = request.get("uid") if isinstance(request, dict) else None
            result = {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": {
                    "uid": uid if isinstance(uid, str) else "",
                    "allowed": True,
                    "status": {"message": "internal error"},
                },
            }
        response = result["response"]
        target = request.get("namespace", "?") if isinstance(request, dict) else "?"
        # Names and outcome only: pod specs can carry secrets in env values.
        log.info(
            "uid=%s namespace=%s patched=%s %s",
            response["uid"],
            target,
            "patch" in response,
            response.get("status", {}).get("message", ""),
        )
        self._send_json(200, result)


class WebhookServer(ThreadingHTTPServer):
    """Threaded HTTPS server; each accepted socket is wrapped with the current certificate."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], certfile: StrPath, keyfile: StrPath, spec: InjectSpec
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.spec = spec
        self._tls = _ReloadingContext(certfile, keyfile)
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # Handshake later, in the handler thread, so a slow client cannot stall accept().
        wrapped = self._tls.current().wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


def make_server(
    host: str, port: int, certfile: StrPath, keyfile: StrPath, spec: InjectSpec
) -> WebhookServer:
    """Bind (port 0 picks a free one) without serving; tests and `run` share it."""
    return WebhookServer((host, port), certfile, keyfile, spec)


def run(
    host: str, port: int, certfile: StrPath, keyfile: StrPath, spec: InjectSpec | None = None
) -> None:
    """Serve the webhook until interrupted (`headroom-gateway inject`).

    Without `spec`, reads the file the chart mounts: $HEADROOM_INJECT_SPEC_FILE, default
    /etc/headroom-gateway/inject/spec.json.
    """
    if spec is None:
        spec = load_spec(os.environ.get(SPEC_FILE_ENV, DEFAULT_SPEC_FILE))
    server = make_server(host, port, certfile, keyfile, spec)
    log.info(
        "listening on https://%s:%d/mutate (image %s, native=%s)",
        host,
        server.server_address[1],
        spec.image,
        spec.native,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
