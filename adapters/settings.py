"""Configuration from `HEADROOM_*` environment variables (and mounted secret files).

One Settings object; the profile (sidecar, service, lambda) only changes defaults, so an
operator can still override any single value. Every field has its final default here, before
validation: no caller re-defaults a setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

Profile = Literal["sidecar", "service", "lambda"]
KompressMode = Literal["off", "cpu", "cuda", "auto", "remote"]

_PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sidecar": {"host": "127.0.0.1", "kompress": "off", "max_body_bytes": 16 * 2**20},
    "service": {"host": "0.0.0.0", "kompress": "auto", "max_body_bytes": 32 * 2**20},
    "lambda": {"host": "127.0.0.1", "kompress": "off", "max_body_bytes": 6 * 2**20,
               "data_dir": Path("/tmp/headroom-gateway")},
}  # fmt: skip
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    """Every knob of the gateway; names match upstream headroom's where it has one."""

    model_config = SettingsConfigDict(env_prefix="HEADROOM_", extra="ignore", validate_by_name=True)

    profile: Profile = "sidecar"
    host: str = Field("127.0.0.1", description="bind address; non-loopback requires a token")
    port: int = Field(8787, ge=0, le=65535)
    proxy_token: SecretStr | None = Field(None, description="bearer token for /v1/*")
    cluster_id: str = Field("default", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    redis_url: SecretStr | None = None
    redis_timeout_seconds: float = Field(0.25, gt=0)
    s3_bucket: str | None = None
    s3_prefix: str = "headroom-gateway/"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_sse: Literal["AES256", "aws:kms"] | None = None
    s3_kms_key_id: str | None = None
    s3_timeout_seconds: float = Field(2.0, gt=0)
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "headroom-gateway")
    originals_backend: Literal["auto", "redis"] = Field(
        "auto", description="auto: S3 if a bucket is set, else local files; redis: Redis"
    )

    ccr_ttl_seconds: int = Field(3600, gt=0)
    session_ttl_seconds: int = Field(7200, gt=0)
    session_max_entries: int = Field(200_000, gt=0)
    cache_ttl_seconds: int = Field(
        300, gt=0, description="provider prompt-cache lifetime (1 h when a request asks for it)"
    )
    cold_compaction: bool = Field(
        True, description="rewrite stale history on the first turn after that cache expired"
    )
    max_body_bytes: int = Field(16 * 2**20, gt=0)
    deadline_seconds: float = Field(10.0, gt=0)
    compression_threads: int = Field(2, ge=1, le=64)
    session_max_bytes: int = Field(
        64 * 2**20, gt=0, description="memory session store cap (fits the sidecar's request)"
    )
    queue_wait_seconds: float = Field(
        0.5, ge=0, description="longest wait for a compression slot before answering uncompressed"
    )
    max_queued: int = Field(64, ge=0, description="requests waiting for a slot beyond: shed")
    max_block_chars: int = Field(
        2_000_000, gt=0, description="larger text blocks pass through (bounded engine cost)"
    )
    body_read_timeout_seconds: float = Field(
        10.0, gt=0, description="408 when the body stalls this long"
    )
    header_read_timeout_seconds: float = Field(
        10.0, gt=0, description="408 and close when a request's headers take longer"
    )
    max_header_bytes: int = Field(32 * 2**10, gt=0, description="431 above this")
    max_headers: int = Field(100, gt=0, description="431 above this many header fields")
    sweep_interval_seconds: float = Field(60.0, gt=0, description="expired-state sweep period")

    kompress: KompressMode = "off"
    kompress_model_dir: Path | None = None
    kompress_endpoint: str | None = None
    kompress_endpoint_token: SecretStr | None = Field(
        None, description="token for the remote Kompress service (default: proxy_token)"
    )

    # Prices and usage exports (issue 12).
    pricing_file: Path | None = Field(None, description="operator prices, YAML or JSON")
    price_map_file: Path | None = Field(
        None, description="litellm's model price map; unset: the installed litellm's"
    )
    pricing_cache: Literal["5m", "1h", "off"] = Field(
        "5m", description="compress mode: how new tokens are priced (cache write TTL or none)"
    )
    usage_metrics_user_label: bool = Field(False, description="add `user` to usage metrics")
    usage_label_max_values: int = Field(
        200, ge=1, description="distinct values per usage label; more become `other`"
    )
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP base URL (http://collector:4318); OTEL_EXPORTER_OTLP_* too"
    )
    otlp_export_interval_seconds: float = Field(30.0, gt=0)

    identity_headers: list[str] = ["x-headroom-user-id", "x-maas-username"]
    # Accounting (issue 12): keys, tags, the usage ledger.
    database_url: SecretStr | None = Field(None, description="postgresql:// shared ledger")
    ledger: bool = Field(True, description="record one usage row per request")
    ledger_retention_days: int = Field(90, ge=0, description="raw rows; 0 keeps forever")
    ledger_queue_max: int = Field(10_000, gt=0)
    ledger_batch_size: int = Field(500, gt=0)
    ledger_flush_seconds: float = Field(0.5, gt=0)
    require_keys: bool | None = Field(None, description="default: once any key exists")
    admin_token: SecretStr | None = Field(None, description="/stats (default: proxy_token)")
    trusted_networks: list[str] = Field([], description="CIDRs whose identity headers count")
    fingerprint_key: SecretStr | None = Field(None, description="HMAC key for BYOK ids")
    keys_refresh_seconds: float = Field(10.0, gt=0)
    tag_allowlist: list[str] = Field([], description="x-headroom-tag-<key> keys to record")
    instance_id: str | None = Field(None, description="this replica's name (default hostname)")

    # Transparent proxy (/v1/messages, /v1/chat/completions, /v1/responses); upstream
    # headroom's and the seed's variable names are accepted too.
    anthropic_api_url: str = Field("https://api.anthropic.com", validation_alias=AliasChoices(
        "HEADROOM_ANTHROPIC_API_URL", "ANTHROPIC_TARGET_API_URL"))  # fmt: skip
    openai_api_url: str = Field("https://api.openai.com", validation_alias=AliasChoices(
        "HEADROOM_OPENAI_API_URL", "OPENAI_TARGET_API_URL"))  # fmt: skip
    proxy_mode: Literal["ccr", "default"] = Field(
        "ccr", description="proxy compression mode; ccr lets the retrieve loop resolve markers"
    )
    anthropic_api_key: SecretStr | None = Field(
        None, description="the organisation's Anthropic key, sent upstream for gateway-key callers"
    )
    openai_api_key: SecretStr | None = Field(
        None, description="the organisation's OpenAI key, sent upstream for gateway-key callers"
    )
    proxy_retrieve_rounds: int = Field(3, ge=0, le=10)
    upstream_timeout_seconds: float = Field(600.0, gt=0, description="read timeout upstream")
    # Central policy (issue 13): the operator's YAML file, watched for changes.
    policy_file: Path | None = Field(None, description="per-team policy YAML (a ConfigMap)")
    policy_poll_seconds: float = Field(1.0, gt=0, le=60)
    log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, data: Any) -> Any:
        """The profile's defaults fill in what no source set, before validation."""
        if isinstance(data, dict):
            for name, value in _PROFILE_DEFAULTS.get(data.get("profile", "sidecar"), {}).items():
                data.setdefault(name, value)
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then secret files from HEADROOM_SECRETS_DIR.

        A secret file is named after the field (`proxy_token`, `redis_url`), as Kubernetes
        mounts Secret keys; files are read at startup, so a rotated secret takes effect on
        restart."""
        secrets_dir = os.environ.get("HEADROOM_SECRETS_DIR")
        if not secrets_dir or not Path(secrets_dir).is_dir():
            return init_settings, env_settings
        files = SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir, env_prefix="")
        return init_settings, env_settings, files

    @property
    def bind_is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def token(self) -> str | None:
        return self.proxy_token.get_secret_value() if self.proxy_token else None
