"""evalcli.inputs.datasets: each file format, and the one-line errors for malformed input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evalcli.errors import DataError
from evalcli.inputs.datasets import DatasetSource, load_sources

DATA = Path(__file__).parent / "data"


def load(tmp_or_data: Path, **kw):
    return load_sources([DatasetSource(**kw)], tmp_or_data)


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def data_error(base: Path, **kw) -> str:
    with pytest.raises(DataError) as err:
        load(base, **kw)
    message = err.value.message
    assert "\n" not in message and "—" in message  # one line, with the fix after the dash
    return message


# ── SQuAD 2.0 ───────────────────────────────────────────────────────────────────────────────


def test_squad2():
    items = load(DATA, format="squad2", path="squad2_mini.json")
    assert [i.item_id for i in items] == ["gh-0001", "gh-0002", "gh-0003", "cv-0001", "cv-0002"]
    first, impossible = items[0], items[1]
    assert first.dataset == "squad_v2" and first.type == "open" and first.answerable
    assert first.answers == ["1901", "in 1901"]  # deduplicated, order kept
    assert first.passage == (
        "Glass Harbour is a fictional fishing port. Its lighthouse was lit in 1901 and painted green in 1950."
    )
    assert impossible.answers == [] and not impossible.answerable  # plausible_answers ignored
    assert impossible.question == "Who designed the lighthouse?"
    assert [i.group for i in items] == [
        "Glass_harbour#0",
        "Glass_harbour#0",
        "Glass_harbour#1",
        "Copper_valley#0",
        "Copper_valley#0",
    ]


def test_squad_v11_has_no_is_impossible(tmp_path):
    doc = {
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "c",
                        "qas": [
                            {
                                "id": "a",
                                "question": "q?",
                                "answers": [{"text": "c", "answer_start": 0}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    write(tmp_path / "v1.json", json.dumps(doc))
    (item,) = load(tmp_path, format="squad2", path="v1.json")
    assert item.answerable and item.answers == ["c"]


def test_squad_missing_field_names_the_record(tmp_path):
    doc = {
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "c",
                        "qas": [
                            {"id": "a", "question": "q?", "answers": []},
                            {"id": "b", "answers": []},
                        ],
                    }
                ],
            }
        ]
    }
    write(tmp_path / "dev.json", json.dumps(doc))
    message = data_error(tmp_path, format="squad2", path="dev.json")
    assert message.startswith(
        'dev.json at data[0].paragraphs[0].qas[1]: field "question" is missing'
    )


def test_squad_answerable_without_answers(tmp_path):
    doc = {
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "c",
                        "qas": [
                            {"id": "a", "question": "q?", "answers": [], "is_impossible": False}
                        ],
                    }
                ],
            }
        ]
    }
    write(tmp_path / "dev.json", json.dumps(doc))
    message = data_error(tmp_path, format="squad2", path="dev.json")
    assert (
        "qas[0] (id a)" in message
        and 'field "answers" is empty but the item is answerable' in message
    )


def test_squad_wrong_file_kind(tmp_path):
    write(tmp_path / "dev.json", json.dumps({"Data": []}))
    assert 'field "data" is missing' in data_error(tmp_path, format="squad2", path="dev.json")


# ── TriviaQA ────────────────────────────────────────────────────────────────────────────────


def test_triviaqa():
    items = load(DATA, format="triviaqa", path="triviaqa_mini.json")
    assert [i.key for i in items] == [
        "triviaqa|tq_fake_1",
        "triviaqa|tq_fake_2",
        "triviaqa|tq_fake_3",
    ]
    assert all(i.type == "closed" and i.answerable and not i.passage for i in items)
    assert items[0].question == "Which invented mountain looks over Harrowmere?"
    assert items[0].answers == ["Mount Ossel", "Ossel", "mount ossel"]  # Value first, exact dedup
    assert items[1].answers == ["12", "twelve"]
    assert items[2].answers == ["Blue slate"]


def test_triviaqa_test_split_has_no_answers(tmp_path):
    write(tmp_path / "test.json", json.dumps({"Data": [{"Question": "q?", "QuestionId": "x"}]}))
    message = data_error(tmp_path, format="triviaqa", path="test.json")
    assert message.startswith('test.json at Data[0]: field "Answer" is missing')
    assert "use a dev file" in message


def test_triviaqa_repeated_question_id(tmp_path):
    record = {"Question": "q?", "QuestionId": "x", "Answer": {"Value": "a", "Aliases": []}}
    write(tmp_path / "rc.json", json.dumps({"Data": [record, record]}))
    assert len(load(tmp_path, format="triviaqa", path="rc.json")) == 1
    other = dict(record, Question="another question?")
    write(tmp_path / "bad.json", json.dumps({"Data": [record, other]}))
    message = data_error(tmp_path, format="triviaqa", path="bad.json")
    assert "duplicate QuestionId x with different questions: bad.json at Data[0]" in message


# ── NQ-Open ─────────────────────────────────────────────────────────────────────────────────


def test_nq_open_ids_are_question_hashes_and_repeats_merge():
    items = load(DATA, format="nq_open", path="nq_open_mini.jsonl")
    assert len(items) == 3  # lines 1 and 4 ask the same question (after whitespace collapse)
    first = items[0]
    assert first.question == "who painted the green lighthouse in glass harbour"
    assert first.item_id == hashlib.md5(first.question.encode()).hexdigest()
    assert first.answers == ["Ada Brenn", "Brenn", "A. Brenn"]
    assert all(i.type == "closed" and i.dataset == "nq_open" for i in items)


def test_nq_open_missing_answer(tmp_path):
    write(tmp_path / "nq.jsonl", '{"question": "a?", "answer": ["x"]}\n{"question": "b?"}\n')
    message = data_error(tmp_path, format="nq_open", path="nq.jsonl")
    assert message.startswith('nq.jsonl line 2: field "answer" is missing')


# ── generic JSONL ───────────────────────────────────────────────────────────────────────────


def test_jsonl_generic():
    items = load(DATA, format="jsonl", path="generic.jsonl")
    assert [i.dataset for i in items] == ["generic"] * 4
    a, b, c, d = items
    assert a.type == "open" and a.answerable and a.group.startswith("passage:")
    assert b.type == "open" and not b.answerable and b.group == a.group  # same passage, same group
    assert c.item_id == "3" and c.type == "closed" and c.answers == ["42", "forty-two"]
    assert d.item_id == hashlib.md5(b"Name the capital of France.").hexdigest() and d.answers == [
        "Paris"
    ]


def test_jsonl_reads_its_own_items_back(tmp_path):
    from evalcli.inputs.items import write_items

    items = load_sources([DatasetSource(format="sample")], Path("."))
    write_items(tmp_path / "items.jsonl", items)
    again = load(tmp_path, format="jsonl", path="items.jsonl", name="sample")
    assert again == items


def test_jsonl_mapped_column_missing(tmp_path):
    write(tmp_path / "m.jsonl", '{"question": "a?", "answers": ["x"]}\n')
    message = data_error(tmp_path, format="jsonl", path="m.jsonl", columns={"question": "Q"})
    assert message.startswith('m.jsonl line 1: field "Q" (question) is missing')
    message = data_error(tmp_path, format="jsonl", path="m.jsonl", columns={"item_id": "qid"})
    assert message.startswith('m.jsonl line 1: field "qid" (item_id) is missing')


def test_jsonl_column_mapping_and_forced_type(tmp_path):
    line = {"qid": "k1", "Q": "What is it?", "gold": ["x"], "ctx": "It is x.", "ans": "yes"}
    write(tmp_path / "m.jsonl", json.dumps(line) + "\n")
    columns = {
        "item_id": "qid",
        "question": "Q",
        "answers": "gold",
        "passage": "ctx",
        "answerable": "ans",
    }
    (item,) = load(tmp_path, format="jsonl", path="m.jsonl", columns=columns)
    assert (item.item_id, item.type, item.passage, item.answerable) == (
        "k1",
        "open",
        "It is x.",
        True,
    )
    (closed,) = load(tmp_path, format="jsonl", path="m.jsonl", columns=columns, type="closed")
    assert closed.type == "closed" and closed.passage == ""  # closed-book drops the passage


def test_jsonl_missing_question(tmp_path):
    good = "".join(
        f'{{"item_id": "{i}", "question": "q{i}?", "answers": ["x"]}}\n' for i in range(15)
    )
    write(
        tmp_path / "dev.jsonl", good + "\n" + '{"answers": ["x"]}\n'
    )  # a blank line 16 still counts
    message = data_error(tmp_path, format="jsonl", path="dev.jsonl")
    assert message == (
        'dev.jsonl line 17: field "question" is missing — each line needs question and '
        "answers (see docs/datasets.md)"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"question": "a?"}', 'line 1: field "answers" is missing'),
        (
            '{"question": "a?", "answers": []}',
            'field "answers" is empty — a closed-book item needs',
        ),
        ('{"question": "a?", "answers": ["x"], "type": "book"}', 'field "type" is "book"'),
        ('{"question": "a?", "answers": ["x"], "type": "open"}', 'field "passage" is empty'),
        ('{"question": "", "answers": ["x"]}', 'field "question" is empty'),
        ('{"question": ["a?"], "answers": ["x"]}', 'field "question" must be text, found list'),
        ('{"question": "a?", "answers": [["x"]]}', 'field "answers" must be text'),
        (
            '{"question": "a?", "answers": ["x"], "answerable": "maybe"}',
            "field \"answerable\" is 'maybe'",
        ),
        (
            '{"question": "a?", "answers": ["x"], "passage": "p", "answerable": false}',
            "is unanswerable but",
        ),
        ('{"item_id": "a|b", "question": "a?", "answers": ["x"]}', 'item id "a|b" contains "|"'),
        ('{"item_id": "  ", "question": "a?", "answers": ["x"]}', 'field "item_id" is empty'),
        (
            '{"question": "a?", "answers": ["x"], "answerable": false}',
            "a closed-book item cannot be unanswerable",
        ),
        ('["a?", ["x"]]', "line 1: expected a JSON object, found list"),
        ('{"question": "a?", "answers": ["x"]', "line 1: not valid JSON"),
    ],
)
def test_jsonl_malformed(tmp_path, line, expected):
    write(tmp_path / "bad.jsonl", line + "\n")
    message = data_error(tmp_path, format="jsonl", path="bad.jsonl")
    assert message.startswith("bad.jsonl") and expected in message


def test_jsonl_unanswerable_without_answers_field(tmp_path):
    write(tmp_path / "u.jsonl", '{"question": "a?", "passage": "p", "answerable": false}\n')
    (item,) = load(tmp_path, format="jsonl", path="u.jsonl")
    assert not item.answerable and item.answers == []


def test_jsonl_bom_crlf_and_blank_lines(tmp_path):
    write(
        tmp_path / "w.jsonl",
        b'\xef\xbb\xbf{"question": "a?", "answers": ["x"]}\r\n\r\n{"question": "b?", "answers": ["y"]}\r\n',
    )
    assert [i.question for i in load(tmp_path, format="jsonl", path="w.jsonl")] == ["a?", "b?"]


def test_not_utf8(tmp_path):
    write(tmp_path / "l1.jsonl", '{"question": "caf\u00e9?", "answers": ["x"]}\n'.encode("latin-1"))
    assert "l1.jsonl line 1: not UTF-8 text" in data_error(
        tmp_path, format="jsonl", path="l1.jsonl"
    )
    write(tmp_path / "l1.csv", "question,answers\ncaf\u00e9?,x\n".encode("latin-1"))
    assert "save the file as UTF-8" in data_error(tmp_path, format="csv", path="l1.csv")


def test_whitespace_collapsed(tmp_path):
    write(
        tmp_path / "w.jsonl",
        json.dumps(
            {
                "question": "  What\u00a0is\n\tit? ",
                "answers": [" a  b ", "", "a b"],
                "passage": "p\n\nq",
            }
        )
        + "\n",
    )
    (item,) = load(tmp_path, format="jsonl", path="w.jsonl")
    assert (item.question, item.answers, item.passage) == ("What is it?", ["a b"], "p q")


def test_missing_file_and_folder(tmp_path):
    message = data_error(tmp_path, format="jsonl", path="data/nope.jsonl")
    assert message.startswith("data/nope.jsonl: file not found") and "check `path`" in message
    (tmp_path / "dir.jsonl").mkdir()
    assert "is a folder" in data_error(tmp_path, format="jsonl", path="dir.jsonl")


def test_bad_json_file(tmp_path):
    write(tmp_path / "dev.json", '{"data": [')
    assert data_error(tmp_path, format="squad2", path="dev.json").startswith(
        "dev.json: not valid JSON"
    )


# ── generic CSV ─────────────────────────────────────────────────────────────────────────────

CSV_COLUMNS = {
    "item_id": "id",
    "question": "q",
    "answers": "gold",
    "passage": "context",
    "type": "kind",
}


def test_csv_generic_with_bom_crlf_and_multiline_cells():
    items = load(DATA, format="csv", path="generic.csv", columns=CSV_COLUMNS)
    assert [i.key for i in items] == ["generic|c-1", "generic|c-2", "generic|c-3"]
    one, two, three = items
    assert one.answers == ["Glass Harbour", "the Glass Harbour"]
    assert one.passage == "Glass Harbour is a port, with a lighthouse." and one.answerable
    assert two.answers == [] and not two.answerable and two.group == one.group
    assert three.type == "closed" and three.answers == ["Jupiter"]


def test_csv_answers_sep_and_defaults(tmp_path):
    write(tmp_path / "s.csv", "question,answers,answerable\nWhat?,a; b ;c,\nWhen?,x,yes\n")
    items = load(tmp_path, format="csv", path="s.csv", answers_sep=";")
    assert items[0].answers == ["a", "b", "c"] and items[0].type == "closed"


def test_csv_missing_column_lists_what_is_there(tmp_path):
    write(tmp_path / "s.csv", "Question,Answer\nWhat?,x\n")
    message = data_error(tmp_path, format="csv", path="s.csv")
    assert message.startswith(
        's.csv: no column "question" for question (columns found: Question, Answer)'
    )
    assert 'columns = { question = "<column>" }' in message
    (item,) = load(
        tmp_path, format="csv", path="s.csv", columns={"question": "Question", "answers": "Answer"}
    )
    assert item.answers == ["x"]


def test_csv_mapped_column_must_exist(tmp_path):
    write(tmp_path / "s.csv", "question,answers\nWhat?,x\n")
    assert 'no column "qid" for item_id' in data_error(
        tmp_path, format="csv", path="s.csv", columns={"item_id": "qid"}
    )


def test_csv_row_errors_name_the_line(tmp_path):
    write(tmp_path / "s.csv", 'question,answers\nWhat?,x\n"Multi\nline?",y\nWho?,\n')
    message = data_error(tmp_path, format="csv", path="s.csv")
    assert message.startswith('s.csv line 5: field "answers" is empty')


def test_csv_too_many_cells_and_duplicate_header(tmp_path):
    write(tmp_path / "s.csv", "question,answers\nWhat, exactly?,x\n")
    assert "s.csv line 2: 3 cells but the header has 2 columns" in data_error(
        tmp_path, format="csv", path="s.csv"
    )
    write(tmp_path / "d.csv", "question,answers,question\n")
    assert 'column "question" appears twice' in data_error(tmp_path, format="csv", path="d.csv")


def test_csv_empty_file_and_bad_quotes(tmp_path):
    write(tmp_path / "e.csv", "")
    assert "the file is empty" in data_error(tmp_path, format="csv", path="e.csv")
    write(tmp_path / "q.csv", 'question,answers\n"What?" x,y\n')
    assert "q.csv line 2: CSV is malformed" in data_error(tmp_path, format="csv", path="q.csv")


def test_csv_short_row_and_trailing_empty_cells(tmp_path):
    write(tmp_path / "s.csv", "question,answers,passage\nWhat?,x\nWho?,y,,,\n")
    assert len(load(tmp_path, format="csv", path="s.csv")) == 2
    write(tmp_path / "s.csv", "question,answers,passage\nWhat?,x\n")
    (item,) = load(tmp_path, format="csv", path="s.csv")
    assert item.type == "closed" and item.answers == ["x"]
