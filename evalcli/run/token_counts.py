"""Token counts recorded when a unit finishes, so the parse stage reads results.jsonl only.

    ResultSink.on_result(unit, record) ──UnitTokens.fill──► the record as written
        ok, the engine reported both counts ──────────► as it is (tokens_source "" = engine)
        ok with a count of -1 (the engine reported none) ─┐
        failed (an engine reports no counts for it) ──────┴─► counted here: the prompt as sent
            (Plan.request(unit).messages; 0 answer tokens for a failed unit), the answer's text,
            by the unit's engine variant's counter; `tokens_source` says which counter

The counter of an engine variant is opened on its first use: the model's own tokenizer where
the engine has one in this process (llama_cpp: the GGUF's vocabulary without weights,
source "tokenizer"), else tiktoken when its vocabulary is
cached, else the estimate (evalcli.science.tokens). A run whose engine counts every answer
and in which no unit fails never opens one. A counter that raises (a prompt the model's chat
template cannot render: the worker failed on it too) never stops the run: that unit is
counted by tiktoken / the estimate, and its tokens_source says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

import msgspec

from engines.base import ChatMessage
from evalcli.run.engine_setup import ResolvedEngine
from evalcli.run.plan import Plan, Unit
from evalcli.science.tokens import TokenCounter, fill_counts, needs_count
from evalcli.store.results import ResultRecord, TokensSource


class Counter(Protocol):
    source: str

    def count(self, text: str) -> int: ...

    def count_prompt(self, messages: list[ChatMessage]) -> int: ...


class UnitTokens:
    """Per engine variant, the counter for units without engine counts, opened on first use."""

    def __init__(self, plan: Plan, engines: Sequence[ResolvedEngine]) -> None:
        self.plan, self.engines = plan, engines
        self.opened: dict[int, Counter] = {}
        self._generic: TokenCounter | None = None

    def fill(self, unit: Unit, record: ResultRecord) -> ResultRecord:
        """`record` with every token count its engine did not report, and their source."""
        if not needs_count(record.status, record.prompt_tokens, record.completion_tokens):
            return record

        def count(counter: Counter) -> tuple[int, int, str]:
            return fill_counts(record.status, record.prompt_tokens, record.completion_tokens,
                               record.text, lambda: self.plan.request(unit).messages, counter)

        try:
            prompt, completion, source = count(self.counter(unit.variant))
        except Exception:  # noqa: BLE001 - a count must never stop the run
            # e.g. a prompt the model's chat template cannot render (the worker failed on it
            # the same way): the generic counter, and the source says so
            prompt, completion, source = count(self.generic())
        return msgspec.structs.replace(record, prompt_tokens=prompt,
                                       completion_tokens=completion,
                                       tokens_source=cast(TokensSource, source))

    def counter(self, variant: int) -> Counter:
        if variant not in self.opened:
            engine = self.engines[variant] if variant < len(self.engines) else self.engines[0]
            tokenizer = engine.cls.tokenizer(engine.options)
            self.opened[variant] = cast(Counter, tokenizer) if tokenizer is not None \
                else self.generic()
        return self.opened[variant]

    def generic(self) -> Counter:
        """tiktoken when its vocabulary is cached, else the estimate: counts any text."""
        if self._generic is None:
            self._generic = TokenCounter()
        return cast(Counter, self._generic)

    def close(self) -> None:
        for counter in self.opened.values():
            getattr(counter, "close", lambda: None)()
        self.opened.clear()
