import json
import shutil

import numpy as np
import pytest
from conftest import synthetic_rows, write_jsonl
from typer.testing import CliRunner

from stance.cli import app
from stance.errors import StanceError
from stance.evaluate import compute_metrics, expected_calibration_error
from stance.labels import LABELS
from stance.predict import Predictor

runner = CliRunner()


def test_compute_metrics_by_hand():
    rows = [{"target": t, "label": l, "text": "s"} for t, l in [("NATO", "hostile"), ("NATO", "hostile"), ("EU", "conciliatory"), ("EU", "neutral")]]
    m = compute_metrics(rows, ["hostile", "neutral", "conciliatory", "conciliatory"], np.array([[0.9, 0.05, 0.05], [0.2, 0.2, 0.6], [0.1, 0.8, 0.1], [0.3, 0.4, 0.3]]))
    assert m["n"] == 4 and m["accuracy"] == 0.5
    assert m["per_label"]["hostile"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert m["per_label"]["conciliatory"]["precision"] == 0.5 and m["per_label"]["neutral"]["f1"] == 0.0
    assert m["macro_f1"] == round((2 / 3 + 2 / 3 + 0) / 3, 4)
    assert m["confusion"] == [[1, 0, 1], [0, 1, 0], [0, 1, 0]]
    assert m["per_target"]["NATO"] == {"n": 2, "accuracy": 0.5, "macro_f1": 0.6667}
    assert [e["confidence"] for e in m["errors"]] == [0.6, 0.4]  # wrong rows, most confident first


def test_ece_is_zero_when_confidence_matches_accuracy():
    probs = np.array([[1.0, 0.0, 0.0]] * 4)
    assert expected_calibration_error(probs, [0, 0, 0, 0]) == 0.0
    assert expected_calibration_error(probs, [1, 1, 0, 0]) == pytest.approx(0.5)


def test_predictor_scores_pairs_in_order_with_probabilities(tiny_model):
    predictor = Predictor(tiny_model, backend="torch")
    rows = synthetic_rows(4, seed=3)
    out = predictor.predict([r["target"] for r in rows], [r["text"] for r in rows], min_confidence=0.99)
    assert len(out) == len(rows)
    for o in out:
        assert o["label"] in LABELS and abs(sum(o["probs"].values()) - 1) < 1e-3 and o["uncertain"] is True
    # scoring one pair alone gives the same answer as in a batch (order and padding don't matter)
    alone = predictor.predict([rows[5]["target"]], [rows[5]["text"]])[0]
    assert alone["label"] == out[5]["label"] and abs(alone["probs"]["hostile"] - out[5]["probs"]["hostile"]) < 1e-3


def test_cli_predict_jsonl_csv_and_stdin(tiny_model, tmp_path):
    rows = synthetic_rows(3)
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": r["text"], "target": r["target"], "id": i} for i, r in enumerate(rows)])
    result = runner.invoke(app, ["predict", str(tiny_model), str(src), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    out = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["id"] for o in out] == list(range(len(rows))) and all(o["label"] in LABELS for o in out)
    assert not (tmp_path / "out.jsonl.partial").exists()
    (tmp_path / "in.csv").write_text("text,target\n" + "".join(f'"{r["text"]}",{r["target"]}\n' for r in rows), encoding="utf-8")
    result = runner.invoke(app, ["predict", str(tiny_model), str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    header = (tmp_path / "out.csv").read_text().splitlines()[0]
    assert header == "text,target,label,confidence,p_hostile,p_conciliatory,p_neutral"
    result = runner.invoke(app, ["predict", str(tiny_model), "-", "--target", "NATO"], input='{"text": "The alliance met."}\n')
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["target"] == "NATO" and scored["label"] in LABELS


def test_cli_predict_bad_input_fails_cleanly_and_writes_nothing(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "NATO met.", "target": "NATO"}\n{"text": 5, "target": "EU"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["predict", str(tiny_model), str(src), "-o", str(out)])
    assert result.exit_code == 2 and f"{src}:2: text: expected a string" in result.output
    assert not out.exists() and not (tmp_path / "out.jsonl.partial").exists()
    result = runner.invoke(app, ["predict", str(tiny_model), str(src), "-o", str(out), "--skip-invalid"])
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 1
    src.write_text('{"text": "NATO met."}\n', encoding="utf-8")
    result = runner.invoke(app, ["predict", str(tiny_model), str(src)])
    assert result.exit_code == 2 and "target: missing" in result.output
    result = runner.invoke(app, ["predict", str(tiny_model), str(tmp_path)])
    assert result.exit_code == 2 and "is a folder" in result.output


def test_predict_resume_keeps_written_rows(tiny_model, tmp_path):
    rows = [{"text": r["text"], "target": r["target"], "n": i} for i, r in enumerate(synthetic_rows(4))]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    partial = tmp_path / "out.jsonl.partial"
    partial.write_text(json.dumps({**rows[0], "label": "KEPT"}) + "\n" + '{"text": "half a li', encoding="utf-8")
    result = runner.invoke(app, ["predict", str(tiny_model), str(src), "-o", str(tmp_path / "out.jsonl"), "--resume"])
    assert result.exit_code == 0, result.output
    out = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["n"] for o in out] == list(range(len(rows))) and out[0]["label"] == "KEPT" and out[1]["label"] in LABELS


def test_cli_evaluate_json_report_and_side_by_side(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "eval.jsonl", synthetic_rows(6, seed=9))
    result = runner.invoke(app, ["evaluate", str(tiny_model), str(data), "--json", "--report", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    m = json.loads(result.stdout)
    assert set(m) >= {"macro_f1", "accuracy", "n", "per_label", "per_target", "confusion", "errors"} and m["n"] == 18
    assert set(m["per_label"]["hostile"]) == {"precision", "recall", "f1", "support"}
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"report.md", "report.json", "report-confusion.png"}
    assert (tmp_path / "rep" / "report-confusion.png").read_bytes()[:4] == b"\x89PNG"
    other = tmp_path / "copy"
    shutil.copytree(tiny_model, other)
    result = runner.invoke(app, ["evaluate", str(tiny_model), str(other), str(data)])
    assert result.exit_code == 0 and str(other) in result.stdout and "macro_f1" in result.stdout


def test_untrusted_model_folders_are_refused(tiny_model, tmp_path):
    bad = tmp_path / "pickled"
    shutil.copytree(tiny_model, bad)
    (bad / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(StanceError, match="refusing pickle files"):
        Predictor(bad)
    relabeled = tmp_path / "relabeled"
    shutil.copytree(tiny_model, relabeled)
    config = json.loads((relabeled / "config.json").read_text())
    config["id2label"] = {"0": "negative", "1": "positive", "2": "neutral"}
    (relabeled / "config.json").write_text(json.dumps(config))
    with pytest.raises(StanceError, match="not the contract"):
        Predictor(relabeled)
    result = runner.invoke(app, ["evaluate", str(tmp_path), str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "error:" in result.output and "Traceback" not in result.output


def test_target_sensitivity_counts_sentences_with_differently_labeled_targets():
    from stance.evaluate import target_sensitivity

    rows = [
        {"text": "A joins X and leaves Y.", "target": "X", "label": "conciliatory"},
        {"text": "A joins X and leaves Y.", "target": "Y", "label": "hostile"},
        {"text": "B praises X and Y.", "target": "X", "label": "conciliatory"},
        {"text": "B praises X and Y.", "target": "Y", "label": "conciliatory"},
        {"text": "C meets X, quits Y.", "target": "X", "label": "neutral"},
        {"text": "C meets X, quits Y.", "target": "Y", "label": "hostile"},
    ]
    got = target_sensitivity(rows, ["conciliatory", "hostile", "neutral", "neutral", "neutral", "neutral"])
    assert got == {"sentences": 2, "all_targets_right": 0.5}
