"""Property tests: any history of the blocks Converse accepts (cited answers and search
results included) round-trips exactly through SQLite and Redis (what another client loads
is what was written), and the request converters refuse random values only with ValueError
or TypeError. CI runs a fixed number of examples (``FASTCONVERSE_HYPOTHESIS_EXAMPLES`` runs
more)."""

from __future__ import annotations

import contextlib
import os
import string
from collections.abc import Callable
from typing import Any

from conftest import fc_client
from fastconverse import Store
from fastconverse.testing import FakeBedrock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FASTCONVERSE_HYPOTHESIS_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

words = st.text(
    string.ascii_letters + string.digits + " .,!?é漢😀-", min_size=1, max_size=40
).filter(lambda s: s.strip() != "")
blob = st.binary(min_size=1, max_size=64)
s3_uri = st.from_regex(r"s3://[a-z][a-z0-9-]{2,10}/[a-z0-9/._-]{1,20}", fullmatch=True)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=8,
)


def source(kind: str) -> Any:
    return (
        blob.map(lambda b: {"bytes": b})
        if kind == "bytes"
        else s3_uri.map(lambda u: {"s3Location": {"uri": u}})
    )


image = st.builds(
    lambda f, src: {"image": {"format": f, "source": src}},
    st.sampled_from(["png", "jpeg", "gif", "webp"]),
    st.sampled_from(["bytes", "s3"]).flatmap(source),
)
video = st.builds(
    lambda f, src: {"video": {"format": f, "source": src}},
    st.sampled_from(["mp4", "mov", "webm", "mkv"]),
    st.sampled_from(["bytes", "s3"]).flatmap(source),
)
cache_point = st.sampled_from(
    [{"cachePoint": {"type": "default"}}, {"cachePoint": {"type": "default", "ttl": "1h"}}]
)
guard = st.builds(
    lambda text, q: {"guardContent": {"text": {"text": text, **({"qualifiers": q} if q else {})}}},
    words,
    st.lists(
        st.sampled_from(["grounding_source", "query", "guard_content"]), max_size=2, unique=True
    ),
)
reasoning = st.one_of(
    st.builds(
        lambda t, sig: {
            "reasoningContent": {
                "reasoningText": {"text": t, **({"signature": sig} if sig else {})}
            }
        },
        words,
        words,
    ),
    blob.map(lambda b: {"reasoningContent": {"redactedContent": b}}),
)


texts = st.lists(words.map(lambda t: {"text": t}), min_size=1, max_size=2)
document_source = st.one_of(
    st.sampled_from(["bytes", "s3"]).flatmap(source),
    words.map(lambda t: {"text": t}),
    texts.map(lambda c: {"content": c}),
)
nat = st.integers(0, 2**31 - 1)
location = st.one_of(
    st.builds(
        lambda kind, i, start, end: {kind: {"documentIndex": i, "start": start, "end": end}},
        st.sampled_from(["documentChar", "documentPage", "documentChunk"]),
        nat,
        nat,
        nat,
    ),
    st.builds(
        lambda i, start, end: {
            "searchResultLocation": {"searchResultIndex": i, "start": start, "end": end}
        },
        nat,
        nat,
        nat,
    ),
    st.builds(lambda url, domain: {"web": {"url": url, "domain": domain}}, words, words),
)
citation = st.fixed_dictionaries(
    {},
    optional={"title": words, "source": words, "sourceContent": texts, "location": location},
)
cited = st.builds(
    lambda content, citations: {"citationsContent": {"content": content, "citations": citations}},
    texts,
    st.lists(citation, max_size=2),
)
search_result = st.builds(
    lambda src, title, content, enabled: {
        "searchResult": {
            "source": src,
            "title": title,
            "content": content,
            **({"citations": {"enabled": enabled}} if enabled is not None else {}),
        }
    },
    words,
    words,
    texts,
    st.none() | st.booleans(),
)


@st.composite
def documents(draw: st.DrawFn, index: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": draw(st.sampled_from(["txt", "md", "csv", "html", "pdf"])),
        "name": f"doc {index}",
        "source": draw(document_source),
    }
    if draw(st.booleans()):
        doc["context"] = draw(words)
    if draw(st.booleans()):
        doc["citations"] = {"enabled": draw(st.booleans())}
    return {"document": doc}


@st.composite
def server_tool_use(draw: st.DrawFn, turn: int) -> list[dict[str, Any]]:
    tool_use_id = f"tooluse_server_{turn}"
    name = draw(st.sampled_from(["nova_grounding", "nova_code_interpreter"]))
    call = {
        "toolUseId": tool_use_id,
        "name": name,
        "input": draw(st.dictionaries(words, json_value, max_size=3)),
        "type": "server_tool_use",
    }
    result: dict[str, Any] = {
        "toolUseId": tool_use_id,
        "content": draw(
            st.lists(
                st.one_of(
                    words.map(lambda t: {"text": t}),
                    st.dictionaries(words, json_value, max_size=3).map(lambda j: {"json": j}),
                ),
                min_size=1,
                max_size=2,
            )
        ),
    }
    if draw(st.booleans()):
        result["status"] = draw(st.sampled_from(["success", "error"]))
    if draw(st.booleans()):
        result["type"] = f"{name}_result"
    return [{"toolUse": call}, {"toolResult": result}]


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid history: user first, alternating, each tool use answered next turn."""
    messages: list[dict[str, Any]] = []
    docs = 0
    for turn in range(draw(st.integers(1, 4))):
        user: list[Any] = [{"text": draw(words)}]
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["image", "video", "document", "cache", "guard", "search"]))
            if kind == "document" and docs < 4:
                user.append(draw(documents(docs)))
                docs += 1
            elif kind == "image":
                user.append(draw(image))
            elif kind == "video":
                user.append(draw(video))
            elif kind == "guard":
                user.append(draw(guard))
            elif kind == "search":
                user.append(draw(search_result))
        if messages and messages[-1]["content"][-1].get("toolUse"):
            use = messages[-1]["content"][-1]["toolUse"]
            result_content = draw(
                st.lists(
                    st.one_of(
                        words.map(lambda t: {"text": t}),
                        st.dictionaries(words, json_value, max_size=3).map(lambda j: {"json": j}),
                        image,
                        search_result,
                    ),
                    min_size=1,
                    max_size=2,
                )
            )
            result: dict[str, Any] = {"toolUseId": use["toolUseId"], "content": result_content}
            if draw(st.booleans()):
                result["status"] = draw(st.sampled_from(["success", "error"]))
            user.insert(0, {"toolResult": result})
        if draw(st.booleans()):
            user.append(draw(cache_point))
        messages.append({"role": "user", "content": user})
        assistant: list[Any] = []
        if draw(st.booleans()):
            assistant.append(draw(reasoning))
        if draw(st.booleans()):  # (a system tool's call, with its result in the same message)
            assistant.extend(draw(server_tool_use(turn)))
        assistant.append({"text": draw(words)})
        if draw(st.booleans()):
            assistant.append(draw(cited))
        if draw(st.booleans()) and turn < 3:
            assistant.append(
                {
                    "toolUse": {
                        "toolUseId": f"tooluse_{turn}",
                        "name": "lookup",
                        "input": draw(st.dictionaries(words, json_value, max_size=3)),
                    }
                }
            )
        messages.append({"role": "assistant", "content": assistant})
    if messages[-1]["content"][-1].get("toolUse"):
        messages[-1]["content"].pop()  # (a history may not end waiting for a tool result)
    return messages


def test_any_history_round_trips_through_the_store(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    client = fc_client(fake_bedrock, store=store_at())
    reader = fc_client(fake_bedrock, store=store_at())
    lookup = {"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}

    @SETTINGS
    @given(histories())
    def check(messages: list[dict[str, Any]]) -> None:
        conv = client.create_conversation(messages=messages, tools=[lookup])
        written = conv.messages
        assert written == messages, "the conversation does not hold what it was given"
        reader._conversations.pop(conv.id, None)
        loaded = reader.get_conversation(conv.id, tools=[lookup])
        assert loaded.messages == written
        client.delete_conversation(conv.id)

    check()


anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.sampled_from(["user", "assistant", "text", "image", "toolUse", "content", "role"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "role",
                    "content",
                    "text",
                    "image",
                    "format",
                    "source",
                    "bytes",
                    "toolUse",
                    "toolResult",
                    "toolUseId",
                    "name",
                    "input",
                    "json",
                    "document",
                    "cachePoint",
                    "type",
                    "guardContent",
                    "reasoningContent",
                    "citationsContent",
                    "searchResult",
                    "citations",
                    "location",
                    "status",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def test_random_values_as_arguments_give_only_clear_errors(fake_bedrock: FakeBedrock) -> None:
    """Random nested values as messages, system, settings and tool configs: a ValueError or
    TypeError naming what was wrong, or a service error; never anything else."""
    from fastconverse import errors

    client = fc_client(fake_bedrock, max_attempts=1)

    @SETTINGS
    @given(anything, anything, anything)
    def check(messages: Any, system: Any, config: Any) -> None:
        calls: list[Callable[[], Any]] = [
            lambda: client.converse(messages=messages),
            lambda: client.converse(
                messages=[{"role": "user", "content": [{"text": "hi"}]}],
                system=system,
                inferenceConfig=config,
            ),
            lambda: client.converse(
                messages=[{"role": "user", "content": [{"text": "hi"}]}], toolConfig=config
            ),
            lambda: client.create_conversation().send(messages),
        ]
        for call in calls:
            with contextlib.suppress(ValueError, TypeError, errors.ServiceError):
                call()

    check()
