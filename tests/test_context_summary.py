"""Summarizing: over budget, the older turns are summarised (optionally by a cheaper model),
the summary rides in the system prompt, its tokens are counted apart, and a summariser that
fails leaves the conversation as it was with an error that says so. Also the reference
tutorial's memory-managed scenario (max_history_tokens=8000) with TokenBudget and Summarizing."""

from __future__ import annotations

from typing import Any

import fastconverse as fc
import pytest
from conftest import fc_client
from fastconverse import errors


def summary_requests(fake: Any) -> list[Any]:
    return [r for r in fake.requests if r.operation == "Converse" and r.model_id == "cheap"]


def test_older_turns_are_summarised_by_the_cheaper_model(make_fake: Any) -> None:
    fake = make_fake()
    # Each exchange is about 100 estimated tokens: the fourth turn goes over 300.
    policy = fc.Summarizing(max_tokens=300, keep_recent=2, model_id="cheap", prompt="Be brief.")
    conv = fc_client(fake).create_conversation("You are a travel agent.", memory=policy)
    for i in range(3):
        conv.send(f"My name is Ada and trip {i} goes to city {i}. " + "detail " * 20)
    assert conv.summary is None
    fake.enqueue_text("Ada planned three trips.", model_id="cheap")
    conv.send("What was my name?")
    [request] = summary_requests(fake)
    body = request.body
    assert body["system"] == [{"text": "Be brief."}]
    [message] = body["messages"]
    assert "trip 0 goes to city 0" in message["content"][0]["text"]
    assert (
        "User:" in message["content"][0]["text"] and "Assistant:" in message["content"][0]["text"]
    )
    assert body["inferenceConfig"] == {"maxTokens": 75}, "a quarter of the budget"
    main = fake.requests[-1].body
    assert main["system"][0] == {"text": "You are a travel agent."}
    assert "Ada planned three trips." in main["system"][1]["text"]
    assert conv.summary == "Ada planned three trips."
    # The summary replaced all but the newest two messages and the new turn.
    assert main["messages"][0] == conv.transcript[4]
    assert len(main["messages"]) == 3
    assert conv.messages == conv.transcript[4:]
    assert len(conv.transcript) == 8
    by_model = conv.usage_by_model
    assert set(by_model) == {"m", "cheap"}
    assert by_model["cheap"].output_tokens == 4
    assert conv.usage.output_tokens == by_model["m"].output_tokens + 4
    assert conv.metrics.summaries == 1


def test_a_later_summary_folds_in_the_earlier_one(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(
        memory=fc.Summarizing(max_tokens=120, keep_recent=2, model_id="cheap")
    )
    summaries: list[str] = []
    for i in range(8):
        conv.send(f"message {i} " + "word " * 40)  # the default model writes the summaries
        if conv.summary is not None and conv.summary not in summaries:
            summaries.append(conv.summary)
    requests = summary_requests(fake)
    assert len(requests) == len(summaries) >= 2
    later = requests[1].body["messages"][0]["content"][0]["text"]
    assert later.startswith(f"The summary so far:\n{summaries[0]}\n")
    assert "The summary so far" not in requests[0].body["messages"][0]["content"][0]["text"]


@pytest.mark.parametrize("how", ["error", "blank"])
def test_a_failed_summary_leaves_the_conversation_as_it_was(make_fake: Any, how: str) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(
        memory=fc.Summarizing(max_tokens=100, keep_recent=2, model_id="cheap")
    )
    for i in range(3):
        conv.send(f"turn {i} " + "word " * 30)
    before = (conv.messages, conv.transcript, conv.summary, conv.usage.total_tokens)
    if how == "error":
        fake.enqueue_error("ModelTimeoutException", "Model timed out.", model_id="cheap")
        with pytest.raises(
            errors.ModelTimeoutError,
            match=r"summarising the conversation's \d+ older messages failed",
        ):
            conv.send("next")
    else:
        fake.enqueue_text(" ", model_id="cheap")
        with pytest.raises(errors.EmptyReplyError, match=r"summary .* came back blank"):
            conv.send("next")
    assert (conv.messages, conv.transcript, conv.summary, conv.usage.total_tokens) == before
    assert not conv.busy
    # The next attempt summarises again and goes through.
    fake.enqueue_text("a good summary", model_id="cheap")
    assert conv.send("next").text == "You said: next"
    assert conv.summary == "a good summary"


def test_a_streamed_turn_summarises_without_streaming_the_summary(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(
        memory=fc.Summarizing(max_tokens=100, keep_recent=2, model_id="cheap")
    )
    for i in range(3):
        conv.send(f"turn {i} " + "word " * 30)
    fake.enqueue_text("summary text", model_id="cheap")
    text = "".join(e.text for e in conv.stream("streamed question") if isinstance(e, fc.TextDelta))
    assert text == "You said: streamed question"
    assert conv.summary == "summary text"
    assert [r.operation for r in fake.requests[-2:]] == ["Converse", "ConverseStream"]


def tutorial_turns() -> list[str]:
    topics = ["Python decorators", "asyncio", "type hints", "dataclasses", "generators"]
    return [
        f"Question {i}: explain {topics[i % len(topics)]} with an example, and relate it to "
        f"what we discussed before. " + "Please be thorough. " * 20
        for i in range(60)
    ]


def test_the_tutorial_memory_scenario_with_token_budget(make_fake: Any) -> None:
    fake = make_fake(default_context_window=20_000)
    conv = fc_client(fake).create_conversation(
        "You are a helpful Python tutor.", memory=fc.TokenBudget(max_tokens=8000)
    )
    for text in tutorial_turns():
        conv.send(text)
    for request in fake.requests:
        assert fc.estimate_tokens(request.body["messages"]) <= 8000
    assert len(conv.transcript) == 120
    assert len(conv.messages) < 120
    assert conv.messages[-2]["content"][0]["text"].startswith("Question 59")


def test_the_tutorial_memory_scenario_with_summarizing(make_fake: Any) -> None:
    fake = make_fake(default_context_window=20_000)
    conv = fc_client(fake).create_conversation(
        "You are a helpful Python tutor.", memory=fc.Summarizing(max_tokens=8000)
    )
    for text in tutorial_turns():
        conv.send(text)
    main = [
        r
        for r in fake.requests
        if r.body.get("system", [{}])[0].get("text", "").startswith("You are a helpful")
    ]
    assert len(main) == 60
    assert conv.metrics.summaries >= 1
    assert conv.summary is not None
    assert len(conv.transcript) == 120
    assert conv.messages[-2]["content"][0]["text"].startswith("Question 59")
    # Each request's messages stayed near the budget: the newest turns and one summary.
    for request in main:
        assert fc.estimate_tokens(request.body["messages"]) <= 8000 + 1000


def test_a_turn_cancelled_during_its_summary_changes_nothing(make_fake: Any) -> None:
    import asyncio

    fake = make_fake()
    conv = fc_client(fake).create_conversation(
        memory=fc.Summarizing(max_tokens=100, keep_recent=2, model_id="cheap")
    )
    for i in range(3):
        conv.send(f"turn {i} " + "word " * 30)
    before = (conv.messages, conv.transcript, conv.summary, conv.usage, conv.metrics.summaries)
    fake.enqueue_text("late summary", model_id="cheap", first_byte_delay=30.0)

    asked = len(summary_requests(fake))

    async def cancel_it() -> None:
        task = asyncio.ensure_future(conv.send_async("next"))
        while len(summary_requests(fake)) == asked:  # the summary request is under way
            assert not task.done(), "the turn ended without asking for a summary"
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    after = (conv.messages, conv.transcript, conv.summary, conv.usage, conv.metrics.summaries)
    assert after == before
    assert not conv.busy
    fake.reset()
    assert conv.send("again").text == "You said: again"


def test_a_long_history_is_summarised_in_chunks_that_each_fit(make_fake: Any) -> None:
    # 400 messages (~20,000 fake tokens) arrive at once; one summary request of them all
    # would not fit the window: each request folds in at most max_tokens of them.
    fake = make_fake(default_context_window=3_000)
    history = []
    for i in range(200):
        history.append({"role": "user", "content": [{"text": f"question {i} " + "word " * 24}]})
        history.append({"role": "assistant", "content": [{"text": f"answer {i} " + "word " * 24}]})
    conv = fc_client(fake).create_conversation(
        messages=history, memory=fc.Summarizing(max_tokens=2_000, keep_recent=2)
    )
    reply = conv.send("and now?")
    assert reply.text == "You said: and now?"
    summaries = [r for r in fake.requests if r.body["system"][0]["text"].startswith("You condense")]
    assert len(summaries) >= 5
    for request in summaries:
        older = request.body["messages"][0]["content"][0]["text"]
        assert fc.estimate_tokens(older) <= 2_000 + 600, "a budget of turns and the summary"
    # Each summary request after the first carries the summary so far.
    assert all("The summary so far:" in str(r.body["messages"]) for r in summaries[1:])
    assert conv.metrics.summaries == len(summaries)
    # What is left after the summaries fits the budget, newest turns first.
    main = fake.requests[-1].body["messages"]
    assert fc.estimate_tokens(main) <= 2_000
    assert main[-3:-1] == history[-2:]
    assert len(conv.transcript) == 402


def test_a_summary_too_long_for_the_summariser_says_what_to_change(make_fake: Any) -> None:
    fake = make_fake(context_windows={"cheap": 50})
    conv = fc_client(fake).create_conversation(
        memory=fc.Summarizing(max_tokens=100, keep_recent=2, model_id="cheap")
    )
    conv.send("first " + "word " * 60)
    conv.send("second " + "word " * 60)
    with pytest.raises(errors.ContextWindowExceededError, match="summarising") as info:
        conv.send("third")
    assert "smaller max_tokens, or a model_id" in str(info.value)
    assert len(conv.transcript) == 4
