"""Fine-tuning: labeled rows → a saved stance model folder, in one plain PyTorch loop.

    rows = load_rows(config.data.paths)            # data.py
    splits = split_rows(rows, story-grouped split)  # data.py
    model = build_classifier(base)                  # modeling.py: (target, sentence) pair classifier
    for epoch: length-grouped batches, AdamW, linear warm-up/decay, early stopping on validation macro-F1
    save: safetensors weights, tokenizer, label map, config used, data hash, metrics, model card

Each epoch ends with a checkpoint (weights, optimizer, scheduler and RNG state, all in safetensors
or JSON), so `resume=True` continues an interrupted run and ends with the same metrics.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from .augment import pair_augment, setting_augment
from .data import data_hash, load_rows, make_splits, read_splits, split_rows
from .errors import StanceError
from .evaluate import compute_metrics
from .files import atomic_dir
from .labels import LABEL2ID, LABELS
from .predict import META_FILE, softmax, torch_logits

log = logging.getLogger("stance")


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int, group: int = 50) -> list[list[int]]:
    """Shuffled batches of similar-length rows: less padding than random batches, still random order.

    Rows are shuffled, cut into pools of `group` batches, each pool sorted by length and cut into
    batches, and the batches shuffled again. The order depends only on `seed`.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(lengths), generator=generator).tolist()
    batches = []
    for start in range(0, len(perm), batch_size * group):
        pool = sorted(perm[start : start + batch_size * group], key=lambda i: -lengths[i])
        batches += [pool[j : j + batch_size] for j in range(0, len(pool), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def fit_max_length(lengths: list[int], cap: int) -> int:
    """The shortest max length (a multiple of 8) that keeps 99.5% of training pairs whole."""
    if not lengths:
        return cap
    return int(min(cap, 8 * math.ceil((np.percentile(lengths, 99.5) + 1) / 8)))


def fit_temperature(logits: np.ndarray, gold: list[int]) -> float:
    """The softmax temperature that minimises validation negative log-likelihood (grid search)."""
    if len(gold) == 0:
        return 1.0
    idx = np.arange(len(gold))

    def nll(t: float) -> float:
        return float(-np.log(softmax(logits, t)[idx, gold] + 1e-12).mean())

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
    return round(float(min(grid, key=nll)), 4)


def baseline_metrics(train_rows: list[dict], eval_splits: dict[str, list[dict]], seed: int) -> dict:
    """TF-IDF + logistic regression on the same split: the bar a transformer must clear.

    The target id is a token of the input, so the baseline is target-aware too. It is not saved
    (scikit-learn models only save as pickle, which a model folder must never hold).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def text(r: dict) -> str:
        return f"TARGET_{r['target'].replace(' ', '_')} {r['text']}"

    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, class_weight="balanced", C=5.0, random_state=seed),
    )
    pipeline.fit([text(r) for r in train_rows], [r["label"] for r in train_rows])
    out = {}
    for name, rows in eval_splits.items():
        if rows:
            m = compute_metrics(rows, list(pipeline.predict([text(r) for r in rows])))
            out[name] = {k: m[k] for k in ("macro_f1", "accuracy", "n", "per_label")}
    return out


# ---------------------------------------------------------------- checkpoints (no pickle anywhere)


def _save_checkpoint(path: Path, model, best_state: dict, optimizer, scheduler, state: dict) -> None:
    import torch
    from safetensors.torch import save_file

    with atomic_dir(path) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp / "model.safetensors")
        save_file({k: v.contiguous() for k, v in best_state.items()}, tmp / "best.safetensors")
        opt = optimizer.state_dict()
        tensors = {f"{i}/{k}": v for i, s in opt["state"].items() for k, v in s.items() if torch.is_tensor(v)}
        save_file(tensors, tmp / "optimizer.safetensors")
        save_file({"cpu": torch.get_rng_state()}, tmp / "rng.safetensors")
        state = {**state, "param_groups": opt["param_groups"], "scheduler": scheduler.state_dict()}
        (tmp / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")


def _load_checkpoint(path: Path, model, optimizer, scheduler) -> tuple[dict, dict]:
    import torch
    from safetensors.torch import load_file

    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    model.load_state_dict(load_file(path / "model.safetensors"))
    best_state = load_file(path / "best.safetensors")
    opt_state: dict = {}
    for key, tensor in load_file(path / "optimizer.safetensors").items():
        index, name = key.split("/")
        opt_state.setdefault(int(index), {})[name] = tensor
    optimizer.load_state_dict({"state": opt_state, "param_groups": state.pop("param_groups")})
    scheduler.load_state_dict(state.pop("scheduler"))
    torch.set_rng_state(load_file(path / "rng.safetensors")["cpu"])
    return state, best_state


# ---------------------------------------------------------------- training


def teacher_probs(teacher: str | Path, rows: list[dict], temperature: float):
    """A trained model's probabilities at `temperature` for each row (a float tensor, rows × labels):
    the soft targets of distillation. The teacher reads the rows with its own tokenizer, max length
    and mention marking."""
    import torch

    from .predict import Predictor

    # Predictor refuses a folder whose label map is not the contract's, so columns line up with ours.
    predictor = Predictor(teacher, backend="torch", batch_size=64, threads=torch.get_num_threads())
    log.info("teacher %s: scoring %d training rows", teacher, len(rows))
    logits = predictor.logits([r["target"] for r in rows], [r["text"] for r in rows])
    return torch.from_numpy(softmax(logits, temperature)).float()


def prepare_splits(config: dict) -> dict[str, list[dict]]:
    """Rows per split as the config says: the fixed split file if it exists, else a seeded split."""
    data = config["data"]
    rows = load_rows(data["paths"])
    split_file = data.get("splits")
    if split_file and Path(split_file).is_file():
        assignment = read_splits(split_file)
    else:
        assignment = make_splits(rows, data.get("split_seed", 13), data.get("val_fraction", 0.1), data.get("test_fraction", 0.15))
    excluded = set(data.get("exclude_targets") or [])
    if excluded:  # leave-alliance-out experiments: train and select without any row of these
        rows = [r for r in rows if r["target"] not in excluded]
    splits = split_rows(rows, assignment)
    for extra in data.get("extra_train") or []:
        splits["train"] = splits["train"] + load_rows(extra)
    if not splits["train"] or not splits["validation"]:
        raise StanceError("the split leaves no training or no validation rows: add data or change the fractions")
    return splits


def freeze(model, embeddings: bool = False, layers: int = 0) -> None:
    """Keep the word embeddings, or all embeddings and the lowest `layers` encoder layers, as pretrained.

    Raises StanceError for a layer count the encoder does not have, or an architecture whose layers
    are not at `base_model.encoder.layer` (BERT, MPNet, RoBERTa and their kin keep them there).
    """
    if embeddings:
        # The word embeddings are half of MiniLM's weights: frozen, they keep the pretrained meaning
        # of words the corpus never shows, and no step computes or applies their update.
        model.get_input_embeddings().weight.requires_grad_(False)
    if not layers:
        return
    encoder_layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    if encoder_layers is None or not hasattr(model.base_model, "embeddings"):
        raise StanceError(f"training.freeze_layers: {type(model.base_model).__name__} has no embeddings and encoder.layer list to freeze; set training.freeze_layers=0")
    if not 0 < layers < len(encoder_layers):
        raise StanceError(f"training.freeze_layers: {layers}, but the encoder has {len(encoder_layers)} layers (0 to {len(encoder_layers) - 1} can be frozen)")
    # With the embeddings and the lowest N layers frozen, backpropagation stops above them: no step
    # computes their gradients at all (each MiniLM layer is about a sixth of the backward). Weights
    # the encoder shares across its layers are frozen too: MPNet's relative-position bias feeds
    # every layer's attention, and while it trains the backward pass runs through all of them.
    model.base_model.embeddings.requires_grad_(False)
    model.base_model.encoder.requires_grad_(False)
    for layer in encoder_layers[layers:]:
        layer.requires_grad_(True)


def train(config: dict, output: str | Path | None = None, resume: bool = False, progress: bool = True) -> dict:
    """Fine-tune the configured base model; save it to `output` (or config['output']); return metrics.

    The returned dict (also saved in the model folder's stance.json) has `validation` and `test`
    metrics of the transformer, `baseline` metrics of TF-IDF + logistic regression, the data hash
    and counts, epochs run and training seconds.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from .modeling import build_classifier, encode_pairs

    started = time.time()
    t = config["training"]
    output = Path(output or config["output"])
    checkpoint_dir = output.with_name(output.name + ".checkpoint")
    seed = int(t.get("seed", 42))
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(int(t.get("threads") or max(1, len(os.sched_getaffinity(0)))))
    torch.use_deterministic_algorithms(True, warn_only=True)

    # A config mistake fails before any data is read.
    pooling = config["model"].get("pooling", "cls")
    mark = bool(config["model"].get("mark_mentions", False))
    if pooling == "mention" and not mark:
        raise StanceError("model.pooling 'mention' reads the marked mention: set model.mark_mentions=true")
    if t.get("max_steps") is not None and int(t["max_steps"]) < 1:
        raise StanceError(f"training.max_steps: {t['max_steps']}; expected null (no cap) or a number of steps >= 1")

    splits = prepare_splits(config)
    train_rows, val_rows, test_rows = splits["train"], splits["validation"], splits["test"]
    # Held-out sets scored after training (e.g. the target-sensitivity sets), read now so that a bad
    # file fails before the training, not after it.
    eval_sets = {str(path): load_rows(path) for path in config["data"].get("eval_sets") or []}
    log.info("rows: train %d, validation %d, test %d", len(train_rows), len(val_rows), len(test_rows))

    model, tokenizer = build_classifier(config["model"]["base"], pooling, **(config["model"].get("overrides") or {}))
    freeze(model, bool(t.get("freeze_embeddings")), int(t.get("freeze_layers", 0)))  # a bad count fails here, before any tokenising

    device = torch.device("cuda" if torch.cuda.is_available() and t.get("device", "auto") != "cpu" else "cpu")
    model.to(device)
    precision = t.get("precision", "auto")
    use_bf16 = device.type == "cuda" and precision in ("auto", "bf16") and torch.cuda.is_bf16_supported()
    use_fp16 = device.type == "cuda" and precision == "fp16"

    fit_rows = train_rows + pair_augment(train_rows, float(t.get("augment_pairs", 0.0)), seed)
    fit_rows += setting_augment(train_rows, float(t.get("augment_settings", 0.0)), seed)
    encoded = encode_pairs(tokenizer, [r["target"] for r in fit_rows], [r["text"] for r in fit_rows], int(config["model"]["max_length"]), mark=mark)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    max_length = fit_max_length(lengths, int(config["model"]["max_length"]))
    if max_length < max(lengths):
        encoded = encode_pairs(tokenizer, [r["target"] for r in fit_rows], [r["text"] for r in fit_rows], max_length, mark=mark)
        lengths = [len(ids) for ids in encoded["input_ids"]]
    labels = torch.tensor([LABEL2ID[r["label"]] for r in fit_rows])
    teacher = t.get("teacher")
    distill_weight, distill_temperature = float(t.get("distill_weight", 0.5)), float(t.get("distill_temperature", 2.0))
    soft_labels = teacher_probs(teacher, fit_rows, distill_temperature).to(device) if teacher else None

    batch_size = int(t["batch_size"])
    steps_per_epoch = math.ceil(len(fit_rows) / batch_size)
    total_steps = steps_per_epoch * int(t["epochs"])
    if t.get("max_steps") is not None:  # a step budget: the last epoch ends early, on a random share of the batches
        total_steps = min(total_steps, int(t["max_steps"]))
    epochs = math.ceil(total_steps / steps_per_epoch)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in trainable if not n.endswith(no_decay)], "weight_decay": float(t.get("weight_decay", 0.01))},
        {"params": [p for n, p in trainable if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    # The fused kernel updates all weights in one pass: 23 ms a step on 2 CPU cores against 88 ms
    # for the default multi-tensor loop (MiniLM-L6, about 6% of a step).
    optimizer = torch.optim.AdamW(groups, lr=float(t["learning_rate"]), fused=device.type in ("cpu", "cuda"))
    scheduler = get_linear_schedule_with_warmup(optimizer, int(float(t.get("warmup_ratio", 0.1)) * total_steps), total_steps)
    weights = None
    if t.get("class_weights"):
        counts = np.bincount(labels.numpy(), minlength=len(LABELS)).astype(float)
        weights = torch.tensor(counts.sum() / (len(LABELS) * np.maximum(counts, 1)), dtype=torch.float32, device=device)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights, label_smoothing=float(t.get("label_smoothing", 0.0)))
    scaler = torch.amp.GradScaler("cuda") if use_fp16 else None

    val_targets, val_texts = [r["target"] for r in val_rows], [r["text"] for r in val_rows]
    val_gold = [LABEL2ID[r["label"]] for r in val_rows]
    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": [], "data_hash": data_hash(train_rows)}
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if resume and (checkpoint_dir / "state.json").is_file():
        saved, best_state = _load_checkpoint(checkpoint_dir, model, optimizer, scheduler)
        if saved["data_hash"] != state["data_hash"]:
            raise StanceError(f"{checkpoint_dir}: checkpoint was trained on other data; remove it or drop --resume")
        state = saved
        log.info("resuming after epoch %d (best validation macro-F1 %.4f)", state["epoch"], state["best_f1"])
    elif resume:
        log.warning("no checkpoint at %s: starting from scratch", checkpoint_dir)

    patience = int(t.get("patience", 2))
    best_val_logits = None  # the best epoch's validation logits, so they need not be computed again
    for epoch in range(state["epoch"] + 1, epochs + 1):
        if state["bad_epochs"] >= patience:
            break
        model.train()
        epoch_start = time.time()
        batches = length_grouped_batches(lengths, batch_size, seed * 1000 + epoch)[: total_steps - (epoch - 1) * steps_per_epoch]
        bar = tqdm(batches, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False)
        epoch_loss = 0.0
        for batch in bar:
            features = tokenizer.pad({k: [encoded[k][i] for i in batch] for k in encoded}, return_tensors="pt")
            features = {k: v.to(device) for k, v in features.items()}
            with torch.autocast(device.type, dtype=torch.bfloat16 if use_bf16 else torch.float16, enabled=use_bf16 or use_fp16):
                logits = model(**features).logits
            loss = loss_fn(logits.float(), labels[batch].to(device))
            if soft_labels is not None:
                # Hinton et al. (2015): match the teacher's softened probabilities; T² keeps the
                # gradient scale independent of the temperature.
                student = torch.log_softmax(logits.float() / distill_temperature, dim=-1)
                distill = torch.nn.functional.kl_div(student, soft_labels[batch], reduction="batchmean") * distill_temperature**2
                loss = (1 - distill_weight) * loss + distill_weight * distill
            if scaler:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            epoch_loss += loss.item()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        model.eval()
        val_logits = torch_logits(model, tokenizer, val_targets, val_texts, max_length, int(t.get("eval_batch_size", 64)), mark)
        val_f1 = compute_metrics(val_rows, [LABELS[i] for i in val_logits.argmax(1)])["macro_f1"]
        state["history"].append({"epoch": epoch, "steps": len(batches), "loss": round(epoch_loss / max(len(batches), 1), 4), "val_macro_f1": val_f1, "seconds": round(time.time() - epoch_start, 1)})
        log.info("epoch %d: loss %.4f, validation macro-F1 %.4f", epoch, state["history"][-1]["loss"], val_f1)
        if val_f1 > state["best_f1"]:
            state.update(best_f1=val_f1, best_epoch=epoch, bad_epochs=0)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_val_logits = val_logits
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        _save_checkpoint(checkpoint_dir, model, best_state, optimizer, scheduler, state)

    model.load_state_dict(best_state)
    model.eval()
    val_logits = best_val_logits
    if val_logits is None:  # resumed after the best epoch, which ran in an earlier process
        val_logits = torch_logits(model, tokenizer, val_targets, val_texts, max_length, mark=mark)
    temperature = fit_temperature(val_logits, val_gold)
    metrics: dict = {"validation": _split_metrics(val_rows, val_logits, temperature)}

    def held_out_metrics(rows: list[dict]) -> dict:
        logits = torch_logits(model, tokenizer, [r["target"] for r in rows], [r["text"] for r in rows], max_length, mark=mark)
        return _split_metrics(rows, logits, temperature)

    if test_rows:
        metrics["test"] = held_out_metrics(test_rows)
    if teacher:
        metrics["distilled_from"] = {"teacher": str(teacher), "weight": distill_weight, "temperature": distill_temperature}
    if config.get("baseline", True):
        metrics["baseline"] = baseline_metrics(train_rows, {"validation": val_rows, "test": test_rows}, seed)
    metrics.update(
        temperature=temperature,
        max_length=max_length,
        epochs_run=state["epoch"],
        best_epoch=state["best_epoch"],
        history=state["history"],
        train_seconds=round(time.time() - started, 1),
        data={
            "hash": state["data_hash"],
            "rows": {name: len(rows) for name, rows in splits.items()},
            "augmented_train_rows": len(fit_rows) - len(train_rows),
            "stories": {name: len({r["article_id"] for r in rows}) for name, rows in splits.items()},
            "labels": {name: {l: sum(r["label"] == l for r in rows) for l in LABELS} for name, rows in splits.items()},
        },
    )
    if eval_sets:  # after train_seconds, which they are not part of
        metrics["eval_sets"] = {name: held_out_metrics(rows) for name, rows in eval_sets.items()}
    save_model(model, tokenizer, config, metrics, output)
    if config.get("export_onnx", True):
        metrics["onnx"] = _export_for_speed(output, val_rows)
    import shutil

    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return metrics


def _export_for_speed(output: Path, val_rows: list[dict]) -> dict | None:
    """Write MODEL/onnx (fp32 + int8), checked on the validation rows, so that `stance predict`
    takes the int8 path by default when it keeps macro-F1 within 0.01."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        log.info("onnxruntime not installed: no ONNX copy (pip install 'alliance-stance[onnx]')")
        return None
    from .onnx import export_onnx

    report = export_onnx(output, None, int8=True, check_rows=val_rows)
    log.info("ONNX int8 copy: validation macro-F1 change %+.4f", report.get("int8_macro_f1_delta", 0.0))
    return report


def _split_metrics(rows: list[dict], logits: np.ndarray, temperature: float) -> dict:
    probs = softmax(logits, temperature)
    metrics = compute_metrics(rows, [LABELS[i] for i in logits.argmax(1)], probs)
    metrics["ece_uncalibrated"] = compute_metrics(rows, [LABELS[i] for i in logits.argmax(1)], softmax(logits))["ece"]
    return metrics


def versions() -> dict:
    import sklearn
    import torch
    import transformers

    from . import __version__

    return {"alliance-stance": __version__, "torch": torch.__version__, "transformers": transformers.__version__, "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def save_model(model, tokenizer, config: dict, metrics: dict, output: Path) -> None:
    """Write the model folder atomically: weights, tokenizer, config used, stance.json, model card."""
    import yaml

    meta = {
        "labels": list(LABELS),
        "base_model": config["model"]["base"],
        "max_length": metrics["max_length"],
        "temperature": metrics["temperature"],
        "mark_mentions": bool(config["model"].get("mark_mentions", False)),
        "versions": versions(),
        "metrics": metrics,
    }
    with atomic_dir(output) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "training_config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        (tmp / "README.md").write_text(model_card(config, meta), encoding="utf-8")


def model_card(config: dict, meta: dict) -> str:
    """The model folder's README.md: what it is, what it was trained on, how well it does."""
    m = meta["metrics"]
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: text-classification",
        "tags: [stance, alliances, alliance-stance]",
        "---",
        "",
        f"# alliance-stance model ({config['model']['base']})",
        "",
        "Classifies the stance one news sentence takes toward one alliance: `hostile`, `conciliatory` or",
        "`neutral`. Input is the pair (target description, sentence), e.g. (\"CSTO, Collective Security",
        "Treaty Organization\", \"Yerevan has frozen its participation in the bloc.\").",
        "",
        "```python",
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
        *(["import stance.heads  # registers the mention-pooling head ([CLS] and the first «) with the Auto classes"] if config["model"].get("pooling") == "mention" else []),
        "model = AutoModelForSequenceClassification.from_pretrained(PATH)  # config.id2label has the 3 labels",
        "```",
        "or `stance predict PATH rows.jsonl`, which also applies the stored temperature"
        + (" and marks the words that refer to the target with « » as in training (`mark_mentions` in stance.json)." if meta.get("mark_mentions") else "."),
        "",
        "## Training data",
        "",
        f"- data hash (sha256 of the training rows): `{m['data']['hash']}`",
        f"- rows per split: {m['data']['rows']}; stories per split: {m['data']['stories']}",
        f"- labels per split: {m['data']['labels']}",
        f"- split: story-grouped (no story spans two splits); files: {config['data']['paths']}",
        "",
        "## Results",
        "",
        "| split | macro-F1 | accuracy | n | TF-IDF baseline macro-F1 |",
        "|---|---|---|---|---|",
    ]
    for split in ("validation", "test"):
        if split in m:
            base = m.get("baseline", {}).get(split, {}).get("macro_f1")
            lines.append(f"| {split} | {m[split]['macro_f1']:.3f} | {m[split]['accuracy']:.3f} | {m[split]['n']} | {base if base is not None else '-'} |")
    if "test" in m:
        lines += ["", "Test split, per label:", "", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        lines += [f"| {l} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |" for l, v in m["test"]["per_label"].items()]
        lines += ["", "Test split, per target:", "", "| target | n | accuracy | macro-F1 |", "|---|---|---|---|"]
        lines += [f"| {t} | {v['n']} | {v['accuracy']:.3f} | {v['macro_f1']:.3f} |" for t, v in m["test"]["per_target"].items()]
    if "eval_sets" in m:
        lines += ["", "Held-out sets (`data.eval_sets`); target sensitivity: the share of two-alliance sentences with both labels right:", "",
                  "| set | rows | macro-F1 | target sensitivity |", "|---|---|---|---|"]
        for name, v in m["eval_sets"].items():
            sensitivity = v.get("target_sensitivity")
            lines.append(f"| {name} | {v['n']} | {v['macro_f1']:.3f} | " + (f"{sensitivity['all_targets_right']:.3f} ({sensitivity['sentences']} sentences)" if sensitivity else "-") + " |")
    lines += [
        "",
        "## Training",
        "",
        f"- base model: `{config['model']['base']}`; max length {meta['max_length']} tokens (fitted to the data)",
        f"- epochs run {m['epochs_run']}, best epoch {m['best_epoch']} (early stopping on validation macro-F1)",
        f"- training time {m['train_seconds']} s; temperature {meta['temperature']} (fitted on validation)",
        f"- synthetic two-target training sentences added: {m['data'].get('augmented_train_rows', 0)} rows",
    ]
    if "distilled_from" in m:
        d = m["distilled_from"]
        lines.append(f"- distilled from `{d['teacher']}` (weight {d['weight']} on its soft targets, temperature {d['temperature']})")
    lines += [
        f"- versions: {meta['versions']}",
        "- the full config is in `training_config.yaml`; metrics in `stance.json`",
        "",
        "## Limits",
        "",
        "Trained on English news sentences about multilateral alliances; one label per (sentence, target).",
        "A sentence about a country or leader with no alliance has no target and should not be scored.",
        "When one sentence carries two stances toward two alliances, the label for the right target is",
        "the hardest part; the project's docs/experiments.md measures it (target sensitivity), along with",
        "alliances left out of training and whole-article scoring.",
        "",
    ]
    return "\n".join(lines)
