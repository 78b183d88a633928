"""Fuzzing the row reader, and scoring inputs that are odd but legal."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stance.cli import app
from stance.data import load_rows, validate_files
from stance.errors import StanceError

runner = CliRunner()
FIELDS = ["article_id", "text", "target", "label", "origin", "source_url"]
values = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.booleans(), st.text(max_size=30), st.lists(st.integers(), max_size=2), st.sampled_from(["hostile", "NATO", "paraphrase", "Hostile", ""]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600))
def test_fuzz_row_reader_on_random_bytes(tmp_path, data):
    for name in ("rows.jsonl", "rows.csv"):
        path = tmp_path / name
        path.write_bytes(data)
        n, problems = validate_files([path])  # never raises on content
        assert n >= 0 and all(p.file == str(path) for p in problems)
        try:
            load_rows(path)
        except StanceError:
            pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6), max_size=5))
def test_fuzz_row_reader_on_random_objects(tmp_path, records):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    try:
        rows = load_rows(path)
    except StanceError:
        return
    assert all(isinstance(r["text"], str) and r["label"] in ("hostile", "conciliatory", "neutral") for r in rows)


def test_a_text_of_50000_words_is_scored_with_a_warning(tiny_model, tmp_path):
    src = tmp_path / "long.jsonl"
    src.write_text(json.dumps({"text": "NATO " + "word " * 50_000, "target": "NATO"}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["predict", str(tiny_model), str(src), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert "only the first max_length tokens are read" in result.output
    assert json.loads((tmp_path / "out.jsonl").read_text())["label"] in ("hostile", "conciliatory", "neutral")


def test_articles_input_errors_name_the_line(tiny_model, tmp_path):
    src = tmp_path / "articles.jsonl"
    src.write_text('{"id": "a", "text": "NATO met."}\n{"id": "b"}\n', encoding="utf-8")
    result = runner.invoke(app, ["predict", str(tiny_model), str(src), "--articles", "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and f"{src}:2: text: missing" in result.output
    assert not (tmp_path / "o.jsonl").exists()
    (tmp_path / "bad.txt").write_bytes(b"NATO \xff\xfe met")
    result = runner.invoke(app, ["mentions", str(tmp_path / "bad.txt")])
    assert result.exit_code == 2 and "not valid UTF-8" in result.output
