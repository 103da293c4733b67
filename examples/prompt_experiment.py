"""An A/B test of three support-assistant system prompts with ``PromptExperiment``.

Part one plays live traffic: users arrive, each is given a variant by a hash of their id (the
same user always gets the same prompt), chats, and rates the answer from 1 to 5 (simulated
here, from a seeded random generator). Part two is an offline evaluation: ``run`` sends
a set of test questions through every variant and a judge scores each answer. Each part
prints its results: per variant the figures with 95% intervals, and each variant against the
baseline with p-values (Holm-corrected) and the samples still needed.

    python examples/prompt_experiment.py            # offline, FakeBedrock (--fake)
    python examples/prompt_experiment.py --aws --region us-west-2   # the model is the judge
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence

from example_support import parse_args, run
from fastconverse import ConverseClient, PromptExperiment, Template, Variant
from fastconverse.testing import FakeBedrock

VARIANTS = {
    "concise": "You are Trailhead Outfitters' support assistant. Answer in one or two sentences.",
    "friendly": (
        "You are Trailhead Outfitters' support assistant. Be warm and encouraging, and "
        "answer fully."
    ),
    "expert": Variant(
        Template("You are a senior {field} expert. Explain the cause, then the steps."),
        prompt_variables={"field": "outdoor gear"},
    ),
}

QUESTIONS = [
    "My USB lantern does not charge. What can I do?",
    "How do I dry a tent that got wet on the last night of a trip?",
    "The gas stove will not light. Is it broken?",
    "Which sleeping bag rating do I need for 5 degrees Celsius?",
]

# What FakeBedrock answers for each variant (one of two answers, at random): (text, output
# tokens, seconds to the first byte)
FAKE_REPLIES = {
    "concise": [
        ("Charge it for 30 minutes with the switch off; the LED turns green.", 18, 0.004),
        ("Try another cable.", 6, 0.003),
    ],
    "friendly": [
        (
            "Sorry about that! Let's fix it together: use the supplied cable, charge it for 30 "
            "minutes with the switch off, and the LED turns green. Happy camping!",
            45,
            0.008,
        ),
        ("Oh no! Try the supplied cable, that usually does it. Enjoy your trip!", 20, 0.006),
    ],
    "expert": [
        (
            "The battery controller has probably locked after a deep discharge. Steps: 1. use "
            "the supplied cable; 2. charge 30 minutes switched off; 3. hold the button 10 s.",
            70,
            0.014,
        ),
        ("It is probably the cable: 1. use the supplied one; 2. charge it fully.", 30, 0.01),
    ],
}

# The simulated users' mean rating of each variant (1 to 5)
TASTE = {"concise": 3.5, "friendly": 4.2, "expert": 3.9}


def prices(model_id: str) -> dict[str, dict[str, float]]:
    return {model_id: {"input": 0.0008, "output": 0.004}}


def enqueue(fake: FakeBedrock | None, variant: str, rng: random.Random) -> None:
    """The fake model's answer for ``variant``, with some jitter in its latency."""
    if fake is None:
        return
    text, tokens, delay = rng.choice(FAKE_REPLIES[variant])
    fake.enqueue_text(
        text,
        usage={"inputTokens": 40, "outputTokens": tokens},
        first_byte_delay=delay * rng.uniform(0.7, 1.5),
    )


def live_traffic(client: ConverseClient, fake: FakeBedrock | None, users: int) -> None:
    rng = random.Random(42)
    exp = PromptExperiment(
        client,
        VARIANTS,
        assignment="sticky",
        baseline="concise",
        prices=prices(client.model_id or ""),
        name="support-tone-live",
    )
    for u in range(users):
        user = f"user-{u:03d}"
        conv = exp.start_conversation(user=user)
        enqueue(fake, exp.variant_of(conv), rng)
        for _ in conv.stream(rng.choice(QUESTIONS)):  # (a stream: time to first token too)
            pass
        rating = round(min(5.0, max(1.0, rng.gauss(TASTE[exp.variant_of(conv)], 0.8))))
        exp.record_feedback(conv, rating)
    print("Part 1: live traffic, sticky assignment, user ratings (1-5)\n")
    print(exp.results())


def keyword_judge(case: str, reply: str) -> float:
    """An offline judge (1-10): points for concrete steps and for a cause."""
    text = reply.lower()
    score = 4.0 + 2 * ("30 minutes" in text) + 2 * ("1." in text) + 2 * ("probably" in text)
    return min(score, 10.0)


def offline_evaluation(client: ConverseClient, fake: FakeBedrock | None, aws: bool) -> None:
    rng = random.Random(7)
    exp = PromptExperiment(
        client,
        VARIANTS,
        baseline="concise",
        prices=prices(client.model_id or ""),
        name="support-tone-eval",
    )
    # (one at a time with FakeBedrock: its replies are queued in the order run() asks)
    cases = QUESTIONS * 3
    for _ in cases:
        for variant in exp.variants:
            enqueue(fake, variant, rng)
    results = exp.run(
        cases,
        concurrency=4 if aws else 1,
        judge=client.model_id if aws else keyword_judge,
        progress=False,
    )
    print("\nPart 2: offline evaluation, every question through every variant, judged (1-10)\n")
    print(results)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    if args.aws:
        return run(lambda client: both(client, None, True), args)
    with FakeBedrock() as fake:
        client = ConverseClient(
            args.model,
            endpoint_url=fake.url,
            region_name=args.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        both(client, fake, False)
    return 0


def both(client: ConverseClient, fake: FakeBedrock | None, aws: bool) -> None:
    live_traffic(client, fake, users=60)
    offline_evaluation(client, fake, aws)


if __name__ == "__main__":
    sys.exit(main())
