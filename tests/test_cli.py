import json
import subprocess
import sys

import yaml
from conftest import synthetic_rows, tiny_config, write_jsonl
from typer.testing import CliRunner

from stance.cli import app

runner = CliRunner()


def test_help_and_argument_errors_do_not_import_torch():
    code = "import sys; from stance.cli import app; sys.argv=['stance', '--help']\ntry:\n    app()\nexcept SystemExit: pass\nprint('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"
    result = runner.invoke(app, ["train", "--set", "training.nope=1"])
    assert result.exit_code == 2 and "unknown key 'training.nope'" in result.output


def test_data_validate_prints_file_line_field(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", synthetic_rows(2))
    assert runner.invoke(app, ["data", "validate", str(good)]).exit_code == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"article_id": "a", "text": "NATO met.", "target": "NATO", "label": "Hostile", "origin": "x"}\nnot json\n', encoding="utf-8")
    result = runner.invoke(app, ["data", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:1: label: 'Hostile' is not one of" in result.stdout and f"{bad}:2: -: malformed JSON" in result.stdout


def test_data_stats_and_split(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_jsonl(corpus / "a.jsonl", synthetic_rows(20))
    result = runner.invoke(app, ["data", "stats", str(corpus), "--json"])
    assert json.loads(result.stdout)["rows"] == 60
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": {"paths": [str(corpus)], "splits": str(tmp_path / "splits.csv"), "split_seed": 1, "val_fraction": 0.2, "test_fraction": 0.2}}))
    result = runner.invoke(app, ["data", "split", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "splits.csv").read_text().splitlines()
    assert lines[0] == "article_id,split" and len(lines) == 21
    # More data: --keep leaves every story where it was and places only the new ones.
    write_jsonl(corpus / "b.jsonl", [{**r, "article_id": "new-" + r["article_id"]} for r in synthetic_rows(10, seed=5)])
    result = runner.invoke(app, ["data", "split", "--config", str(config), "--keep"])
    assert result.exit_code == 0 and "30 stories, 10 new" in result.output, result.output
    grown = (tmp_path / "splits.csv").read_text().splitlines()
    assert set(lines) < set(grown) and len(grown) == 31


def test_train_command_with_overrides_saves_the_config_used(tiny_base, corpus_dir, tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(tiny_base, corpus_dir, tmp_path / "m")))
    result = runner.invoke(app, ["train", "--config", str(config), "--set", "training.epochs=1", "--set", "baseline=false", "--output", str(tmp_path / "m2"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "validation macro-F1" in result.stdout
    saved = yaml.safe_load((tmp_path / "m2" / "training_config.yaml").read_text())
    assert saved["training"]["epochs"] == 1 and saved["baseline"] is False


def test_articles_predict_and_summary_on_jsonl_and_folder(tiny_model, tmp_path):
    articles = [{"id": "a1", "title": "Armenia freezes CSTO role", "text": "Yerevan froze its participation in the CSTO. The alliance did not respond. Armenia wants to join the EU."}, {"id": "a2", "text": "No alliance is named here."}]
    src = write_jsonl(tmp_path / "articles.jsonl", articles)
    out, summary = tmp_path / "pairs.jsonl", tmp_path / "summary.csv"
    result = runner.invoke(app, ["predict", str(tiny_model), str(src), "--articles", "-o", str(out), "--summary", str(summary)])
    assert result.exit_code == 0, result.output
    pairs = [json.loads(l) for l in out.read_text().splitlines()]
    assert [(p["article_id"], p["sentence_index"], p["target"], p["kind"]) for p in pairs] == [("a1", 0, "CSTO", "abbreviation"), ("a1", 1, "CSTO", "abbreviation"), ("a1", 2, "CSTO", "anaphor"), ("a1", 3, "EU", "abbreviation")]
    text = articles[0]["title"] + "\n\n" + articles[0]["text"]
    assert all(text[p["start"] : p["end"]] == p["sentence"] for p in pairs)
    lines = summary.read_text().splitlines()
    assert lines[0] == "article_id,target,pairs,hostile,conciliatory,neutral,net_stance" and len(lines) == 3
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "story.txt").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["predict", str(tiny_model), str(folder), "--articles"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 4
    result = runner.invoke(app, ["mentions", str(folder)])
    assert [json.loads(l)["mention"] for l in result.stdout.splitlines()] == ["CSTO", "CSTO", "The alliance", "EU"]
