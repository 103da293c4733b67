"""A customer-support assistant built on fastconverse's conversation layer.

It holds a short support chat: a system prompt, two turns sent with ``send``, a summary
streamed word by word with ``stream``, which goes on by itself after a throttling error cuts
it mid-answer, and a token usage report at the end.

By default it runs offline against ``FakeBedrock``, a local Bedrock Runtime that plays
scripted replies. ``--aws`` (or ``FASTCONVERSE_EXAMPLES_AWS=1``) talks to Amazon Bedrock
instead, with your usual AWS credentials::

    python examples/chat_assistant.py
    python examples/chat_assistant.py --aws --region us-west-2 --model amazon.nova-micro-v1:0
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from example_support import parse_args, run
from fastconverse import Conversation, ConverseClient, Reply, Resumed, TextDelta
from fastconverse.testing import FakeBedrock

SYSTEM_PROMPT = (
    "You are the support assistant of Trailhead Outfitters, an online shop for outdoor gear. "
    "Answer in at most three sentences, kindly and precisely. Orders ship within two "
    "business days and returns are free for 30 days. Never make up order details."
)

CUSTOMER_TURNS = (
    "Hi! My tent from order TH-1042 still hasn't arrived.",
    "It was due last Monday. If it turns up damaged, can I return it?",
)
SUMMARY_REQUEST = "Please sum up what happens next."


def script_fake(fake: FakeBedrock) -> None:
    """Queues the replies FakeBedrock plays, in the order the chat asks for them."""
    fake.enqueue_text(
        "Sorry to hear that! Order TH-1042 left our warehouse on Thursday; "
        "I've opened a trace with the carrier."
    )
    fake.enqueue_text(
        "Yes: returns are free for 30 days after delivery, and a damaged tent is "
        "replaced or refunded, whichever you prefer."
    )
    # The summary is cut by a throttling error after a few words: the stream asks again with
    # the answer so far, and the model (here FakeBedrock) goes on from there.
    fake.enqueue_text(
        "We are tracing your parcel with the carrier and will email you within 24 hours. "
        "If it arrives damaged, reply to that email for a free return or replacement.",
        stream_error="throttlingException",
        after_events=6,
        delta_delay=0.02,
    )


def describe(reply: Reply) -> str:
    usage = reply.usage
    latency = "" if reply.latency_ms is None else f", {reply.latency_ms} ms"
    return f"[{usage.input_tokens} in / {usage.output_tokens} out tokens{latency}]"


def ask(conv: Conversation, text: str) -> Reply:
    """One turn, waiting for the whole reply."""
    print(f"customer:  {text}")
    reply = conv.send(text)
    print(f"assistant: {reply.text}")
    print(f"           {describe(reply)}")
    return reply


def ask_streaming(conv: Conversation, text: str) -> Reply:
    """One turn, printing the reply as it streams. A stream cut mid-answer (throttling, a
    dropped connection) resumes on its own: a ``Resumed`` event says so, and the text that
    follows continues the same answer, nothing repeated."""
    print(f"customer:  {text}")
    print("assistant: ", end="", flush=True)
    resumed: list[Resumed] = []
    with conv.stream(text) as stream:
        for event in stream:
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, Resumed):
                resumed.append(event)
        reply = stream.reply
    print()
    for event in resumed:
        print(f"           [cut by {event.reason}: resumed from the words already shown]")
    print(f"           {describe(reply)}")
    return reply


def chat(client: ConverseClient) -> None:
    conv = client.create_conversation(
        SYSTEM_PROMPT, inference_config={"maxTokens": 400, "temperature": 0.3}
    )
    print(f"conversation {conv.id} with {conv.model_id}\n")
    for text in CUSTOMER_TURNS:
        ask(conv, text)
    ask_streaming(conv, SUMMARY_REQUEST)

    usage = conv.usage
    print(
        f"\n{len(conv) // 2} turns, {len(conv)} messages; tokens: {usage.input_tokens} in, "
        f"{usage.output_tokens} out, {usage.total_tokens} total"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else None, argv)
    # On AWS the SDK retries throttling and transient errors on its own.
    return run(chat, args, script_fake)


if __name__ == "__main__":
    sys.exit(main())
