"""A long tutoring conversation kept inside a token budget, with its cost and metrics.

The reference tutorial's memory-managed client, done by fastconverse: ``TokenBudget`` keeps
the newest turns that fit in 2,000 estimated tokens (``--summarize``: ``Summarizing``
folds the older turns into a summary instead), the system prompt is cached, and at the end
the conversation reports what it sent, what it cost at the prices you give it, and its
metrics.

    python examples/long_conversation.py              # offline, FakeBedrock (--fake)
    python examples/long_conversation.py --summarize
    python examples/long_conversation.py --aws --region us-west-2
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from example_support import parse_args, run
from fastconverse import ConverseClient, Summarizing, TokenBudget

SYSTEM_PROMPT = (
    "You are a patient Python tutor. Answer in at most three sentences, with a tiny example "
    "when it helps."
)
TOPICS = ["decorators", "generators", "context managers", "dataclasses", "asyncio tasks"]
# Illustrative prices per 1,000 tokens: fastconverse has no price table, pass your own.
PRICES = {"input": 0.0008, "output": 0.004, "cache_read": 0.00008, "cache_write": 0.001}


def tutor(client: ConverseClient, summarize: bool) -> None:
    memory = Summarizing(max_tokens=800, keep_recent=4) if summarize else TokenBudget(800)
    conv = client.create_conversation(
        SYSTEM_PROMPT, memory=memory, cache="system", inference_config={"maxTokens": 200}
    )
    for i in range(24):
        topic = TOPICS[i % len(TOPICS)]
        reply = conv.send(
            f"Lesson {i + 1}: explain {topic} again, building on what we covered so far, and "
            f"tell me one mistake beginners make with {topic}."
        )
        print(
            f"turn {i + 1:2}: sent {len(conv.messages) - 1:2} of {len(conv.transcript) - 1:2} "
            f"messages, {reply.usage.input_tokens:5} tokens in, context now "
            f"{conv.context_tokens} tokens"
        )
    m = conv.metrics
    print(f"\n{m.turns} turns, {m.summaries} summaries, {m.retries} retries")
    print(f"summary: {'yes' if conv.summary else 'none'}")
    usage = conv.usage
    print(
        f"tokens: {usage.input_tokens} in, {usage.output_tokens} out, "
        f"{usage.cache_read_input_tokens} read from cache"
    )
    prices = {model: PRICES for model in conv.usage_by_model}
    print(f"cost at the example prices: ${conv.cost(prices):.4f}")


def main(argv: Sequence[str] | None = None) -> int:
    summarize = "--summarize" in (argv if argv is not None else sys.argv[1:])
    rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--summarize"]
    args = parse_args(__doc__.splitlines()[0] if __doc__ else None, rest)
    return run(lambda client: tutor(client, summarize), args)


if __name__ == "__main__":
    sys.exit(main())
