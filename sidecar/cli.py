"""`headroom-gateway`: serve the HTTP gateway, compress a file, or serve the injection webhook."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from adapters.identity.cli import add_keys_parser, run_keys
from adapters.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="headroom-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP gateway (default 127.0.0.1:8787)")
    serve.add_argument("--host", help="bind address (HEADROOM_HOST)")
    serve.add_argument("--port", type=int, help="bind port (HEADROOM_PORT)")
    compress = commands.add_parser("compress", help="compress a JSON request file to stdout")
    compress.add_argument("file", type=Path, help='{"messages": [...], "model": ...}; - = stdin')
    inject = commands.add_parser("inject", help="serve the sidecar-injection webhook (HTTPS)")
    inject.add_argument("--port", type=int, default=8443)
    inject.add_argument("--tls-cert", type=Path, required=True)
    inject.add_argument("--tls-key", type=Path, required=True)
    add_keys_parser(commands)
    args = parser.parse_args(argv)

    given = {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}
    overrides = {name: value for name, value in given.items() if value is not None}
    settings = load_settings(**overrides) if args.command == "serve" else load_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    if args.command == "serve":
        return _serve(settings)
    if args.command == "compress":
        return _compress_file(settings, args.file)
    if args.command == "keys":
        return run_keys(settings, args)
    return _inject(settings, args.port, args.tls_cert, args.tls_key)


def _serve(settings: Settings) -> int:
    if not settings.bind_is_loopback and settings.token() is None:
        print(f"refusing to bind {settings.host}: a non-loopback address requires "
              "HEADROOM_PROXY_TOKEN", file=sys.stderr)  # fmt: skip
        return 2
    import uvicorn

    from adapters.bootstrap import bootstrap
    from adapters.http.app import create_app

    app = create_app(bootstrap(settings))
    uvicorn.run(app, host=settings.host or "127.0.0.1", port=settings.port,
                log_level=settings.log_level.lower(), access_log=False)  # fmt: skip
    return 0


def _compress_file(settings: Settings, path: Path) -> int:
    from adapters.bootstrap import bootstrap
    from core.errors import InvalidRequest
    from core.messages import validate
    from core.policy import CompressOptions
    from core.service import CompressRequest

    try:
        body = json.loads(sys.stdin.read() if str(path) == "-" else path.read_text())
        if not isinstance(body, dict):
            raise InvalidRequest("the file must hold a JSON object")
        request = CompressRequest(
            messages=validate(body.get("messages")),
            model=str(body.get("model") or "gpt-4o"),
            options=CompressOptions.parse(body.get("config")),
        )
    except (OSError, ValueError) as error:
        print(f"error: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2
    services = bootstrap(settings)
    services.warm()
    result = asyncio.run(services.service.compress(request))
    sys.stdout.buffer.write(result.body() + b"\n")
    return 0


def _inject(settings: Settings, port: int, cert: Path, key: Path) -> int:
    from adapters.k8s_webhook_server import run

    run(host="0.0.0.0", port=port, certfile=cert, keyfile=key)  # noqa: S104 (cluster webhook)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
