"""Configuration from `HEADROOM_*` environment variables (and mounted secret files).

One Settings object; the profile (sidecar, service, lambda) only changes defaults, so an
operator can still override any single value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    host: str | None = Field(None, description="bind address; non-loopback requires a token")
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
    data_dir: Path | None = None
    originals_backend: Literal["auto", "redis"] = Field(
        "auto", description="auto: S3 if a bucket is set, else local files; redis: Redis"
    )

    ccr_ttl_seconds: int = Field(3600, gt=0)
    session_ttl_seconds: int = Field(7200, gt=0)
    session_max_entries: int = Field(200_000, gt=0)
    max_body_bytes: int | None = Field(None, gt=0)
    deadline_seconds: float = Field(10.0, gt=0)
    compression_threads: int = Field(2, ge=1, le=64)

    kompress: KompressMode | None = None
    kompress_model_dir: Path | None = None
    kompress_endpoint: str | None = None
    kompress_endpoint_token: SecretStr | None = Field(
        None, description="token for the remote Kompress service (default: proxy_token)"
    )

    identity_headers: list[str] = ["x-headroom-user-id", "x-maas-username"]

    # Transparent proxy (/v1/messages, /v1/chat/completions, /v1/responses); upstream
    # headroom's and the seed's variable names are accepted too.
    anthropic_api_url: str = Field("https://api.anthropic.com", validation_alias=AliasChoices(
        "HEADROOM_ANTHROPIC_API_URL", "ANTHROPIC_TARGET_API_URL"))  # fmt: skip
    openai_api_url: str = Field("https://api.openai.com", validation_alias=AliasChoices(
        "HEADROOM_OPENAI_API_URL", "OPENAI_TARGET_API_URL"))  # fmt: skip
    proxy_mode: Literal["ccr", "default"] = Field(
        "ccr", description="proxy compression mode; ccr lets the retrieve loop resolve markers"
    )
    proxy_retrieve_rounds: int = Field(3, ge=0, le=10)
    upstream_timeout_seconds: float = Field(600.0, gt=0, description="read timeout upstream")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _apply_profile(self) -> Settings:
        for name, value in _PROFILE_DEFAULTS[self.profile].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.data_dir is None:
            self.data_dir = Path.home() / ".cache" / "headroom-gateway"
        return self

    @property
    def bind_is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def token(self) -> str | None:
        return self.proxy_token.get_secret_value() if self.proxy_token else None


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, plus secret files from HEADROOM_SECRETS_DIR if set.

    A secret file is named after the field (`proxy_token`, `redis_url`), as Kubernetes
    mounts Secret keys; an environment variable of the same setting wins over the file.
    Files are read at startup: a rotated secret takes effect on restart.
    """
    secrets_dir = os.environ.get("HEADROOM_SECRETS_DIR")
    if secrets_dir and Path(secrets_dir).is_dir():
        for name in Settings.model_fields:
            path = Path(secrets_dir) / name
            if name not in overrides and f"HEADROOM_{name.upper()}" not in os.environ:
                if path.is_file():
                    overrides[name] = path.read_text().strip()
    return Settings(**overrides)
