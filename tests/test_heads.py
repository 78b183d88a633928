"""The mention-pooling head: what it reads, and that a model with it trains, reloads and exports."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import tiny_config
from stance.errors import StanceError


def tiny_head(marker_id: int = 7):
    from stance.heads import MentionPooledBert, MentionPooledBertConfig

    torch.manual_seed(0)
    config = MentionPooledBertConfig(marker_id=marker_id, vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_labels=3)
    return MentionPooledBert(config).eval()


def test_head_reads_cls_and_the_first_marker_or_cls_twice_without_one():
    model = tiny_head(marker_id=7)
    ids = torch.tensor([[1, 4, 5, 7, 9, 7, 2], [1, 4, 5, 6, 9, 8, 2]])  # a « at 3 (and again at 5); none
    with torch.inference_mode():
        hidden = model.bert(input_ids=ids).last_hidden_state
        expected = []
        for row, position in ((0, 3), (1, 0)):
            pooled = torch.tanh(model.dense(torch.cat([hidden[row, 0], hidden[row, position]])))
            expected.append(model.classifier(pooled))
        got = model(input_ids=ids).logits
    torch.testing.assert_close(got, torch.stack(expected))


def test_head_loss_is_cross_entropy_on_the_labels():
    model = tiny_head()
    ids, labels = torch.tensor([[1, 7, 3, 2]]), torch.tensor([2])
    out = model(input_ids=ids, labels=labels)
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))


def test_mention_pooling_trains_saves_reloads_and_scores_the_same(tiny_base, corpus_dir, tmp_path):
    from stance.modeling import load_classifier
    from stance.predict import Predictor
    from stance.train import train

    config = tiny_config(tiny_base, corpus_dir, tmp_path / "m", epochs=2)
    config["model"].update(pooling="mention", mark_mentions=True)
    metrics = train(config, progress=False)
    assert 0.0 <= metrics["test"]["macro_f1"] <= 1.0
    model, tokenizer = load_classifier(tmp_path / "m")  # through AutoModelForSequenceClassification
    assert type(model).__name__ == "MentionPooledBert"
    assert model.config.marker_id == tokenizer.convert_tokens_to_ids("«") != tokenizer.unk_token_id
    pairs = (["NATO", "EU"], ["Armenia condemned NATO and vowed countermeasures.", "Brazil applied to join the EU."])
    torch_probs = Predictor(tmp_path / "m", backend="torch").predict_proba(*pairs)
    assert np.allclose(torch_probs.sum(1), 1.0)
    pytest.importorskip("onnxruntime")
    from stance.onnx import export_onnx

    report = export_onnx(tmp_path / "m")
    assert report["fp32_agreement"] == 1.0
    onnx_probs = Predictor(tmp_path / "m", backend="onnx").predict_proba(*pairs)
    np.testing.assert_allclose(onnx_probs, torch_probs, atol=1e-4)


def test_mention_pooling_needs_marked_mentions_and_a_known_name(tiny_base, corpus_dir, tmp_path):
    from stance.modeling import build_classifier
    from stance.train import train

    config = tiny_config(tiny_base, corpus_dir, tmp_path / "m")
    config["model"].update(pooling="mention", mark_mentions=False)
    with pytest.raises(StanceError, match="mark_mentions"):
        train(config, progress=False)
    assert not (tmp_path / "m").exists()
    with pytest.raises(StanceError, match="pooling 'avg'"):
        build_classifier(str(tiny_base), "avg")


def test_mention_pooling_refuses_a_non_bert_encoder(tiny_base, tmp_path):
    from transformers import AutoTokenizer, MPNetConfig, MPNetModel

    from stance.modeling import build_classifier

    MPNetModel(MPNetConfig(vocab_size=30527, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_base).save_pretrained(tmp_path)
    with pytest.raises(StanceError, match="needs a BERT encoder"):
        build_classifier(str(tmp_path), "mention")
