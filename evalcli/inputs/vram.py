"""The one VRAM estimate for a llama_cpp worker, used by `evalcli doctor` (vram budget row)
and by the run's worker cap (run/capacity.py), so the two always agree.

    GGUF header ─► ModelShape(file bytes, n_layer, n_embd, n_head, n_head_kv, key/value dims)
    options     ─► n_ctx, n_gpu_layers, n_batch
    need(shape, n_ctx, n_gpu_layers, n_batch) ─► per worker:
        weights   file bytes × offloaded share   (share = offloaded layers / (n_layer + 1);
                                                  llama.cpp counts the output layer too)
        kv cache  2 × n_ctx × offloaded blocks × n_head_kv × head dim × 2 bytes (f16)
        compute   n_head × n_ctx × ubatch × 4 bytes (the attention scores) + activations
                  + 64 MiB                                              (only with offload)
        context   CUDA_CONTEXT: the CUDA context and cuBLAS workspace of each process
    fit(need, free per GPU) ─► workers that fit, and the arithmetic as one line

Several GPUs: llama.cpp's default (split_mode = layer) spreads each worker's layers over
every GPU in proportion to its free memory; every GPU then holds a CUDA context per worker,
and the compute buffer sits on the first GPU. `fit` budgets each GPU that way and returns
the smallest count. With engine.options.gpu_placement = "per_worker" each worker holds its
whole model on one GPU (worker i on GPU i mod the GPU count; llama.cpp's split_mode none):
`fit` then sums whole workers per GPU. These are estimates, not measurements (not yet checked against a GPU);
docs/doctor.md has a worked example.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GIB = 1 << 30
MIB = 1 << 20
CUDA_CONTEXT = 400 * MIB  # 0.3-0.5 GiB per process on recent drivers (NVIDIA, llama.cpp logs)
COMPUTE_BASE = 64 * MIB
UBATCH = 512  # llama.cpp's default n_ubatch; n_batch above it is processed in ubatches


@dataclass(frozen=True)
class ModelShape:
    file_bytes: int
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    key_length: int
    value_length: int


@dataclass(frozen=True)
class Need:
    """Bytes one worker needs on the GPUs (all of them together) and in RAM."""
    weights: int
    kv: int
    compute: int
    context: int
    offloaded: int  # layers on the GPU, of `layers`
    layers: int

    @property
    def gpu(self) -> int:
        return self.weights + self.kv + self.compute + self.context

    def describe(self) -> str:
        return (f"{gib(self.weights)} weights ({self.offloaded}/{self.layers} layers) + "
                f"{gib(self.kv)} KV cache + {gib(self.compute)} compute + {gib(self.context)} "
                f"CUDA context = {gib(self.gpu)}")


def gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def read_shape(path: str | Path) -> ModelShape | None:
    """The sizes the estimate needs, from the GGUF header; None when it cannot be read or
    lacks them (the caller then falls back to the file size alone)."""
    from engines.gguf_header import GGUFHeaderError, read_metadata

    try:
        size = Path(path).stat().st_size
        meta = read_metadata(path)
    except (OSError, GGUFHeaderError):
        return None
    arch = str(meta.get("general.architecture", "llama"))

    def number(key: str, default: int = 0) -> int:
        value = meta.get(f"{arch}.{key}", default)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else default

    n_layer, n_embd, n_head = number("block_count"), number("embedding_length"), \
        number("attention.head_count")
    if not (n_layer and n_embd and n_head):
        return None
    n_head_kv = number("attention.head_count_kv", n_head)  # an array (per layer) is skipped
    head_dim = n_embd // n_head
    return ModelShape(size, n_layer, n_embd, n_head, n_head_kv,
                      number("attention.key_length", head_dim),
                      number("attention.value_length", head_dim))


def shape_from_size(file_bytes: int) -> ModelShape:
    """A header-less estimate: weights only (no KV/compute terms can be computed)."""
    return ModelShape(file_bytes, 0, 0, 0, 0, 0, 0)


def need(shape: ModelShape, n_ctx: int, n_gpu_layers: int, n_batch: int = UBATCH) -> Need:
    """Per-worker VRAM for these options; n_gpu_layers -1 = every layer."""
    layers = shape.n_layer + 1 if shape.n_layer else 1
    offloaded = layers if n_gpu_layers < 0 else min(n_gpu_layers, layers)
    if offloaded == 0:
        return Need(0, 0, 0, 0, 0, layers)
    weights = shape.file_bytes * offloaded // layers
    blocks = min(offloaded, shape.n_layer)
    kv = n_ctx * blocks * shape.n_head_kv * (shape.key_length + shape.value_length) * 2
    ubatch = min(n_batch, UBATCH, n_ctx)
    compute = (shape.n_head * n_ctx * ubatch * 4 + shape.n_embd * ubatch * 4 * 16
               + COMPUTE_BASE)
    return Need(weights, kv, compute, CUDA_CONTEXT, offloaded, layers)


def per_gpu(one: Need, free: list[int]) -> list[int]:
    """One worker's bytes on each GPU under llama.cpp's default layer split."""
    total = sum(free) or 1
    spread = one.weights + one.kv
    return [spread * f // total + one.context + (one.compute if i == 0 else 0)
            for i, f in enumerate(free)]


PLACEMENTS = ("split", "per_worker")


def fit(one: Need, free: list[int], placement: str = "split") -> int:
    """How many such workers fit in the free memory of these GPUs (0 when not one)."""
    if one.gpu == 0:
        return 1 << 30
    if not free:
        return 0
    if placement == "per_worker":  # round robin over the GPUs: whole workers on each
        return _round_robin_fit(one.gpu, free)
    return min(f // n if n else 1 << 30 for f, n in zip(free, per_gpu(one, free), strict=True))


def _round_robin_fit(one: int, free: list[int]) -> int:
    """Workers 0, 1, 2, ... go to GPU i mod len(free): the most workers before the first
    GPU that cannot take its next one."""
    workers = 0
    while (workers // len(free) + 1) * one <= free[workers % len(free)]:
        workers += 1
        if workers >= 1 << 16:
            break
    return workers


def _per_worker_counts(workers: int, gpus: int) -> list[int]:
    return [workers // gpus + (1 if i < workers % gpus else 0) for i in range(gpus)]


def arithmetic(one: Need, workers: int, free: list[int], placement: str = "split") -> str:
    """'2 worker(s) x (... = 5.44 GiB) = 10.88 GiB of 11.00 GiB free' (per GPU when several)."""
    if placement == "per_worker" and len(free) > 1:
        counts = _per_worker_counts(workers, len(free))
        return (f"{workers} worker(s) x ({one.describe()}), one GPU each, round robin: "
                + ", ".join(f"GPU{i} {n} x {gib(one.gpu)} = {gib(n * one.gpu)} of {gib(f)} free"
                            for i, (n, f) in enumerate(zip(counts, free, strict=True))))
    if len(free) <= 1:
        budget = free[0] if free else 0
        return (f"{workers} worker(s) x ({one.describe()}) = {gib(workers * one.gpu)}, "
                f"{gib(budget)} free")
    shares = per_gpu(one, free)
    return (f"{workers} worker(s) x ({one.describe()}), split over {len(free)} GPUs: "
            + ", ".join(f"GPU{i} {gib(workers * s)} of {gib(f)} free"
                        for i, (s, f) in enumerate(zip(shares, free, strict=True))))



@dataclass(frozen=True)
class Budget:
    shape: ModelShape
    n_ctx: int
    n_batch: int
    one: Need
    workers: int  # asked for
    fits: int  # that fit in the free VRAM (0: not even one)
    free: list[int]
    placement: str = "split"

    def text(self) -> str:
        return arithmetic(self.one, self.workers, self.free, self.placement)


def budget(model: str | Path, n_ctx: int, n_gpu_layers: int, n_batch: int, workers: int,
           free: list[int], placement: str = "split") -> Budget:
    """The verdict doctor prints and the run's cap applies, from one set of numbers."""
    shape = read_shape(model) or shape_from_size(Path(model).stat().st_size)
    one = need(shape, n_ctx, n_gpu_layers, n_batch)
    return Budget(shape, n_ctx, n_batch, one, workers, fit(one, free, placement), list(free),
                  placement)


def max_layers(plan: Budget) -> int:
    """The most layers one worker can offload within the free VRAM (0: none)."""
    for layers in range(plan.one.layers, 0, -1):
        if fit(need(plan.shape, plan.n_ctx, layers, plan.n_batch), plan.free,
               plan.placement) >= 1:
            return layers
    return 0
