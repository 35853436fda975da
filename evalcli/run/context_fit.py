"""Does every planned request fit the model's context? Checked in the parent before any
worker starts, with the same counters that count a finished unit the engine did not count
(run/token_counts.py).

    every request (first sample of each unit) ─► an upper bound on its prompt tokens:
        no tokenizer gives more tokens than the text has UTF-8 bytes (+ BOS and a leading
        space; a chat template's own markers: 64 per message + 128) ─► bound + max_tokens
        <= n_ctx for all: fits, nothing loaded (the usual case, and the fast one)
    the requests the bound cannot clear are counted:

    engine has the model's own tokenizer here (llama_cpp: the GGUF vocabulary) ─► exact count
        of the prompt rendered exactly as the worker renders it (prompt format / chat template)
    else (llama-cpp-python not importable in this process) ─► evalcli.science.tokens'
        counter: tiktoken when its vocabulary is cached, else characters / 4 ─► estimated

    prompt tokens + max_tokens > n_ctx:
        exact      ─► ConfigError (one line: the profile key, the count, n_ctx, the fix):
                      llama.cpp would cut every such answer short (max_tokens is silently
                      lowered to what is left of the context) or fail the unit outright
        estimated  ─► a warning saying it is an estimate; the run goes on

Only engines whose options carry `n_ctx` (llama_cpp) are checked here; Ollama checks its
`num_ctx` in its own preflight.
"""

from __future__ import annotations

from collections.abc import Iterable

from engines.base import Request
from evalcli.errors import ConfigError
from evalcli.run.engine_setup import ResolvedEngine
from evalcli.science.tokens import TokenCounter


def _count_all(engine: ResolvedEngine, requests: list[Request]) -> list[tuple]:
    """(tokens, how they were counted, exact?, request) for each request's prompt."""
    tokenizer = engine.cls.tokenizer(engine.options)
    if tokenizer is not None:
        how = f"exact, the model's own tokenizer, prompt format {tokenizer.template_name}"
        try:
            return [(tokenizer.count_prompt(r.messages), how, True, r) for r in requests]
        finally:
            tokenizer.close()
    counter = TokenCounter()
    how = ("tiktoken cl100k_base" if counter.source == "tiktoken" else "characters / 4") + \
          " — llama-cpp-python is not importable here"
    return [(counter.count_prompt(r.messages), f"estimated by {how}", False, r)
            for r in requests]


def upper_bound(engine: ResolvedEngine, request: Request) -> int:
    """At least as many tokens as `request`'s prompt can have on any tokenizer."""
    text = sum(len(m.content.encode("utf-8")) for m in request.messages)
    if getattr(engine.options, "chat_template", "") == "completion":
        extra = (len(engine.options.completion_separator.encode("utf-8"))
                 + len(engine.options.answer_cue.encode("utf-8")))
        return text + extra + 2
    return text + 64 * len(request.messages) + 128


def check_context(engine: ResolvedEngine, requests: Iterable[Request],
                  profile_source: str) -> list[str]:
    """Raise ConfigError when a planned request certainly does not fit; warnings when it
    may not (an estimate)."""
    n_ctx = getattr(engine.options, "n_ctx", None)
    if not n_ctx:
        return []
    unclear = [r for r in requests if upper_bound(engine, r) + r.params.max_tokens > n_ctx]
    if not unclear:
        return []
    counted = _count_all(engine, unclear)
    tokens, how, exact, request = max(counted, key=lambda c: c[0] + c[3].params.max_tokens)
    need = tokens + request.params.max_tokens
    if need <= n_ctx:
        return []
    line = (f"{profile_source}: engine.options.n_ctx = {n_ctx} is too small for "
            f"{engine.model_label}: the longest prompt ({request.unit_id}) is {tokens} tokens "
            f"({how}) + max_tokens {request.params.max_tokens} = {need} — set "
            f"engine.options.n_ctx to at least {need}")
    if exact:
        raise ConfigError(line)
    return [line + " (an estimate: such units may be cut short or fail)"]
