"""Does the longest planned request fit the model's context? Checked in the parent before
any worker starts, with the same token counts the parse stage uses.

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

from engines.base import Request
from evalcli.errors import ConfigError
from evalcli.run.engine_setup import ResolvedEngine
from evalcli.science.tokens import TokenCounter


def count_prompt(engine: ResolvedEngine, request: Request) -> tuple[int, str, bool]:
    """(tokens, how they were counted, exact?) for `request`'s prompt on `engine`."""
    tokenizer = engine.cls.tokenizer(engine.options)
    if tokenizer is not None:
        try:
            return (tokenizer.count_prompt(request.messages),
                    f"exact, the model's own tokenizer, prompt format {tokenizer.template_name}",
                    True)
        finally:
            tokenizer.close()
    counter = TokenCounter()
    how = ("tiktoken cl100k_base" if counter.source == "tiktoken" else "characters / 4") + \
          " — llama-cpp-python is not importable here"
    return counter.count_prompt(request.messages), f"estimated by {how}", False


def check_context(engine: ResolvedEngine, request: Request | None, profile_source: str) -> list[str]:
    """Raise ConfigError when the longest request certainly does not fit; warnings otherwise."""
    n_ctx = getattr(engine.options, "n_ctx", None)
    if request is None or not n_ctx:
        return []
    tokens, how, exact = count_prompt(engine, request)
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
