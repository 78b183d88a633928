"""Which int8 copy of the ONNX model scores fastest: the ones tried beside the shipped one.

    python bench/quantization.py --model models/default      # about 5 minutes on 2 cores

Side by side in one run, on 2,000 test-split pairs scored the way `stance predict` scores them
(batches of 16, one per core): the shipped int8 copy (dynamic, per-channel 7-bit weights, MatMul
only), dynamic copies with per-tensor scales, unsigned weights or full 8-bit weights, the shipped recipe
after ONNX Runtime's transformer optimiser (fused attention, skip layer norm, bias GELU), and static
int8 (activation scales calibrated on 320 training pairs) in QOperator and QDQ form. Prints pairs/s
(median of 3) and test macro-F1 for each.

    python bench/quantization.py --model models/default --profile   # about 30 seconds

Where the shipped int8 copy spends its time, operator by operator (ONNX Runtime's profiler, one core),
and the rate of its matrix products in multiply-accumulates per second: how close scoring already is
to what the core can do.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import random
import sys
import tempfile
from pathlib import Path

from run import LABELS, load_pairs, macro_f1, pairs_per_second


def build_variants(model: Path, folder: Path, train_rows: list[dict], encoder) -> dict[str, Path]:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from onnxruntime.transformers.optimizer import optimize_model

    from stance.onnx import quantize_int8
    from stance.predict import length_sorted_batches

    fp32 = model / "onnx" / "model.onnx"
    config = json.loads((model / "config.json").read_text())
    fused = optimize_model(str(fp32), model_type="bert", num_heads=config["num_attention_heads"], hidden_size=config["hidden_size"])
    fused.save_model_to_file(str(folder / "fused.onnx"))
    # The fused operators are outside ONNX's shape inference: tell the quantiser their type.
    quantize_int8(folder / "fused.onnx", folder / "fused.int8.onnx", extra_options={"DefaultTensorType": 1})

    # The shipped recipe against its nearest dynamic alternatives (weight sign and width, scale granularity).
    dynamic = {
        "dynamic, per-tensor": dict(weight_type=QuantType.QInt8, per_channel=False, reduce_range=True),
        "dynamic, unsigned weights": dict(weight_type=QuantType.QUInt8, per_channel=True),
        "dynamic, 8-bit weights": dict(weight_type=QuantType.QInt8, per_channel=True),
    }
    for name, options in dynamic.items():
        quantize_dynamic(str(fp32), str(folder / f"{name}.onnx"), op_types_to_quantize=["MatMul"], **options)

    encodings = encoder.encode([r["target"] for r in train_rows], [r["text"] for r in train_rows])
    batches = [encoder.pad([encodings[i] for i in b]) for b in length_sorted_batches([len(e.ids) for e in encodings], 16)]

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(batches)

        def get_next(self):
            return next(self.batches, None)

    # Shape inference writes scratch files into the working directory: keep them in the temp folder.
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        quant_pre_process(str(fp32), str(folder / "pre.onnx"), skip_symbolic_shape=True)
    finally:
        os.chdir(cwd)
    for name, form in (("static-qoperator", QuantFormat.QOperator), ("static-qdq", QuantFormat.QDQ)):
        quantize_static(str(folder / "pre.onnx"), str(folder / f"{name}.onnx"), Calibration(), quant_format=form, per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, op_types_to_quantize=["MatMul"], extra_options={"DefaultTensorType": 1})
    return {"dynamic (shipped)": model / "onnx" / "model.int8.onnx", **{name: folder / f"{name}.onnx" for name in dynamic}, "fused, then dynamic": folder / "fused.int8.onnx", "static, QOperator": folder / "static-qoperator.onnx", "static, QDQ": folder / "static-qdq.onnx"}


def profile(model: Path, encoder, pairs: list[dict]) -> None:
    """Print time per operator type of the shipped int8 copy on one core, and its matrix-product rate."""
    import numpy as np
    import onnxruntime as ort

    from stance.predict import DEFAULT_BATCH, batched_logits

    lengths: list[int] = []  # tokens of each pair, as the session saw them

    def run(features: dict) -> np.ndarray:
        lengths.extend(features["attention_mask"].sum(axis=1).tolist())
        return session.run(None, features)[0]

    per_op: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(model / "onnx" / "model.int8.onnx"), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        batched_logits(encoder, run, names, [r["target"] for r in pairs], [r["text"] for r in pairs], DEFAULT_BATCH["onnx-int8"])
        for event in json.loads(Path(session.end_profiling()).read_text()):
            if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
                per_op[event["args"]["op_name"]] += event["dur"] / 1e6
    total = sum(per_op.values())
    print(f"\nint8 copy of {model.name}, {len(pairs)} pairs, one core: {total:.2f} s in operators\n")
    print("| operator | seconds | share |\n|---|---|---|")
    for op, seconds in per_op.most_common(8):
        print(f"| {op} | {seconds:.2f} | {seconds / total:.1%} |")
    # Multiply-accumulates of the encoder's weight matrices (Q, K, V, output; two feed-forward) per
    # token and layer, plus attention's two products over each sequence.
    config = json.loads((model / "config.json").read_text())
    hidden, inner, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    macs = layers * sum(n * (4 * hidden * hidden + 2 * hidden * inner) + 2 * n * n * hidden for n in lengths)
    matmul_seconds = sum(v for k, v in per_op.items() if "MatMul" in k)
    print(f"\n{sum(lengths):,} tokens, {macs / 1e9:.0f} G multiply-accumulates: {macs / 1e9 / matmul_seconds:.0f} G/s in the matrix products, {macs / 1e9 / total:.0f} G/s over all operators")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="time the shipped int8 copy operator by operator instead")
    args = parser.parse_args()
    model = Path(args.model).resolve()
    pairs, test = load_pairs(args.pairs)  # also puts src/ on the path
    from stance.config import load_config
    from stance.onnx import OnnxClassifier
    from stance.predict import DEFAULT_BATCH, PairEncoder, batched_logits, read_meta
    from stance.train import prepare_splits

    if not (model / "onnx" / "model.int8.onnx").is_file():
        sys.exit(f"{model}: no onnx/model.int8.onnx; run `stance export {model} --int8` first")
    meta = read_meta(model)
    encoder = PairEncoder(model, int(meta.get("max_length", 128)), bool(meta.get("mark_mentions", False)))
    if args.profile:
        profile(model, encoder, pairs)
        return
    calibration = random.Random(0).sample(prepare_splits(load_config())["train"], 320)
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser's advice is for vision models
    print(f"\nint8 variants of {model.name}, {args.pairs} pairs, median of {args.repeats}\n")
    print("| int8 copy | pairs/s | × shipped | test macro-F1 |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        shipped = None
        for name, path in build_variants(model, Path(tmp), calibration, encoder).items():
            session = OnnxClassifier(path, threads=1)

            def score(rows):
                logits = batched_logits(encoder, session.run, session.inputs, [r["target"] for r in rows], [r["text"] for r in rows], DEFAULT_BATCH["onnx-int8"], workers=len(os.sched_getaffinity(0)))
                return [LABELS[i] for i in logits.argmax(1)]

            speed, _ = pairs_per_second(score, pairs, args.repeats)
            shipped = shipped or speed
            print(f"| {name} | {speed:.1f} | {speed / shipped:.2f} | {macro_f1([r['label'] for r in test], score(test)):.3f} |", flush=True)


if __name__ == "__main__":
    main()
