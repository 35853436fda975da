"""evalcli.inputs.datasets: the public API, the sample set, sampling, duplicates and source checks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from evalcli.errors import ConfigError, DataError
from evalcli.inputs.datasets import FORMATS, DatasetSource, load_source, load_sources
from evalcli.inputs.datasets.sampling import allocate
from evalcli.inputs.items import Item

DATA = Path(__file__).parent / "data"


def src(**kw) -> DatasetSource:
    return DatasetSource(**kw)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def closed_lines(n: int, prefix: str = "q") -> str:
    return "".join(
        f'{{"item_id": "{prefix}{i}", "question": "Question {i}?", "answers": ["a{i}"], "type": "closed"}}\n'
        for i in range(n)
    )


# ── the sample set ──────────────────────────────────────────────────────────────────────────


def test_sample_loads_both_kinds_open_first():
    items = load_sources([src(format="sample")], Path("."))
    assert items and all(isinstance(i, Item) for i in items)
    assert {i.dataset for i in items} == {"sample"}
    kinds = [i.type for i in items]
    assert kinds == sorted(kinds, key=lambda k: k != "open")  # open-book first, then closed
    assert {"open", "closed"} <= set(kinds)
    assert any(not i.answerable for i in items if i.type == "open")
    assert all(i.passage for i in items if i.type == "open")
    assert all(i.answers and not i.passage for i in items if i.type == "closed")


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_sample_type_selects_one_file(kind):
    items = load_sources([src(format="sample", type=kind)], Path("."))
    assert items and {i.type for i in items} == {kind}


def test_sample_name_renames_dataset():
    items = load_sources([src(format="sample", type="closed", name="demo")], Path("."))
    assert {i.dataset for i in items} == {"demo"}


def test_sample_twice_is_a_duplicate():
    with pytest.raises(DataError, match='duplicate item key "sample|'):
        load_sources([src(format="sample"), src(format="sample", type="open")], Path("."))


# ── load_sources: order, limits, duplicates ─────────────────────────────────────────────────


def test_sources_keep_their_order(tmp_path):
    write(tmp_path / "a.jsonl", closed_lines(3, "a"))
    write(tmp_path / "b.jsonl", closed_lines(2, "b"))
    items = load_sources(
        [src(format="jsonl", path="b.jsonl"), src(format="jsonl", path="a.jsonl")], tmp_path
    )
    assert [i.key for i in items] == ["b|b0", "b|b1", "a|a0", "a|a1", "a|a2"]


def test_limit_is_seeded_deterministic_and_keeps_file_order(tmp_path):
    write(tmp_path / "d.jsonl", closed_lines(50))
    one = load_sources([src(format="jsonl", path="d.jsonl", limit=10, seed=7)], tmp_path)
    two = load_sources([src(format="jsonl", path="d.jsonl", limit=10, seed=7)], tmp_path)
    other = load_sources([src(format="jsonl", path="d.jsonl", limit=10, seed=8)], tmp_path)
    assert [i.key for i in one] == [i.key for i in two]
    assert len(one) == 10 and [i.key for i in one] != [i.key for i in other]
    numbers = [int(i.item_id[1:]) for i in one]
    assert numbers == sorted(numbers)


def test_sampling_is_pinned_across_platforms(tmp_path):
    # sha256("<seed>|d|<id>") ranks: these selections must never change, on any machine,
    # or runs made with the same seed stop being comparable
    write(tmp_path / "d.jsonl", closed_lines(20))
    for seed, expected in [(0, ["q5", "q6", "q9", "q19"]), (42, ["q0", "q8", "q10", "q15"])]:
        items = load_sources([src(format="jsonl", path="d.jsonl", limit=4, seed=seed)], tmp_path)
        assert [i.item_id for i in items] == expected


def test_sampling_does_not_depend_on_file_order(tmp_path):
    lines = closed_lines(30).splitlines(keepends=True)
    write(tmp_path / "d.jsonl", "".join(lines))
    (tmp_path / "r").mkdir()
    write(tmp_path / "r" / "d.jsonl", "".join(reversed(lines)))
    a = load_sources([src(format="jsonl", path="d.jsonl", limit=7, seed=3)], tmp_path)
    b = load_sources([src(format="jsonl", path="r/d.jsonl", limit=7, seed=3)], tmp_path)
    assert {i.key for i in a} == {i.key for i in b}


def test_larger_limit_only_adds_items():
    previous: set[str] = set()
    for limit in range(1, 40):
        keys = {i.key for i in load_sources([src(format="sample", limit=limit, seed=5)], Path("."))}
        assert len(keys) == limit and previous <= keys
        previous = keys


def test_limit_items_applies_per_source_after_limit(tmp_path):
    write(tmp_path / "a.jsonl", closed_lines(30, "a"))
    write(tmp_path / "b.jsonl", closed_lines(5, "b"))
    sources = [src(format="jsonl", path="a.jsonl", limit=20), src(format="jsonl", path="b.jsonl")]
    items = load_sources(sources, tmp_path, limit_items=8)
    assert Counter(i.dataset for i in items) == {"a": 8, "b": 5}
    limited = {i.key for i in load_sources(sources[:1], tmp_path)}
    assert {i.key for i in items if i.dataset == "a"} <= limited


def test_limit_items_keeps_unanswerable_share():
    items = load_sources([src(format="sample", type="open")], Path("."))
    share = sum(not i.answerable for i in items) / len(items)
    for seed in range(5):
        small = load_sources(
            [src(format="sample", type="open", seed=seed)], Path("."), limit_items=10
        )
        unanswerable = sum(not i.answerable for i in small)
        assert len(small) == 10 and abs(unanswerable - 10 * share) <= 1


def test_limit_items_keeps_open_and_closed():
    items = load_sources([src(format="sample")], Path("."), limit_items=3)
    assert {(i.type, i.answerable) for i in items} == {
        ("open", True),
        ("open", False),
        ("closed", True),
    }


def test_limit_larger_than_data_keeps_everything(tmp_path):
    write(tmp_path / "d.jsonl", closed_lines(4))
    assert (
        len(
            load_sources([src(format="jsonl", path="d.jsonl", limit=100)], tmp_path, limit_items=50)
        )
        == 4
    )


@pytest.mark.parametrize(
    ("sizes", "limit", "expected"),
    [
        ([10, 10, 10], 6, [2, 2, 2]),
        ([90, 9, 1], 10, [8, 1, 1]),
        ([5, 0, 5], 3, [2, 0, 1]),
        ([3, 1], 10, [3, 1]),
        ([50, 50], 1, [1, 0]),
    ],
)
def test_allocate(sizes, limit, expected):
    assert allocate(sizes, limit) == expected


def test_duplicate_within_a_file_names_both_lines(tmp_path):
    write(tmp_path / "d.jsonl", closed_lines(3) + closed_lines(1))
    with pytest.raises(DataError) as err:
        load_sources([src(format="jsonl", path="d.jsonl")], tmp_path)
    assert 'duplicate item key "d|q0": d.jsonl line 1 and d.jsonl line 4' in err.value.message


def test_duplicate_across_sources_names_both_places(tmp_path):
    write(tmp_path / "x.jsonl", closed_lines(2))
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "x.jsonl", closed_lines(2))
    with pytest.raises(DataError, match=r"x.jsonl line 1 and sub/x.jsonl line 1 .*own `name`"):
        load_sources(
            [src(format="jsonl", path="x.jsonl"), src(format="jsonl", path="sub/x.jsonl")], tmp_path
        )
    # a name of its own makes the keys distinct
    items = load_sources(
        [src(format="jsonl", path="x.jsonl"), src(format="jsonl", path="sub/x.jsonl", name="x2")],
        tmp_path,
    )
    assert len(items) == 4


def test_duplicates_are_found_whatever_the_limit(tmp_path):
    write(tmp_path / "d.jsonl", closed_lines(20) + closed_lines(1))
    with pytest.raises(DataError, match="duplicate"):
        load_sources([src(format="jsonl", path="d.jsonl", limit=2)], tmp_path)


def test_load_source_single(tmp_path):
    write(tmp_path / "d.jsonl", closed_lines(5))
    assert len(load_source(src(format="jsonl", path="d.jsonl"), tmp_path, limit_items=2)) == 2


def test_absolute_path_ignores_base_dir(tmp_path):
    path = write(tmp_path / "d.jsonl", closed_lines(2))
    assert len(load_sources([src(format="jsonl", path=str(path))], Path("/nonexistent"))) == 2


# ── DatasetSource: decoding from TOML and checks ────────────────────────────────────────────


def test_source_decodes_from_toml_and_rejects_typos():
    toml = b'format = "csv"\npath = "d.csv"\ncolumns = { answers = "gold" }\nanswers_sep = ";"\n'
    source = msgspec.toml.decode(toml, type=DatasetSource)
    assert source.columns == {"answers": "gold"} and source.answers_sep == ";"
    with pytest.raises(msgspec.ValidationError, match="limt"):
        msgspec.toml.decode(b'format = "sample"\nlimt = 3\n', type=DatasetSource)


def test_formats_listed():
    assert FORMATS == ("sample", "squad2", "triviaqa", "nq_open", "jsonl", "csv", "hf")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"format": "jsonl"}, "`path` is required"),
        ({"format": "sample", "path": "x.jsonl"}, "`path` does not apply"),
        ({"format": "squad2", "path": "x.json", "type": "closed"}, "`type` applies only"),
        ({"format": "squad2", "path": "x", "columns": {"question": "q"}}, "`columns` applies only"),
        (
            {"format": "csv", "path": "x", "columns": {"answer": "a"}},
            'columns key "answer" is not a field',
        ),
        (
            {"format": "jsonl", "path": "x", "answers_sep": ";"},
            "`answers_sep` applies only to format csv",
        ),
        ({"format": "sample", "split": "train"}, "`split` applies only to format hf"),
        ({"format": "hf"}, "`hf_name` is required"),
        ({"format": "hf", "hf_name": "imdb"}, 'hf_name "imdb" is not one evalcli maps'),
        ({"format": "jsonl", "path": "x", "name": "a|b"}, 'name "a|b" is not usable'),
    ],
)
def test_bad_settings_are_config_errors(kw, message):
    # (a value out of its type's range — format "parquet", limit = -1 — is refused when the
    # profile is decoded: tests/unit/test_profile_ranges.py)
    with pytest.raises(ConfigError, match=message) as err:
        load_sources([src(format="sample"), src(**kw)], Path("."))
    assert err.value.message.startswith("[[datasets]] #2 ")
    assert "\n" not in err.value.message


def test_default_names():
    assert src(format="sample").dataset_name() == "sample"
    assert src(format="squad2", path="x").dataset_name() == "squad_v2"
    assert src(format="triviaqa", path="x").dataset_name() == "triviaqa"
    assert src(format="nq_open", path="x").dataset_name() == "nq_open"
    assert src(format="csv", path="data/my-set.csv").dataset_name() == "my-set"
    assert src(format="hf", hf_name="mandarjoshi/trivia_qa").dataset_name() == "triviaqa"
    assert src(format="csv", path="x.csv", name="mine").dataset_name() == "mine"
