"""Saved KV-cache states of one `llama_cpp.Llama`, one per system prompt, restored on an arm
switch so that returning to an arm does not make llama.cpp read its system prompt again.

    request (system text S, prompt tokens) ──► switch_to(S, tokens)
        S is the arm in the context now ──► nothing (llama-cpp-python's own prefix reuse)
        S differs ──► save the context under the arm it holds (KV cells of sequence 0 + the
                      token ids they hold), evicting least recently used states over budget
                  └─► a state saved for S shares a longer prefix with the prompt than the
                      context does ──► restore it; create_completion then evaluates only
                      the tokens after the shared prefix

llama-cpp-python keeps one context per `Llama` and reuses its KV cache only for the prefix
the next prompt shares with the previous one: with the arms alternating in blocks
(`[run] arm_block_items`) every switch re-reads the new arm's system prompt. Its own answer,
`Llama.save_state` / `LlamaRAMCache`, also copies the logits buffer (n_batch x n_vocab
float32: 512 MiB for Gemma 3's 262k vocabulary) on every completion; this saves only the
sequence's KV cells (`llama_state_seq_get_data`; their size per token:
docs/performance.md), and only at a switch. The token ids are set on the `Llama` (`input_ids`, `n_tokens`) as
`Llama.load_state` does, and a restored context is marked to decode before sampling, so
generation starts from freshly computed logits exactly as after a prefix hit.

Memory: states live in host RAM, at most `budget_bytes` in all (the engine option
`saved_states_mib`); a state larger than the whole budget is not kept. A failed restore
leaves an empty context: the prompt is then evaluated in full, as without saved states.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from dataclasses import dataclass

SEQ = 0  # llama-cpp-python decodes every batch into sequence 0


@dataclass(frozen=True)
class SavedState:
    token_ids: tuple[int, ...]
    data: ctypes.Array  # llama_state_seq_get_data of sequence 0 (read, never written again)
    size: int  # bytes of `data` llama.cpp wrote


def shared_prefix(a, b) -> int:
    """How many leading tokens `a` and `b` have in common."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class ArmStates:
    """The saved states of one `Llama` (one worker: never shared between threads)."""

    def __init__(self, llm, llama_cpp, budget_bytes: int) -> None:
        self.llm = llm
        self.lib = llama_cpp
        self.budget_bytes = budget_bytes
        self.states: OrderedDict[str, SavedState] = OrderedDict()  # least recently used first
        self.current: str | None = None  # the arm whose prompt the context holds
        self.saves = self.restores = 0

    @staticmethod
    def supported(llm, llama_cpp) -> bool:
        """Whether this llama-cpp-python has the per-sequence state calls and the model keeps
        a KV cache whose prefix can be cut (a recurrent model's state cannot: llama-cpp-python
        re-evaluates its whole prompt anyway)."""
        calls = ("llama_state_seq_get_size", "llama_state_seq_get_data",
                 "llama_state_seq_set_data", "llama_memory_seq_rm", "llama_get_memory")
        return all(hasattr(llama_cpp, c) for c in calls) and hasattr(llm, "input_ids") \
            and not getattr(llm, "_is_recurrent", False) and not getattr(llm, "_is_hybrid", False)

    @property
    def held_bytes(self) -> int:
        return sum(len(s.data) for s in self.states.values())  # allocated: >= size

    def switch_to(self, key: str, prompt_tokens) -> int:
        """Prepare the context for a request of arm `key`; `prompt_tokens()` gives its token
        ids (called only when a saved state may help). Returns the tokens restored (0: none)."""
        if key == self.current:
            return 0
        if self.current is not None:
            self._save(self.current)
        self.current = key
        saved = self.states.get(key)
        if saved is None:
            return 0
        self.states.move_to_end(key)
        tokens = list(prompt_tokens())
        held = self.llm.input_ids[: self.llm.n_tokens].tolist()
        if shared_prefix(saved.token_ids, tokens) <= shared_prefix(held, tokens):
            return 0
        return self._restore(saved)

    def _save(self, key: str) -> None:
        n = int(self.llm.n_tokens)
        if n == 0:
            return
        ctx = self.llm.ctx
        # cells past n_tokens (a decode that failed half-way) are not part of the state
        self.lib.llama_memory_seq_rm(self.lib.llama_get_memory(ctx), SEQ, n, -1)
        size = int(self.lib.llama_state_seq_get_size(ctx, SEQ))
        if size == 0 or size > self.budget_bytes:
            self.states.pop(key, None)
            return
        self.states.pop(key, None)
        while self.states and self.held_bytes + size > self.budget_bytes:
            self.states.popitem(last=False)
        buffer = (ctypes.c_uint8 * size)()
        written = int(self.lib.llama_state_seq_get_data(ctx, buffer, size, SEQ))
        if written == 0 or written > size:
            return
        self.states[key] = SavedState(tuple(self.llm.input_ids[:n].tolist()), buffer, written)
        self.saves += 1

    def _restore(self, saved: SavedState) -> int:
        n = len(saved.token_ids)
        ok = int(self.lib.llama_state_seq_set_data(self.llm.ctx, saved.data, saved.size, SEQ))
        if ok == 0:  # llama.cpp cleared the sequence: evaluate the prompt in full
            self.llm.reset()
            return 0
        self.llm.input_ids[:n] = saved.token_ids
        self.llm.n_tokens = n
        self.llm._requires_eval = True  # decode before sampling (restored logits are stale)
        self.restores += 1
        return n
