"""Evaluating saved models on labeled rows: macro-F1, per label, per target, confusion, errors.

`evaluate(model_dir, rows)` returns one JSON-ready dict; `format_report` renders it as text or
Markdown, `compare` puts several models side by side, and `write_report` saves Markdown + PNG + JSON.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from .labels import LABELS


def compute_metrics(rows: list[dict], predicted: list[str], probs: np.ndarray | None = None, n_errors: int = 10) -> dict:
    """Metrics of `predicted` labels against the rows' gold labels.

    Keys: macro_f1, accuracy, n, per_label (label → precision, recall, f1, support), per_target
    (target → n, accuracy, macro_f1), confusion (rows gold, columns predicted, in LABELS order),
    and errors: the most confident wrong predictions when `probs` is given.
    """
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    gold = [r["label"] for r in rows]
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=list(LABELS), zero_division=0)
    by_target: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_target[row["target"]].append(i)
    per_target = {}
    for target, idx in sorted(by_target.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        g = [gold[i] for i in idx]
        y = [predicted[i] for i in idx]
        present = sorted(set(g), key=LABELS.index)  # macro over the labels this target has
        per_target[target] = {
            "n": len(idx),
            "accuracy": round(float(np.mean([a == b for a, b in zip(g, y)])), 4),
            "macro_f1": round(float(f1_score(g, y, labels=present, average="macro", zero_division=0)), 4),
        }
    metrics = {
        "n": len(rows),
        "macro_f1": round(float(np.mean(f)), 4),
        "accuracy": round(float(np.mean([a == b for a, b in zip(gold, predicted)])), 4),
        "per_label": {
            label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4), "support": int(s[i])}
            for i, label in enumerate(LABELS)
        },
        "per_target": per_target,
        "confusion": confusion_matrix(gold, predicted, labels=list(LABELS)).tolist(),
    }
    sensitivity = target_sensitivity(rows, predicted)
    if sensitivity["sentences"]:
        metrics["target_sensitivity"] = sensitivity
    if probs is not None:
        wrong = [i for i in range(len(rows)) if gold[i] != predicted[i]]
        wrong.sort(key=lambda i: -float(probs[i].max()))
        metrics["errors"] = [
            {"article_id": rows[i].get("article_id"), "target": rows[i]["target"], "text": rows[i]["text"], "gold": gold[i], "predicted": predicted[i], "confidence": round(float(probs[i].max()), 4)}
            for i in wrong[:n_errors]
        ]
        metrics["ece"] = round(expected_calibration_error(probs, [LABELS.index(g) for g in gold]), 4)
    return metrics


def target_sensitivity(rows: list[dict], predicted: list[str]) -> dict:
    """Over sentences that carry two or more targets with different gold labels: the share whose
    every target is labeled right. A model that ignores the target cannot score well here."""
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_text[row["text"]].append(i)
    groups = [idx for idx in by_text.values() if len({rows[i]["label"] for i in idx}) > 1]
    right = sum(all(rows[i]["label"] == predicted[i] for i in idx) for idx in groups)
    return {"sentences": len(groups), "all_targets_right": round(right / len(groups), 4) if groups else None}


def expected_calibration_error(probs: np.ndarray, gold: list[int], bins: int = 10) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by bin size."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(gold)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def evaluate(model_dir: str | Path, rows: list[dict], backend: str = "auto", batch_size: int | None = None) -> dict:
    """Score `rows` with the model in `model_dir` and compute their metrics."""
    from .predict import Predictor

    predictor = Predictor(model_dir, backend=backend, batch_size=batch_size)
    probs = predictor.predict_proba([r["target"] for r in rows], [r["text"] for r in rows])
    metrics = compute_metrics(rows, [LABELS[i] for i in probs.argmax(axis=1)], probs)
    metrics["model"] = str(model_dir)
    metrics["backend"] = predictor.backend
    return metrics


def confusion_text(confusion: list[list[int]]) -> str:
    width = max(len(l) for l in LABELS) + 2
    lines = ["gold \\ predicted".ljust(width + 4) + "".join(l.rjust(width) for l in LABELS)]
    for label, row in zip(LABELS, confusion):
        lines.append(label.ljust(width + 4) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def format_report(metrics: dict, markdown: bool = False) -> str:
    """A human-readable report: headline, per label, per target, confusion matrix, top errors."""
    h = "## " if markdown else ""
    out = [
        f"{'# ' if markdown else ''}Evaluation of {metrics.get('model', 'model')}",
        "",
        f"macro-F1 {metrics['macro_f1']:.3f}   accuracy {metrics['accuracy']:.3f}   n {metrics['n']}"
        + (f"   ECE {metrics['ece']:.3f}" if "ece" in metrics else "")
        + (f"\ntarget sensitivity {metrics['target_sensitivity']['all_targets_right']:.3f} over {metrics['target_sensitivity']['sentences']} sentences with two differently-labeled targets" if "target_sensitivity" in metrics else ""),
        "",
        f"{h}Per label",
        "",
        _table(["label", "precision", "recall", "f1", "support"], [[l, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]] for l, v in metrics["per_label"].items()], markdown),
        "",
        f"{h}Per target",
        "",
        _table(["target", "n", "accuracy", "macro_f1"], [[t, v["n"], f"{v['accuracy']:.3f}", f"{v['macro_f1']:.3f}"] for t, v in metrics["per_target"].items()], markdown),
        "",
        f"{h}Confusion matrix",
        "",
        ("```\n" if markdown else "") + confusion_text(metrics["confusion"]) + ("\n```" if markdown else ""),
    ]
    if metrics.get("errors"):
        out += ["", f"{h}Most confident errors", ""]
        out.append(_table(["target", "gold", "predicted", "conf.", "text"], [[e["target"], e["gold"], e["predicted"], f"{e['confidence']:.2f}", e["text"][:140]] for e in metrics["errors"]], markdown))
    return "\n".join(out) + "\n"


def compare(all_metrics: list[dict], markdown: bool = False) -> str:
    """Several models' metrics side by side: headline, per-label F1 and per-target macro-F1."""
    names = [m.get("model", f"model {i}") for i, m in enumerate(all_metrics)]
    rows = [["macro_f1"] + [f"{m['macro_f1']:.3f}" for m in all_metrics], ["accuracy"] + [f"{m['accuracy']:.3f}" for m in all_metrics]]
    rows += [[f"f1 {l}"] + [f"{m['per_label'][l]['f1']:.3f}" for m in all_metrics] for l in LABELS]
    targets = list(all_metrics[0]["per_target"])
    rows += [[f"{t} (n={all_metrics[0]['per_target'][t]['n']})"] + [f"{m['per_target'].get(t, {}).get('macro_f1', float('nan')):.3f}" for m in all_metrics] for t in targets]
    return _table(["metric"] + names, rows, markdown) + "\n"


def _table(header: list[str], rows: list[list], markdown: bool) -> str:
    cells = [[str(c) for c in row] for row in [header] + rows]
    if markdown:
        lines = ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        lines.insert(1, "|" + "---|" * len(header))
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def plot_confusion(confusion: list[list[int]], path: str | Path, title: str = "") -> None:
    """Save the confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=30)
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > matrix.max() / 2 else "black")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(metrics: dict, directory: str | Path, name: str = "report") -> Path:
    """Write NAME.md, NAME.json and NAME-confusion.png into `directory`; return the Markdown path."""
    from .files import atomic_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plot_confusion(metrics["confusion"], directory / f"{name}-confusion.png", str(metrics.get("model", "")))
    with atomic_file(directory / f"{name}.json") as f:
        json.dump(metrics, f, indent=2, ensure_ascii=False)
    with atomic_file(directory / f"{name}.md") as f:
        f.write(format_report(metrics, markdown=True) + f"\n![confusion matrix]({name}-confusion.png)\n")
    return directory / f"{name}.md"
