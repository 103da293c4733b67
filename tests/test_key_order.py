"""JSON objects keep their key order both ways, as boto3 keeps it: a tool's schema goes on
the wire in the order it was written, and a tool's input comes back in the model's order
through ``send()``, ``stream()``, the history, a store reopened in another process and the
boto3-shaped layer. Checked on the bytes FakeBedrock received (``raw_body``), with 30
properties in an order that is neither alphabetical nor any hash map's."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from conftest import AKID, SECRET, boto3_client, fc_boto3, fc_client, user
from fastconverse import Store, Tool
from fastconverse.testing import FakeBedrock

# p07, p14, p21, p28, p05, ...: every name once, in no sorted order.
NAMES = [f"p{(i * 7) % 30:02d}_{'xyzabc'[i % 6]}" for i in range(30)]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # (the members of each property alternate their order too)
        name: {"type": "string", "description": f"field {name}"}
        if i % 2
        else {"description": f"field {name}", "type": "string"}
        for i, name in enumerate(NAMES)
    },
    "required": NAMES[:3],
    "additionalProperties": False,
}
SPEC = {"name": "many", "description": "Takes many fields.", "inputSchema": {"json": SCHEMA}}
# The model's order: not the schema's, with a nested object in an order of its own.
INPUT: dict[str, Any] = {name: f"v{i}" for i, name in enumerate(reversed(NAMES))}
INPUT[NAMES[0]] = {"zulu": 1, "alpha": [{"y": 1, "b": 2, "m": 3}], "kilo": None}


def compact(value: Any) -> str:
    """JSON as the SDKs write it (no spaces), its order as given."""
    return json.dumps(value, separators=(",", ":"))


def sent(fake: FakeBedrock, index: int = -1) -> dict[str, Any]:
    """A request body FakeBedrock received, parsed in the order its keys were sent."""
    body = json.loads(fake.requests[index].raw_body)
    assert isinstance(body, dict)
    return body


def many_tool(seen: list[list[str]]) -> Tool[..., str]:
    def many(**fields: Any) -> str:
        seen.append(list(fields))
        return "done"

    return Tool(SPEC, many)


def keys_of_tool_use(message: dict[str, Any]) -> list[str]:
    inputs = [b["toolUse"]["input"] for b in message["content"] if "toolUse" in b]
    assert len(inputs) == 1
    assert inputs[0][NAMES[0]] == INPUT[NAMES[0]]
    assert list(inputs[0][NAMES[0]]) == ["zulu", "alpha", "kilo"]
    assert list(inputs[0][NAMES[0]]["alpha"][0]) == ["y", "b", "m"]
    return list(inputs[0])


def test_a_schema_goes_on_the_wire_in_the_order_written(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(tools=[many_tool([])])
    fake_bedrock.enqueue_text("ok")
    conv.send("hi")
    schema = sent(fake_bedrock)["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert list(schema["properties"]) == NAMES
    assert compact(schema) == compact(SCHEMA)
    # The very bytes: what the prompt cache sees is the same in every process.
    assert compact(SCHEMA) in fake_bedrock.requests[-1].raw_body.decode()
    # A before_request hook sees it in that order too.
    seen: list[Any] = []

    class Look:
        def before_request(self, event: Any) -> None:
            seen.append(event.tool_config["tools"][0]["toolSpec"]["inputSchema"])

    fake_bedrock.enqueue_text("ok")
    looked = fc_client(fake_bedrock).create_conversation(tools=[many_tool([])], hooks=[Look()])
    looked.send("hi")
    assert compact(seen[0]["json"]) == compact(SCHEMA)


def test_tool_inputs_keep_the_models_order_through_send(fake_bedrock: FakeBedrock) -> None:
    seen: list[list[str]] = []
    conv = fc_client(fake_bedrock).create_conversation(tools=[many_tool(seen)])
    fake_bedrock.enqueue_tool_use("many", INPUT)
    fake_bedrock.enqueue_text("done")
    conv.send("go")
    assert seen == [list(INPUT)]
    assert keys_of_tool_use(conv.messages[1]) == list(INPUT)
    # The history goes back to the model as the model wrote it.
    assert keys_of_tool_use(sent(fake_bedrock)["messages"][1]) == list(INPUT)
    assert compact(INPUT) in fake_bedrock.requests[-1].raw_body.decode()


def test_tool_inputs_keep_the_models_order_through_stream(fake_bedrock: FakeBedrock) -> None:
    seen: list[list[str]] = []
    conv = fc_client(fake_bedrock).create_conversation(tools=[many_tool(seen)])
    fake_bedrock.enqueue_tool_use("many", INPUT, chunks=7)
    fake_bedrock.enqueue_text("done")
    for _ in conv.stream("go"):
        pass
    assert seen == [list(INPUT)]
    assert keys_of_tool_use(conv.messages[1]) == list(INPUT)
    assert keys_of_tool_use(sent(fake_bedrock)["messages"][1]) == list(INPUT)


def test_a_store_keeps_the_order_for_another_process(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    conv = fc_client(fake_bedrock, store=store_at()).create_conversation(tools=[many_tool([])])
    fake_bedrock.enqueue_tool_use("many", INPUT)
    fake_bedrock.enqueue_text("done")
    conv.send("go")
    fake_bedrock.enqueue_text("again")
    # Another process: no memory of this one's documents, only what the store kept.
    script = textwrap.dedent(
        f"""
        import json
        from fastconverse import ConverseClient, Tool, SQLiteStore, RedisStore
        spec = json.loads({json.dumps(json.dumps(SPEC))})
        client = ConverseClient("m", endpoint_url={fake_bedrock.url!r}, region_name="us-east-1",
            aws_access_key_id={AKID!r}, aws_secret_access_key={SECRET!r},
            store={store_at.spec})  # type: ignore[attr-defined]
        conv = client.get_conversation({conv.id!r}, tools=[Tool(spec, lambda **kw: "x")])
        block = conv.messages[1]["content"][0]["toolUse"]
        print(json.dumps(block["input"]))
        conv.send("again")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == json.dumps(INPUT)
    body = sent(fake_bedrock)
    assert keys_of_tool_use(body["messages"][1]) == list(INPUT)
    assert compact(body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]) == compact(
        SCHEMA
    )


def boto3_and_ours(fake: FakeBedrock) -> list[Any]:
    return [
        boto3_client(fake),
        fc_boto3(fake),
    ]


def test_the_boto3_layer_keeps_order_as_boto3_does(fake_bedrock: FakeBedrock) -> None:
    fields = {f"f{(i * 11) % 20}": {"z": i, "a": i} for i in range(20)}
    runs: list[Any] = []
    for client in boto3_and_ours(fake_bedrock):
        fake_bedrock.enqueue_tool_use("many", INPUT, tool_use_id="t1")
        reply = client.converse(
            modelId="m",
            messages=[user("go")],
            toolConfig={"tools": [{"toolSpec": SPEC}]},
            additionalModelRequestFields=fields,
        )
        asked = fake_bedrock.requests[-1].raw_body
        history = [
            user("go"),
            reply["output"]["message"],
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"json": INPUT}]}},
                ],
            },
        ]
        fake_bedrock.enqueue_text("done")
        client.converse(modelId="m", messages=history, toolConfig={"tools": [{"toolSpec": SPEC}]})
        answered = fake_bedrock.requests[-1].raw_body
        fake_bedrock.enqueue_tool_use("many", INPUT, chunks=5)
        streamed = "".join(
            e["contentBlockDelta"]["delta"]["toolUse"]["input"]
            for e in client.converse_stream(
                modelId="m", messages=[user("go")], toolConfig={"tools": [{"toolSpec": SPEC}]}
            )["stream"]
            if "contentBlockDelta" in e
        )
        runs.append((reply["output"]["message"], json.loads(asked), json.loads(answered), streamed))
    theirs, ours = runs
    # The reply's input, in the model's order, as boto3 gives it.
    assert keys_of_tool_use(ours[0]) == keys_of_tool_use(theirs[0]) == list(INPUT)
    # The same bytes' order on the wire, request after request.
    for mine, boto3s in zip(ours[1:3], theirs[1:3]):
        assert compact(mine["toolConfig"]) == compact(boto3s["toolConfig"])
        assert compact(mine["messages"]) == compact(boto3s["messages"])
    assert compact(ours[1]["additionalModelRequestFields"]) == compact(fields)
    assert compact(ours[2]["messages"][2]) == compact(theirs[2]["messages"][2])
    assert json.loads(ours[3]) == INPUT and list(json.loads(ours[3])) == list(INPUT)
    assert ours[3] == theirs[3]


def test_fake_bedrocks_own_model_answers_in_schema_order(fake_bedrock: FakeBedrock) -> None:
    for client in boto3_and_ours(fake_bedrock):
        reply = client.converse(
            modelId="m",
            messages=[user("go")],
            toolConfig={"tools": [{"toolSpec": SPEC}], "toolChoice": {"tool": {"name": "many"}}},
        )
        (block,) = [b for b in reply["output"]["message"]["content"] if "toolUse" in b]
        assert list(block["toolUse"]["input"]) == NAMES


def test_count_tokens_sends_the_schema_in_order(fake_bedrock: FakeBedrock) -> None:
    ours = boto3_and_ours(fake_bedrock)[1]
    ours.count_tokens(
        modelId="m",
        input={
            "converse": {"messages": [user("hi")], "toolConfig": {"tools": [{"toolSpec": SPEC}]}}
        },
    )
    body = sent(fake_bedrock)
    schema = body["input"]["converse"]["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert compact(schema) == compact(SCHEMA)


@pytest.mark.parametrize("where", ["client", "conversation"])
def test_additional_fields_keep_their_order(fake_bedrock: FakeBedrock, where: str) -> None:
    base = {f"k{(i * 3) % 16}": {"y": i, "b": [i, {"q": 1, "c": 2}]} for i in range(16)}
    extra = {"zz": 1, "aa": 2, "k0": {"new": True, "old": False}}
    client = fc_client(fake_bedrock)
    if where == "client":
        conv = client.create_conversation(additional_model_request_fields=base)
        fake_bedrock.enqueue_text("ok")
        conv.send("hi")
        assert compact(sent(fake_bedrock)["additionalModelRequestFields"]) == compact(base)
    else:
        conv = client.create_conversation(additional_model_request_fields=base)
        fake_bedrock.enqueue_text("ok")
        conv.send("hi", additional_model_request_fields=extra)
        assert compact(sent(fake_bedrock)["additionalModelRequestFields"]) == compact(
            {**base, **extra}
        )


def test_the_body_put_back_in_order_is_the_one_signed(
    make_fake: Callable[..., FakeBedrock],
) -> None:
    fake = make_fake(credentials=[(AKID, SECRET)])  # SigV4 signatures checked
    conv = fc_client(fake).create_conversation(tools=[many_tool([])])
    fake.enqueue_tool_use("many", INPUT)
    fake.enqueue_text("done")
    for _ in conv.stream("go"):
        pass
    assert conv.messages[-1]["content"] == [{"text": "done"}]
    assert compact(INPUT) in fake.requests[-1].raw_body.decode()


def test_the_same_input_in_another_order_elsewhere_changes_nothing_already_sent(
    fake_bedrock: FakeBedrock,
) -> None:
    """Orders are kept by content: a second conversation given the same members in another
    order must not change the bytes the first one sends (its prompt cache would miss)."""
    spec = {"name": "w", "description": "d", "inputSchema": {"json": {"type": "object"}}}
    client = fc_client(fake_bedrock)

    def sent_input() -> list[str]:
        body = json.loads(fake_bedrock.requests[-1].raw_body)
        return list(body["messages"][1]["content"][0]["toolUse"]["input"])

    fake_bedrock.enqueue_tool_use("w", {"city": "Paris", "unit": "C"}, tool_use_id="a1")
    fake_bedrock.enqueue_text("ok1")
    first = client.create_conversation(tools=[Tool(spec, lambda **k: "x")])
    first.send("one")
    assert sent_input() == ["city", "unit"]
    fake_bedrock.enqueue_tool_use("w", {"unit": "C", "city": "Paris"}, tool_use_id="b1")
    fake_bedrock.enqueue_text("ok2")
    client.create_conversation(tools=[Tool(spec, lambda **k: "x")]).send("two")
    fake_bedrock.enqueue_text("ok3")
    first.send("again")
    assert sent_input() == ["city", "unit"]
    assert list(first.messages[1]["content"][0]["toolUse"]["input"]) == ["city", "unit"]
