"""The compression use case: replay what was sent, compress only what is new, never fail.

One call per `POST /v1/compress`. The steps:
1. look up every message's replay key in one round trip; the longest run of hits from the
   start is the prefix the provider has cached, returned byte for byte;
2. compress the remaining messages block by block, off the event loop;
3. in CCR mode, store the originals of lossy blocks before any marker is returned (or fall
   back to the lossless form of those blocks if the store is down);
4. record the new messages for the next turn and answer.
Any unexpected error, or the deadline passing, returns the input unchanged (fail-open).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core import ccr, compaction, replay, verbatim
from core.admission import Abandoned, Admission, Budget, Shed
from core.engines import HeadroomEngines
from core.errors import InvalidRequest
from core.messages import Message, blocks_of, detect_format, tool_names_by_call_id
from core.messages import with_replacements as rewrite
from core.policy import Action, CompressOptions, decide, lossy_allowed
from core.ports import (
    OriginalStore,
    RequestReport,
    SessionStore,
    Telemetry,
)
from core.tags import RequestTags
from core.tokens import TokenCounter

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class CompressRequest:
    """A validated /v1/compress call: messages, options and who is asking."""

    messages: list[Message]
    model: str
    options: CompressOptions = CompressOptions()
    tenant: str = "default"
    session_id: str | None = None
    bypass: bool = False
    #: Each message's exact JSON text as received, answered for messages left unchanged.
    raw_messages: tuple[str, ...] | None = None
    #: The provider cache lifetime when the caller knows it from outside `messages` (an
    #: Anthropic `system` or `tools` block with `ttl: "1h"`, OpenAI's `prompt_cache_retention`).
    cache_ttl_seconds: int | None = None
    tags: RequestTags | None = None  # accounting only; never changes the answer


@dataclass
class CompressResponse:
    """The answer, with each message already serialised so replayed bytes stay exact."""

    messages_json: list[str]
    tokens_before: int = 0
    tokens_after: int = 0
    transforms_applied: list[str] = field(default_factory=list)
    ccr_hashes: list[str] = field(default_factory=list)
    outcome: str = "passthrough"

    @property
    def tokens_saved(self) -> int:
        return max(0, self.tokens_before - self.tokens_after)

    @property
    def compression_ratio(self) -> float:
        """after / before, as upstream reports it: 1.0 means nothing saved."""
        return self.tokens_after / self.tokens_before if self.tokens_before > 0 else 1.0

    def body(self) -> bytes:
        """The JSON response, messages spliced in verbatim (no re-serialisation)."""
        head = json.dumps(
            {
                "tokens_before": self.tokens_before,
                "tokens_after": self.tokens_after,
                "tokens_saved": self.tokens_saved,
                "compression_ratio": self.compression_ratio,
                "transforms_applied": self.transforms_applied,
                "ccr_hashes": self.ccr_hashes,
            }
        )
        return f'{{"messages":[{",".join(self.messages_json)}],{head[1:]}'.encode()

    def messages(self) -> list[Message]:
        return [json.loads(text) for text in self.messages_json]


@dataclass(frozen=True)
class TextResult:
    """One text of a `/v1/compress-raw` call (the seed gateway's payload-processing plugin)."""

    compressed: str
    tokens_before: int
    tokens_after: int


@dataclass
class _Draft:
    """One new message after compression, before the CCR store has been consulted."""

    message: Message
    tokens_before: int
    tokens_after: int
    originals: dict[str, str]
    fallback: Message | None
    labels: list[str]


@dataclass(frozen=True)
class Limits:
    deadline_seconds: float = 10.0
    session_ttl_seconds: int = 7200
    ccr_ttl_seconds: int = 3600
    #: Larger text blocks are never given to an engine (their cost would outlive the deadline).
    max_block_chars: int = 2_000_000
    #: The provider's prompt-cache lifetime when the caller does not ask for 1 h.
    cache_ttl_seconds: int = 300
    #: Rewrite stale history on the first turn after the provider cache expired.
    cold_compaction: bool = True


class CompressionService:
    """The core's single entry point; adapters build one per process via bootstrap."""

    def __init__(
        self,
        engines: HeadroomEngines,
        sessions: SessionStore,
        originals: OriginalStore,
        telemetry: Telemetry,
        executor: Executor | None = None,
        limits: Limits = Limits(),
        tokens: TokenCounter | None = None,
        admission: Admission | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engines = engines
        self._sessions = sessions
        self._originals = originals
        self._telemetry = telemetry
        self._executor = executor or ThreadPoolExecutor(2, thread_name_prefix="compress")
        self.admission = admission or Admission(slots=2, max_wait_seconds=0.5, max_waiting=64)
        self._limits = limits
        self._tokens = tokens or TokenCounter(exact_max_chars=limits.max_block_chars)
        self._clock = clock  # wall clock: replicas compare each other's "last seen" times
        self.ready = False

    def warm(self) -> None:
        """Load engines and tokenizer before traffic; readiness waits for this."""
        self._engines.warm()
        self._tokens.count_message("gpt-4o", {"role": "user", "content": "warm"})
        self._tokens.count_message("claude-sonnet-4-5", {"role": "user", "content": "warm"})
        self.ready = True

    async def compress(self, request: CompressRequest) -> CompressResponse:
        started = time.perf_counter()
        if request.bypass:
            return self._passthrough(request, started, "bypassed")
        try:
            return await asyncio.wait_for(
                self._compress(request, started), self._limits.deadline_seconds
            )
        except InvalidRequest:
            raise
        except Shed:  # overloaded: answering late would help nobody
            return self._passthrough(request, started, "shed")
        except Exception as error:  # fail-open: the request must go through regardless
            late = isinstance(error, TimeoutError | Abandoned)
            reason = "deadline" if late else type(error).__name__
            log.warning("compression failed open (%s)", reason)
            return self._passthrough(request, started, "failed_open", failure=reason)

    async def compress_texts(
        self, texts: list[str], model: str, tags: RequestTags | None = None
    ) -> list[TextResult]:
        """Each text compressed as one tool output, marker-free and without session state
        (the caller holds no conversation); any fault or overload returns the texts as sent."""
        started = time.perf_counter()
        budget = Budget(self._limits.deadline_seconds)
        report = RequestReport(outcome="passthrough", model=model, tags=tags)
        try:
            results = await asyncio.wait_for(
                self.admission.run(
                    self._executor, budget.remaining(), self._texts_job, texts, model, budget
                ),
                self._limits.deadline_seconds,
            )
        except Shed:
            results, report.outcome = None, "shed"
        except Exception as error:  # fail-open, as for /v1/compress
            late = isinstance(error, TimeoutError | Abandoned)
            report.outcome, report.failure = "failed_open", "deadline" if late else "error"
            results = None
        if results is None:
            results = [TextResult(text, 0, 0) for text in texts]
        else:
            report.tokens_before = sum(r.tokens_before for r in results)
            report.tokens_after = sum(r.tokens_after for r in results)
            if report.tokens_after < report.tokens_before:
                report.outcome = "compressed"
        report.messages_new = len(texts)
        report.latency_seconds = time.perf_counter() - started
        self._telemetry.request_finished(report)
        return results

    def _texts_job(self, texts: list[str], model: str, budget: Budget) -> list[TextResult]:
        results = []
        for text in texts:
            message: Message = {"role": "tool", "tool_call_id": "raw", "content": text}
            request = CompressRequest(messages=[message], model=model)
            before = self._tokens.count_message(model, message)
            draft = self._draft(request, 0, message, {}, before, budget, {})
            content = draft.message.get("content")
            shown = content if isinstance(content, str) else text
            results.append(TextResult(shown, before, draft.tokens_after))
        return results

    async def retrieve(self, tenant: str, key: str) -> str | None:
        """This tenant's original for `key`; raises StoreUnavailable when it cannot tell."""
        if not ccr.is_valid_hash(key):
            return None
        return await self._originals.get(tenant, key)

    async def _compress(self, request: CompressRequest, started: float) -> CompressResponse:
        messages = request.messages
        report = RequestReport(outcome="passthrough", fmt=detect_format(messages),
                               model=request.model, tags=request.tags)  # fmt: skip
        digests = [replay.digest(m) for m in messages]
        mode = "ccr" if request.options.ccr else "default"
        scope = replay.scope_of(request.tenant, request.session_id, mode)
        keys = replay.chain_keys(scope, digests)
        seen_key = f"seen:{keys[compaction.anchor_index(messages)]}" if keys else ""
        found, report.session_store_ok = await self._lookup([*keys, seen_key] if keys else [])
        entries, last_seen = found[: len(keys)], found[len(keys) :]
        replayed = replay.usable_prefix(entries, digests, request.options)
        stale = self._stale_if_cold(request, last_seen[0] if last_seen else None)
        if stale:  # the cache is gone: re-send from the first stale message on, compacted
            replayed = min(replayed, min(s.message_index for s in stale.values()))

        engine_started = time.perf_counter()
        budget = Budget(self._limits.deadline_seconds - (time.perf_counter() - started))
        drafts: list[_Draft] = []
        if replayed < len(messages):  # only new work queues for a slot; replay never waits
            drafts = await self.admission.run(
                self._executor,
                budget.remaining(),
                self._draft_tail,
                request,
                replayed,
                budget,
                stale,
            )
        report.engine_seconds = time.perf_counter() - engine_started
        known = [e for e in entries[:replayed] if e is not None]
        floor = request.options.min_tokens_to_compress
        if (
            floor
            and sum(e.tokens_before for e in known) + sum(d.tokens_before for d in drafts) < floor
        ):  # the seed API's floor (counted with the drafts): small ones go as they are
            return self._passthrough(request, started, "passthrough")

        if request.options.ccr:
            report.original_store_ok = await self._store_originals(request, drafts)

        variant = replay.variant(request.options)
        new_entries = [self._entry(d, digests[replayed + i], variant) for i, d in enumerate(drafts)]
        if report.session_store_ok:
            lifetime = request.cache_ttl_seconds or compaction.cache_lifetime(
                messages, self._limits.cache_ttl_seconds
            )
            seen = {seen_key: compaction.LastSeen(self._clock(), lifetime).encode()} if keys else {}
            report.session_store_ok = await self._record(scope, keys, known, new_entries, seen)

        texts = verbatim.texts(known + new_entries, digests, messages, request.raw_messages)
        response = _respond(texts, known + new_entries, [d.labels for d in drafts], replayed)
        report.outcome = (
            "compressed" if response.tokens_after < response.tokens_before else "passthrough"
        )
        report.tokens_before, report.tokens_after = response.tokens_before, response.tokens_after
        report.messages_replayed, report.messages_new = replayed, len(drafts)
        report.replayed_tokens_before = sum(e.tokens_before for e in known)
        report.replayed_tokens_after = sum(e.tokens_after for e in known)
        report.engines = dict(Counter(label for d in drafts for label in d.labels))
        report.latency_seconds = time.perf_counter() - started
        response.outcome = report.outcome
        self._telemetry.request_finished(report)
        return response

    async def _lookup(self, keys: list[str]) -> tuple[list[Any], bool]:
        """Replay entries for the chain keys, then the raw "last seen" record (last key)."""
        if not keys:
            return [], True
        try:
            raw = await self._sessions.get_many(keys)
        except Exception as error:  # a broken store only costs the replay
            log.warning("session store unavailable: %s", type(error).__name__)
            return [None] * len(keys), False
        entries: list[Any] = [replay.Entry.decode(value) if value else None for value in raw[:-1]]
        return [*entries, raw[-1]], True

    def _stale_if_cold(
        self, request: CompressRequest, last_seen: bytes | None
    ) -> dict[tuple[int, str], compaction.Stale]:
        """Stale results to compact, by (message index, call id); empty while the cache is
        warm, when the session is new to us, or when compaction is off."""
        seen = compaction.LastSeen.decode(last_seen)
        if not self._limits.cold_compaction or seen is None or not seen.cold_at(self._clock()):
            return {}
        frozen = request.options.frozen_message_count
        limit = len(request.messages) - request.options.protect_recent
        return {(s.message_index, s.call_id): s
                for s in compaction.stale_results(request.messages)
                if frozen <= s.message_index < limit}  # fmt: skip

    def _draft_tail(
        self,
        request: CompressRequest,
        start: int,
        budget: Budget,
        stale: dict[tuple[int, str], compaction.Stale] | None = None,
    ) -> list[_Draft]:
        """Compress messages from `start` on; runs on the executor (CPU-bound) and stops,
        raising Abandoned, once the request's budget is spent."""
        messages, options = request.messages, request.options
        tool_names = tool_names_by_call_id(messages)
        frozen_until = max(options.frozen_message_count, start)
        protected_from = len(messages) - options.protect_recent
        drafts = []
        for index in range(start, len(messages)):
            budget.check()
            message = messages[index]
            before = self._tokens.count_message(request.model, message)
            if index < frozen_until or index >= protected_from:
                drafts.append(_Draft(message, before, before, {}, None, []))
                continue
            drafts.append(
                self._draft(request, index, message, tool_names, before, budget, stale or {})
            )
        return drafts

    def _draft(
        self,
        request: CompressRequest,
        index: int,
        message: Message,
        tool_names: dict[str, str],
        tokens_before: int,
        budget: Budget,
        stale: dict[tuple[int, str], compaction.Stale],
    ) -> _Draft:
        options = request.options
        primary: dict[tuple[str | int, ...], str] = {}
        fallback: dict[tuple[str | int, ...], str] = {}
        originals: dict[str, str] = {}
        labels: list[str] = []
        for block in blocks_of(index, message, tool_names):
            compact = (
                stale.get((index, compaction.call_id_of(message, block.path) or ""))
                if stale
                else None
            )
            if compact is not None and block.kind == "tool_result":
                labels.append(compact.label)
                if options.ccr:  # the store-down fallback keeps this block as it was
                    key = ccr.content_hash(block.text)
                    originals[key] = block.text
                    primary[block.path] = ccr.with_marker(compact.note, key, len(block.text))
                else:
                    primary[block.path] = compact.note
                continue
            action = decide(block, options)
            if action is Action.KEEP:
                continue
            if not verbatim.compressible(block.text, self._limits.max_block_chars):
                continue  # too big to finish in time, or unreadable: kept as sent
            budget.check()
            error = action is Action.ERROR
            result = self._engines.compress(
                block.text,
                lossless_only=action is Action.LOSSLESS,
                target_ratio=options.target_ratio,
                error=error,
                kompress=options.kompress,
            )
            lossy = result.lossy if error or lossy_allowed(result.kind, options) else None
            chosen = lossy or result.lossless
            if chosen is None:
                continue
            labels.append(chosen.label)
            if chosen.lossy and options.ccr:
                key = ccr.content_hash(block.text)
                originals[key] = block.text
                primary[block.path] = ccr.with_marker(chosen.text, key, len(block.text))
                if result.lossless is not None:
                    fallback[block.path] = result.lossless.text
            else:
                primary[block.path] = fallback[block.path] = chosen.text
        compressed = rewrite(message, primary)
        after = self._tokens.count_message(request.model, compressed) if primary else tokens_before
        if after >= tokens_before:  # inflation guard: never send more than we got
            return _Draft(message, tokens_before, tokens_before, {}, None, [])
        backup = rewrite(message, fallback) if originals else None
        return _Draft(compressed, tokens_before, after, originals, backup, labels)

    async def _store_originals(self, request: CompressRequest, drafts: list[_Draft]) -> bool:
        """Store every lossy block's original; on failure, swap in the lossless fallbacks."""
        originals = {k: v for d in drafts for k, v in d.originals.items()}
        if not originals:
            return True
        try:
            await self._originals.put_many(request.tenant, originals, self._limits.ccr_ttl_seconds)
            return True
        except Exception as error:  # no marker may point at an original nobody stored
            log.warning("original store unavailable: %s", type(error).__name__)
        for draft in drafts:
            if draft.fallback is not None:  # set exactly when the draft carries originals
                draft.message = draft.fallback
                after = await self._offload(
                    self._tokens.count_message, request.model, draft.message
                )
                draft.tokens_after = min(after, draft.tokens_before)
                draft.labels = [f"{label}:lossless_fallback" for label in draft.labels]
            draft.originals = {}
        return False

    def _entry(self, draft: _Draft, input_digest: bytes, variant: str) -> replay.Entry:
        unchanged = draft.tokens_after >= draft.tokens_before and not draft.labels
        # An unchanged message is answered from the request's own text: storing it is waste.
        text = "" if unchanged else replay.wire(draft.message)
        output_digest = input_digest if unchanged else replay.digest(draft.message)
        return replay.Entry(
            message_json=text,
            output_digest=output_digest.hex(),
            tokens_before=draft.tokens_before,
            tokens_after=draft.tokens_after,  # every draft path keeps after <= before
            ccr_hashes=tuple(ccr.hashes_in(text)) if draft.originals else (),
            labels=tuple(draft.labels),
            variant=variant,
        )

    async def _record(
        self,
        scope: bytes,
        keys: list[str],
        known: list[replay.Entry],
        new_entries: list[replay.Entry],
        seen: dict[str, bytes],
    ) -> bool:
        """Remember the new messages for the next turn, under the input chain and, for callers
        that send our output back as their history, under the output chain too; and when
        this session was last sent (`seen`), for cache-cold compaction."""
        replayed = len(known)
        encoded = [e.encode() for e in new_entries]
        items = dict(seen)
        items |= {keys[replayed + i]: value for i, value in enumerate(encoded)}
        output_digests = [bytes.fromhex(e.output_digest) for e in known + new_entries]
        output_keys = replay.chain_keys(scope, output_digests)
        for i, value in enumerate(encoded):
            items.setdefault(output_keys[replayed + i], value)
        if not items:
            return True
        try:
            await self._sessions.put_many(items, self._limits.session_ttl_seconds)
            return True
        except Exception as error:
            log.warning("session store unavailable: %s", type(error).__name__)
            return False

    async def _offload(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def _passthrough(
        self, request: CompressRequest, started: float, outcome: str, failure: str | None = None
    ) -> CompressResponse:
        self._telemetry.request_finished(
            RequestReport(
                outcome=outcome,
                latency_seconds=time.perf_counter() - started,
                failure=failure,
                model=request.model,
                tags=request.tags,
            )
        )
        texts = verbatim.passthrough(request.messages, request.raw_messages)
        return CompressResponse(texts, outcome=outcome)


def _respond(
    texts: list[str], entries: list[replay.Entry], labels: list[list[str]], replayed: int
) -> CompressResponse:
    transforms = [f"replay:{replayed}"] if replayed else []
    transforms += sorted({label for group in labels for label in group})
    hashes: list[str] = []
    for entry in entries:
        hashes += [h for h in entry.ccr_hashes if h not in hashes]
    return CompressResponse(
        messages_json=texts,
        tokens_before=sum(e.tokens_before for e in entries),
        tokens_after=sum(e.tokens_after for e in entries),
        transforms_applied=transforms,
        ccr_hashes=hashes,
    )
