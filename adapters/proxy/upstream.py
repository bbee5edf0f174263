"""The providers, as one pooled httpx client per app (opened and closed by the app's lifespan)."""

from __future__ import annotations

from typing import Literal

import anyio
import httpx

Provider = Literal["anthropic", "openai"]


class UpstreamUnreachable(Exception):
    """The provider could not be reached (connect error, timeout before a response)."""


class Upstream:
    """Sends requests to the configured provider base URLs, streaming the response."""

    def __init__(self, anthropic_url: str, openai_url: str, read_timeout: float) -> None:
        self._bases = {"anthropic": _base(anthropic_url), "openai": _base(openai_url)}
        self._timeout = httpx.Timeout(connect=10.0, read=read_timeout, write=60.0, pool=10.0)
        self._client: httpx.AsyncClient | None = None

    async def open(self) -> None:
        # No retries and no redirects: the caller's SDK retries, and a proxy follows nothing.
        self._client = httpx.AsyncClient(
            timeout=self._timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=64),
            trust_env=False,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def url(self, provider: Provider, path: str, query: str = "") -> str:
        return self._bases[provider] + path + (f"?{query}" if query else "")

    async def send(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> httpx.Response:
        """The response with its headers read and its body not yet: read it with aiter_raw,
        then aclose it (cancelling a stream mid-way closes the upstream connection)."""
        if self._client is None:
            raise UpstreamUnreachable("proxy client not started")
        request = self._client.build_request(method, url, headers=headers, content=body)
        try:
            return await self._client.send(request, stream=True)
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise UpstreamUnreachable(type(error).__name__) from error


def _base(url: str) -> str:
    """`https://api.openai.com`, `.../v1` and a trailing slash all mean the same base."""
    url = url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


async def read_and_close(response: httpx.Response) -> bytes:
    try:
        return await response.aread()
    finally:
        await close(response)


async def close(response: httpx.Response) -> None:
    """Close even while being cancelled (a client that went away): the upstream connection
    must be released, and with it the provider's request."""
    with anyio.CancelScope(shield=True):
        await response.aclose()
