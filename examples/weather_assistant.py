"""A weather assistant: one typed ``@tool`` that the model calls on its own.

The tool answers from a small table of demo readings, so the example needs no weather
service; the model decides when to call it, with which city and unit, and may call it for
several cities at once (the calls then run concurrently). Replies stream as they arrive,
tool calls included.

    python examples/weather_assistant.py            # offline, FakeBedrock (--fake)
    python examples/weather_assistant.py --aws --region us-west-2
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Literal, TypedDict

from example_support import parse_args, print_metrics, run, stream_turn
from fastconverse import ConverseClient, tool
from fastconverse.testing import FakeBedrock

SYSTEM_PROMPT = (
    "You are a concise weather assistant. Use the get_weather tool for every city the user "
    "asks about; never guess a temperature. Answer in one or two sentences."
)

# Demo readings in Celsius: (temperature, conditions).
READINGS = {
    "paris": (18.0, "light rain"),
    "lisbon": (24.0, "sunny"),
    "oslo": (7.5, "overcast"),
    "seattle": (12.0, "drizzle"),
}


class Weather(TypedDict):
    location: str
    temperature: float
    unit: str
    conditions: str


@tool
def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> Weather:
    """Get the current weather for a city.

    Args:
        location: The city name, e.g. Paris or Seattle
        unit: The unit of the temperature
    """
    key = location.split(",")[0].strip().lower()
    if key not in READINGS:
        known = ", ".join(name.title() for name in READINGS)
        raise LookupError(f"no readings for {location!r}; known cities: {known}")
    celsius, conditions = READINGS[key]
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32, 1)
    return {
        "location": location,
        "temperature": temperature,
        "unit": unit,
        "conditions": conditions,
    }


QUESTIONS = (
    "What's the weather like in Paris right now?",
    "Compare Lisbon and Oslo for me, in Fahrenheit please.",
    "And in Atlantis?",
)


def script_fake(fake: FakeBedrock) -> None:
    """The model's side of the chat, as FakeBedrock plays it."""
    fake.enqueue_tool_use("get_weather", {"location": "Paris"})
    fake.enqueue_text("It's 18 °C with light rain in Paris: take an umbrella.")
    fake.enqueue_tool_uses(
        [
            ("get_weather", {"location": "Lisbon", "unit": "fahrenheit"}),
            ("get_weather", {"location": "Oslo", "unit": "fahrenheit"}),
        ],
        text="Let me check both cities.",
    )
    fake.enqueue_text("Lisbon is sunny at 75.2 °F, while Oslo is overcast at 45.5 °F.")
    fake.enqueue_tool_use("get_weather", {"location": "Atlantis"})
    fake.enqueue_text("Sorry, I have no weather readings for Atlantis.")


def chat(client: ConverseClient) -> None:
    conv = client.create_conversation(
        SYSTEM_PROMPT, tools=[get_weather], inference_config={"maxTokens": 300}
    )
    for question in QUESTIONS:
        stream_turn(conv, question)
    print_metrics(conv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else None, argv)
    return run(chat, args, script_fake)


if __name__ == "__main__":
    sys.exit(main())
