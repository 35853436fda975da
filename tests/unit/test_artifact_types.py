"""The typed run directory: events.jsonl lines, run.json sections, result lines — each
decodes back to its type, and a value outside the type is refused, not passed through."""

from __future__ import annotations

import json
import typing

import msgspec
import pytest

from evalcli.store import events as ev
from evalcli.store.manifest import (
    LookRecord,
    Manifest,
    MaxTokens,
    PlanSummary,
    Stopping,
    TrialParams,
    new_manifest,
    read_manifest,
    stopped_at_verdict,
    write_manifest,
)
from evalcli.store.results import ResultRecord
from evalcli.store.rundir import EventLog

LOOK = LookRecord(blocks=3, items=60, of_items=200, control_mean=0.4, treatment_mean=0.6,
                  estimate=0.2, lo=0.05, hi=0.35, decision="difference",
                  direction="treatment better")


def _one_of_each() -> list[ev.AnyEvent]:
    """One instance of every event type, fields filled from their annotations."""
    samples = {int: 3, float: 1.5, str: "x", "str | None": None, "int | None": 7}
    out = []
    for cls in typing.get_args(ev.AnyEvent):
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for name in cls.__struct_fields__:
            if name == "at":
                continue
            hint = hints[name]
            if hint is LookRecord:
                kwargs[name] = LOOK
            elif typing.get_origin(hint) is list:
                kwargs[name] = []
            elif typing.get_origin(hint) is typing.Literal:
                kwargs[name] = typing.get_args(hint)[0]
            else:
                kwargs[name] = samples.get(hint, samples.get(str(hint).replace("typing.", ""), 7))
        out.append(cls(**kwargs))
    return out


def test_every_event_is_written_with_its_tag_and_reads_back_as_its_type(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    written = _one_of_each()
    for event in written:
        log.emit(event)
    log.close()
    lines = path.read_bytes().splitlines()
    assert len(lines) == len(written) == len(typing.get_args(ev.AnyEvent))
    for line, event in zip(lines, written, strict=True):
        raw = json.loads(line)
        assert raw["event"] == type(event).__struct_config__.tag and raw["at"].endswith("Z")
        assert ev.decode_event(line) == event


def test_every_event_type_is_in_the_union_and_names_are_unique():
    defined = {obj for obj in vars(ev).values()
               if isinstance(obj, type) and issubclass(obj, ev.Event) and obj is not ev.Event}
    assert defined == set(typing.get_args(ev.AnyEvent))
    tags = [cls.__struct_config__.tag for cls in defined]
    assert len(tags) == len(set(tags))


def test_an_unknown_event_or_a_wrong_field_is_refused():
    with pytest.raises(msgspec.ValidationError):
        ev.decode_event(b'{"event": "worker_exploded", "at": ""}')
    with pytest.raises(msgspec.ValidationError):
        ev.decode_event(b'{"event": "retry", "unit": "u", "error": "e", "attempt": "twice"}')


def test_run_json_sections_round_trip(tmp_path):
    m = new_manifest("r1")
    m.status = "running"
    m.plan = PlanSummary(units=4, items=2, conditions=["a", "b"], control="a", engine="mock",
                         workers=1, trials=["t"])
    m.stopping = Stopping(metric="em", control="a", treatment="b", alpha=0.05, margin=0.02,
                          min_items=20, block_size=10, items_planned=200, stopped_early=True,
                          look=LOOK, skipped_units=280)
    path = tmp_path / "run.json"
    write_manifest(path, m)
    back = read_manifest(path)
    assert back == m and stopped_at_verdict(back)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["stopping"]["look"]["decision"] == "difference"
    # a fixed-n run writes no `stopping` at all
    write_manifest(path, new_manifest("r2"))
    assert "stopping" not in json.loads(path.read_text(encoding="utf-8"))
    assert not stopped_at_verdict(read_manifest(path))


@pytest.mark.parametrize("edit", [
    lambda m: m.update(status="finished"),
    lambda m: m["stages"]["parse"].update(status="half-done"),
    lambda m: m.update(plan={"units": "many"}),
    lambda m: m.update(stopping={"look": {"decision": "maybe"}}),
])
def test_a_value_outside_the_type_is_refused(tmp_path, edit):
    raw = msgspec.to_builtins(new_manifest("r3"))
    edit(raw)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(raw, Manifest)


def test_result_lines_refuse_an_unknown_status_or_error_kind():
    ok = b'{"custom_id": "c", "status": "failed", "error": "boom", "error_kind": "crash"}'
    assert msgspec.json.decode(ok, type=ResultRecord).error_kind == "crash"
    for bad in (ok.replace(b'"failed"', b'"weird"'), ok.replace(b'"crash"', b'"gremlins"')):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(bad, type=ResultRecord)


def test_the_error_kinds_a_result_line_takes_are_the_engines():
    import engines.base
    import evalcli.store.results

    assert typing.get_args(engines.base.ErrorKind) == \
        typing.get_args(evalcli.store.results.ErrorKind)


def test_trial_params_leave_out_empty_model_and_format_so_trial_ids_keep_their_hash():
    params = TrialParams(temperature=0.0, top_p=1.0, top_k=40,
                         max_tokens=MaxTokens(open=48, closed=32), stop=[],
                         repeat_penalty=1.0, seed=1, samples_per_item=1, prompt_set="default")
    encoded = json.loads(msgspec.json.encode(params))
    assert "model" not in encoded and "prompt_format" not in encoded
    assert params.get("model") is None and params.get("top_k") == 40
    assert msgspec.structs.replace(params, model="m").get("model") == "m"


@pytest.mark.parametrize("temp", ["1e400", "-1e400", "nan", "-0.5", "101"])
def test_a_custom_id_with_an_impossible_temperature_is_refused(temp):
    # found by the fuzz test: "-1e400" read as -inf reached the statistics as a temperature
    from evalcli.store.customid import parse_custom_id

    with pytest.raises(ValueError, match="temperature"):
        parse_custom_id(f"sample|q1|control|{temp}|0|open")
    assert parse_custom_id("sample|q1|control|0.7|0|open").temp == 0.7
