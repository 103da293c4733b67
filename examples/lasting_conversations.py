"""A support desk whose conversations outlive the process, shared by several workers.

Each "worker" below is its own ``ConverseClient`` on the same store, as separate processes
behind a load balancer would be: one starts a conversation for a customer, another finds it
by the customer's metadata after a "restart" and continues it by id, and two that answer the
same conversation at once show what a conflict looks like and how the turn is sent again.

    python examples/lasting_conversations.py                      # FakeBedrock, SQLite file
    python examples/lasting_conversations.py --store redis://localhost:6379/0
    python examples/lasting_conversations.py --aws --region us-west-2
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from example_support import parse_args
from fastconverse import ConverseClient, errors
from fastconverse.testing import FakeBedrock


def desk(workers: Sequence[ConverseClient]) -> None:
    first, second, third = workers
    conv = first.create_conversation(
        "You are a concise support agent for an online bookshop.",
        metadata={"customer": "c-1042", "channel": "web"},
    )
    print(f"worker 1 started conversation {conv}")
    print("worker 1:", first.send_message(conv.id, "My order #881 has not arrived."))

    # A restart: worker 2 knows only the customer, and finds the conversation by metadata.
    (found,) = second.list_conversations(metadata={"customer": "c-1042"})
    print(f"worker 2 found {found.id} ({found.message_count} messages, version {found.version})")
    chunks = second.send_message_streaming(found.id, "It was due last Tuesday.")
    print("worker 2:", "".join(chunks))

    # Two workers answer the same conversation at once: one commits, the other is told.
    late = third.get_conversation(found.id).stream("Can you refund the shipping?")
    print("worker 1:", first.send_message(found.id, "Actually, I found the parcel!"))
    try:
        late.until_done()
    except errors.ConversationConflictError as conflict:
        print(
            f"worker 3: conflict (its turn was based on version {conflict.ours}, the store "
            f"has {conflict.theirs}); sending it again on the newest history"
        )
        print("worker 3:", third.send_message(found.id, "Can you refund the shipping?"))

    details = second.get_conversation_details(found.id)
    print(
        f"kept: {len(details['messages'])} messages, version {details['version']}, "
        f"{details['usage']['totalTokens']} tokens, metadata {details['metadata']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    store = "conversations.db"
    if "--store" in argv:
        at = argv.index("--store")
        store = argv[at + 1]
        del argv[at : at + 2]
    args = parse_args(__doc__.splitlines()[0] if __doc__ else None, argv)
    with ExitStack() as stack:
        where: dict[str, Any]
        if args.aws:
            where = {"region_name": args.region}
        else:
            fake = stack.enter_context(FakeBedrock())
            where = {
                "endpoint_url": fake.url,
                "region_name": args.region,
                "aws_access_key_id": "test",
                "aws_secret_access_key": "test",
            }
        workers = [ConverseClient(args.model, store=store, **where) for _ in range(3)]
        try:
            desk(workers)
        except errors.ConverseError as exc:
            print(f"\nThe conversation failed: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
