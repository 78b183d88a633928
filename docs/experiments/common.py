"""Shared by the experiment scripts here: train the default recipe (with a patch applied by the
caller), then score the test split, both target-sensitivity sets and both gold-article sets."""

from __future__ import annotations

import json

MAIN = ["NATO", "EU", "CSTO", "SCO", "BRICS", "AUKUS", "Quad", "ASEAN", "AU", "ECOWAS", "EAEU", "GCC", "OPEC+"]


def train_and_score(seed: int, output: str, overrides: list[str] = ()) -> dict:
    from stance.articles import evaluate_articles
    from stance.config import load_config
    from stance.predict import Predictor
    from stance.train import train

    config = load_config("configs/default.yaml", [f"training.seed={seed}", "export_onnx=false", "baseline=false", *overrides])
    metrics = train(config, output, progress=False)
    predictor = Predictor(output, backend="torch")

    def sensitivity(path: str) -> float:  # train() scored the sets of data.eval_sets
        return metrics["eval_sets"][path]["target_sensitivity"]["all_targets_right"]

    result = {
        "seed": seed,
        "validation": metrics["validation"]["macro_f1"],
        "test": metrics["test"]["macro_f1"],
        "target_sensitivity": sensitivity("data/eval/target_sensitivity.jsonl"),
        "target_sensitivity2": sensitivity("data/eval/target_sensitivity2.jsonl"),
        "articles": [evaluate_articles(f"data/eval/{name}", predictor=predictor)["end_to_end_macro_f1"] for name in ("articles.jsonl", "articles2.jsonl")],
        "per_alliance": {t: round(metrics["test"]["per_target"][t]["macro_f1"], 3) for t in MAIN if t in metrics["test"]["per_target"]},
        "train_seconds": metrics["train_seconds"],
    }
    print(json.dumps(result))
    return result
