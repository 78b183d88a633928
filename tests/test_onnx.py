import json

import numpy as np
import pytest
from conftest import synthetic_rows, write_jsonl
from typer.testing import CliRunner

from stance.cli import app
from stance.onnx import export_onnx
from stance.predict import Predictor

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def test_onnx_export_agrees_with_torch_and_is_a_model_folder(tiny_model, tmp_path):
    rows = synthetic_rows(10, seed=4)
    report = export_onnx(tiny_model, tmp_path / "onnx-model", int8=True, check_rows=rows)
    assert report["fp32_agreement"] == 1.0 and report["fp32_macro_f1_delta"] == 0.0
    assert 0 <= report["int8_agreement"] <= 1 and "int8_macro_f1_delta" in report
    names = {p.name for p in (tmp_path / "onnx-model").iterdir()}
    assert {"model.onnx", "model.int8.onnx", "config.json", "tokenizer.json", "stance.json"} <= names
    # 7-bit weights (reduce_range), which keep u8 x s8 products from saturating on AVX2 CPUs.
    weights = [onnx.numpy_helper.to_array(w) for w in onnx.load(tmp_path / "onnx-model" / "model.int8.onnx").graph.initializer if w.name.endswith("_quantized")]
    assert weights and all(w.dtype == np.int8 and np.abs(w.astype(int)).max() <= 64 for w in weights)
    torch_out = Predictor(tiny_model, backend="torch").predict_proba([r["target"] for r in rows], [r["text"] for r in rows])
    default = Predictor(tmp_path / "onnx-model")
    assert default.backend == "onnx-int8"  # a folder with only ONNX files scores with the int8 copy
    fp32 = Predictor(tmp_path / "onnx-model", backend="onnx").predict_proba([r["target"] for r in rows], [r["text"] for r in rows])
    assert abs(fp32 - torch_out).max() < 1e-4
    # Several batches scored at once on two threads come back in input order.
    parallel = Predictor(tmp_path / "onnx-model", backend="onnx", batch_size=3, threads=2).predict_proba([r["target"] for r in rows], [r["text"] for r in rows])
    assert abs(parallel - torch_out).max() < 1e-4
    data = write_jsonl(tmp_path / "eval.jsonl", rows)
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "onnx-model"), str(data), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == len(rows)


def test_auto_backend_uses_int8_only_when_it_keeps_macro_f1(tiny_model, tmp_path):
    import shutil

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    assert Predictor(model).backend == "torch"  # no ONNX copy yet
    export_onnx(model, None, int8=True, check_rows=synthetic_rows(10, seed=4))
    meta = json.loads((model / "stance.json").read_text())
    expected = "onnx-int8" if abs(meta["onnx"]["int8_macro_f1_delta"]) <= 0.01 else "onnx"
    assert Predictor(model).backend == expected
    meta["onnx"]["int8_macro_f1_delta"] = -0.05  # int8 loses too much: the fp32 copy, which does not
    (model / "stance.json").write_text(json.dumps(meta))
    assert Predictor(model).backend == "onnx"
    meta["onnx"]["fp32_macro_f1_delta"] = -0.02
    (model / "stance.json").write_text(json.dumps(meta))
    assert Predictor(model).backend == "torch"


def test_cli_export_checks_on_labeled_rows(tiny_model, tmp_path):
    rows = synthetic_rows(6, seed=5)
    data = write_jsonl(tmp_path / "check.jsonl", rows)
    result = CliRunner().invoke(app, ["export", str(tiny_model), "--int8", "--check", str(data), "--output", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows_checked"] == len(rows) and "int8_macro_f1_delta" in report and "torch_macro_f1" in report
    assert json.loads((tmp_path / "x" / "stance.json").read_text())["onnx"]["int8_macro_f1_delta"] == report["int8_macro_f1_delta"]
    missing = CliRunner().invoke(app, ["export", str(tiny_model), "--check", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "nope.jsonl" in missing.output
