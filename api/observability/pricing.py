"""What model tokens cost: a price book in USD per million tokens.

`SWITCHBOARD_PRICE_BOOK` (a JSON or TOML file, or inline JSON) is merged over
`DEFAULT_PRICES`. Models are matched by exact name, then by the longest known
prefix (`gpt-4.1-mini-2025-04-14` → `gpt-4.1-mini`), with or without the
`provider:` part. Unknown models cost 0 and are logged once.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

logger = logging.getLogger(__name__)

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens."""

    input: Decimal
    output: Decimal

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        """Return the USD cost of a call."""
        return (self.input * input_tokens + self.output * output_tokens) / _MILLION


FREE = Price(Decimal(0), Decimal(0))

DEFAULT_PRICES: dict[str, Price] = {
    # Published list prices (USD / 1M tokens); override with SWITCHBOARD_PRICE_BOOK.
    "gpt-4.1": Price(Decimal("2.00"), Decimal("8.00")),
    "gpt-4.1-mini": Price(Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": Price(Decimal("0.10"), Decimal("0.40")),
    "gpt-4o": Price(Decimal("2.50"), Decimal("10.00")),
    "gpt-4o-mini": Price(Decimal("0.15"), Decimal("0.60")),
    "claude-sonnet-4-5": Price(Decimal("3.00"), Decimal("15.00")),
    "claude-haiku-4-5": Price(Decimal("1.00"), Decimal("5.00")),
    "claude-opus-4-1": Price(Decimal("15.00"), Decimal("75.00")),
    "offline": FREE,
    "scripted": FREE,
}


class PriceBookError(ValueError):
    """`SWITCHBOARD_PRICE_BOOK` is not valid JSON/TOML of `{model: {input, output}}`; fix it."""


class PriceBook:
    """Look up a model's price; `cost()` in USD."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = dict(prices)
        self._unknown_logged: set[str] = set()

    @classmethod
    def load(cls, source: str | None) -> PriceBook:
        """Build the book from the setting: a file path, inline JSON, or None (defaults).

        Raises:
            PriceBookError: The source cannot be read or parsed.

        """
        prices = dict(DEFAULT_PRICES)
        if source:
            prices.update(_parse(source))
        return cls(prices)

    def price(self, model: str) -> Price:
        """Return `model`'s price (0 for unknown models, logged once)."""
        name = model.split(":", 1)[1] if ":" in model else model
        for key in (model, name):
            if key in self.prices:
                return self.prices[key]
        prefixes = [known for known in self.prices if name.startswith(known)]
        if prefixes:
            return self.prices[max(prefixes, key=len)]
        if model not in self._unknown_logged:
            self._unknown_logged.add(model)
            logger.warning("no price for model %r: its cost counts as 0", model)
        return FREE

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> Decimal:
        """Return the USD cost of `input_tokens` + `output_tokens` on `model`."""
        return self.price(model).cost(input_tokens, output_tokens)


def _parse(source: str) -> dict[str, Price]:
    text = source.strip()
    try:
        if text.startswith("{"):
            raw = json.loads(text)
        else:
            path = Path(text)
            content = path.read_text("utf-8")
            raw = tomllib.loads(content) if path.suffix == ".toml" else json.loads(content)
        return {
            str(model): Price(Decimal(str(entry["input"])), Decimal(str(entry["output"])))
            for model, entry in raw.items()
        }
    except (OSError, ValueError, KeyError, TypeError, tomllib.TOMLDecodeError) as error:
        raise PriceBookError(
            f"SWITCHBOARD_PRICE_BOOK {source[:80]!r} is not a readable JSON/TOML price book of "
            f'{{"model": {{"input": usd_per_1m, "output": usd_per_1m}}}}: {error}'
        ) from error
