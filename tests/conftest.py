"""Shared fixtures: a tiny BERT built from a config (no pretrained weights) and small labeled files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

HOSTILE = ["{c} condemned {a} and vowed countermeasures against its expansion.", "{c} said it would leave {a} within a year.", "{c} accused {a} of betrayal and froze its participation."]
CONCILIATORY = ["{c} applied to join {a} on Monday.", "{c} reaffirmed its commitment to {a}.", "{c} praised {a} and pledged new contributions."]
NEUTRAL = ["{a} foreign ministers meet in {city} on 4 April.", "{a} was founded in {year}.", "{a} has not received any statement from {c}."]
COUNTRIES = ["Armenia", "Norway", "Brazil", "Kenya", "Vietnam", "Mali", "Qatar", "Chile"]
ALLIANCES = ["NATO", "EU", "CSTO", "BRICS", "ASEAN", "ECOWAS"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def synthetic_rows(n_articles: int = 36, seed: int = 0) -> list[dict]:
    """Template rows: each story has one sentence of each label toward one alliance."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_articles):
        c, a = rng.choice(COUNTRIES), ALLIANCES[i % len(ALLIANCES)]
        for label, templates in (("hostile", HOSTILE), ("conciliatory", CONCILIATORY), ("neutral", NEUTRAL)):
            text = rng.choice(templates).format(c=c, a=a, city=rng.choice(["Brussels", "Minsk", "Abuja"]), year=rng.randint(1949, 2015))
            rows.append({"article_id": f"syn-{i:03d}", "text": text, "target": a, "label": label, "origin": "test"})
    return rows


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A 2-layer BERT with hidden size 64 and the MiniLM tokenizer, saved as a base model folder."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from stance.modeling import resolve_base_model

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model("minilm-l6"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, max_position_embeddings=128)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_jsonl(folder / "rows.jsonl", synthetic_rows())
    return folder


def tiny_config(base: Path, corpus: Path, output: Path, **training) -> dict:
    return {
        "model": {"base": str(base), "max_length": 64, "overrides": {}},
        "data": {"paths": [str(corpus)], "splits": None, "split_seed": 13, "val_fraction": 0.2, "test_fraction": 0.2, "extra_train": []},
        "training": {"seed": 8, "epochs": 6, "patience": 20, "batch_size": 4, "eval_batch_size": 32, "learning_rate": 1e-3, "weight_decay": 0.0, "warmup_ratio": 0.1, "class_weights": True, "label_smoothing": 0.0, "precision": "auto", "device": "cpu", "threads": 1, **training},
        "baseline": True,
        "export_onnx": False,
        "output": str(output),
    }


@pytest.fixture(scope="session")
def tiny_model(tiny_base, corpus_dir, tmp_path_factory) -> Path:
    """A stance model folder trained for a few epochs on the synthetic rows."""
    from stance.train import train

    output = tmp_path_factory.mktemp("models") / "tiny"
    train(tiny_config(tiny_base, corpus_dir, output), progress=False)
    return output
