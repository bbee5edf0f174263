"""Real HTTPS round trips to the stdlib webhook server on a free loopback port.

Certificates are generated here (cryptography) or taken from the chart's own self-signed
rendering, and the client verifies them the way the API server does: against the CA bundle,
for the Service's DNS name.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import http.client
import ipaddress
import json
import os
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.k8s.injection import InjectSpec
from adapters.k8s.webhook_server import WebhookServer, make_server
from tests.packaging.k8s_support import HELM, INSTALL_HINT, find, inject_spec_json, render_shape

pytest.importorskip("cryptography", reason="cryptography missing: pip install -e '.[dev]'")
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

pytestmark = pytest.mark.packaging


@functools.cache
def chart_spec() -> InjectSpec:
    """The native sidecar the chart renders for the cert-manager webhook shape."""
    return InjectSpec.from_dict(
        json.loads(inject_spec_json(render_shape("sidecar-webhook-certmanager")))
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_pki(directory: Path, dns_names: list[str]) -> Path:
    """A CA and a serving certificate signed by it; returns the CA file for clients."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("test webhook CA"))
        .issuer_name(_name("test webhook CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return directory / "ca.crt"


@contextmanager
def serving(cert: Path, key: Path) -> Iterator[WebhookServer]:
    server = make_server("127.0.0.1", 0, cert, key, chart_spec())
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def request(
    server: WebhookServer,
    ca_file: Path,
    method: str,
    path: str,
    body: bytes | None = None,
    server_hostname: str = "localhost",
) -> tuple[int, Any]:
    """One HTTPS request to the loopback port, verifying the certificate for
    `server_hostname` (SNI + SAN), as the API server does for the Service's name."""
    context = ssl.create_default_context(cafile=str(ca_file))
    # Verify like Go's crypto/x509 in the API server; Python 3.13's extra RFC 5280
    # strictness is not what decides whether Kubernetes accepts the webhook's certificate.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    payload = body or b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {server_hostname}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    address = ("127.0.0.1", server.server_address[1])
    with (
        socket.create_connection(address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        tls.sendall(head + payload)
        response = http.client.HTTPResponse(tls)
        try:
            response.begin()
            data = response.read()
        finally:
            response.close()
    return response.status, json.loads(data) if data else None


def admission_review() -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "llm-gateway",
            "operation": "CREATE",
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"generateName": "litellm-5d9f-", "namespace": "llm-gateway"},
                "spec": {"containers": [{"name": "litellm", "image": "litellm:1"}]},
            },
        },
    }


def test_https_round_trip(tmp_path: Path) -> None:
    ca = write_pki(tmp_path, ["localhost"])
    with serving(tmp_path / "tls.crt", tmp_path / "tls.key") as server:
        status, body = request(server, ca, "GET", "/live")
        assert (status, body) == (200, {"status": "ok"})

        review = admission_review()
        status, body = request(server, ca, "POST", "/mutate", json.dumps(review).encode())
        assert status == 200
        assert body["kind"] == "AdmissionReview"
        response = body["response"]
        assert response["uid"] == review["request"]["uid"]
        assert response["allowed"] is True
        ops = json.loads(base64.b64decode(response["patch"]))
        assert ops[0]["path"] == "/spec/initContainers"
        assert ops[0]["value"] == [chart_spec().container]

        status, body = request(server, ca, "POST", "/mutate", b"{not json")
        assert status == 400
        status, _ = request(server, ca, "POST", "/elsewhere", b"{}")
        assert status == 404
        status, _ = request(server, ca, "GET", "/mutate")
        assert status == 404


def test_client_with_another_ca_fails_handshake(tmp_path: Path) -> None:
    """A client with another CA must not get through: TLS is really in the way."""
    server_dir, other_dir = tmp_path / "server", tmp_path / "other"
    server_dir.mkdir()
    other_dir.mkdir()
    write_pki(server_dir, ["localhost"])
    other_ca = write_pki(other_dir, ["localhost"])
    with serving(server_dir / "tls.crt", server_dir / "tls.key") as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            request(server, other_ca, "GET", "/live")


def test_renewed_certificate_is_served_without_restart(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    first_ca = write_pki(first, ["localhost"])
    second_ca = write_pki(second, ["localhost"])
    live = tmp_path / "live"
    live.mkdir()
    for name in ("tls.crt", "tls.key"):
        (live / name).write_bytes((first / name).read_bytes())
    with serving(live / "tls.crt", live / "tls.key") as server:
        assert request(server, first_ca, "GET", "/live")[0] == 200
        # What cert-manager + the kubelet do: new files in place, newer mtime.
        for name in ("tls.crt", "tls.key"):
            (live / name).write_bytes((second / name).read_bytes())
            stat = (live / name).stat()
            os.utime(live / name, (stat.st_atime + 5, stat.st_mtime + 5))
        assert request(server, second_ca, "GET", "/live")[0] == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            request(server, first_ca, "GET", "/live")


@pytest.mark.skipif(HELM is None, reason=f"helm not found: {INSTALL_HINT}")
def test_chart_generated_certificate_is_trusted_for_the_service_name(tmp_path: Path) -> None:
    """The self-signed shape: the Secret's cert, verified against the MutatingWebhook
    caBundle for <service>.<namespace>.svc, exactly what the API server checks."""
    objects = render_shape("sidecar-webhook-selfsigned")
    secret = find(objects, "Secret", "hr-headroom-gateway-webhook-tls")
    hook = find(objects, "MutatingWebhookConfiguration")["webhooks"][0]
    service = hook["clientConfig"]["service"]
    for name in ("tls.crt", "tls.key"):
        (tmp_path / name).write_bytes(base64.b64decode(secret["data"][name]))
    (tmp_path / "ca.crt").write_bytes(base64.b64decode(hook["clientConfig"]["caBundle"]))
    assert secret["data"]["ca.crt"] == hook["clientConfig"]["caBundle"]
    with serving(tmp_path / "tls.crt", tmp_path / "tls.key") as server:
        for host in (
            f"{service['name']}.{service['namespace']}.svc",
            f"{service['name']}.{service['namespace']}.svc.cluster.local",
        ):
            status, body = request(
                server,
                tmp_path / "ca.crt",
                "POST",
                service["path"],
                json.dumps(admission_review()).encode(),
                server_hostname=host,
            )
            assert status == 200 and body["response"]["allowed"] is True


def test_internal_error_still_allows_the_pod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even with failurePolicy Fail, a bug in the webhook must not block pod creation."""
    import adapters.k8s.webhook_server as server_module

    def broken(review: Any, spec: InjectSpec) -> dict[str, Any]:
        raise RuntimeError("bug")

    monkeypatch.setattr(server_module, "admission_response", broken)
    ca = write_pki(tmp_path, ["localhost"])
    review = admission_review()
    with serving(tmp_path / "tls.crt", tmp_path / "tls.key") as server:
        status, body = request(server, ca, "POST", "/mutate", json.dumps(review).encode())
    assert status == 200
    assert body["response"] == {
        "uid": review["request"]["uid"],
        "allowed": True,
        "status": {"message": "internal error"},
    }


def test_oversized_body_is_refused_before_reading(tmp_path: Path) -> None:
    ca = write_pki(tmp_path, ["localhost"])
    context = ssl.create_default_context(cafile=str(ca))
    with serving(tmp_path / "tls.crt", tmp_path / "tls.key") as server:
        address = ("127.0.0.1", server.server_address[1])
        with (
            socket.create_connection(address, timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(
                b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999\r\n\r\n"
            )
            response = http.client.HTTPResponse(tls)
            try:
                response.begin()
                response.read()
            finally:
                response.close()
    assert response.status == 413
