"""Date and time tools in an asyncio program: a coroutine tool and a plain one.

Models do not know today's date. This assistant has two tools: ``current_time`` (a
coroutine, awaited on the program's own event loop) and ``days_between`` (a plain function,
run in the loop's executor so it cannot block the loop). pydantic turns the model's ISO
date strings into ``date`` objects before the call. The first question forces the
``current_time`` tool with ``tool_choice``; later questions let the model choose.

    python examples/date_time_tool.py               # offline, FakeBedrock (--fake)
    python examples/date_time_tool.py --aws --region us-west-2
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from example_support import parse_args, print_metrics, run
from fastconverse import ConverseClient, tool
from fastconverse.testing import FakeBedrock

SYSTEM_PROMPT = (
    "You are a helpful assistant. You do not know the current date or time: use the "
    "current_time tool whenever it matters, and days_between for date arithmetic."
)


@tool
async def current_time(timezone_name: str = "UTC") -> dict[str, str]:
    """The current date and time in a timezone.

    Args:
        timezone_name: An IANA timezone such as Europe/Paris or America/New_York
    """
    try:
        zone = timezone.utc if timezone_name.upper() == "UTC" else ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {timezone_name!r}; use an IANA name") from None
    now = datetime.now(zone)
    return {
        "timezone": timezone_name,
        "iso": now.isoformat(timespec="seconds"),
        "weekday": now.strftime("%A"),
    }


@tool
def days_between(start: date, end: date) -> int:
    """The number of days from start to end (negative when end is earlier).

    Args:
        start: The first date, as YYYY-MM-DD
        end: The second date, as YYYY-MM-DD
    """
    return (end - start).days


def script_fake(fake: FakeBedrock) -> None:
    """The model's side of the chat, as FakeBedrock plays it."""
    fake.enqueue_tool_use("current_time", {"timezone_name": "Asia/Tokyo"})
    fake.enqueue_text("Here is the current time in Tokyo, from the tool.")
    fake.enqueue_tool_use("days_between", {"start": "2026-11-22", "end": "2026-12-25"})
    fake.enqueue_text("There are 33 days from 22 November to Christmas Day.")
    fake.enqueue_tool_use("current_time", {"timezone_name": "Mars/Olympus_Mons"})
    fake.enqueue_text("Mars has no timezone I can look up, sorry.")


QUESTIONS = (
    "What time is it in Tokyo?",
    "How many days are there from 2026-11-22 to Christmas 2026?",
    "And what time is it on Mars?",
)


async def chat_async(client: ConverseClient) -> None:
    conv = client.create_conversation(SYSTEM_PROMPT, tools=[current_time, days_between])
    for i, question in enumerate(QUESTIONS):
        print(f"user: {question}")
        # Force the clock on the first question; afterwards the model chooses.
        reply = await conv.send_async(question, tool_choice="current_time" if i == 0 else None)
        tool_turn = conv.messages[-2]["content"]
        for block in tool_turn:
            if "toolResult" in block:
                result = block["toolResult"]
                status = result.get("status", "success")
                print(
                    f"  [tool result {result['toolUseId'][:12]}…: {status}: {result['content'][0]}]"
                )
        print(f"assistant: {reply.text}")
    print_metrics(conv)


def chat(client: ConverseClient) -> None:
    asyncio.run(chat_async(client))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else None, argv)
    return run(chat, args, script_fake)


if __name__ == "__main__":
    sys.exit(main())
