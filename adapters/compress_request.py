"""The `/v1/compress` body, parsed once for every entry point (HTTP route and CLI).

Messages are free-form provider JSON that must come back byte-identical, so the body is not
a pydantic model: each malformed shape gets its own clear InvalidRequest. The seed gateway's
callers send no `model` (or an empty one) and put `protect_recent` and
`min_tokens_to_compress` at the top level; both are accepted.
"""

from __future__ import annotations

from adapters.json_body import Body
from core.errors import InvalidRequest
from core.messages import validate
from core.policy import CompressOptions
from core.service import CompressRequest
from core.tags import RequestTags

DEFAULT_MODEL = "default"
#: The tenant of callers that name none; the CLI and HTTP agree so hashes resolve across both.
ANONYMOUS_TENANT = "anonymous"
MAX_SESSION_ID_CHARS = 256
#: Top-level fields of the seed gateway's API that belong in `config`.
_TOP_LEVEL_CONFIG = ("protect_recent", "min_tokens_to_compress")
_TRUE = frozenset({"1", "true", "yes", "on"})


def is_true(value: str | None) -> bool:
    """Header flags as people write them: true, 1, yes, on (any case)."""
    return value is not None and value.strip().lower() in _TRUE


def compress_request(
    parsed: Body,
    *,
    tenant: str = ANONYMOUS_TENANT,
    session_id: str | None = None,
    bypass: bool = False,
    tags: RequestTags | None = None,
) -> CompressRequest:
    """A validated CompressRequest; the session id comes from a header, else `config`.

    Each message's exact text travels with it, so messages the gateway leaves alone are
    answered with the bytes they came in."""
    body, raw_messages = parsed.value, parsed.message_texts
    if "messages" not in body:
        raise InvalidRequest("Missing required field: messages")
    messages = validate(body["messages"])
    model = body.get("model")
    if model is None or model == "":
        model = DEFAULT_MODEL
    if not isinstance(model, str):
        raise InvalidRequest("'model' must be a string")
    config = body.get("config")
    if config is not None and not isinstance(config, dict):
        raise InvalidRequest("'config' must be an object")
    merged = {name: body[name] for name in _TOP_LEVEL_CONFIG if name in body}
    merged.update(config or {})
    options = CompressOptions.parse(merged)
    if session_id is None:
        session_id = merged.get("session_id")
    if session_id is not None and (
        not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_SESSION_ID_CHARS
    ):
        raise InvalidRequest(
            f"session id must be a string of 1 to {MAX_SESSION_ID_CHARS} characters"
        )
    return CompressRequest(
        messages=messages,
        model=model,
        options=options,
        tenant=tenant,
        session_id=session_id,
        bypass=bypass,
        raw_messages=raw_messages,
        tags=tags,
    )
