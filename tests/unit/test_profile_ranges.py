"""Every profile key with a bad value stops `evalcli run` before anything is written: one line
on stderr naming the file and the key, exit code 2, no traceback, no run directory.

The table must name every key the profile structs have (and every option of the mock
engine): a key added later without a bad value here fails `test_the_table_covers_every_key`.
"""

from __future__ import annotations

import math

import msgspec
import msgspec.inspect as mi
import pytest

from engines import engine_class, engine_names
from evalcli.errors import ConfigError
from evalcli.inputs.config import Profile, decode_profile, load_profile
from tests.cli_inprocess import evalcli_here

BASE = {"engine": {"name": "mock", "workers": 1, "options": {}},
        "datasets": [{"format": "sample"}]}

# key -> (where in the profile, the bad value, words the message must contain)
BAD: dict[str, list[tuple[str, object, str]]] = {
    "description": [("description", 12, "description = 12")],
    "engine": [("engine", "mock", "engine = \"mock\"")],
    "engine.name": [("engine.name", "nope", "is not an engine")],
    "engine.workers": [("engine.workers", 0, "engine.workers = 0"),
                       ("engine.workers", 100_000, "from 1 to 1024")],
    "engine.options": [("engine.options", "x", "engine.options = \"x\"")],
    "engine.variants": [("engine.variants", [{"accuracy": 2.0}],
                         "engine.variants[0].accuracy = 2.0")],
    "sampling": [("sampling", 1, "sampling = 1")],
    "sampling.temperatures": [("sampling.temperatures", [math.inf], "temperatures[0] = inf"),
                              ("sampling.temperatures", [math.nan], "temperatures[0] = nan"),
                              ("sampling.temperatures", [-0.5], "temperatures[0] = -0.5"),
                              ("sampling.temperatures", [], "give at least one value")],
    "sampling.samples_per_item": [("sampling.samples_per_item", 1e23, "= 1e+23"),
                                  ("sampling.samples_per_item", 0, "= 0"),
                                  ("sampling.samples_per_item", 10**9, "from 1 to 1_000_000")],
    "sampling.top_p": [("sampling.top_p", 0.0, "top_p = 0.0"),
                       ("sampling.top_p", [0.5, 2.0], "top_p[1] = 2.0")],
    "sampling.top_k": [("sampling.top_k", -1, "top_k = -1")],
    "sampling.seed": [("sampling.seed", -1, "sampling.seed = -1")],
    "sampling.stop": [("sampling.stop", "x", "sampling.stop")],
    "sampling.repeat_penalty": [("sampling.repeat_penalty", math.inf, "repeat_penalty = inf")],
    "sampling.max_tokens": [("sampling.max_tokens", [], "max_tokens = []")],
    "sampling.max_tokens.open": [("sampling.max_tokens", {"open": 0}, "max_tokens.open = 0")],
    "sampling.max_tokens.closed": [("sampling.max_tokens", {"closed": -3},
                                    "max_tokens.closed = -3")],
    "sampling.max_tokens[].open": [("sampling.max_tokens", [{"open": 8}, {"open": 1e9}],
                                    "max_tokens[1].open = 1000000000.0")],
    "sampling.max_tokens[].closed": [("sampling.max_tokens", [{"closed": "8"}],
                                      "max_tokens[0].closed = \"8\"")],
    "datasets": [("datasets", "sample", "datasets = \"sample\"")],
    "datasets[].format": [("datasets", [{"format": "parquet"}], "datasets[0].format")],
    "datasets[].path": [("datasets", [{"format": "jsonl"}], "`path` is required")],
    "datasets[].name": [("datasets", [{"format": "sample", "name": "a|b"}], "name \"a|b\"")],
    "datasets[].type": [("datasets", [{"format": "sample", "type": "opne"}], "type = \"opne\"")],
    "datasets[].limit": [("datasets", [{"format": "sample", "limit": -5}], "limit = -5")],
    "datasets[].seed": [("datasets", [{"format": "sample", "seed": -1}], "seed = -1")],
    "datasets[].columns": [("datasets", [{"format": "sample", "columns": {"question": "q"}}],
                            "`columns` applies only")],
    "datasets[].answers_sep": [("datasets", [{"format": "sample", "answers_sep": ";"}],
                                "`answers_sep` applies only")],
    "datasets[].hf_name": [("datasets", [{"format": "hf", "hf_name": "imdb"}], "hf_name")],
    "datasets[].hf_config": [("datasets", [{"format": "sample", "hf_config": "x"}],
                              "`hf_config` applies only")],
    "datasets[].split": [("datasets", [{"format": "sample", "split": "x"}], "`split` applies")],
    "datasets[].cache_dir": [("datasets", [{"format": "sample", "cache_dir": "x"}],
                              "`cache_dir` applies only")],
    "prompts": [("prompts", [], "prompts = []")],
    "prompts.set": [("prompts.set", [], "prompts.set = []"),
                    ("prompts.set", "no-such-set", "no-such-set")],
    "scoring": [("scoring", 0, "scoring = 0")],
    "scoring.abstain_phrases": [("scoring.abstain_phrases", "idk", "abstain_phrases")],
    "scoring.unsupported_strategy": [("scoring.unsupported_strategy", "x",
                                      "use one of: baseline, overlap")],
    "scoring.overlap_threshold": [("scoring.overlap_threshold", 1.5, "overlap_threshold = 1.5")],
    "stats": [("stats", "x", "stats = \"x\"")],
    "stats.seed": [("stats.seed", -1, "stats.seed = -1")],
    "stats.bootstrap_samples": [("stats.bootstrap_samples", 0, "bootstrap_samples = 0")],
    "stats.permutation_samples": [("stats.permutation_samples", -1, "permutation_samples = -1")],
    "stats.confidence": [("stats.confidence", 2.0, "stats.confidence = 2.0"),
                         ("stats.confidence", math.nan, "stats.confidence = nan")],
    "stats.tost_margins": [("stats.tost_margins", {"em": -0.02}, "stats.tost_margins")],
    "run": [("run", [], "run = []")],
    "run.limit_items": [("run.limit_items", -5, "run.limit_items = -5")],
    "run.unit_timeout_s": [("run.unit_timeout_s", -1, "unit_timeout_s = -1"),
                           ("run.unit_timeout_s", math.inf, "unit_timeout_s = inf")],
    "run.max_crashes_per_unit": [("run.max_crashes_per_unit", 0, "max_crashes_per_unit = 0")],
    "run.max_engine_retries": [("run.max_engine_retries", -1, "max_engine_retries = -1")],
    "run.max_consecutive_failures": [("run.max_consecutive_failures", -1,
                                      "max_consecutive_failures = -1")],
    "run.max_units": [("run.max_units", 0, "max_units = 0"),
                      ("run.max_units", 10, "more than run.max_units = 10")],
    "run.arm_block_items": [("run.arm_block_items", -1, "arm_block_items = -1")],
    "pricing": [("pricing", 1, "pricing = 1")],
    "pricing.input_per_million": [("pricing", {"input_per_million": -1.0,
                                               "output_per_million": 1.0},
                                   "input_per_million = -1.0")],
    "pricing.output_per_million": [("pricing", {"input_per_million": 1.0,
                                                "output_per_million": math.inf},
                                    "output_per_million = inf"),
                                   ("pricing", {"output_per_million": 1.0}, "set both")],
    "pricing.currency": [("pricing.currency", 5, "currency = 5")],
    "stopping": [("stopping", 1, "stopping = 1")],
    "gate.non_inferior": [("gate.non_inferior", {"em": 0.0}, "> 0 and <= 100"),
                          ("gate.non_inferior", {"abstain_rate": 2.0},
                           "use one of: em, f1, false_answer_rate")],
    "gate.not_worse": [("gate.not_worse", ["bleu"], "use one of: em, f1, false_answer_rate")],
    "gate.no_failed_units": [("gate.no_failed_units", "yes", "gate.no_failed_units")],
    "gate.max_truncated_pct": [("gate.max_truncated_pct", 101, ">= 0 and <= 100")],
    "gate.max_empty_pct": [("gate.max_empty_pct", -1, ">= 0 and <= 100")],
    "stopping.metric": [("stopping.metric", "bleu", "use one of: abstain_rate, em, f1")],
    "stopping.arms": [("stopping.arms", ["a"], "arms = [\"a\"]"),
                      ("stopping.arms", ["a", "a"], "two different")],
    "stopping.alpha": [("stopping.alpha", 1.5, "alpha = 1.5")],
    "stopping.margin": [("stopping.margin", -0.1, "margin = -0.1")],
    "stopping.min_items": [("stopping.min_items", 0, "min_items = 0")],
    "stopping.max_items": [("stopping.max_items", -1, "max_items = -1"),
                           ("stopping.max_items", 10, "max_items = 10")],
    "stopping.block_size": [("stopping.block_size", 0, "block_size = 0")],
    "stopping.design": [("stopping.design", "bayes", "use one of: anytime, group-sequential")],
    "stopping.spending": [("stopping.spending", "haybittle",
                           "use one of: obrien-fleming, pocock, power")],
    "stopping.rho": [("stopping.rho", 0, "rho = 0")],
    "stopping.seed": [("stopping.seed", -1, "stopping.seed = -1")],
    "telemetry": [("telemetry", True, "telemetry = true")],
    "gate": [("gate", "strict", "gate = \"strict\"")],
    "telemetry.enabled": [("telemetry.enabled", "yes", "telemetry.enabled = \"yes\"")],
    "telemetry.interval_s": [("telemetry.interval_s", 0, "interval_s = 0")],
    "cache": [("cache", True, "cache = true")],
    "cache.reuse": [("cache.reuse", "yes", "cache.reuse = \"yes\"")],
    "cache.remote": [("cache.remote", 1, "cache.remote = 1")],
    "cache.check_determinism": [("cache.check_determinism", -1, "check_determinism = -1")],
    "cache.path": [("cache.path", 5, "cache.path = 5")],
}
# the mock engine's options (the engine the CLI table runs)
MOCK = "engine.options."
BAD.update({MOCK + key: [(MOCK + key, value, f"{MOCK}{key} = ")] for key, value in {
    "model": 5, "accuracy": 1.5, "accuracy_by_condition": {"control": -1.0},
    "abstain_rate": math.nan, "latency_ms": -1.0, "padding_chars": -1, "answer_key": {"a": "b"},
    "answer_file": 1, "fail_on": "x", "raise_on": "x", "crash_on": "x", "fault_on": "x", "kill_on": "x",
    "hang_on": "x", "fail_load": "yes", "exit_on_load": "yes", "fail_retryable": "yes",
    "heal_file": 1, "gate_file": 1, "gate_after": -1, "busy_after": -1,
    "busy_latency_ms": -1.0}.items()})

CASES = [(key, where, value, words) for key, rows in BAD.items()
         for where, value, words in rows]


def _keys(info, prefix: str) -> set[str]:
    """Every dotted key of a struct type (a list of structs as `name[]`)."""
    keys: set[str] = set()
    while isinstance(info, mi.Metadata):
        info = info.type
    members = info.types if isinstance(info, mi.UnionType) else (info,)
    for member in members:
        while isinstance(member, mi.Metadata):
            member = member.type
        if isinstance(member, mi.StructType):
            for f in member.fields:
                keys.add(prefix + f.encode_name)
                keys |= _keys(f.type, prefix + f.encode_name + ".")
        elif isinstance(member, mi.ListType):
            inner = member.item_type
            if isinstance(inner, mi.StructType):
                keys |= _keys(inner, prefix.rstrip(".") + "[].")
    return keys


def test_the_table_covers_every_key():
    every = _keys(mi.type_info(Profile), "") | {
        MOCK + f for f in engine_class("mock").Options.__struct_fields__}
    assert every - set(BAD) == set(), "give these keys a bad value in BAD"


def _profile(where: str, value: object) -> dict:
    profile = msgspec.convert(msgspec.to_builtins(BASE), dict)
    node = profile
    *parents, last = where.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    if where.startswith("stopping.") or where == "run.max_units":
        node_s = profile.setdefault("sampling", {})
        node_s.setdefault("samples_per_item", 1)
    return profile


def _write(tmp_path, profile: dict):
    path = tmp_path / "bad.toml"
    path.write_bytes(msgspec.toml.encode(profile))
    return path


@pytest.mark.parametrize(("key", "where", "value", "words"), CASES,
                         ids=[f"{c[0]}={c[2]!r}"[:60] for c in CASES])
def test_a_bad_value_is_one_line_exit_2_and_no_run_directory(tmp_path, monkeypatch, key, where,
                                                             value, words):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, _profile(where, value))
    runs = tmp_path / "runs"
    code, out, err = evalcli_here("run", "--profile", path, "--runs-dir", runs)
    assert (code, err.count("\n")) == (2, 1), (code, out, err)
    assert err.startswith(f"error: {path}: "), err
    assert words in err, err
    assert "Traceback" not in err + out
    assert not runs.exists()


@pytest.mark.parametrize(("flags", "words"), [
    (["--workers", "0"], "--workers 0 — give a whole number from 1 to 1024"),
    (["--workers", "5000"], "--workers 5000"),
    (["--limit-items", "-5"], "--limit-items -5 — give a whole number from 0"),
    (["--max-units", "0"], "--max-units 0"),
    (["--max-units", "10"], "more than run.max_units = 10 — check"),
])
def test_a_bad_flag_value_is_checked_like_the_profile(tmp_path, monkeypatch, flags, words):
    monkeypatch.chdir(tmp_path)
    code, out, err = evalcli_here("run", "-p", "mock", "--runs-dir", tmp_path / "runs", *flags)
    assert (code, err.count("\n")) == (2, 1) and words in err, (code, out, err)
    assert not (tmp_path / "runs").exists()


def test_max_units_can_be_raised(tmp_path):
    text = msgspec.toml.encode({**BASE, "sampling": {"samples_per_item": 2000}}).decode()
    profile = decode_profile(text, "p.toml")  # 584,000 units: under the default cap
    assert profile.run.max_units == 1_000_000
    profile = decode_profile(text + "\n[run]\nmax_units = 5\n", "p.toml")
    assert profile.run.max_units == 5


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + msgspec.toml.encode(BASE))
    assert load_profile(str(path)).profile.engine.name == "mock"


def test_a_profile_not_in_utf8_is_one_line(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('description = "café"\n'.encode("cp1252") + msgspec.toml.encode(BASE))
    with pytest.raises(ConfigError, match="not UTF-8 text .* save the profile as UTF-8"):
        load_profile(str(path))


# every engine's numeric, URL and enum options: a bad value is refused with its key
ENGINE_BAD = {
    "llama_cpp": {"n_ctx": 0, "n_gpu_layers": -2, "n_threads": -1, "n_batch": 0},
    "ollama": {"base_url": "127.0.0.1:11434", "num_ctx": 0, "num_parallel": 0,
               "timeout_s": -1.0, "connect_timeout_s": math.inf, "max_retries": -1,
               "backoff_s": math.nan, "backoff_max_s": -1.0},
    "openai": {"base_url": "127.0.0.1:8080", "base_urls": ["localhost:1"], "max_workers": 0,
               "timeout_s": 0.0, "max_tokens_field": "tokens"},
    "fireworks_batch": {"base_url": "api.fireworks.ai", "dataset_ready_timeout_s": -1.0,
                        "poll_interval_s": -1.0, "max_requests_per_job": 0},
    "openai_batch": {"base_url": "api.openai.com", "poll_interval_s": math.inf},
}
REQUIRED = {"ollama": {"model": "m"}, "openai": {"model": "m", "base_url": "http://h"},
            "fireworks_batch": {"model": "m", "account_id": "a"},
            "openai_batch": {"model": "m"}, "llama_cpp": {}}
ENGINE_CASES = [(e, k, v) for e, bad in ENGINE_BAD.items() for k, v in bad.items()]


def test_every_engine_is_in_the_engine_table():
    assert set(ENGINE_BAD) == set(engine_names()) - {"mock"}


@pytest.mark.parametrize(("engine", "key", "value"), ENGINE_CASES)
def test_engine_options_are_checked(engine, key, value):
    options = {**REQUIRED[engine], key: value}
    if key == "base_urls":
        options.pop("base_url")
    text = msgspec.toml.encode({"engine": {"name": engine, "options": options}}).decode()
    with pytest.raises(ConfigError) as info:
        decode_profile(text, "p.toml")
    message = info.value.message
    assert message.startswith(f"p.toml: engine.options.{key}") and "\n" not in message
    if "url" in key:
        assert '— give the URL with its scheme, e.g. "http://' in message


@pytest.mark.parametrize(("url", "fix"), [
    ("127.0.0.1:8080", '— give the URL with its scheme, e.g. "http://127.0.0.1:8080"'),
    ("ftp://127.0.0.1:9/v1", "— give a URL that starts with http:// or https://"),
    (" http://127.0.0.1:9/v1 ", '— remove the spaces around it: "http://127.0.0.1:9/v1"'),
    ("http ://h", "— give a URL that starts with http:// or https://"),
])
def test_a_bad_url_gets_a_fix_that_works(url, fix):
    """`http://` is suggested only where it makes a URL (never "http://ftp://…")."""
    text = msgspec.toml.encode({"engine": {"name": "openai",
                                           "options": {"model": "m", "base_url": url}}}).decode()
    with pytest.raises(ConfigError) as info:
        decode_profile(text, "p.toml")
    assert fix in info.value.message and "http://ftp" not in info.value.message


def test_a_profile_nested_too_deeply_is_one_line():
    with pytest.raises(ConfigError, match="^p.toml: not valid TOML"):
        decode_profile('[engine]\nname = "mock"\ndescription = ' + "[" * 5000 + "]" * 5000,
                       "p.toml")


def test_a_prompt_set_with_a_bom_loads(tmp_path):
    from importlib import resources

    from evalcli.inputs.prompts import load_prompt_set

    bundled = resources.files("evalcli.inputs").joinpath("data", "prompts", "default.toml")
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + bundled.read_bytes())
    assert load_prompt_set(str(path), tmp_path).prompts.control == "control"


def test_the_real_command_line_says_the_same(tmp_path):
    """Two cases through `python -m evalcli` in a child process (the table runs in-process)."""
    from tests.helpers import evalcli

    for name, profile, words in (
        ("conf.toml", {**BASE, "stats": {"confidence": 2.0}}, "stats.confidence = 2.0"),
        ("url.toml", {"engine": {"name": "ollama", "options": {"model": "m",
                                                               "base_url": "127.0.0.1:8080"}}},
         'e.g. "http://127.0.0.1:8080"'),
    ):
        path = tmp_path / name
        path.write_bytes(msgspec.toml.encode(profile))
        result = evalcli("run", "-p", path, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert words in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "runs").exists()
