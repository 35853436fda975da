"""Per-worker GPU placement (engine.options.gpu_placement = "per_worker"): which GPU each
llama.cpp worker loads on, and the VRAM budget doctor and the run's cap compute for it."""

from __future__ import annotations

import types

import msgspec
import pytest

from engines.llama_cpp import LlamaCppEngine, gpu_placement_kwargs
from evalcli.inputs import vram
from evalcli.run import capacity
from tests.gguf_stub import write_gguf_stub

GIB = 1 << 30
Options = LlamaCppEngine.Options


def _opts(**kw) -> Options:
    return Options(model="m.gguf", **kw)


def test_per_worker_places_worker_i_on_gpu_i_mod_count():
    opts = _opts(gpu_placement="per_worker", gpu_count=3, n_gpu_layers=-1)
    assert [gpu_placement_kwargs(opts, i, 0)["main_gpu"] for i in range(7)] == \
        [0, 1, 2, 0, 1, 2, 0]
    assert gpu_placement_kwargs(opts, 4, 99)["split_mode"] == 99  # the build's SPLIT_MODE_NONE


@pytest.mark.parametrize("kw", [dict(gpu_placement="split", gpu_count=4, n_gpu_layers=-1),
                                dict(gpu_placement="per_worker", gpu_count=1, n_gpu_layers=-1),
                                dict(gpu_placement="per_worker", gpu_count=0, n_gpu_layers=-1),
                                dict(gpu_placement="per_worker", gpu_count=4, n_gpu_layers=0)])
def test_llama_cpps_default_split_otherwise(kw):
    assert gpu_placement_kwargs(_opts(**kw), 3, 0) == {}


def test_an_unknown_placement_is_refused_by_the_type():
    with pytest.raises(msgspec.ValidationError, match="gpu_placement"):
        msgspec.convert({"model": "m.gguf", "gpu_placement": "round_robin"}, Options)


def test_the_engine_passes_main_gpu_and_split_mode_to_llama(monkeypatch):
    seen = {}

    class FakeLlama:
        def __init__(self, **kwargs):
            seen.update(kwargs)
            self.metadata = {}

    fake = types.SimpleNamespace(Llama=FakeLlama, LLAMA_SPLIT_MODE_NONE=0)
    monkeypatch.setitem(__import__("sys").modules, "llama_cpp", fake)
    monkeypatch.setattr("engines.llama_cpp.install_prompt_format", lambda llm, options: "x")
    LlamaCppEngine(_opts(gpu_placement="per_worker", gpu_count=2, n_gpu_layers=-1), 5)
    assert (seen["main_gpu"], seen["split_mode"]) == (1, 0)
    seen.clear()
    LlamaCppEngine(_opts(n_gpu_layers=-1), 5)
    assert "main_gpu" not in seen and "split_mode" not in seen


def test_round_robin_fit_counts_whole_workers_per_gpu():
    one = vram.Need(weights=5 * GIB, kv=0, compute=0, context=0, offloaded=1, layers=1)
    assert vram.fit(one, [11 * GIB, 11 * GIB], "per_worker") == 4  # 2 on each
    assert vram.fit(one, [11 * GIB, 6 * GIB], "per_worker") == 3  # GPU1 takes one, GPU0 two
    assert vram.fit(one, [4 * GIB, 20 * GIB], "per_worker") == 0  # worker 0's GPU is too small
    assert vram.fit(one, [], "per_worker") == 0
    # the same GPUs under llama.cpp's split: each worker spreads over both, plus a context
    # on each; with no context or compute 22 GiB / 5 GiB = 4 as well
    assert vram.fit(one, [11 * GIB, 11 * GIB]) == 4


def test_the_arithmetic_names_each_gpus_workers():
    one = vram.Need(weights=5 * GIB, kv=0, compute=0, context=0, offloaded=1, layers=1)
    text = vram.arithmetic(one, 3, [11 * GIB, 11 * GIB], "per_worker")
    assert "one GPU each" in text
    assert "GPU0 2 x 5.00 GiB = 10.00 GiB of 11.00 GiB free" in text
    assert "GPU1 1 x 5.00 GiB = 5.00 GiB of 11.00 GiB free" in text


def test_the_run_cap_and_the_budget_agree_per_worker(tmp_path):
    model = write_gguf_stub(tmp_path / "llama8b.gguf", int(4.92e9))
    opts = Options(model=str(model), n_gpu_layers=-1, gpu_placement="per_worker",
                   gpu_count=2)
    free = [11 * GIB, 11 * GIB]
    plan = vram.budget(model, opts.n_ctx, -1, opts.n_batch, 4, free, "per_worker")
    assert plan.fits == 2  # 5.5 GiB a worker: one per 11 GiB GPU
    fits, why = capacity.llama_memory_cap(opts, 4, (64 * GIB, free))
    assert fits == plan.fits and "one GPU each" in why
    # gpu_count = 1 of the two: the cap budgets only that GPU
    one_gpu = msgspec.structs.replace(opts, gpu_count=1)
    assert capacity.llama_memory_cap(one_gpu, 4, (64 * GIB, free))[0] == 1


def test_placement_at_its_default_leaves_the_trial_identity_unchanged(tmp_path):
    from evalcli.run.engine_setup import ResolvedEngine

    def identity(opts):
        return ResolvedEngine("llama_cpp", LlamaCppEngine, opts, 1, "").identity

    base = identity(_opts())
    assert "gpu_placement" not in base["options"] and "gpu_count" not in base["options"]
    assert identity(_opts(gpu_placement="per_worker", gpu_count=2))["options"][
        "gpu_placement"] == "per_worker"


def test_identity_of_options_holding_lists_and_dicts():
    from engines.mock import MockEngine
    from evalcli.run.engine_setup import ResolvedEngine

    opts = MockEngine.Options(answer_key={"a": "b"}, fail_on=["x"])
    identity = ResolvedEngine("mock", MockEngine, opts, 1, "").identity
    assert identity["options"]["fail_on"] == ["x"] and "answer_key" not in identity["options"]
