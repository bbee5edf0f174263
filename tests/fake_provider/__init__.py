"""A fake LLM provider for tests and benchmarks: Anthropic and OpenAI wire formats over real HTTP.

with FakeProvider(chunk_delay=0.005) as fake:
    fake.enqueue(Reply.call("Bash", {"command": "ls"}), Reply.say("done"))
    client = anthropic.Anthropic(base_url=fake.url, api_key="sk-test")
    ...
    assert fake.generations()[1].header("x-api-key") == "sk-test"
"""

from tests.fake_provider.script import (
    MARKER,
    RETRIEVE_TOOL,
    ErrorReply,
    Exchange,
    Reply,
    ToolCall,
    retrieve_model,
)
from tests.fake_provider.server import FakeProvider, RecordedRequest

__all__ = ["MARKER", "RETRIEVE_TOOL", "ErrorReply", "Exchange", "FakeProvider", "RecordedRequest",
           "Reply", "ToolCall", "retrieve_model"]  # fmt: skip
