"""The examples work as shown: the notebook runs in a real Jupyter kernel (ipykernel, driven by
nbclient), the scripts run to the end, and all of them use FakeBedrock over real HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebooks import run_notebook, stdout_of

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "conversation.ipynb"
RICH_NOTEBOOK = EXAMPLES / "rich_content.ipynb"
DISPLAY_NOTEBOOK = EXAMPLES / "notebook_display.ipynb"

USAGE = re.compile(r"Usage\(input_tokens=(\d+), output_tokens=(\d+), total_tokens=(\d+)\)")


def usage_in(text: str) -> tuple[int, int, int]:
    match = USAGE.search(text)
    assert match, text
    fresh, out, total = (int(n) for n in match.groups())
    return fresh, out, total


@pytest.mark.parametrize(
    "notebook", [NOTEBOOK, RICH_NOTEBOOK, DISPLAY_NOTEBOOK], ids=lambda p: p.stem
)
def test_notebook_is_stored_clean(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], cell.id
        assert cell.execution_count is None, cell.id


def test_notebook_runs_in_a_jupyter_kernel(kernel_env: Path) -> None:
    cells = run_notebook(NOTEBOOK, kernel_env)

    first = stdout_of(cells["first-turn"])
    assert first.startswith("Lisbon: mild weather in April, great food, and easy day trips.\n")
    first_in, _, _ = usage_in(first)
    assert stdout_of(cells["second-turn"]).endswith("stop reason: end_turn, messages so far: 4\n")

    # Live output: the streamed words reach the notebook in several messages, not one at the end.
    streamed = [o["text"] for o in cells["stream"].outputs if o.get("name") == "stdout"]
    assert len(streamed) > 2, streamed
    text, _, usage_line = "".join(streamed).partition("\n")
    assert text == (
        "Day one: the castle and Alfama. Day two: Sintra. Day three: Belém and the river."
    )
    stream_in, _, _ = usage_in(usage_line)

    awaited = stdout_of(cells["await"])
    assert awaited == "Yes: the trams, the aquarium and the beaches are a hit with kids.\n"
    assert stdout_of(cells["sync-in-loop"]) == "You are welcome, enjoy Lisbon!\n"

    # The reply queued for Nova Micro only answered because the turn went to that model.
    switched = stdout_of(cells["model-switch"]).splitlines()
    assert switched[0] == (
        "amazon.nova-micro-v1:0: Nova Micro here: pack layers and comfortable shoes, "
        "Lisbon is hilly."
    )
    assert switched[1] == "messages: 12"
    total_in, total_out, total = usage_in(switched[2])
    assert total == total_in + total_out
    assert total_in > first_in + stream_in  # six turns, each resending the history

    assert stdout_of(cells["cleanup"]) == "closed: True\n"


def test_rich_content_notebook_runs_in_a_jupyter_kernel(kernel_env: Path) -> None:
    cells = run_notebook(RICH_NOTEBOOK, kernel_env)

    # The image reached FakeBedrock as a PNG of the size the notebook drew.
    image = stdout_of(cells["image"]).splitlines()
    assert image[0] == "A yellow sun in a clear blue sky."
    received = re.fullmatch(
        r"FakeBedrock received: format png, (\d+) bytes \(we sent (\d+)\)", image[1]
    )
    assert received, image[1]
    assert received[1] == received[2] and int(received[1]) > 0

    # The document's name was made valid before it was sent (and FakeBedrock, which checks
    # names as Bedrock does, accepted it).
    document = stdout_of(cells["document"])
    assert document.startswith("name: 'Q3 report' format: pdf\nRevenue grew 12% in Q3")
    assert '"name": "Q3 report"' in document

    guardrail = stdout_of(cells["guardrail"])
    assert guardrail.startswith("I can't help with that.\nstop reason: guardrail_intervened\n")
    trace = json.loads(guardrail.split("\n", 2)[2])
    assert (
        trace["guardrail"]["inputAssessment"]["gr-1"]["topicPolicy"]["topics"][0]["action"]
        == "BLOCKED"
    )
    history = stdout_of(cells["guardrail-history"])
    assert "[This message was blocked by a guardrail and is not kept.]" in history
    assert "hide money" not in history
    assert history.endswith(
        "A savings account pays interest on money you keep in it. | stop reason: end_turn\n"
    )
    assert '"guardContent": {' in stdout_of(cells["guard-content"])

    structured = stdout_of(cells["structured"]).splitlines()
    assert structured[0].startswith("Weather(city=")
    assert structured[1] == "forced: {'tool': {'name': 'Weather'}}"
    fixed = stdout_of(cells["structured-fix"]).splitlines()
    assert fixed[0] == "requests: 2"
    assert fixed[1].startswith("fed back: error - Invalid input for Weather")
    kept = fixed[2].removeprefix("kept in the history: ")
    assert json.loads(kept) == {"city": "Oslo", "temperature_c": -3, "conditions": "snow"}
    # The final structured output: the corrected value, validated into the model.
    assert fixed[3] == "Weather(city='Oslo', temperature_c=-3.0, conditions='snow')"
    failed = stdout_of(cells["structured-error"]).splitlines()
    assert failed[0].startswith("StructuredOutputError: the model's Weather did not validate")
    assert json.loads(failed[1].removeprefix("raw: ")) == {"city": "Paris", "temperature_c": "warm"}
    assert failed[2] == "messages unchanged: True"

    reasoning = stdout_of(cells["reasoning"])
    assert reasoning.startswith("reasoning: Let me add them up: 19 + 23 = 42.\nanswer: 42\n")
    assert '"signature": "sig-1"' in reasoning
    assert reasoning.endswith("sent back unchanged: True\n")

    assert stdout_of(cells["cleanup"]) == "closed: True\n"


def run_example(name: str, tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "FASTCONVERSE_EXAMPLES_AWS"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    return proc.stdout


TOKENS = re.compile(r"\[(\d+) in / (\d+) out tokens")
TOTALS = re.compile(r"tokens: (\d+) in, (\d+) out, (\d+) total")


def test_chat_assistant_script(tmp_path: Path) -> None:
    out = run_example("chat_assistant.py", tmp_path)
    lines = out.splitlines()

    assert "customer:  Hi! My tent from order TH-1042 still hasn't arrived." in lines
    assert (
        "assistant: Sorry to hear that! Order TH-1042 left our warehouse on Thursday; "
        "I've opened a trace with the carrier."
    ) in lines
    # The stream cut by a throttling error resumed: one answer on one line, nothing repeated.
    note = "[cut by ThrottlingException: resumed from the words already shown]"
    assert lines[-4] == f"           {note}"
    assert lines[-5] == (
        "assistant: We are tracing your parcel with the carrier and will email you within 24 "
        "hours. If it arrives damaged, reply to that email for a free return or replacement."
    )

    # The reported totals are the sum of the three turns (the resumed one counts both of its
    # requests, as the service bills them).
    turns = [(int(a), int(b)) for a, b in TOKENS.findall(out)]
    assert len(turns) == 3
    totals = TOTALS.search(lines[-1])
    assert totals, lines[-1]
    assert lines[-1].startswith("3 turns, 6 messages; ")
    fresh, output, total = (int(n) for n in totals.groups())
    assert fresh == sum(t[0] for t in turns)
    assert output == sum(t[1] for t in turns)
    assert total == fresh + output


def test_async_streams_script(tmp_path: Path) -> None:
    out = run_example("async_streams.py", tmp_path)
    lines = out.splitlines()

    questions = {
        "TH-1042": "My tent has not arrived yet.",
        "TH-1077": "The zip of my sleeping bag broke after two nights.",
        "TH-1101": "Can I change the size of the boots I ordered yesterday?",
    }
    # Each conversation got the answer to its own question (the fake repeats it).
    for ticket, question in questions.items():
        assert f"{ticket}: You said: {question}" in lines
        deltas = [line for line in lines if line.startswith(f"  {ticket} +")]
        assert len(deltas) == len(question.split()) + 2  # "You ", "said: ", then each word
    assert lines[-1].startswith("3 tickets answered, 0 failed; ")
    totals = TOTALS.search(lines[-1])
    assert totals, lines[-1]
    fresh, output, total = (int(n) for n in totals.groups())
    assert output == sum(len(q.split()) + 2 for q in questions.values())
    assert total == fresh + output


def test_examples_pass_mypy_strict() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(EXAMPLES)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EXAMPLES.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hooks_script(tmp_path: Path) -> None:
    out = run_example("hooks.py", tmp_path, "--fake")
    lines = out.splitlines()
    requests = [line for line in lines if line.startswith("  [request ")]
    assert len(requests) == 2, out
    assert "1 retry," in requests[0] and "end_turn" in requests[0]
    assert "retry" not in requests[1]
    assert lines.count("  [turn committed: 2 messages added]") == 2
    assert "assistant: We open at 9:00 and close at 18:00, Monday to Saturday." in lines
    assert out.rstrip().endswith("[{'text': 'What are your opening hours?'}]"), out


def test_weather_assistant_script(tmp_path: Path) -> None:
    out = run_example("weather_assistant.py", tmp_path, "--fake")
    lines = out.splitlines()
    assert lines[:3] == [
        "user: What's the weather like in Paris right now?",
        "  [get_weather(location='Paris') -> ok]",
        "assistant: It's 18 °C with light rain in Paris: take an umbrella.",
    ]
    # Two cities in one round: both calls ran, in whichever order they finished.
    both = {
        "  [get_weather(location='Lisbon', unit='fahrenheit') -> ok]",
        "  [get_weather(location='Oslo', unit='fahrenheit') -> ok]",
    }
    assert both <= set(lines)
    assert (
        "  [get_weather(location='Atlantis') -> error: Tool 'get_weather' failed with "
        "LookupError: no readings for 'Atlantis'; known cities: Paris, Lisbon, Oslo, Seattle]"
    ) in lines
    assert lines[-2].startswith("12 messages; tokens: ")
    assert lines[-1] == "tool get_weather: 4 calls, 1 errors"


def test_date_time_tool_script(tmp_path: Path) -> None:
    out = run_example("date_time_tool.py", tmp_path, "--fake")
    lines = out.splitlines()
    tokyo = next(line for line in lines if "'timezone': 'Asia/Tokyo'" in line)
    assert ": success: {'json': " in tokyo and "+09:00'" in tokyo
    assert any(": success: {'json': {'result': 33}}" in line for line in lines)
    assert any(
        ": error: {'text': \"Tool 'current_time' failed with ValueError: unknown timezone "
        "'Mars/Olympus_Mons'; use an IANA name\"}" in line
        for line in lines
    )
    assert "assistant: Mars has no timezone I can look up, sorry." in lines
    assert lines[-2:] == [
        "tool current_time: 2 calls, 1 errors",
        "tool days_between: 1 calls, 0 errors",
    ]


def test_support_bot_script(tmp_path: Path) -> None:
    out = run_example("support_bot.py", tmp_path)  # --fake is the default
    lines = out.splitlines()
    assert "  [search_catalog(query='lantern') -> ok]" in lines
    assert (
        "  [get_troubleshooting_steps(product_id='LAMP-USB', symptom='does not charge') -> ok]"
    ) in lines
    refused = next(line for line in lines if "priority='urgent'" in line)
    assert "-> error: Invalid input for tool 'escalate_to_human': - priority: " in refused
    assert "  T-5001 [high] Glow lantern does not charge after all troubleshooting steps" in lines
    assert lines[-3:] == [
        "tool escalate_to_human: 2 calls, 1 errors",
        "tool get_troubleshooting_steps: 1 calls, 0 errors",
        "tool search_catalog: 1 calls, 0 errors",
    ]


def test_long_conversation_script(tmp_path: Path) -> None:
    for flag, summaries in (("--fake", 0), ("--summarize", 2)):
        out = run_example("long_conversation.py", tmp_path, flag)
        lines = out.splitlines()
        turns = [re.match(r"turn +(\d+): sent +(\d+) of +(\d+) messages", line) for line in lines]
        sent = [(int(m[2]), int(m[3])) for m in turns if m]
        assert len(sent) == 24
        assert sent[0] == (1, 1)
        assert sent[-1][1] == 47, "the transcript keeps every message"
        assert sent[-1][0] < 30, "the memory policy cut the history"
        assert f"24 turns, {summaries} summaries, 0 retries" in lines
        assert ("summary: yes" in lines) == bool(summaries)
        assert any(re.fullmatch(r"cost at the example prices: \$0\.0\d{3}", line) for line in lines)


def test_lasting_conversations_script(tmp_path: Path) -> None:
    out = run_example("lasting_conversations.py", tmp_path)
    lines = out.splitlines()
    conv_id = lines[0].rsplit(" ", 1)[1]
    assert lines[0] == f"worker 1 started conversation {conv_id}"
    assert lines[2] == f"worker 2 found {conv_id} (2 messages, version 2)"
    assert lines[3] == "worker 2: You said: It was due last Tuesday."
    assert lines[5].startswith(
        "worker 3: conflict (its turn was based on version 3, the store has 4)"
    )
    assert lines[6] == "worker 3: You said: Can you refund the shipping?"
    assert lines[7] == (
        "kept: 8 messages, version 5, 168 tokens, metadata {'customer': 'c-1042', 'channel': 'web'}"
    )
    assert (tmp_path / "conversations.db").exists()  # the store outlives the script


def test_observability_script(tmp_path: Path) -> None:
    out = run_example("observability.py", tmp_path)
    lines = out.splitlines()
    (log,) = [line for line in lines if line.startswith("log: turn: ")]
    assert "requests=2" in log and "tools=opening_hours" in log, log
    assert "assistant: On Saturday we open 9:00-18:00." in lines
    tree = lines[lines.index("trace:") + 1 :]
    shape = [(len(t) - len(t.lstrip()), t.split(" [")[0].strip().split(" ")[0]) for t in tree]
    assert shape == [
        (0, "handle"),
        (2, "invoke_agent"),
        (4, "chat"),
        (4, "execute_tool"),
        (4, "chat"),
    ], tree
