"""A customer-support bot with three tools: search the catalog, look up troubleshooting
steps, and escalate to a human with a reason and a priority.

The tools work on small in-memory tables (a real bot would query its shop's systems). The
bot streams its replies; a model that passes a bad argument (a priority that does not
exist, say) gets an error result naming the field and corrects itself. At the end it
prints the tickets it opened and how often each tool ran.

    python examples/support_bot.py                  # offline, FakeBedrock (--fake)
    python examples/support_bot.py --aws --region us-west-2
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from example_support import parse_args, print_metrics, run, stream_turn
from fastconverse import ConverseClient, tool
from fastconverse.testing import FakeBedrock

SYSTEM_PROMPT = (
    "You are the support assistant of Trailhead Outfitters, an online shop for outdoor gear. "
    "Use search_catalog to find products, get_troubleshooting_steps before suggesting fixes, "
    "and escalate_to_human when the customer asks for a person or a fix does not work. "
    "Keep answers short and never invent product details."
)


@dataclass
class Product:
    product_id: str
    name: str
    price: float
    tags: tuple[str, ...]


CATALOG = [
    Product("TENT-2P", "Ridgeline 2-person tent", 249.0, ("tent", "camping", "backpacking")),
    Product("TENT-4P", "Basecamp 4-person tent", 399.0, ("tent", "camping", "family")),
    Product("LAMP-USB", "Glow USB camping lantern", 39.0, ("lantern", "light", "camping")),
    Product("STOVE-GAS", "Pocket gas stove", 59.0, ("stove", "cooking", "backpacking")),
]

TROUBLESHOOTING = {
    ("LAMP-USB", "does not charge"): [
        "Use the supplied cable; some phone cables carry no current for lanterns.",
        "Charge for 30 minutes with the lantern switched off; the LED turns green when full.",
        "Hold the button for 10 seconds to reset the battery controller.",
    ],
    ("STOVE-GAS", "will not light"): [
        "Check that the canister is screwed in fully and not empty.",
        "Clean the jet with the pin on the stove's key.",
    ],
}


@dataclass
class Ticket:
    ticket_id: str
    reason: str
    priority: str


TICKETS: list[Ticket] = []
_ticket_numbers = itertools.count(5001)


@tool
def search_catalog(query: str, max_results: int = 3) -> list[dict[str, object]]:
    """Search the product catalog by keywords.

    Args:
        query: Words to look for in product names and tags, e.g. "lantern"
        max_results: At most this many products
    """
    words = query.lower().split()
    hits = [
        p for p in CATALOG if any(w in p.name.lower() or any(w in t for t in p.tags) for w in words)
    ]
    return [
        {"product_id": p.product_id, "name": p.name, "price": p.price} for p in hits[:max_results]
    ]


@tool
def get_troubleshooting_steps(product_id: str, symptom: str) -> list[str]:
    """Troubleshooting steps for a product problem.

    Args:
        product_id: The product's id from search_catalog, e.g. LAMP-USB
        symptom: The problem in a few words, e.g. "does not charge"
    """
    steps = TROUBLESHOOTING.get((product_id.upper(), symptom.lower().strip()))
    if steps is None:
        known = [s for (p, s) in TROUBLESHOOTING if p == product_id.upper()]
        raise LookupError(f"no steps for {symptom!r} on {product_id}; known symptoms: {known}")
    return steps


@tool
def escalate_to_human(
    reason: Annotated[str, "Why a person must take over, in one sentence"],
    priority: Annotated[Literal["low", "normal", "high"], "How urgent the case is"] = "normal",
) -> dict[str, str]:
    """Hand the conversation to a human support agent by opening a ticket."""
    ticket = Ticket(f"T-{next(_ticket_numbers)}", reason, priority)
    TICKETS.append(ticket)
    return {"ticket_id": ticket.ticket_id, "expected_response": "within 4 business hours"}


CUSTOMER_TURNS = (
    "Do you sell lanterns?",
    "I bought the Glow lantern and it does not charge.",
    "Tried all of that, still dead. I want to talk to a person, it's urgent!",
)


def script_fake(fake: FakeBedrock) -> None:
    """The model's side of the chat, as FakeBedrock plays it."""
    fake.enqueue_tool_use("search_catalog", {"query": "lantern"})
    fake.enqueue_text("Yes: the Glow USB camping lantern (LAMP-USB) costs $39.")
    fake.enqueue_tool_use(
        "get_troubleshooting_steps", {"product_id": "LAMP-USB", "symptom": "does not charge"}
    )
    fake.enqueue_text(
        "Sorry about that! Try the supplied cable, charge it switched off for 30 minutes, "
        "and if it stays dark hold the button for 10 seconds to reset it."
    )
    # The model first picks a priority the tool does not offer, reads the error, and retries.
    fake.enqueue_tool_use(
        "escalate_to_human", {"reason": "Lantern still does not charge", "priority": "urgent"}
    )
    fake.enqueue_tool_use(
        "escalate_to_human",
        {
            "reason": "Glow lantern does not charge after all troubleshooting steps",
            "priority": "high",
        },
    )
    fake.enqueue_text(
        "I've opened ticket T-5001 with high priority; "
        "a colleague will reply within 4 business hours."
    )


def chat(client: ConverseClient) -> None:
    conv = client.create_conversation(
        SYSTEM_PROMPT,
        tools=[search_catalog, get_troubleshooting_steps, escalate_to_human],
        inference_config={"maxTokens": 400, "temperature": 0.2},
    )
    for text in CUSTOMER_TURNS:
        stream_turn(conv, text, who="customer")
    print("\ntickets opened:")
    for ticket in TICKETS:
        print(f"  {ticket.ticket_id} [{ticket.priority}] {ticket.reason}")
    print_metrics(conv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else None, argv)
    return run(chat, args, script_fake)


if __name__ == "__main__":
    sys.exit(main())
