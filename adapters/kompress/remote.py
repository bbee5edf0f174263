"""Kompress on another gateway (the GPU service), over upstream headroom's remote contract.

    POST <endpoint>/compress   {"content": "<text>", "target_ratio": 0.5 | null}
    200                        {"compressed": "<text>", ...}   ("compressed" is all we read)

It is the request headroom's own RemoteKompressCompressor sends, so this client works with
any endpoint built for upstream, and upstream's client works with our service. Any failure
passes the prose through; after one, calls skip the endpoint for a short cool-down, so a dead
service costs one timeout rather than one per prose block.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from adapters.circuit import CircuitBreaker
from adapters.kompress.local import NAME, KompressUnavailable, UnavailableKompress
from adapters.settings import Settings

log = logging.getLogger(__name__)

PATH = "/compress"
CONNECT_TIMEOUT_SECONDS = 1.0
COOLDOWN_SECONDS = 5.0


class RemoteKompress:
    """A sync client: the core calls `compress` from its worker threads."""

    name = NAME

    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        timeout_seconds: float = 10.0,
        min_words: int = 64,
        cooldown_seconds: float = COOLDOWN_SECONDS,
    ) -> None:
        self.url = endpoint_url(endpoint)
        self._headers = {"authorization": f"Bearer {token}"} if token else {}
        self._min_words = min_words
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS),
            follow_redirects=False,
        )
        self._cooldown_seconds = cooldown_seconds
        self._breaker = CircuitBreaker("kompress-remote", cooldown_seconds=cooldown_seconds)

    @property
    def status(self) -> str:
        return f"{NAME}:remote" + (" (endpoint failing)" if self._breaker.is_open else "")

    @property
    def backend(self) -> str:
        return "remote"

    def warm(self) -> None:
        """Nothing to load; the endpoint may start after us, so it is not probed here."""
        log.info("Kompress runs remotely at %s", self.url)

    def compress(self, text: str, target_ratio: float | None) -> str | None:
        """The endpoint's shorter text, or None (short input, endpoint down or malformed)."""
        if len(text.split(None, self._min_words)) < self._min_words:
            return None  # below Kompress's own floor: not worth a round trip
        if not self._breaker.allow():
            return None
        try:
            response = self._client.post(
                self.url,
                json={"content": text, "target_ratio": target_ratio},
                headers=self._headers,
            )
            response.raise_for_status()
            compressed = response.json()["compressed"]
            if not isinstance(compressed, str):
                raise TypeError("'compressed' is not a string")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            self._breaker.record_failure()
            log.warning("Kompress endpoint %s failed (%s); prose passes through for %.0f s",
                        self.url, _describe(error), self._cooldown_seconds)  # fmt: skip
            return None
        self._breaker.record_success()
        return compressed if len(compressed) < len(text) else None

    def close(self) -> None:
        self._client.close()


def remote_from_settings(settings: Settings) -> RemoteKompress | UnavailableKompress:
    """The client for HEADROOM_KOMPRESS_ENDPOINT; misconfiguration is logged, never raised.

    The bearer token is HEADROOM_KOMPRESS_ENDPOINT_TOKEN when settings carry one, else the
    gateway's own HEADROOM_PROXY_TOKEN (one token shared by the fleet).
    """
    endpoint = settings.kompress_endpoint
    try:
        if not endpoint:
            raise KompressUnavailable("HEADROOM_KOMPRESS_ENDPOINT is not set")
        endpoint_url(endpoint)
    except KompressUnavailable as error:
        log.error("Kompress is unavailable, prose passes through uncompressed: %s", error)
        return UnavailableKompress(str(error))
    own_token = settings.kompress_endpoint_token
    token = own_token.get_secret_value() if own_token else settings.token()
    return RemoteKompress(endpoint, token, timeout_seconds=min(settings.deadline_seconds, 10.0))


def endpoint_url(endpoint: str) -> str:
    """`<endpoint>/compress`, as upstream's client builds it (a URL already ending in
    /compress is used as given)."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KompressUnavailable(f"HEADROOM_KOMPRESS_ENDPOINT is not an http(s) URL: {endpoint}")
    base = endpoint.rstrip("/")
    return base if base.endswith(PATH) else base + PATH


def _describe(error: BaseException) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return type(error).__name__
