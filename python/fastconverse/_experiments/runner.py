"""``PromptExperiment.run``: every test case through every variant, on a thread pool (the
client releases the GIL while it waits), scored by a judge, with a progress bar."""

from __future__ import annotations

import re
import sys
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, Protocol

    from fastconverse.client import ConverseClient
    from fastconverse.conversation import Conversation

    class ExperimentLike(Protocol):
        """What ``run`` needs of a ``PromptExperiment`` (which imports this module)."""

        client: ConverseClient
        name: str

        @property
        def variants(self) -> Mapping[str, Any]: ...
        def _start(self, name: str, kwargs: dict[str, Any]) -> Conversation: ...
        def record_feedback(self, conversation: str | Conversation, score: float) -> None: ...


JUDGE_SYSTEM = (
    "You grade an assistant's reply to a user's message. Judge how helpful, correct and "
    "clear it is. Answer with a single whole number from 1 (useless) to 10 (excellent), "
    "and nothing else."
)

_OUT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*(?:/|out of)\s*10(?!\d|\.\d)", re.IGNORECASE)
_LABELLED = re.compile(r"(?:score|rating|grade)\s*(?:is|of)?\s*[:=]?\s*\**\s*(\d+(?:\.\d+)?)", re.I)
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?!\d|\.\d)")


def parse_score(text: str) -> float | None:
    """A 1 to 10 score in a judge's answer: "7", "Score: 7", "**8/10**", "I'd give it
    a 9 out of 10."; None when there is none in range (the first number that fits wins,
    after the explicit "n/10" and "score: n" forms)."""
    for pattern in (_OUT_OF, _LABELLED, _NUMBER):
        for match in pattern.finditer(text):
            value = float(match.group(1))
            if 1 <= value <= 10:
                return value
    return None


def _text(case: Any) -> str:
    """A case as text for the judge's prompt."""
    if isinstance(case, str):
        return case
    if isinstance(case, dict) and isinstance(case.get("content"), list):
        return "\n".join(b["text"] for b in case["content"] if isinstance(b, dict) and "text" in b)
    return repr(case)


def model_judge(client: ConverseClient, model_id: str) -> Callable[[Any, str], float | None]:
    """A judge that asks ``model_id`` (through the boto3-shaped call: no conversation is
    kept and no experiment hook sees it); asked again once when its answer has no score."""

    def score(case: Any, reply: str) -> float | None:
        prompt = f"<message>\n{_text(case)}\n</message>\n<reply>\n{reply}\n</reply>\n"
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": prompt}]}]
        for _ in range(2):
            answer = client.converse(
                modelId=model_id,
                messages=messages,
                system=[{"text": JUDGE_SYSTEM}],
                inferenceConfig={"maxTokens": 50, "temperature": 0.0},
            )["output"]["message"]
            text = "".join(b.get("text", "") for b in answer["content"])
            value = parse_score(text)
            if value is not None:
                return value
            messages += [
                {"role": "assistant", "content": [{"text": text.strip() or "(no answer)"}]},
                {"role": "user", "content": [{"text": "Only the number from 1 to 10, please."}]},
            ]
        return None

    return score


def _callable_judge(judge: Callable[..., Any]) -> Callable[[Any, str], float | None]:
    import inspect

    two = False
    try:
        params = inspect.signature(judge).parameters.values()
    except (TypeError, ValueError):  # (a builtin without a signature: one argument)
        params = None
    if params is not None:
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        two = len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)

    def score(case: Any, reply: str) -> float | None:
        value = judge(case, reply) if two else judge(reply)
        return None if value is None else value  # (checked by record_feedback)

    return score


class _Progress:
    """tqdm's bar, else rich's, else a counter line; or nothing."""

    def __init__(self, total: int, title: str, show: bool | None) -> None:
        self._lock = allocate_lock()
        self._done = 0
        self._total = total
        self._update: Callable[[], None] | None = None
        self._close: Callable[[], None] = lambda: None
        if show is None:
            show = bool(getattr(sys.stderr, "isatty", lambda: False)())
        if not show:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            bar = tqdm(total=total, desc=title, file=sys.stderr)
            self._update, self._close = lambda: bar.update(1), bar.close
            return
        try:
            from rich.progress import Progress
        except ImportError:
            self._update = self._line
            self._close = lambda: print(file=sys.stderr)
            return
        progress = Progress(transient=False)
        task = progress.add_task(title, total=total)
        progress.start()
        self._update, self._close = lambda: progress.advance(task), progress.stop

    def _line(self) -> None:
        print(f"\r{self._done}/{self._total}", end="", file=sys.stderr, flush=True)

    def step(self) -> None:
        with self._lock:
            self._done += 1
            if self._update is not None:
                self._update()

    def close(self) -> None:
        self._close()


def run(
    exp: ExperimentLike,
    cases: Sequence[Any],
    *,
    concurrency: int,
    judge: Any,
    progress: bool | None,
) -> None:
    if isinstance(cases, (str, bytes, dict)) or not hasattr(cases, "__len__"):
        raise TypeError(f"cases: expected a list of messages, got {type(cases).__name__}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency: expected an int >= 1, got {concurrency!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress: expected a bool or None, got {type(progress).__name__}")
    scorer: Callable[[Any, str], float | None] | None
    if judge is None:
        scorer = None
    elif isinstance(judge, str):
        scorer = model_judge(exp.client, judge)
    elif callable(judge):
        scorer = _callable_judge(judge)
    else:
        raise TypeError(
            f"judge: expected a callable (reply -> score) or a model id, got {type(judge).__name__}"
        )
    # (case by case, every variant for each: the variants share the same moments of load)
    jobs = [(name, case) for case in cases for name in exp.variants]
    bar = _Progress(len(jobs), exp.name, progress)

    def one(job: tuple[str, Any]) -> None:
        name, case = job
        conv = exp._start(name, {})
        try:
            reply = conv.send(case)
        except Exception:
            return  # (counted by the experiment's hook as a failed turn)
        finally:
            bar.step()
        if scorer is not None:
            score = scorer(case, reply.text)
            if score is not None:
                exp.record_feedback(conv, score)

    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(min(concurrency, max(1, len(jobs))))
    try:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()  # (a judge that raises ends the run: the jobs not started are not)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
