import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import tiny_config, write_jsonl

from stance.errors import StanceError
from stance.labels import ID2LABEL
from stance.train import fit_max_length, fit_temperature, freeze, length_grouped_batches, prepare_splits, train


def test_model_folder_has_everything_and_loads_with_plain_transformers(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "training_config.yaml", "stance.json", "README.md"} <= names
    assert not any(n.endswith((".bin", ".pkl", ".pt")) for n in names)
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model)
    assert {int(k): v for k, v in model.config.id2label.items()} == ID2LABEL
    meta = json.loads((tiny_model / "stance.json").read_text())
    m = meta["metrics"]
    assert set(m) >= {"validation", "test", "baseline", "data", "temperature", "max_length", "train_seconds"}
    assert len(m["data"]["hash"]) == 64 and sum(m["data"]["rows"].values()) == 108
    assert meta["versions"]["torch"] and meta["versions"]["transformers"]
    card = (tiny_model / "README.md").read_text()
    assert m["data"]["hash"] in card and f"{m['test']['macro_f1']:.3f}" in card
    # the synthetic task is easy: a working loop learns it
    assert m["validation"]["macro_f1"] > 0.6  # majority-class guessing scores 0.167
    assert m["history"][-1]["loss"] < m["history"][0]["loss"] - 0.2


def test_same_seed_same_metrics_and_resume_matches(tiny_base, corpus_dir, tmp_path):
    full = train(tiny_config(tiny_base, corpus_dir, tmp_path / "full"), progress=False)
    again = train(tiny_config(tiny_base, corpus_dir, tmp_path / "again"), progress=False)
    def curve(m):  # the learning curve without its timings
        return [{k: v for k, v in h.items() if k != "seconds"} for h in m["history"]]

    assert curve(full) == curve(again) and full["test"]["macro_f1"] == again["test"]["macro_f1"]
    # A run stopped after epoch 1 (as if killed), then resumed, ends with the same metrics.
    checkpoint = tmp_path / "resumed.checkpoint"
    assert not (tmp_path / "full.checkpoint").exists()  # a finished run cleans its checkpoint ...
    _stop_after_first_epoch(tiny_base, corpus_dir, tmp_path / "resumed")
    assert (checkpoint / "state.json").is_file()  # ... an interrupted one keeps it
    resumed = train(tiny_config(tiny_base, corpus_dir, tmp_path / "resumed"), resume=True, progress=False)
    assert curve(resumed) == curve(full)
    assert resumed["test"]["macro_f1"] == full["test"]["macro_f1"]


def _stop_after_first_epoch(base, corpus, output):
    """Run training in a subprocess that is killed with SIGKILL right after the first checkpoint."""
    script = textwrap.dedent(f"""
        import os, signal, stance.train as t
        from conftest import tiny_config, write_jsonl
        original = t._save_checkpoint
        def save_then_die(*args, **kwargs):
            original(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        t._save_checkpoint = save_then_die
        t.train(tiny_config({str(base)!r}, {str(corpus)!r}, {str(output)!r}), progress=False)
    """)
    env = {**os.environ, "PYTHONPATH": os.path.dirname(__file__)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]


def test_interrupted_training_leaves_the_previous_model(tiny_base, corpus_dir, tmp_path):
    output = tmp_path / "model"
    train(tiny_config(tiny_base, corpus_dir, output, epochs=1), progress=False)
    before = (output / "model.safetensors").read_bytes()
    _stop_after_first_epoch(tiny_base, corpus_dir, output)
    assert (output / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in output.iterdir()) == sorted(["README.md", "config.json", "model.safetensors", "stance.json", "tokenizer.json", "tokenizer_config.json", "training_config.yaml"])


def test_resume_refuses_a_checkpoint_from_other_data(tiny_base, corpus_dir, tmp_path):
    from conftest import synthetic_rows

    _stop_after_first_epoch(tiny_base, corpus_dir, tmp_path / "m")
    other = tmp_path / "other"
    other.mkdir()
    write_jsonl(other / "rows.jsonl", synthetic_rows(30, seed=5))
    with pytest.raises(StanceError, match="other data"):
        train(tiny_config(tiny_base, other, tmp_path / "m"), resume=True, progress=False)


def test_synthetic_sentences_go_to_training_rows_only_and_eval_sets_are_scored(tiny_base, corpus_dir, tmp_path):
    from stance.augment import pair_augment, setting_augment

    config = tiny_config(tiny_base, corpus_dir, tmp_path / "m", epochs=1, augment_pairs=0.2, augment_settings=0.1)
    two_targets = [{"article_id": f"ts-{i}", "text": f"{c} condemned NATO and applied to join the EU.", "target": t, "label": label, "origin": "test"}
                   for i, c in enumerate(["Armenia", "Norway", "Chile"]) for t, label in (("NATO", "hostile"), ("EU", "conciliatory"))]
    config["data"]["eval_sets"] = [str(write_jsonl(tmp_path / "ts.jsonl", two_targets))]
    metrics = train(config, progress=False)
    held_out = metrics["eval_sets"][config["data"]["eval_sets"][0]]
    assert held_out["n"] == 6 and held_out["target_sensitivity"]["sentences"] == 3
    assert f"| {config['data']['eval_sets'][0]} | 6 |" in (tmp_path / "m" / "README.md").read_text()
    splits = prepare_splits(config)
    seed = config["training"]["seed"]
    made = len(pair_augment(splits["train"], 0.2, seed)) + len(setting_augment(splits["train"], 0.1, seed))
    assert metrics["data"]["augmented_train_rows"] == made and len(setting_augment(splits["train"], 0.1, seed)) > 0
    assert metrics["data"]["rows"] == {name: len(rows) for name, rows in splits.items()}


def test_a_missing_eval_set_fails_before_any_training(tiny_base, corpus_dir, tmp_path, monkeypatch):
    import stance.modeling

    monkeypatch.setattr(stance.modeling, "build_classifier", lambda *a, **k: pytest.fail("training started"))
    config = tiny_config(tiny_base, corpus_dir, tmp_path / "m")
    config["data"]["eval_sets"] = [str(tmp_path / "missing.jsonl")]
    with pytest.raises(StanceError, match="missing.jsonl"):
        train(config, progress=False)


def test_batches_are_length_grouped_and_cover_every_row():
    lengths = [5, 50, 6, 49, 7, 48, 8, 47] * 4
    batches = length_grouped_batches(lengths, 4, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(max(lengths[i] for i in b) - min(lengths[i] for i in b) <= 3 for b in batches)
    assert batches == length_grouped_batches(lengths, 4, seed=1) != length_grouped_batches(lengths, 4, seed=2)


def test_max_length_and_temperature_fits():
    assert fit_max_length([10] * 1000 + [300], 128) == 16
    assert fit_max_length([200] * 10, 128) == 128
    import numpy as np

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 500)
    logits = rng.normal(size=(500, 3))
    logits[np.arange(500), gold] += 1.0
    assert fit_temperature(logits * 5, list(gold)) > 2  # overconfident logits are cooled


def test_distillation_follows_the_teacher_alone_at_weight_one_and_ignores_it_at_zero(tiny_model, tiny_base, corpus_dir, tmp_path):
    import numpy as np

    from stance.data import load_rows, make_splits, write_splits
    from stance.labels import LABELS
    from stance.predict import Predictor, softmax
    from stance.train import prepare_splits, teacher_probs

    config = tiny_config(tiny_base, corpus_dir, tmp_path / "plain", seed=3, epochs=3)
    rows = load_rows([corpus_dir])
    assignment = make_splits(rows, 13, 0.2, 0.2)
    write_splits(assignment, tmp_path / "splits.csv")
    config["data"]["splits"] = str(tmp_path / "splits.csv")
    # The same corpus with every training label wrong (validation and test untouched).
    rotated = tmp_path / "rotated"
    rotated.mkdir()
    held_out = {(r["text"], r["target"]) for r in rows if assignment[r["article_id"]] != "train"}

    def wrong(r):  # (a sentence also in validation or test keeps its label: the reader refuses conflicts)
        return assignment[r["article_id"]] == "train" and (r["text"], r["target"]) not in held_out

    write_jsonl(rotated / "rows.jsonl", [{**r, "label": LABELS[(LABELS.index(r["label"]) + 1) % 3]} if wrong(r) else r for r in rows])

    train_rows = prepare_splits(config)["train"]
    logits = Predictor(tiny_model, backend="torch").logits([r["target"] for r in train_rows], [r["text"] for r in train_rows])
    soft = teacher_probs(tiny_model, train_rows, 1.0).numpy()
    assert np.allclose(soft, softmax(logits), atol=1e-5)
    assert (teacher_probs(tiny_model, train_rows, 4.0).numpy().max(1) <= soft.max(1) + 1e-6).all()  # softened

    def curve(m):
        return [(h["loss"], h["val_macro_f1"]) for h in m["history"]]

    def run(name, corpus=corpus_dir, **distill):
        training = {**config["training"], **({"teacher": str(tiny_model)} if distill else {}), **distill}
        return train({**config, "data": {**config["data"], "paths": [str(corpus)]}, "training": training}, tmp_path / name, progress=False)

    plain = run("plain")
    assert curve(run("weight0", distill_weight=0.0)) == curve(plain) and "distilled_from" not in plain
    student = run("student", distill_weight=1.0)
    assert student["distilled_from"]["teacher"] == str(tiny_model) and curve(student) != curve(plain)
    # At weight 1 the gold labels play no part: wrong training labels give the same run.
    assert curve(run("student-rotated", rotated, distill_weight=1.0)) == curve(student)


def weights(folder):
    """A saved model's tensors by name; the base model's keys lack the classifier's "bert." prefix."""
    from safetensors.torch import load_file

    return {k.removeprefix("bert."): v for k, v in load_file(folder / "model.safetensors").items()}


def test_max_steps_ends_the_last_epoch_early(tiny_base, corpus_dir, tmp_path):
    full = train(tiny_config(tiny_base, corpus_dir, tmp_path / "full", epochs=1), progress=False)
    per_epoch = full["history"][0]["steps"]
    cut = train(tiny_config(tiny_base, corpus_dir, tmp_path / "cut", epochs=5, max_steps=per_epoch + 2), progress=False)
    assert [h["steps"] for h in cut["history"]] == [per_epoch, 2]
    assert cut["epochs_run"] == 2
    with pytest.raises(StanceError, match="training.max_steps: 0"):
        train(tiny_config(tiny_base, corpus_dir, tmp_path / "none", max_steps=0), progress=False)
    assert not (tmp_path / "none").exists()


def test_frozen_embeddings_stay_as_pretrained_while_the_rest_learns(tiny_base, corpus_dir, tmp_path):
    train(tiny_config(tiny_base, corpus_dir, tmp_path / "frozen", epochs=1, freeze_embeddings=True), progress=False)
    base, tuned = weights(tiny_base), weights(tmp_path / "frozen")
    key = "embeddings.word_embeddings.weight"
    assert (tuned[key] == base[key]).all()
    query = "encoder.layer.0.attention.self.query.weight"
    assert not (tuned[query] == base[query]).all()


def test_frozen_layers_stay_as_pretrained_above_them_the_encoder_learns(tiny_base, corpus_dir, tmp_path):
    train(tiny_config(tiny_base, corpus_dir, tmp_path / "frozen", epochs=1, freeze_layers=1), progress=False)
    base, tuned = weights(tiny_base), weights(tmp_path / "frozen")
    for key in ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.output.dense.bias"):
        assert (tuned[key] == base[key]).all(), key
    key = "encoder.layer.1.attention.self.query.weight"
    assert not (tuned[key] == base[key]).all()
    with pytest.raises(StanceError, match="freeze_layers: 2, but the encoder has 2 layers"):
        train(tiny_config(tiny_base, corpus_dir, tmp_path / "all", epochs=1, freeze_layers=2), progress=False)
    assert not (tmp_path / "all").exists()


def test_freezing_layers_of_an_encoder_laid_out_otherwise_is_a_clear_error():
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64))
    freeze(model, embeddings=True)  # the word embeddings are found through the common API
    assert not model.get_input_embeddings().weight.requires_grad
    with pytest.raises(StanceError, match="DistilBertModel has no embeddings and encoder.layer list to freeze"):
        freeze(model, layers=1)


def test_freezing_mpnet_layers_also_freezes_the_position_bias_all_layers_share():
    # MPNet's relative-position bias feeds every layer: left trainable, it made the backward pass run
    # through the frozen layers too, and freezing 8 of 12 layers saved no time at all.
    import torch
    from transformers import MPNetConfig, MPNetForSequenceClassification

    model = MPNetForSequenceClassification(MPNetConfig(vocab_size=100, hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64, num_labels=3))
    freeze(model, layers=2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "mpnet.encoder.relative_attention_bias.weight" not in trainable
    assert not any(n.startswith(("mpnet.embeddings.", "mpnet.encoder.layer.0.", "mpnet.encoder.layer.1.")) for n in trainable)
    assert any(n.startswith("mpnet.encoder.layer.2.") for n in trainable) and any(n.startswith("classifier.") for n in trainable)
    model(input_ids=torch.tensor([[0, 5, 6, 7, 2]]), labels=torch.tensor([1])).loss.backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n not in trainable)
