"""Scripted models for the fake provider, shared by the proxy tests."""

from __future__ import annotations

from tests.fake_provider import MARKER, RETRIEVE_TOOL, Reply, ToolCall
from tests.fake_provider.script import Exchange

SLOW = 0.1  # seconds between the events of the round that calls the tool (a loaded CI
# machine must still see its first text well before the round ends)


def looking_then_retrieve(exchange: Exchange) -> Reply | None:
    """First round: some text, then a (slowly streamed) retrieve call for the first marker.
    After that the fake's retrieve model answers with what it got back."""
    if RETRIEVE_TOOL not in exchange.tool_names or any(
        c.name == RETRIEVE_TOOL for c in exchange.calls
    ):
        return None
    hashes = [h for text in exchange.texts for h in MARKER.findall(text)]
    if not hashes:
        return None
    call = ToolCall(RETRIEVE_TOOL, {"hash": hashes[0]})
    return Reply(text="Let me look closer.", tool_calls=(call,), chunk_delay=SLOW)
