"""``Conversation.cost``: tokens by model times the user's prices."""

from __future__ import annotations

import math
from collections.abc import Mapping

from fastconverse import _core

# Each price applies to its own tokens: Bedrock's inputTokens leave out what the cache read
# and wrote, so no token is priced twice; cache writes are priced by their lifetime.
_KINDS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")


def _tokens(used: _core.Usage) -> dict[str, int]:
    """The tokens of each price: the cache writes split by lifetime (``cacheDetails``;
    without it, every write is a five-minute one, the only kind before lifetimes)."""
    hour = sum(d["inputTokens"] for d in used.cache_details or () if d["ttl"] == "1h")
    return {
        "input": used.input_tokens,
        "output": used.output_tokens,
        "cache_read": used.cache_read_input_tokens,
        "cache_write": used.cache_write_input_tokens - hour,
        "cache_write_1h": hour,
    }


def _price(prices: Mapping[str, float], model_id: str, kind: str, tokens: int) -> float:
    value = prices.get(kind)
    if value is None:
        if tokens == 0:
            return 0.0
        raise ValueError(
            f"prices[{model_id!r}]: no {kind!r} price, and the conversation used "
            f"{tokens} {kind.replace('_', ' ')} tokens with this model"
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"prices[{model_id!r}][{kind!r}]: expected a price per 1,000 tokens (a number "
            f">= 0), got {value!r}"
        )
    return float(value) * tokens / 1000


def cost(usage: Mapping[str, _core.Usage], prices: Mapping[str, Mapping[str, float]]) -> float:
    if not isinstance(prices, Mapping):
        raise TypeError(
            f"prices: expected a dict of model id -> {{'input': .., 'output': ..}}, got "
            f"{type(prices).__name__}"
        )
    total = 0.0
    for model_id, used in usage.items():
        model_prices = prices.get(model_id)
        if model_prices is None:
            raise ValueError(
                f"prices: no prices for {model_id!r}, which this conversation used; "
                f"prices are given for {', '.join(sorted(map(repr, prices)))}"
            )
        if not isinstance(model_prices, Mapping):
            raise TypeError(
                f"prices[{model_id!r}]: expected a dict like {{'input': 0.0008, 'output': "
                f"0.004}}, got {type(model_prices).__name__}"
            )
        unknown = set(model_prices) - set(_KINDS)
        if unknown:
            raise ValueError(
                f"prices[{model_id!r}]: unknown keys {sorted(map(str, unknown))}; "
                f"expected {sorted(_KINDS)}"
            )
        for kind, tokens in _tokens(used).items():
            total += _price(model_prices, model_id, kind, tokens)
    return total
