"""The last resort: an error no handler expected is a counted JSON 500 that closes the
connection explicitly, never a plain-text page or a silently dropped keep-alive."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from starlette.testclient import TestClient

from adapters.bootstrap import bootstrap
from adapters.http.app import create_app
from adapters.settings import Settings


class Broken(Exception):
    pass


def test_an_unexpected_error_is_a_counted_json_500_with_connection_close(
    tmp_path: Path,
) -> None:
    app = create_app(bootstrap(Settings(data_dir=tmp_path)))

    async def boom(request: Request) -> None:
        raise Broken("not for the client's eyes")

    app.add_api_route("/v1/boom", boom, methods=["POST"])  # a route that breaks, for the test
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/boom")
        metrics = client.get("/metrics").text
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    error = response.json()["error"]
    assert error == {
        "type": "internal_error",
        "message": "internal error; the request was not processed",
    }
    assert "not for the client" not in response.text
    assert 'headroom_http_errors_total{status="500"} 1.0' in metrics
