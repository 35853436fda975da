"""Planning: custom ids, trial identity, seeds shared across conditions, requests."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from evalcli.inputs.config import MaxTokens, SamplingConfig
from evalcli.inputs.items import Item
from evalcli.inputs.prompts import load_prompt_set
from evalcli.run.plan import Plan, unit_seed
from evalcli.store.customid import CustomId, format_temp, parse_custom_id

ITEMS = [
    Item(dataset="d", item_id="o1", type="open", question="Q1?", answers=["a"], passage="P a."),
    Item(dataset="d", item_id="c1", type="closed", question="Q2?", answers=["b"]),
]


def _plan(**sampling) -> Plan:
    prompts = load_prompt_set("default", Path.cwd())
    return Plan(items=ITEMS, prompt_sets=[("default", prompts.sha256, prompts.prompts)],
                engine_identity={"engine": "mock"},
                model_label="m", sampling=SamplingConfig(**sampling), seed=5)


def test_custom_id_round_trip_and_predecessor_format():
    cid = CustomId("squad_v2", "abc", "treatment", 0.7, 2, "open")
    assert str(cid) == "squad_v2|abc|treatment|0.7|2|open"
    assert parse_custom_id(str(cid)) == cid
    assert parse_custom_id("triviaqa|q1|control|0.0|0|closed").item_key == "triviaqa|q1"
    with pytest.raises(ValueError):
        parse_custom_id("a|b|c")


def test_temperatures_keep_their_precision():
    assert format_temp(0.0) == "0.0" and format_temp(0.7) == "0.7"
    assert format_temp(0.75) == "0.75"  # never collides with 0.8


def test_plan_expands_and_groups_by_condition():
    plan = _plan(temperatures=[0.0, 0.7], samples_per_item=2)
    assert len(plan.trials) == 2
    assert len(plan.units) == 2 * 2 * 2 * 2  # temps x conditions x items x samples
    assert len({u.custom_id for u in plan.units}) == len(plan.units)
    first_trial = [u for u in plan.units if u.trial == plan.trials[0].slug]
    conditions = [u.condition for u in first_trial]
    assert conditions == sorted(conditions, key=["control", "treatment"].index)


def test_trial_slug_changes_with_anything_that_changes_results():
    base = _plan().trials[0].slug
    assert _plan().trials[0].slug == base
    assert _plan(top_p=0.9).trials[0].slug != base
    assert _plan(stop=["\n"]).trials[0].slug != base


def test_only_the_system_message_differs_and_seeds_are_shared():
    plan = _plan(samples_per_item=2)
    by_key = {}
    for unit in plan.units:
        by_key.setdefault((unit.item_index, unit.sample_index), []).append(plan.request(unit))
    for control, treatment in by_key.values():
        assert control.messages[0].content != treatment.messages[0].content
        assert control.messages[1:] == treatment.messages[1:]
        assert control.params == treatment.params  # same seed: common random numbers
    seeds = {plan.request(u).params.seed for u in plan.units if u.condition == "control"}
    assert len(seeds) == 4


def test_max_tokens_per_type_and_longest_request():
    plan = _plan(max_tokens=MaxTokens(open=40, closed=9))
    by_type = {plan.items[u.item_index].type: plan.request(u).params.max_tokens
               for u in plan.units}
    assert by_type == {"open": 40, "closed": 9}
    assert plan.longest_request().item_key == "d|o1"


def test_every_profile_sampling_setting_reaches_the_request():
    plan = _plan(temperatures=[0.3], top_p=0.8, top_k=11, stop=["###"], repeat_penalty=1.2,
                 max_tokens=MaxTokens(open=40, closed=9))
    for unit in plan.units:
        params = plan.request(unit).params
        assert (params.temperature, params.top_p, params.top_k, params.stop,
                params.repeat_penalty) == (0.3, 0.8, 11, ["###"], 1.2)
        assert params.seed == unit_seed(plan.seed, plan.items[unit.item_index], unit.sample_index)


def test_prompt_set_sweep_runs_a_shared_control_once(tmp_path):
    from evalcli.inputs.prompts import load_prompt_set

    base = load_prompt_set("default", Path.cwd())
    other_file = tmp_path / "other.toml"
    # the same control and treatment as the default set, plus a third condition
    other_file.write_text(_default_text().replace(
        'treatment = """', 'terse = """Answer in as few words as you can.\n"""\ntreatment = """', 1),
        encoding="utf-8")
    other = load_prompt_set(str(other_file), tmp_path)
    plan = Plan(items=ITEMS, prompt_sets=[("default", base.sha256, base.prompts),
                                          ("other", other.sha256, other.prompts)],
                engine_identity={}, model_label="m", sampling=SamplingConfig(), seed=5)
    first, second = plan.trials
    assert first.slug != second.slug
    # the second set's control and treatment are identical requests: they run once
    second_units = [u for u in plan.units if u.trial == second.slug]
    assert {u.condition for u in second_units} == {"terse"}
    rows = list(plan.rows_of(second.slug))
    assert len(rows) == 3 * len(ITEMS)  # every condition of the second set has its rows
    shared = [r for r in rows if r.source_trial == first.slug]
    assert {r.custom_id.split("|")[2] for r in shared} == {"control", "treatment"}
    # every row's result is a planned unit's, and every unit is some row's own result
    units = {(u.trial, u.custom_id) for u in plan.units}
    sources = [(r.source_trial, r.source_id) for t in plan.trials for r in plan.rows_of(t.slug)]
    assert set(sources) == units and len(sources) == len(units) + len(shared)
    assert [plan.row_count(t.slug) for t in plan.trials] == [2 * len(ITEMS), 3 * len(ITEMS)]


def _default_text() -> str:
    from importlib import resources

    return resources.files("evalcli.inputs").joinpath("data/prompts/default.toml").read_text("utf-8")


def _sweep_plan(engines, **sampling) -> Plan:
    prompts = load_prompt_set("default", Path.cwd())
    return Plan(items=ITEMS, prompt_sets=[("default", prompts.sha256, prompts.prompts)],
                engines=[(*e, "chat") for e in engines], sampling=SamplingConfig(**sampling), seed=5)


def test_a_sampling_sweep_is_the_product_with_readable_unique_slugs():
    plan = _sweep_plan([({"engine": "mock", "model": "m"}, "m")], temperatures=[0.0, 0.7],
                       top_p=[0.9, 1.0], top_k=[20, 40],
                       max_tokens=[MaxTokens(open=8, closed=4), MaxTokens(open=16, closed=8)])
    assert len(plan.trials) == 2 * 2 * 2 * 2
    slugs = [t.slug for t in plan.trials]
    assert len(set(slugs)) == len(slugs)
    assert slugs[0].startswith("m-default-t00-p09-k20-m8x4-")
    assert plan.trials[0].label == "top_p=0.9, top_k=20, max_tokens=8/4"
    # every request carries its trial's settings, per book type
    for trial in plan.trials:
        for unit in (u for u in plan.units if u.trial == trial.slug):
            params = plan.request(unit).params
            item = ITEMS[unit.item_index]
            assert (params.temperature, params.top_p, params.top_k) == (
                trial.temperature, trial.params.top_p, trial.params.top_k)
            assert params.max_tokens == trial.params.max_tokens.for_type(item.type)
    # nothing is shared: every trial's requests differ in some setting
    assert len(plan.units) == 16 * len(ITEMS) * 2


def test_one_value_keeps_the_slug_of_before():
    before = _plan(temperatures=[0.7]).trials[0].slug
    after = _sweep_plan([({"engine": "mock"}, "m")], temperatures=[0.7], top_p=[1.0]).trials[0]
    assert after.slug == before and after.label == ""


def test_a_model_sweep_runs_each_models_requests_and_orders_units_by_model():
    plan = _sweep_plan([({"engine": "mock", "model": "a"}, "a"),
                        ({"engine": "mock", "model": "b"}, "b")], temperatures=[0.0])
    assert [t.slug.split("-")[0] for t in plan.trials] == ["a", "b"]
    assert [t.variant for t in plan.trials] == [0, 1]
    assert all(t.params.model == t.slug.split("-")[0] for t in plan.trials)
    # the same control on another model is another request: nothing aliased
    assert all(r.source_trial == t.slug for t in plan.trials for r in plan.rows_of(t.slug))
    variants = [u.variant for u in plan.units]
    assert variants == sorted(variants) and set(variants) == {0, 1}


# --- sequential runs ([stopping]) -------------------------------------------------------

def _many_items(n: int = 30) -> list[Item]:
    return [Item(dataset="d", item_id=f"i{k}", type="open" if k % 2 else "closed",
                 question=f"Q{k}?", answers=["a"], passage=f"P{k} a." if k % 2 else "")
            for k in range(n)]


def _plan_of(items, stopping=None, arm_block_items=0, **sampling) -> Plan:
    prompts = load_prompt_set("default", Path.cwd())
    return Plan(items=items, prompt_sets=[("default", prompts.sha256, prompts.prompts)],
                engine_identity={"engine": "mock"}, model_label="m",
                sampling=SamplingConfig(**sampling), seed=5, stopping=stopping,
                arm_block_items=arm_block_items)


def _rows(plan: Plan) -> list[tuple]:
    return [(u.custom_id, u.trial, u.item_index, u.condition, u.sample_index,
             plan.request(u).params.seed, u.variant, u.block) for u in plan.units]


def _runs(units) -> list[tuple[str, int]]:
    """(condition, how many consecutive units) along the order."""
    out: list[tuple[str, int]] = []
    for u in units:
        if out and out[-1][0] == u.condition:
            out[-1] = (u.condition, out[-1][1] + 1)
        else:
            out.append((u.condition, 1))
    return out


def test_arm_blocks_alternate_abba_and_change_only_the_order():
    grouped = _plan_of(_many_items(), samples_per_item=2)
    plan = _plan_of(_many_items(), samples_per_item=2, arm_block_items=8)
    # the same units, ids, seeds and requests: only the order they are handed out in differs
    assert sorted(_rows(plan)) == sorted(_rows(grouped)) and _rows(plan) != _rows(grouped)
    assert [plan.request(u) for u in sorted(plan.units, key=lambda u: u.custom_id)] == \
        [grouped.request(u) for u in sorted(grouped.units, key=lambda u: u.custom_id)]
    # 30 items in arm blocks of 8, 8, 8, 6 (x 2 samples): C T | T C | C T | T C
    assert _runs(plan.units) == [("control", 16), ("treatment", 32), ("control", 32),
                                 ("treatment", 28), ("control", 12)]
    assert [u.chunk for u in plan.units][::16][:4] == [0, 0, 1, 1]
    for chunk in range(4):  # each arm block: both arms on the same items, samples together
        units = [u for u in plan.units if u.chunk == chunk]
        control = [(u.item_index, u.sample_index) for u in units if u.condition == "control"]
        assert control == [(u.item_index, u.sample_index) for u in units
                           if u.condition == "treatment"]
        assert [i for i, _ in control[::2]] == list(range(8 * chunk, min(8 * chunk + 8, 30)))
    # 0 or a block as large as the items: the fully grouped order of before
    assert _rows(_plan_of(_many_items(), samples_per_item=2, arm_block_items=30)) == \
        _rows(grouped)


def test_an_arm_block_runs_on_to_the_last_item_of_its_passage():
    # items 0-4 share one passage, 5-9 another: a cut after 3 items would make the other arm
    # read passage A again; the block runs on to item 4 instead
    items = [Item(dataset="d", item_id=f"i{k}", type="open", question=f"Q{k}?", answers=["a"],
                  passage="P one." if k < 5 else "P two.") for k in range(10)]
    plan = _plan_of(items, arm_block_items=3)
    chunks = [[u.item_index for u in plan.units if u.chunk == c and u.condition == "control"]
              for c in range(2)]
    assert chunks == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert sorted(_rows(plan)) == sorted(_rows(_plan_of(items)))


def test_arm_blocks_in_a_sweep_serpentine_over_every_group_and_model():
    plan = _sweep_plan([({"engine": "mock", "model": "a"}, "a"),
                        ({"engine": "mock", "model": "b"}, "b")], temperatures=[0.0, 0.7])
    grouped = Plan(items=plan.items, prompt_sets=[("default", "x", plan.prompt_sets[0])],
                   engines=[({"engine": "mock", "model": "a"}, "a", "chat"),
                            ({"engine": "mock", "model": "b"}, "b", "chat")],
                   sampling=plan.sampling, seed=plan.seed)
    blocked = Plan(items=plan.items, prompt_sets=[("default", "x", plan.prompt_sets[0])],
                   engines=[({"engine": "mock", "model": "a"}, "a", "chat"),
                            ({"engine": "mock", "model": "b"}, "b", "chat")],
                   sampling=plan.sampling, seed=plan.seed, arm_block_items=1)
    assert sorted(_rows(blocked)) == sorted(_rows(grouped))
    variants = [u.variant for u in blocked.units]
    assert variants == sorted(variants)  # still one model after the other
    keys = [(g.trial, g.condition) for g in blocked.groups if g.variant == 0]
    per = len(keys) // len(plan.items)  # groups of one arm block
    first, second = keys[:per], keys[per:2 * per]
    assert len(first) == 4 and second == first[::-1]
    # no edge between arm blocks changes the system prompt
    pairs = zip(blocked.groups, blocked.groups[1:], strict=False)
    assert all(a.key[3:] == b.key[3:] for a, b in pairs
               if a.chunk != b.chunk and a.variant == b.variant)


def test_arm_blocks_keep_a_sweeps_shared_control_once(tmp_path):
    from evalcli.inputs.prompts import PromptSet

    base = load_prompt_set("default", Path.cwd()).prompts
    other = PromptSet(**{**msgspec.structs.asdict(base), "system": {
        **base.system, "treatment": base.system["treatment"] + " Be brief."}})
    sets = [("a", "sha-a", base), ("b", "sha-b", other)]
    kwargs = dict(items=_many_items(10), prompt_sets=sets, engine_identity={"engine": "mock"},
                  model_label="m", sampling=SamplingConfig(), seed=5)
    grouped, blocked = Plan(**kwargs), Plan(**kwargs, arm_block_items=4)
    assert sorted(_rows(blocked)) == sorted(_rows(grouped)) and len(blocked.units) == 30
    for trial in blocked.trials:
        assert list(blocked.rows_of(trial.slug)) == list(grouped.rows_of(trial.slug))


def test_plan_without_stopping_is_byte_for_byte_the_fixed_n_plan():
    # the hash of the unit list computed with the code before [stopping] existed
    import hashlib
    import json

    plan = _plan_of(_many_items(), temperatures=[0.0, 0.7], samples_per_item=2)
    rows = [[u.custom_id, u.trial, u.item_index, u.condition, u.sample_index,
             plan.request(u).params.seed, u.variant]
            for u in plan.units]
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    assert digest == "e1479cfc316b8df7321570d80392c779d525b4037fd55a9da28f1c503434801b"
    assert {u.block for u in plan.units} == {0}


def test_sequential_plan_orders_seeded_blocks_with_arms_grouped():
    from evalcli.inputs.config import StoppingConfig

    stopping = StoppingConfig(block_size=4, max_items=10, seed=7)
    plan = _plan_of(_many_items(), stopping)
    assert len(plan.order) == 10 and plan.order != list(range(10))
    assert plan.order == _plan_of(_many_items(), stopping).order  # seeded
    assert [len(b) for b in plan.blocks] == [4, 4, 2]
    assert len(plan.units) == 10 * 2
    blocks = [u.block for u in plan.units]
    assert blocks == sorted(blocks)
    first = [u for u in plan.units if u.block == 0]
    assert [u.condition for u in first] == ["control"] * 4 + ["treatment"] * 4
    assert [u.item_index for u in first[:4]] == plan.blocks[0]


def test_sequential_blocks_with_arm_blocks_inside():
    from evalcli.inputs.config import StoppingConfig
    from evalcli.run.scheduling import Scheduler

    stopping = StoppingConfig(block_size=10, max_items=20, seed=7)
    grouped = _plan_of(_many_items(), stopping)
    plan = _plan_of(_many_items(), stopping, arm_block_items=4)
    assert sorted(_rows(plan)) == sorted(_rows(grouped))
    blocks = [u.block for u in plan.units]
    assert blocks == sorted(blocks)  # a sequential block is still done before the next
    first = [u for u in plan.units if u.block == 0]
    # 10 items in arm blocks of 4, 4, 2: C | T T | C C | T, and the next block goes on T …
    assert _runs(first) == [("control", 4), ("treatment", 8), ("control", 6),
                            ("treatment", 2)]
    assert [u.condition for u in plan.units if u.block == 1][0] == "treatment"
    assert sorted(u.item_index for u in first if u.condition == "control") == \
        sorted(plan.blocks[0])
    sched, handed = Scheduler(plan.units), []
    while (unit := sched.next_for(0)) is not None:
        handed.append(unit)
    assert handed == list(plan.units)  # one worker: exactly plan order


def test_two_workers_each_keep_an_arm_across_arm_blocks():
    from evalcli.run.scheduling import Scheduler

    plan = _plan_of(_many_items(12), arm_block_items=4)
    sched, runs = Scheduler(plan.units), {0: [], 1: []}
    while True:
        got = [(w, sched.next_for(w)) for w in (0, 1)]
        got = [(w, u) for w, u in got if u is not None]
        if not got:
            break
        for w, u in got:
            runs[w].append(u.condition)
    assert set(runs[0]) == {"control"} and set(runs[1]) == {"treatment"}


def test_scheduler_hands_out_blocks_in_order():
    from evalcli.inputs.config import StoppingConfig
    from evalcli.run.scheduling import Scheduler

    plan = _plan_of(_many_items(), StoppingConfig(block_size=5, max_items=20))
    sched = Scheduler(plan.units)
    handed = []
    while (unit := sched.next_for(0)) is not None:
        handed.append(unit.block)
    assert handed == sorted(handed) and len(handed) == 40


def _statuses(tmp_path, name: str, statuses: dict[str, str]):
    from evalcli.store.results import ResultRecord, ResultsWriter, read_statuses

    writer = ResultsWriter(tmp_path / name)
    for custom_id, status in statuses.items():
        writer.append(ResultRecord(custom_id=custom_id, status=status, text="x"))
    writer.close()
    return read_statuses(tmp_path / name)[0]


def test_units_are_made_when_reached_and_a_resume_selects_per_group(tmp_path):
    """plan.units keeps no Unit: each is made from its group when reached — the same units
    by iteration, by index and per group; pending_units keeps a trial without results whole
    and picks the unfinished (and failed) units of one with results, in plan order."""
    from evalcli.run.generate import pending_units
    from evalcli.run.scheduling import Scheduler

    plan = _plan_of(_many_items(), temperatures=[0.0, 0.7], samples_per_item=2)
    units = list(plan.units)
    assert len(units) == len(plan.units) == sum(len(g) for g in plan.groups) == 2 * 2 * 30 * 2
    assert [plan.units[i] for i in (0, 5, -1)] == [units[0], units[5], units[-1]]
    assert plan.units[10:13] == units[10:13]
    assert [u for _, _, part in plan.units.parts() for u in part] == units
    first, second = (t.slug for t in plan.trials)
    mine = [u for u in units if u.trial == first]
    finished = {first: _statuses(tmp_path, "a.jsonl", {
        mine[0].custom_id: "ok", mine[1].custom_id: "failed", mine[7].custom_id: "ok"})}
    todo = pending_units(plan.units, finished)
    assert list(todo) == [u for u in units if u not in (mine[0], mine[7])]
    assert len(todo) == len(units) - 2
    assert list(pending_units(plan.units, finished, retry_failed=False)) == \
        [u for u in units if u not in (mine[0], mine[1], mine[7])]
    everything = {first: _statuses(tmp_path, "b.jsonl", {u.custom_id: "ok" for u in mine}),
                  second: _statuses(tmp_path, "c.jsonl", {u.custom_id: "ok" for u in units
                                                         if u.trial == second})}
    assert len(pending_units(plan.units, everything)) == 0
    # the scheduler hands out exactly the pending units, each group in plan order
    sched, handed = Scheduler(todo), []
    while (unit := sched.next_for(0)) is not None:
        handed.append(unit)
    assert handed == list(todo)
