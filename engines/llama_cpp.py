"""The llama.cpp engine: one `llama_cpp.Llama` per worker process, one request at a time.

    Options (validated in the parent) ──► Llama(model_path, n_ctx, n_gpu_layers, n_threads, ...)
    Request ──► prompt format "completion": system + separator + user + answer cue
                    ──► create_completion(token ids, every sampling parameter explicit)
            └─► prompt format "chat" (a template: the GGUF's own, "gemma3", or a Jinja file)
                    ──► create_chat_completion(every sampling parameter explicit)
            ──► Completion (token counts and finish reason from llama.cpp itself; prompt
                tokens actually evaluated, i.e. not served from the prefix KV cache, in timings)

`llama_cpp` is imported inside the worker only: a DLL or native crash takes down one worker,
never the supervisor, and the CLI start path stays light.

Prompt formats. A *base* model (no `tokenizer.chat_template` in the GGUF, like the demo
model) wrapped in chat turns it never saw answers with its own prompt; as plain text ending
in an answer cue it answers. `chat_template = "auto"` therefore chooses the GGUF's own
template when it has one and the completion format when it has none; the parent resolves
"auto" from the GGUF header (engines/gguf_header.py) before planning, so the run manifest
records the concrete choice. A template is used only when asked for: llama-cpp-python's
built-in "gemma" format drops the system message, so "gemma3" here follows Gemma 3's own
convention instead (the system text opens the first user turn).

In the completion format the system text comes first, so consecutive requests of one
condition share their prefix and llama.cpp's prefix KV cache is reused, exactly as with a
chat template. Text is tokenized without parsing special tokens: a passage that contains
"<eos>" stays text.

Arm switches. That prefix cache spans only the previous prompt, so with the arms alternating
in blocks each switch would evaluate the new arm's system prompt again; the engine keeps one
saved KV state per system prompt (engines/llama_states.py, `saved_states_mib`) and restores
it when a request returns to its arm.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from engines.base import (
    ChatMessage,
    Completion,
    ConfigStruct,
    Engine,
    EngineError,
    EngineFault,
    EngineLoadError,
    IntRange,
    Request,
)
from engines.gguf_header import GGUFHeaderError, read_metadata
from engines.llama_states import ArmStates

GEMMA3_TEMPLATE = (
    "{{ bos_token }}"
    "{% set ns = namespace(system='') %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}"
    "{% set ns.system = message['content'] | trim %}"
    "{% else %}"
    "{% set role = 'model' if message['role'] == 'assistant' else 'user' %}"
    "{{ '<start_of_turn>' + role + '\\n' }}"
    "{% if ns.system and role == 'user' %}{{ ns.system + '\\n\\n' }}{% set ns.system = '' %}{% endif %}"
    "{{ (message['content'] | trim) + '<end_of_turn>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
BUILTIN_TEMPLATES = {"gemma3": GEMMA3_TEMPLATE}
COMPLETION = "completion"
NAMED_CHOICES = ("auto", COMPLETION, "gguf", *BUILTIN_TEMPLATES)


def choose_template(choice: str, has_gguf_template: bool) -> str:
    """The concrete `chat_template` for a choice: "auto" becomes "gguf" or "completion"."""
    if choice == "auto":
        return "gguf" if has_gguf_template else COMPLETION
    return choice


def prompt_format(chat_template: str) -> str:
    """What a trial's prompts look like: "completion", or "chat:<template>"."""
    return COMPLETION if chat_template == COMPLETION else f"chat:{chat_template}"


def render_completion(messages: list[ChatMessage], separator: str, cue: str) -> str:
    """Plain text for a base model: the messages in order (system first), then the cue.

    No turn tokens: "<system>" + separator + "<user>" + cue.
    """
    return separator.join(m.content for m in messages if m.content) + cue


def install_prompt_format(llm, options) -> str:
    """Resolve the prompt format on a loaded `Llama` (weights or vocabulary only); for a Jinja
    template, install its chat handler. The worker and the parent's tokenizer both call it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    gguf_template = llm.metadata.get("tokenizer.chat_template")
    choice = choose_template(options.chat_template, bool(gguf_template))
    if choice == COMPLETION:
        return choice
    if choice == "gguf":
        if not gguf_template:
            raise EngineLoadError(
                f"{options.model} has no tokenizer.chat_template — set "
                'engine.options.chat_template to "completion", "auto" or a template'
            )
        return "gguf"  # llama-cpp-python already uses the GGUF's own template
    if choice in BUILTIN_TEMPLATES:
        template = BUILTIN_TEMPLATES[choice]
    else:
        try:
            template = Path(choice).read_text(encoding="utf-8")
        except OSError as exc:
            raise EngineLoadError(f"chat_template {choice!r}: cannot read ({exc})") from None
    stop_ids = [llm.token_eos()]
    end_of_turn = llm.tokenize(b"<end_of_turn>", add_bos=False, special=True)
    if len(end_of_turn) == 1:
        stop_ids.append(end_of_turn[0])
    bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
    formatter = Jinja2ChatFormatter(
        template=template, eos_token="<end_of_turn>" if len(stop_ids) > 1 else "</s>",
        bos_token=bos, stop_token_ids=stop_ids,
    )
    llm.chat_handler = formatter.to_chat_handler()
    return choice


class _Rendered(Exception):  # noqa: N818 - a signal, not an error
    def __init__(self, tokens) -> None:
        super().__init__("rendered")
        self.tokens = list(tokens)


class _RenderOnly:
    """Stands in for a `Llama` in llama-cpp-python's own chat path: the chat handler renders
    and tokenizes the prompt exactly as `create_chat_completion` does in the worker, and this
    stops it where generation would begin."""

    def __init__(self, llm) -> None:
        self._llm = llm

    def __getattr__(self, name: str):
        return getattr(self._llm, name)

    def create_completion(self, prompt, **_):
        raise _Rendered(prompt)


def prompt_token_ids(llm, template_name: str, options, messages: list[ChatMessage]) -> list[int]:
    """The token ids the model is given for `messages` — the worker's own rendering: the
    completion text tokenized as `generate` sends it, or the chat handler's prompt."""
    if template_name == COMPLETION:
        text = render_completion(messages, options.completion_separator, options.answer_cue)
        return llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    try:
        type(llm).create_chat_completion(
            _RenderOnly(llm), messages=[{"role": m.role, "content": m.content} for m in messages],
            max_tokens=1)
    except _Rendered as rendered:
        return rendered.tokens
    raise EngineError("llama-cpp-python's chat handler did not reach create_completion")


class LlamaTokenizer:
    """The model's own tokenizer in the parent: the GGUF's vocabulary only (no weights, about
    a second for the demo model), with the prompt format installed as the worker installs it,
    so a count is exactly the prompt the worker sends (source "tokenizer")."""

    source = "tokenizer"

    def __init__(self, options) -> None:
        import llama_cpp
        from llama_cpp._utils import suppress_stdout_stderr

        self.options = options
        with suppress_stdout_stderr(disable=False):  # vocab-only loads warn about n_ctx_train
            self.llm = llama_cpp.Llama(model_path=options.model, vocab_only=True, n_ctx=64,
                                       n_batch=64, verbose=False)
        self.template_name = install_prompt_format(self.llm, options)

    def count_prompt(self, messages: list[ChatMessage]) -> int:
        return len(prompt_token_ids(self.llm, self.template_name, self.options, messages))

    def count(self, text: str) -> int:
        """An answer's tokens (no BOS; special-token text stays text)."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        self.llm.close()


class LlamaCppEngine(Engine):
    name = "llama_cpp"

    class Options(ConfigStruct):
        model: str = ""  # path to a .gguf; "" = the embedded demo model (resolved by evalcli)
        n_ctx: IntRange(1, 1 << 24) = 2048
        n_gpu_layers: IntRange(-1, 1_000_000) = 0  # -1 = offload every layer
        n_threads: IntRange(0, 4096) = 0  # 0 = CPU cores / workers (set by evalcli before spawning)
        n_batch: IntRange(1, 1 << 24) = 512
        flash_attn: bool = False
        # several GPUs: "split" = llama.cpp's default, each worker's layers spread over every
        # GPU; "per_worker" = worker i holds its whole model on GPU i mod gpu_count
        gpu_placement: Literal["split", "per_worker"] = "split"
        gpu_count: IntRange(0, 1024) = 0  # per_worker: GPUs used; 0 = those evalcli sees
        # "auto" | "completion" | "gguf" | "gemma3" | path to a Jinja file (docs/engines.md)
        chat_template: str = "auto"
        completion_separator: str = "\n\n"  # completion format: between system and user text
        answer_cue: str = "\nAnswer:"  # completion format: after the user text
        verbose: bool = True  # llama.cpp's own log, into the worker's log file
        # host RAM per worker for KV states saved per system prompt and restored when the
        # arms switch (engines/llama_states.py); 0 = off. Does not change answers.
        saved_states_mib: IntRange(0, 1 << 24) = 512

    @classmethod
    def preflight(cls, options, *, workers, longest_request=None):
        path = Path(options.model)
        if not options.model:
            raise EngineLoadError("engine.options.model is empty — pass --model PATH to a .gguf")
        if not path.is_file():
            raise EngineLoadError(
                f"model file not found: {path} — pass --model PATH to an existing .gguf file"
            )
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise EngineLoadError(f"{path} is not a GGUF file (bad magic) — pass a .gguf model")
        if options.chat_template == "gguf" and cls.has_gguf_template(path) is False:
            raise EngineLoadError(
                f"{path} has no tokenizer.chat_template — set engine.options.chat_template to "
                '"completion" (a base model), "auto", "gemma3" or a Jinja template file'
            )
        return []

    @classmethod
    def tokenizer(cls, options) -> LlamaTokenizer | None:
        """The model's own tokenizer (vocabulary only) in the parent; None when llama-cpp-python
        cannot be imported here or the vocabulary does not load."""
        try:
            return LlamaTokenizer(options)
        except (ImportError, ValueError, RuntimeError, OSError, EngineLoadError):
            return None

    @staticmethod
    def has_gguf_template(path: str | Path) -> bool | None:
        """Whether the GGUF carries a chat template; None when its header cannot be read."""
        try:
            return bool(read_metadata(path).get("tokenizer.chat_template"))
        except (OSError, GGUFHeaderError):
            return None

    @classmethod
    def resolve_chat_template(cls, options) -> str:
        """The concrete choice for these options, read from the GGUF header in the parent.

        "auto" stays "auto" when the header cannot be read (preflight says why)."""
        has_template = cls.has_gguf_template(options.model) if options.model else None
        if options.chat_template != "auto" or has_template is None:
            return options.chat_template
        return choose_template("auto", has_template)

    @classmethod
    def model_label(cls, options) -> str:
        return Path(options.model).stem if options.model else "llama_cpp"

    reuse = "local"

    @classmethod
    def answer_identity(cls, options) -> dict:
        """The options that shape answers (not `verbose`), a chat template file by its
        content, and the llama.cpp build this Python loads (version and system info: the
        CPU features and backends its kernels use). The model path is replaced by its
        sha256 by evalcli."""
        import hashlib

        import msgspec

        try:
            import llama_cpp
        except ImportError as exc:
            raise EngineLoadError(f"llama-cpp-python is not installed ({exc})") from None
        data = msgspec.to_builtins(options)
        data.pop("verbose", None)
        data.pop("saved_states_mib", None)
        template = options.chat_template
        if template not in NAMED_CHOICES:
            try:
                data["chat_template"] = hashlib.sha256(Path(template).read_bytes()).hexdigest()
            except OSError as exc:
                raise EngineLoadError(f"chat_template {template!r}: cannot read ({exc})") \
                    from None
        data["llama_cpp_python"] = getattr(llama_cpp, "__version__", "?")
        data["system_info"] = llama_cpp.llama_print_system_info().decode("utf-8", "replace") \
            .strip()
        return data

    def __init__(self, options: Options, worker_index: int = 0) -> None:
        super().__init__(options, worker_index)
        try:
            import llama_cpp
        except ImportError as exc:
            raise EngineLoadError(
                f"llama-cpp-python is not installed ({exc}) — pip install \"evalcli[llama]\""
            ) from None
        self._llama_cpp = llama_cpp
        try:
            self.llm = llama_cpp.Llama(
                model_path=options.model, n_ctx=options.n_ctx, n_gpu_layers=options.n_gpu_layers,
                n_threads=options.n_threads or None, n_threads_batch=options.n_threads or None,
                n_batch=min(options.n_batch, options.n_ctx), flash_attn=options.flash_attn,
                seed=0, verbose=options.verbose,
                **gpu_placement_kwargs(options, worker_index,
                                       getattr(llama_cpp, "LLAMA_SPLIT_MODE_NONE", 0)),
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise EngineLoadError(f"llama.cpp could not load {options.model}: {exc}") from None
        self.template_name = install_prompt_format(self.llm, options)
        self.states = ArmStates(self.llm, llama_cpp, options.saved_states_mib << 20) \
            if options.saved_states_mib and ArmStates.supported(self.llm, llama_cpp) else None

    def describe(self) -> dict[str, str]:
        placement = gpu_placement_kwargs(self.options, self.worker_index, 0)
        return {
            **({"main_gpu": str(placement["main_gpu"])} if placement else {}),
            "model": self.options.model,
            "llama_cpp_python": getattr(self._llama_cpp, "__version__", "?"),
            "chat_template": self.template_name,
            "prompt_format": prompt_format(self.template_name),
            "n_ctx": str(self.llm.n_ctx()),
            "n_gpu_layers": str(self.options.n_gpu_layers),
            "n_threads": str(self.options.n_threads),
            "saved_states_mib": str(self.states.budget_bytes >> 20 if self.states else 0),
            "gpu_offload_supported": str(bool(self._llama_cpp.llama_supports_gpu_offload())),
            "architecture": self.llm.metadata.get("general.architecture", ""),
            "system_info": self._llama_cpp.llama_print_system_info().decode("utf-8", "replace")
            .strip(),
        }

    def generate(self, request: Request) -> Completion:
        p = request.params
        self._perf_reset()
        started = time.perf_counter()
        sampling = dict(
            temperature=p.temperature, top_p=p.top_p, top_k=p.top_k, min_p=0.0, typical_p=1.0,
            max_tokens=p.max_tokens, seed=p.seed, stop=list(p.stop),
            repeat_penalty=p.repeat_penalty, presence_penalty=0.0, frequency_penalty=0.0,
        )
        prompt: list[int] | None = None

        def tokens() -> list[int]:
            nonlocal prompt
            if prompt is None:
                prompt = prompt_token_ids(self.llm, self.template_name, self.options,
                                          request.messages)
            return prompt

        try:
            if self.states is not None:
                self.states.switch_to(
                    "\n".join(m.content for m in request.messages if m.role == "system"), tokens)
            if self.template_name == COMPLETION:
                out = self.llm.create_completion(prompt=tokens(), **sampling)
            else:
                out = self.llm.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in request.messages],
                    **sampling)
        except ValueError as exc:  # e.g. "Requested tokens (...) exceed context window of ..."
            kind = "context_overflow" if "context window" in str(exc) else "llama_error"
            raise EngineError(str(exc), kind=kind) from None
        except RuntimeError as exc:  # llama_decode returned N
            raise EngineError(str(exc), kind="llama_error") from None
        except OSError as exc:  # Windows: a native fault in a ctypes call ("access violation")
            raise _fault(exc) from None
        latency_ms = (time.perf_counter() - started) * 1000.0
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            text=(choice["text"] if "text" in choice else choice["message"].get("content")) or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_ms=latency_ms,
            request_id=str(out.get("id", "")),
            timings=self._perf_timings(),
        )

    def _perf_reset(self) -> None:
        try:
            self._llama_cpp.llama_perf_context_reset(self.llm.ctx)
        except (AttributeError, TypeError):  # an older llama-cpp-python: no perf counters
            pass
        except OSError as exc:
            raise _fault(exc) from None

    def _perf_timings(self) -> dict[str, float]:
        try:
            perf = self._llama_cpp.llama_perf_context(self.llm.ctx)
        except (AttributeError, TypeError):
            return {}
        except OSError as exc:  # the answer came from a process that then faulted: not kept
            raise _fault(exc) from None
        return {"prompt_eval_tokens": float(perf.n_p_eval), "prompt_eval_ms": perf.t_p_eval_ms,
                "eval_tokens": float(perf.n_eval), "eval_ms": perf.t_eval_ms}

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()


def gpu_placement_kwargs(options, worker_index: int, split_none: int) -> dict[str, int]:
    """llama.cpp's placement for this worker: {} for the default layer split; with
    gpu_placement = "per_worker" and several GPUs, the whole model on GPU
    worker_index mod gpu_count (main_gpu, split_mode none)."""
    if options.gpu_placement != "per_worker" or options.gpu_count <= 1 \
            or options.n_gpu_layers == 0:
        return {}
    return {"main_gpu": worker_index % options.gpu_count, "split_mode": split_none}


def _fault(exc: OSError) -> EngineFault:
    """On Windows ctypes reports a native fault in a llama.cpp call (an access violation)
    as OSError: the process survives but its memory may be corrupted."""
    return EngineFault(f"native fault in llama.cpp ({type(exc).__name__}: {exc}); the worker "
                       "is replaced", kind="llama_error")
