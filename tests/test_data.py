import json
from collections import Counter

import pytest
from conftest import synthetic_rows, write_jsonl

from stance.data import corpus_stats, data_hash, load_rows, make_splits, split_rows, to_dataset_dict, validate_files
from stance.errors import StanceError

GOOD = {"article_id": "a1", "text": "Oslo said it would never walk away from NATO.", "target": "NATO", "label": "conciliatory", "origin": "example"}


def problems_of(tmp_path, content: bytes | str, name="rows.jsonl"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return validate_files([path])


def test_good_rows_load_and_keep_format_fields(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{**GOOD, "extra": 1}, {**GOOD, "article_id": "a2", "text": "NATO meets in Oslo.", "label": "neutral", "origin": "paraphrase", "source_url": "https://x"}])
    rows = load_rows(path)
    assert len(rows) == 2
    assert "extra" not in rows[0]
    assert rows[1]["source_url"] == "https://x"


@pytest.mark.parametrize(
    "line, field, message",
    [
        ('{"article_id": "a", "text": ', "-", "malformed JSON"),
        ("[1, 2]", "-", "expected a JSON object"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "target"}), "target", "missing"),
        (json.dumps({**GOOD, "text": "  "}), "text", "empty"),
        (json.dumps({**GOOD, "text": 42}), "text", "expected a string"),
        (json.dumps({**GOOD, "label": "Hostile"}), "label", "did you mean 'hostile'"),
        (json.dumps({**GOOD, "label": "positive"}), "label", "is not one of hostile, conciliatory, neutral"),
        (json.dumps({**GOOD, "origin": "paraphrase"}), "source_url", "required"),
    ],
)
def test_each_bad_row_is_reported_with_file_line_and_field(tmp_path, line, field, message):
    n, problems = problems_of(tmp_path, json.dumps(GOOD) + "\n" + line + "\n")
    fatal = [p for p in problems if p.fatal]
    assert len(fatal) == 1
    assert fatal[0].line == 2 and fatal[0].field == field and message in fatal[0].message
    assert str(fatal[0]).startswith(f"{tmp_path / 'rows.jsonl'}:2: {field}: ")
    with pytest.raises(StanceError, match=":2: "):
        load_rows(tmp_path / "rows.jsonl")
    assert len(load_rows(tmp_path / "rows.jsonl", skip_invalid=True)) == 1


def test_unknown_target_is_a_warning_not_an_error(tmp_path):
    n, problems = problems_of(tmp_path, json.dumps({**GOOD, "target": "Warsaw Pact"}) + "\n")
    assert [p.fatal for p in problems] == [False]
    assert "not a canonical id" in problems[0].message
    assert load_rows(tmp_path / "rows.jsonl")[0]["target"] == "Warsaw Pact"


def test_bom_crlf_blank_lines_are_fine(tmp_path):
    content = b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\r\n\r\n   \r\n" + json.dumps({**GOOD, "article_id": "b", "text": "The EU met."}).encode() + b"\r\n"
    n, problems = problems_of(tmp_path, content)
    assert n == 2 and problems == []


def test_non_utf8_bytes_name_the_line(tmp_path):
    content = json.dumps(GOOD).encode() + b"\n" + b'{"text": "caf\xe9"}\n'
    n, problems = problems_of(tmp_path, content)
    assert [(p.line, p.message) for p in problems] == [(2, "not valid UTF-8 text")]


def test_duplicates_warn_and_conflicts_fail(tmp_path):
    n, problems = problems_of(tmp_path, json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n")
    assert [(p.fatal, "duplicate" in p.message) for p in problems] == [(False, True)]
    assert len(load_rows(tmp_path / "rows.jsonl")) == 1
    n, problems = problems_of(tmp_path, json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "label": "hostile"}) + "\n")
    assert problems[0].fatal and "labels the same text and target" in problems[0].message


def test_empty_file_and_folder_and_missing_file(tmp_path):
    n, problems = problems_of(tmp_path, "")
    assert problems[0].message == "file holds no rows"
    with pytest.raises(StanceError, match="no valid rows|invalid"):
        load_rows(tmp_path / "rows.jsonl")
    with pytest.raises(StanceError, match="no .jsonl or .csv files"):
        load_rows(tmp_path / "sub" if (tmp_path / "sub").mkdir() is None else None)
    with pytest.raises(StanceError, match="no such file"):
        load_rows(tmp_path / "nope.jsonl")


def test_csv_rows_and_missing_column(tmp_path):
    (tmp_path / "ok.csv").write_text('article_id,text,target,label,origin\na1,"Quoted, with comma",EU,neutral,example\n', encoding="utf-8")
    assert load_rows(tmp_path / "ok.csv")[0]["text"] == "Quoted, with comma"
    (tmp_path / "bad.csv").write_text("article_id,text,target,origin\na1,x,EU,example\n", encoding="utf-8")
    n, problems = validate_files([tmp_path / "bad.csv"])
    assert [(p.line, p.field, p.message) for p in problems] == [(2, "label", "missing")]


def test_long_text_is_a_warning(tmp_path):
    n, problems = problems_of(tmp_path, json.dumps({**GOOD, "text": "word " * 50_000}) + "\n")
    assert len(problems) == 1 and not problems[0].fatal and "max_length" in problems[0].message


def test_splits_are_grouped_seeded_and_stratified():
    rows = synthetic_rows(60)
    a = make_splits(rows, seed=1, val_fraction=0.1, test_fraction=0.2)
    assert a == make_splits(list(reversed(rows)), seed=1, val_fraction=0.1, test_fraction=0.2)
    assert a != make_splits(rows, seed=2, val_fraction=0.1, test_fraction=0.2)
    splits = split_rows(rows, a)
    stories = {name: {r["article_id"] for r in part} for name, part in splits.items()}
    assert not (stories["train"] & stories["test"]) and not (stories["validation"] & stories["test"])
    assert abs(len(splits["test"]) / len(rows) - 0.2) < 0.05
    assert Counter(r["label"] for r in splits["test"]) == {"hostile": 12, "conciliatory": 12, "neutral": 12}


def test_splits_keep_an_earlier_assignment_and_place_only_new_stories():
    rows = synthetic_rows(60)
    old = make_splits(rows[:90], seed=1, val_fraction=0.1, test_fraction=0.2)  # the first 30 stories
    old["gone-001"] = "test"  # a story no longer in the data is dropped, not kept
    grown = make_splits(rows, seed=1, val_fraction=0.1, test_fraction=0.2, keep=old)
    assert "gone-001" not in grown and len(grown) == 60
    assert all(grown[a] == split for a, split in old.items() if a != "gone-001")
    # The new stories fill the splits back to their fractions over all rows.
    assert Counter(grown.values())["test"] == 12 and Counter(grown.values())["validation"] == 6


def test_dataset_dict_and_stats():
    rows = synthetic_rows(10)
    dd = to_dataset_dict(split_rows(rows, make_splits(rows)))
    assert set(dd) == {"train", "validation", "test"}
    assert sum(len(d) for d in dd.values()) == len(rows)
    assert dd["train"].column_names == ["article_id", "text", "target", "label"]
    stats = corpus_stats(rows)
    assert stats["rows"] == 30 and stats["stories"] == 10 and stats["per_label"]["neutral"] == 10
    assert data_hash(rows) == data_hash(list(reversed(rows))) != data_hash(rows[1:])
