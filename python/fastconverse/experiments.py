"""``PromptExperiment``: A/B tests of system prompts (and models, and settings) on real
conversations, with the figures gathered by a hook and the statistics to read them::

    exp = PromptExperiment(client, {"plain": "You are helpful.",
                                    "warm": "You are a warm, patient helper."})
    conv = exp.start_conversation(user="u42")      # a Conversation, tagged with its variant
    conv.send("Hi!")
    exp.record_feedback(conv, 4)
    print(exp.results())                           # per variant, with intervals and tests

The figures live in each conversation's metadata, so with a store every process that shares
it adds to the same experiment (see ``_experiments/records.py``). Intervals and comparisons
need scipy (``pip install fastconverse[experiments]``); without it ``results()`` gives the
figures and its ``note`` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastconverse._experiments import records as _records
from fastconverse._experiments.assign import MODES, Assigner
from fastconverse._experiments.records import EXPERIMENT, FIGURES, VARIANT, FiguresHook
from fastconverse._experiments.stats import Estimate, have_scipy
from fastconverse._experiments.summary import Comparison, VariantResult, summarize
from fastconverse._experiments.table import ExperimentResults
from fastconverse.conversation import Conversation
from fastconverse.template import Template

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, Union

    from fastconverse.client import ConverseClient

    Judge = Union[str, Callable[..., Any], None]

__all__ = [
    "Comparison",
    "Estimate",
    "ExperimentResults",
    "PromptExperiment",
    "Variant",
    "VariantResult",
]


@dataclass(frozen=True)
class Variant:
    """What a variant's conversations get: a system prompt (text or a ``Template``, filled
    from ``prompt_variables`` and the ``prompt_variables`` given to ``start_conversation``),
    and optionally a model id and inference settings (else the conversation's defaults)."""

    system_prompt: str | Template | None = None
    prompt_variables: Mapping[str, Any] | None = None
    model_id: str | None = None
    inference_config: Mapping[str, Any] | None = None
    additional_model_request_fields: Mapping[str, Any] | None = None


def _variant(name: str, spec: Any) -> Variant:
    if isinstance(spec, Variant):
        return spec
    if spec is None or isinstance(spec, (str, Template)):
        return Variant(system_prompt=spec)
    if isinstance(spec, dict):
        known = {f for f in Variant.__dataclass_fields__}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(
                f"variants[{name!r}]: unknown keys {unknown}; a variant takes {sorted(known)}"
            )
        return Variant(**spec)
    raise TypeError(
        f"variants[{name!r}]: expected a system prompt (str or Template), a Variant or a "
        f"dict of its fields, got {type(spec).__name__}"
    )


class PromptExperiment:
    """An experiment comparing ``variants`` (``{name: system prompt | Template | Variant |
    dict}``, at least two) on ``client``'s conversations.

    Args:
        assignment: ``"random"`` (``seed`` makes the sequence reproducible),
            ``"round_robin"`` (each in turn, in this process), or ``"sticky"`` (by the
            ``user`` key given to ``start_conversation``: the same user always gets the same
            variant, in every process, from a sha256 of the experiment's name and the key).
        baseline: The variant the others are compared with (default: the first).
        prices: ``{model_id: {"input": .., "output": ..}}`` per 1,000 tokens, as
            ``Conversation.cost`` takes them, for the cost figures.
        name: What the experiment's conversations are tagged with (``metadata["experiment"]``):
            with a store, each process that uses the same name adds to the same results.
    """

    def __init__(
        self,
        client: ConverseClient,
        variants: Mapping[str, Any],
        *,
        assignment: str = "random",
        seed: int | None = None,
        baseline: str | None = None,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        name: str = "experiment",
    ) -> None:
        from fastconverse.client import ConverseClient

        if not isinstance(client, ConverseClient):
            raise TypeError(f"client: expected a ConverseClient, got {type(client).__name__}")
        if not isinstance(variants, dict) or len(variants) < 2:
            raise ValueError(
                "variants: expected a dict of at least two {name: system prompt | Variant}, "
                f"got {variants!r:.200}"
            )
        for key in variants:
            if not isinstance(key, str) or not key:
                raise TypeError(f"variants: each name must be a non-empty str, got {key!r}")
        if assignment not in MODES:
            raise ValueError(f"assignment: expected one of {list(MODES)}, got {assignment!r}")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise TypeError(f"seed: expected an int or None, got {type(seed).__name__}")
        if baseline is None:
            baseline = next(iter(variants))
        elif baseline not in variants:
            raise ValueError(
                f"baseline: {baseline!r} is not a variant; the variants are {list(variants)}"
            )
        if prices is not None and not isinstance(prices, dict):
            raise TypeError(
                f"prices: expected a dict of model id -> {{'input': .., 'output': ..}}, got "
                f"{type(prices).__name__}"
            )
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a non-empty str, got {name!r}")
        self.client = client
        self.name = name
        self.variants: dict[str, Variant] = {k: _variant(k, v) for k, v in variants.items()}
        self.assignment = assignment
        self.baseline = baseline
        self.prices = prices
        self._assigner = Assigner(name, list(self.variants), assignment, seed)
        # Without a store, the figures of this process's conversations (by id): a client
        # forgets conversations beyond max_conversations, the experiment does not.
        self._records: dict[str, tuple[str, dict[str, Any]]] = {}
        self.hook = FiguresHook(self._written)
        """The hook that gathers the figures (on every conversation started here)."""

    def _written(self, conv: Conversation, figures: dict[str, Any]) -> None:
        if self.client.store is None:
            self._records[conv.id] = (str(conv.metadata.get(VARIANT)), figures)

    # --- conversations -----------------------------------------------------------------

    def assign(self, user: str | None = None) -> str:
        """The name of the variant a new conversation gets (``user``: the key of sticky
        assignment; random and round robin move on to the next)."""
        if user is not None and not isinstance(user, str):
            raise TypeError(f"user: expected a str key, got {type(user).__name__}")
        return self._assigner.assign(user)

    def start_conversation(self, user: str | None = None, **kwargs: Any) -> Conversation:
        """A new conversation with an assigned variant's prompt and settings, tagged
        ``metadata={"experiment": name, "variant": variant}`` (with your ``metadata``), and
        the experiment's hook (after your ``hooks``). Other keyword arguments go to
        ``client.create_conversation``; those the variant sets may not be given again."""
        return self._start(self.assign(user), kwargs)

    def create_test_conversation(self, user: str | None = None, **kwargs: Any) -> dict[str, str]:
        """The reference tutorial's call: ``{"conversation_id": ..., "variant": ...}``."""
        conv = self.start_conversation(user, **kwargs)
        return {"conversation_id": conv.id, "variant": str(conv.metadata[VARIANT])}

    def _start(self, name: str, kwargs: dict[str, Any]) -> Conversation:
        variant = self.variants[name]
        if "system_prompt" in kwargs:
            raise TypeError(
                "system_prompt: the experiment's variant gives the system prompt; use "
                "client.create_conversation for a conversation outside the experiment"
            )
        given_vars = kwargs.pop("prompt_variables", None)
        variables: dict[str, Any] | None = None
        if isinstance(variant.system_prompt, Template):
            variables = {**(variant.prompt_variables or {}), **(given_vars or {})}
        elif given_vars is not None or variant.prompt_variables is not None:
            raise ValueError(
                f"prompt_variables: the system prompt of variant {name!r} is not a Template"
            )
        for field in ("model_id", "inference_config", "additional_model_request_fields"):
            value = getattr(variant, field)
            if value is not None:
                if kwargs.get(field) is not None:
                    raise ValueError(f"{field}: variant {name!r} sets it; leave it out")
                kwargs[field] = value
        metadata = dict(kwargs.pop("metadata", None) or {})
        for key in (EXPERIMENT, VARIANT, FIGURES):
            if key in metadata:
                raise ValueError(f"metadata: {key!r} is the experiment's own key")
        metadata.update({EXPERIMENT: self.name, VARIANT: name})
        hooks = [*(kwargs.pop("hooks", None) or ()), self.hook]
        return self.client.create_conversation(
            variant.system_prompt,
            prompt_variables=variables,
            metadata=metadata,
            hooks=hooks,
            **kwargs,
        )

    def get_conversation(self, conversation: str | Conversation) -> Conversation:
        """A conversation of this experiment, by id or itself (loaded from the store when
        this process does not hold it), with the experiment's hook: its next turns count.
        A ``ValueError`` when it is not one of the experiment's."""
        conv = (
            conversation
            if isinstance(conversation, Conversation)
            else self.client.get_conversation(conversation)
        )
        if conv.metadata.get(EXPERIMENT) != self.name:
            raise ValueError(
                f"conversation: {conv.id!r} is not a conversation of experiment {self.name!r}"
            )
        if conv is self.client._registry().get(conv.id):
            self.client.get_conversation(conv, hooks=[self.hook])
        else:  # (one another client holds: its hooks, with the experiment's)
            from fastconverse.hooks import Hooks

            conv._add_hooks(Hooks([self.hook]))
        return conv

    def variant_of(self, conversation: str | Conversation) -> str:
        """The variant of one of the experiment's conversations."""
        return str(self.get_conversation(conversation).metadata[VARIANT])

    def record_feedback(self, conversation: str | Conversation, score: float) -> None:
        """A score for a conversation (any scale, the same for all: the tutorial's 1 to 5,
        a judge's 1 to 10, 0/1 for thumbs). Written with the conversation at once (with a
        turn under way, when it ends); a store that refuses the write raises its error."""
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise TypeError(f"score: expected a number, got {type(score).__name__}")
        if not math.isfinite(score):
            raise ValueError(f"score: expected a finite number, got {score!r}")
        conv = self.get_conversation(conversation)
        self.hook.add_feedback(conv, float(score))

    # --- results -----------------------------------------------------------------------

    def _all_records(self) -> list[tuple[str, dict[str, Any]]]:
        if self.client.store is None:
            return list(self._records.values())
        found: list[tuple[str, dict[str, Any]]] = []
        after = None
        while True:
            page = self.client.list_conversations(
                500, metadata={EXPERIMENT: self.name}, after=after
            )
            for info in page:
                md = info.metadata
                found.append((str(md.get(VARIANT)), md.get(FIGURES) or _records.new_figures()))
            if len(page) < 500:
                return found
            after = page[-1]

    def results(self) -> ExperimentResults:
        """Per variant: conversations, turns, error rate, throttles, latency and time to first
        token (mean, p50, p95), tokens, cost (with ``prices``) and feedback, with 95%
        intervals; and each variant against the baseline on feedback (Welch's t-test),
        latency (Mann-Whitney U) and error rate (Fisher's exact test), Holm-corrected over
        the variants, with the samples that would tell them apart. With a store: every
        conversation of the experiment in it, from any process."""
        with_stats = have_scipy()
        rows, comparisons = summarize(
            self._all_records(), list(self.variants), self.baseline, self.prices, with_stats
        )
        note = (
            None
            if with_stats
            else ("Intervals and comparisons need scipy: pip install 'fastconverse[experiments]'")
        )
        return ExperimentResults(self.name, self.baseline, rows, comparisons, note)

    def get_metrics(self) -> dict[str, dict[str, Any]]:
        """The reference tutorial's summary: per variant, ``conversations``, ``messages``
        (turns), ``avg_response_time`` (seconds) and ``avg_feedback`` (0 when none)."""
        return {
            row.variant: {
                "conversations": row.conversations,
                "messages": row.turns,
                "avg_response_time": row.latency_mean.value or 0.0,
                "avg_feedback": row.feedback.value or 0.0,
            }
            for row in self.results()
        }

    def run(
        self,
        cases: Sequence[Any],
        *,
        concurrency: int = 4,
        judge: Judge = None,
        progress: bool | None = None,
    ) -> ExperimentResults:
        """Sends each of ``cases`` (a message, as ``send`` takes it) in a new conversation of
        every variant, ``concurrency`` at a time, and returns ``results()``. ``judge`` scores
        each reply as feedback: a callable given the reply's text (or the case and the text,
        when it takes two arguments) that returns a number, or a model id asked for a score
        from 1 to 10. ``progress``: a bar (tqdm or rich, when installed) on stderr; default:
        when stderr is a terminal. A failed turn counts in the figures and the run goes on."""
        from fastconverse._experiments.runner import run

        run(self, cases, concurrency=concurrency, judge=judge, progress=progress)
        return self.results()

    def __repr__(self) -> str:
        return (
            f"PromptExperiment(name={self.name!r}, variants={list(self.variants)!r}, "
            f"assignment={self.assignment!r}, baseline={self.baseline!r})"
        )
