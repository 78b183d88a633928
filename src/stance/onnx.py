"""ONNX export (fp32 and int8) and ONNX Runtime scoring; `pip install 'alliance-stance[onnx]'`.

An exported folder holds model.onnx (and model.int8.onnx), the tokenizer, config.json and stance.json,
so `stance predict` and `stance evaluate` take it like any model folder.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

import numpy as np

from .errors import StanceError
from .labels import LABELS

CHECK_ROWS = [
    ("NATO", "Moscow vowed countermeasures against the alliance's expansion."),
    ("EU", "Armenia wants to join the European Union."),
    ("CSTO", "The organisation was founded in 2002."),
    ("BRICS", "The bloc's leaders will meet in Kazan in October, officials said on Monday, after weeks of talks."),
    ("ECOWAS", "Niger, Mali and Burkina Faso announced their withdrawal from the West African bloc."),
    ("ASEAN", "ASEAN"),
]


def _require_onnxruntime():
    try:
        import onnxruntime

        return onnxruntime
    except ImportError:
        raise StanceError("ONNX needs onnxruntime: pip install 'alliance-stance[onnx]'") from None


def quantize_int8(source: str | Path, target: str | Path, **options) -> None:
    """Write `target`, the int8 copy of the fp32 ONNX model `source` that `stance` ships.

    Dynamic quantisation of the matrix multiplications only (embeddings and layer norms stay fp32),
    per-channel 7-bit weights. `options` go to `quantize_dynamic` as well (bench/quantization.py).
    """
    _require_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # 7-bit weights (reduce_range): on CPUs without VNNI, u8 x s8 products go through AVX2's
    # VPMADDUBSW, whose int16 pair sums saturate with 8-bit weights; that broke MPNet-base
    # (test macro-F1 0.891 -> 0.278; 7-bit: 0.877); MiniLM loses about 1% of speed (bench/quantization.py).
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process applies to vision models
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True, op_types_to_quantize=["MatMul"], **options)
    finally:
        root.setLevel(level)


class OnnxClassifier:
    """An ONNX Runtime session that returns logits for (target, sentence) pairs."""

    def __init__(self, path: str | Path, threads: int | None = None):
        ort = _require_onnxruntime()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def run(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """Logits for one padded batch (int64 arrays keyed by input name)."""
        return self.session.run(None, {name: features[name] for name in self.inputs})[0]


def export_onnx(model_dir: str | Path, output: str | Path | None = None, int8: bool = False, check_rows: list[dict] | None = None) -> dict:
    """Export the model to ONNX fp32 (and int8 with dynamic quantisation) and check it against torch.

    Returns a report: files written, label agreement of each export with torch on the check rows,
    and, when `check_rows` are labeled rows, macro-F1 of torch and of each export. The report is
    also stored under "onnx" in stance.json of the model folder (and the export folder).
    """
    import torch

    from .evaluate import compute_metrics
    from .files import atomic_dir
    from .modeling import load_classifier
    from .predict import META_FILE, read_meta, torch_logits

    _require_onnxruntime()
    model_dir = Path(model_dir)
    model, tokenizer = load_classifier(model_dir)
    meta = read_meta(model_dir)
    max_length = int(meta.get("max_length", 128))
    output = Path(output) if output else model_dir / "onnx"
    rows = check_rows or [{"target": t, "text": s, "label": None} for t, s in CHECK_ROWS]
    targets, texts = [r["target"] for r in rows], [r["text"] for r in rows]

    with atomic_dir(output) as tmp:
        sample = tokenizer([targets[0]], [texts[0]], return_tensors="pt")
        # Positional inputs must follow forward()'s order (input_ids, attention_mask, token_type_ids),
        # not the tokenizer's.
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            eager = type(model).from_pretrained(model_dir, use_safetensors=True, attn_implementation="eager").eval()
            torch.onnx.export(
                eager, tuple(sample[n] for n in names), tmp / "model.onnx", input_names=names, output_names=["logits"],
                dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names}, "logits": {0: "batch"}}, opset_version=17, dynamo=False,
            )
        files = ["model.onnx"]
        if int8:
            quantize_int8(tmp / "model.onnx", tmp / "model.int8.onnx")
            files.append("model.int8.onnx")
        if output.parent != model_dir or output.name != "onnx":
            tokenizer.save_pretrained(tmp)
            shutil.copy(model_dir / "config.json", tmp / "config.json")
        mark = bool(meta.get("mark_mentions", False))
        reference = torch_logits(model, tokenizer, targets, texts, max_length, mark=mark).argmax(1)
        report: dict = {"files": [str(output / f) for f in files], "rows_checked": len(rows)}
        labeled = all(r.get("label") in LABELS for r in rows)
        if labeled:
            report["torch_macro_f1"] = compute_metrics(rows, [LABELS[i] for i in reference])["macro_f1"]
        for f in files:
            predicted = _onnx_logits(tmp / f, model_dir, targets, texts, max_length, mark).argmax(1)
            key = "int8" if "int8" in f else "fp32"
            report[f"{key}_agreement"] = round(float((predicted == reference).mean()), 4)
            if labeled:
                report[f"{key}_macro_f1"] = compute_metrics(rows, [LABELS[i] for i in predicted])["macro_f1"]
                report[f"{key}_macro_f1_delta"] = round(report[f"{key}_macro_f1"] - report["torch_macro_f1"], 4)
        if report["fp32_agreement"] < 0.99:
            raise StanceError(f"ONNX export disagrees with torch on {1 - report['fp32_agreement']:.1%} of check rows; not saved")
        meta["onnx"] = report
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    if output.parent == model_dir:
        from .files import atomic_file

        with atomic_file(model_dir / META_FILE) as f:
            json.dump(meta, f, indent=2, ensure_ascii=False)
    return report


def _onnx_logits(path: Path, tokenizer_dir: Path, targets: list[str], texts: list[str], max_length: int, mark: bool) -> np.ndarray:
    from .predict import DEFAULT_BATCH, PairEncoder, batched_logits

    # The batch size `stance predict` uses: int8 activations are quantised per batch, so the check
    # should see the batches scoring will.
    classifier = OnnxClassifier(path)
    return batched_logits(PairEncoder(tokenizer_dir, max_length, mark), classifier.run, classifier.inputs, targets, texts, DEFAULT_BATCH["onnx-int8"])
