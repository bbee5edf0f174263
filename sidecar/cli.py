"""`headroom-gateway`: serve the HTTP gateway, compress a file, or serve the injection webhook."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from adapters.identity.cli import add_keys_parser, run_keys
from adapters.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="headroom-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP gateway (default 127.0.0.1:8787)")
    serve.add_argument("--host", help="bind address (HEADROOM_HOST)")
    serve.add_argument("--port", type=int, help="bind port (HEADROOM_PORT)")
    compress = commands.add_parser("compress", help="compress a JSON request file to stdout")
    compress.add_argument("file", type=Path, help='{"messages": [...], "model": ...}; - = stdin')
    compress.add_argument("--tenant", help="whose state is used (default: anonymous, "
                          "as for HTTP callers without an identity)")  # fmt: skip
    inject = commands.add_parser("inject", help="serve the sidecar-injection webhook (HTTPS)")
    inject.add_argument("--port", type=int, default=8443)
    inject.add_argument("--tls-cert", type=Path, required=True)
    inject.add_argument("--tls-key", type=Path, required=True)
    add_keys_parser(commands)
    args = parser.parse_args(argv)

    overrides = {}
    if args.command == "serve":
        given = {"host": args.host, "port": args.port}
        overrides = {name: value for name, value in given.items() if value is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        print(f"headroom-gateway: invalid settings: {settings_error(error)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    if args.command == "serve":
        return _serve(settings)
    if args.command == "compress":
        return _compress_file(settings, args.file, args.tenant)
    if args.command == "keys":
        return run_keys(settings, args)
    return _inject(args.port, args.tls_cert, args.tls_key)


def settings_error(error: ValidationError) -> str:
    """One line naming each bad setting as the operator wrote it (HEADROOM_PORT, not port)."""
    problems = []
    for item in error.errors():
        name = "HEADROOM_" + "_".join(str(part) for part in item["loc"][:1]).upper()
        problems.append(f"{name}: {item['msg']}")
    return "; ".join(problems)


def _serve(settings: Settings) -> int:
    if not settings.bind_is_loopback and settings.token() is None:
        print(f"refusing to bind {settings.host}: a non-loopback address requires "
              "HEADROOM_PROXY_TOKEN", file=sys.stderr)  # fmt: skip
        return 2
    import uvicorn

    from adapters.bootstrap import bootstrap
    from adapters.http.app import create_app
    from adapters.http.header_deadline import header_deadline_protocol
    from adapters.pricing.table import PricingFileError
    from core.org_policy import PolicyError

    try:
        services = bootstrap(settings)
    except PolicyError as error:
        print(f"headroom-gateway: policy file refused: {error}", file=sys.stderr)
        return 2
    except PricingFileError as error:  # wrong prices would mislead chargeback: do not start
        print(f"headroom-gateway: prices refused: {error}", file=sys.stderr)
        return 2
    app = create_app(services)
    # h11 rather than httptools: it caps the bytes buffered before headers are complete, so
    # no header stream grows memory unbounded (the app answers 431 below that cap); and
    # headers that never finish arriving get a deadline.
    protocol = header_deadline_protocol(settings.header_read_timeout_seconds,
                                        services.telemetry.http_error)  # fmt: skip
    uvicorn.run(app, host=settings.host, port=settings.port, http=protocol,
                h11_max_incomplete_event_size=2 * settings.max_header_bytes,
                log_level=settings.log_level.lower(), access_log=False)  # fmt: skip
    return 0


def _compress_file(settings: Settings, path: Path, tenant: str | None) -> int:
    """The HTTP route's parser and service, from a file: same validation, same tenant."""
    from adapters.bootstrap import bootstrap
    from adapters.compress_request import ANONYMOUS_TENANT, compress_request
    from adapters.json_body import parse_object

    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        request = compress_request(parse_object(raw), tenant=tenant or ANONYMOUS_TENANT)
    except (OSError, ValueError) as error:  # InvalidRequest is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    services = bootstrap(settings)
    services.warm()

    async def run() -> bytes:
        try:
            return (await services.service.compress(request)).body()
        finally:
            await services.aclose()  # the ledger writes its row before the process exits

    sys.stdout.buffer.write(asyncio.run(run()) + b"\n")
    return 0


def _inject(port: int, cert: Path, key: Path) -> int:
    from adapters.k8s.webhook_server import run

    run(host="0.0.0.0", port=port, certfile=cert, keyfile=key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
