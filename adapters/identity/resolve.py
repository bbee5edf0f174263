"""Who is calling, from the credential and the network peer; and whether they may.

Order: the operator's token (then identity headers name the user: the caller is the
operator's own gateway, e.g. LiteLLM); a gateway key (its user, team and project; headers
ignored); no credential (identity headers count only from a trusted peer: loopback or a
configured network; else `anonymous`). A caller without a credential is refused (401) when a
token is configured or keys are required; keys are required when HEADROOM_REQUIRE_KEYS says
so, or by default as soon as one active key exists.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adapters.identity.keyring import KeyRing
from adapters.identity.keys import looks_like_key
from core.tags import printable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Unauthenticated(Exception):
    """The caller may not call: no credential, or one nobody issued (HTTP answers 401)."""


@dataclass(frozen=True)
class Identity:
    user: str = "anonymous"
    team: str = ""
    project: str = ""
    key_id: str = ""
    source: str = "anonymous"  # operator | key | header | byok | anonymous

    @property
    def is_operator(self) -> bool:
        return self.source == "operator"


@dataclass(frozen=True)
class ProxyIdentity:
    """Proxy mode: `managed` means the credential was a gateway key, so the organisation's
    provider key goes upstream; otherwise the caller's own key passes through untouched."""

    identity: Identity
    managed: bool


class IdentityResolver:
    def __init__(
        self,
        keyring: KeyRing | None,
        gateway_token: str | None,
        identity_headers: Sequence[str],
        trusted_networks: Sequence[str] = (),
        require_keys: bool | None = None,
        admin_token: str | None = None,
    ) -> None:
        self.keyring = keyring
        self.gateway_token = gateway_token
        self.admin_token = admin_token
        self.identity_headers = [h.lower() for h in identity_headers]
        self.trusted: list[Network] = [ipaddress.ip_network(n, strict=False)
                                       for n in trusted_networks]  # fmt: skip
        self._require_keys = require_keys

    @property
    def keys_required(self) -> bool:
        if self._require_keys is not None:
            return self._require_keys
        return self.keyring is not None and self.keyring.has_keys

    def trusted_peer(self, host: str | None) -> bool:
        if not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or any(address in network for network in self.trusted)

    def resolve(self, headers: Mapping[str, str], peer: str | None) -> Identity:
        """The caller of /v1/*; raises Unauthenticated when it may not call."""
        token = credential(headers)
        if token is not None:
            if self.gateway_token and _same(token, self.gateway_token):
                return self._from_headers(headers, source="operator")
            record = self.keyring.lookup(token) if self.keyring is not None else None
            if record is not None:
                return Identity(record.user, record.team, record.project, record.key_id, "key")
            if self.gateway_token or self.keys_required or looks_like_key(token):
                raise Unauthenticated("missing or invalid token")
        elif self.gateway_token or self.keys_required:
            raise Unauthenticated("missing or invalid token")
        if self.trusted_peer(peer):
            return self._from_headers(headers, source="header")
        return Identity()

    def resolve_proxy(self, headers: Mapping[str, str], peer: str | None) -> ProxyIdentity:
        """Proxy mode: a gateway key in x-api-key / Authorization is managed; any other
        credential is the caller's own provider key, known by its keyed fingerprint."""
        given = headers.get("x-api-key") or bearer(headers)
        if given and self.keyring is not None:
            record = self.keyring.lookup(given)
            if record is not None:
                return ProxyIdentity(Identity(record.user, record.team, record.project,
                                              record.key_id, "key"), managed=True)  # fmt: skip
        if given and self.keyring is not None:
            fp = self.keyring.fingerprint(given)
            if fp is not None:
                owner = self.keyring.owner_of_fingerprint(fp)
                if owner is not None:
                    return ProxyIdentity(Identity(owner.user, owner.team, owner.project,
                                                  owner.key_id, "byok"), managed=False)  # fmt: skip
                named = self._from_headers(headers, "header") if self.trusted_peer(peer) else None
                if named is not None and named.user != "anonymous" and not self.keys_required:
                    return ProxyIdentity(named, managed=False)  # a trusted caller names the user
                if not self.keys_required:
                    return ProxyIdentity(Identity(f"byok:{fp[:12]}", key_id=f"f_{fp[:10]}",
                                                  source="byok"), managed=False)  # fmt: skip
        if self.keys_required:
            raise Unauthenticated("a gateway key (or a registered provider key) is required")
        identity = self._from_headers(headers, "header") if self.trusted_peer(peer) else Identity()
        return ProxyIdentity(identity, managed=False)

    def may_read_stats(self, headers: Mapping[str, str], peer: str | None) -> bool:
        """The operator only: the admin token (or, without one, the gateway token); with
        neither configured, a trusted peer that presents no user key."""
        token = credential(headers)
        operator = self.admin_token or self.gateway_token
        if operator:
            return token is not None and _same(token, operator)
        if token is not None and self.keyring is not None and self.keyring.lookup(token):
            return False
        return self.trusted_peer(peer)

    def _from_headers(self, headers: Mapping[str, str], source: str) -> Identity:
        for name in self.identity_headers:
            value = printable(headers.get(name))
            if value:  # whole: a cut id could collide with another tenant's
                return Identity(user=value, source=source)
        return Identity(source=source if source == "operator" else "anonymous")


def credential(headers: Mapping[str, str]) -> str | None:
    """`X-Headroom-Proxy-Token: T` or `Authorization: Bearer T`, as upstream reads them."""
    given = headers.get("x-headroom-proxy-token")
    return given.strip() if given is not None else bearer(headers)


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of `Authorization: Bearer T`, if that is how the caller sent one."""
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
