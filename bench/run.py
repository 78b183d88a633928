"""Benchmark: scoring and training speed against what a user would otherwise write, side by side.

    python bench/run.py --model models/default            # scoring table (about 5 minutes on 2 cores)
    python bench/run.py --model models/default --train    # plus the training comparison

Scoring, on the same 2,000 (target, sentence) pairs drawn from the test split (cycled if short):
  (a) transformers.pipeline("text-classification", batch_size=32) fed {"text", "text_pair"}
  (b) `stance predict` as shipped: whole process (start-up included), and steady state in-process
  (c) the exported ONNX model, fp32      (d) the ONNX model with int8 dynamic quantisation
Each variant runs in its own process (so peak resident memory is its own); throughput is the median
of --repeats timed passes after one warm-up pass. Macro-F1 is on the test split.

Training: seconds per epoch of the default config (dynamic padding, length-grouped batches) against a
plain transformers Trainer padding every batch to 128 tokens, on the same rows; median of --repeats.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STANCE = str(Path(sys.executable).parent / "stance")  # the CLI of the environment running the bench
LABELS = ("hostile", "conciliatory", "neutral")


def load_pairs(n: int) -> tuple[list[dict], list[dict]]:
    """(2,000 pairs cycled from the test split, the test split itself)."""
    sys.path.insert(0, str(ROOT / "src"))
    from stance.config import load_config
    from stance.train import prepare_splits

    os.chdir(ROOT)
    test = prepare_splits(load_config())["test"]
    return [test[i % len(test)] for i in range(n)], test


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(gold, predicted, labels=list(LABELS), average="macro", zero_division=0)), 4)


def pairs_per_second(run, pairs: list[dict], repeats: int) -> tuple[float, list[str]]:
    """Median throughput of `run` (pairs → labels) over `repeats` timed passes after a warm-up,
    and the labels of the last pass."""
    run(pairs[:64])  # warm-up
    times, labels = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        labels = run(pairs)
        times.append(time.perf_counter() - start)
    return len(pairs) / statistics.median(times), labels


def variant(name: str, model: str, n: int, repeats: int) -> dict:
    """Run one scoring variant in this process; return throughput, labels and test macro-F1."""
    pairs, test = load_pairs(n)
    from stance.alliances import describe

    if name == "pipeline":
        from transformers import pipeline

        import stance.heads  # noqa: F401  (a model with the mention-pooling head loads once it is registered)

        classify = pipeline("text-classification", model=model, batch_size=32, device="cpu")

        def run(rows):
            inputs = [{"text": describe(r["target"]), "text_pair": r["text"]} for r in rows]
            return [o["label"] for o in classify(inputs, truncation="only_second", max_length=128)]
    else:
        from stance.predict import Predictor

        predictor = Predictor(model, backend=name)

        def run(rows):
            probs = predictor.predict_proba([r["target"] for r in rows], [r["text"] for r in rows])
            return [LABELS[i] for i in probs.argmax(1)]

    speed, labels = pairs_per_second(run, pairs, repeats)
    test_f1 = macro_f1([r["label"] for r in test], run(test))
    return {"pairs_per_s": round(speed, 1), "labels": labels, "test_macro_f1": test_f1, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def in_subprocess(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    if out.returncode:
        raise SystemExit(f"{args}: failed\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def whole_process(model: str, n: int, repeats: int) -> dict:
    """`stance predict MODEL rows.jsonl -o out.jsonl`, timed from process start to exit."""
    pairs, _ = load_pairs(n)
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.jsonl"
        rows.write_text("".join(json.dumps({"text": r["text"], "target": r["target"]}) + "\n" for r in pairs), encoding="utf-8")
        ten = Path(tmp) / "ten.jsonl"
        ten.write_text("".join(rows.read_text().splitlines(keepends=True)[:10]))

        def timed(cmd):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            return time.perf_counter() - start

        full = [timed([STANCE, "predict", model, str(rows), "-o", str(Path(tmp) / "out.jsonl")]) for _ in range(repeats)]
        ten_rows = [timed([STANCE, "predict", model, str(ten), "-o", str(Path(tmp) / "ten-out.jsonl")]) for _ in range(repeats)]
        helps = [timed([STANCE, "--help"]) for _ in range(5)]
    return {"pairs_per_s": round(n / statistics.median(full), 1), "ten_rows_s": round(statistics.median(ten_rows), 2), "help_s": round(statistics.median(helps), 3)}


def streaming_memory(model: str, sizes: list[int]) -> list[tuple[int, float, int]]:
    """(rows, seconds, peak RSS MB) of `stance predict` on files of growing size: memory stays flat."""
    pairs, _ = load_pairs(1000)
    # Peak RSS of the child process alone, measured from a small parent.
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            rows = Path(tmp) / f"rows-{n}.jsonl"
            with rows.open("w", encoding="utf-8") as f:
                for i in range(n):
                    r = pairs[i % len(pairs)]
                    f.write(json.dumps({"text": r["text"], "target": r["target"], "n": i}) + "\n")
            res = subprocess.run([sys.executable, "-c", code, STANCE, "predict", model, str(rows), "-o", str(Path(tmp) / "out.jsonl")], capture_output=True, text=True, check=True)
            seconds, rss = res.stdout.split()
            out.append((n, round(float(seconds), 1), round(int(rss) / 1024)))
    return out


def print_streaming(model: str, sizes: str) -> None:
    """The streaming table for comma-separated row counts; nothing for '' or 0."""
    counts = [int(x) for x in sizes.split(",") if x.strip() and int(x) > 0]
    if not counts:
        return
    print(f"\nStreaming `stance predict` (default path) with {Path(model).name}, peak RSS as the input grows:")
    print("| rows | seconds | peak RSS MB |\n|---|---|---|")
    for n, seconds, rss in streaming_memory(model, counts):
        print(f"| {n} | {seconds} | {rss} |", flush=True)


def train_epoch(kind: str, rows_n: int, repeats: int) -> dict:
    """Seconds for one epoch over the first `rows_n` training rows: ours ("stance"; "stance-unfrozen"
    with every layer trained, as the Trainer trains them) or a padded Trainer."""
    sys.path.insert(0, str(ROOT / "src"))
    os.chdir(ROOT)
    import torch

    from stance.config import load_config
    from stance.train import prepare_splits

    config = load_config()
    rows = prepare_splits(config)["train"][:rows_n]
    t = config["training"]
    times = []
    for _ in range(repeats):
        if kind.startswith("stance"):
            from stance.train import train

            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
                cfg = {**config, "baseline": False, "data": {**config["data"], "paths": [tmp + "/rows.jsonl"], "splits": None}}
                cfg["training"] = {**t, "epochs": 1, "augment_pairs": 0.0, "augment_settings": 0.0}  # the Trainer's rows
                if kind == "stance-unfrozen":
                    cfg["training"].update(freeze_embeddings=False, freeze_layers=0)
                metrics = train(cfg, output=Path(tmp) / "m", progress=False)
                times.append(metrics["history"][0]["seconds"])
        else:
            from datasets import Dataset
            from transformers import Trainer, TrainingArguments

            from stance.labels import LABEL2ID
            from stance.modeling import build_classifier, encode_pairs

            model, tokenizer = build_classifier(config["model"]["base"], config["model"].get("pooling", "cls"))
            enc = encode_pairs(tokenizer, [r["target"] for r in rows], [r["text"] for r in rows], 128, padding="max_length")
            data = Dataset.from_dict({**enc, "labels": [LABEL2ID[r["label"]] for r in rows]})
            with tempfile.TemporaryDirectory() as tmp:
                args = TrainingArguments(tmp, per_device_train_batch_size=t["batch_size"], num_train_epochs=1, learning_rate=float(t["learning_rate"]), report_to=[], save_strategy="no", disable_tqdm=True, use_cpu=True, seed=t["seed"])
                start = time.perf_counter()
                Trainer(model=model, args=args, train_dataset=data).train()
                times.append(time.perf_counter() - start)
        torch.manual_seed(0)
    return {"seconds": round(statistics.median(times), 1), "rows": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train", action="store_true", help="also compare training speed")
    parser.add_argument("--stream", default="1000,5000,25000", help="row counts for the streaming-memory check ('' or 0 to skip)")
    parser.add_argument("--stream-only", action="store_true", help="only the streaming-memory check (e.g. a 1M-row file with a small model)")
    parser.add_argument("--train-rows", type=int, default=800, help="rows per timed training epoch")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--train-kind", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(variant(args.variant, args.model, args.pairs, args.repeats)))
        return
    if args.train_kind:
        print(json.dumps(train_epoch(args.train_kind, args.train_rows, args.repeats)))
        return

    # Fail before minutes of scoring, not after: the Trainer baseline needs accelerate, the ONNX
    # variants onnxruntime (both in the bench extra).
    needed = ["onnxruntime"] + (["accelerate"] if args.train else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        sys.exit(f"bench needs {', '.join(missing)}: pip install -e '.[bench]'")
    model = str(Path(args.model).resolve())
    if not (Path(model) / "onnx" / "model.int8.onnx").is_file():
        subprocess.run([STANCE, "export", model, "--int8"], check=True, capture_output=True)
    if args.stream_only:
        print_streaming(model, args.stream)
        return
    common = ["--model", model, "--pairs", str(args.pairs), "--repeats", str(args.repeats)]
    results = {name: in_subprocess(["--variant", name, *common]) for name in ("pipeline", "torch", "onnx", "onnx-int8")}
    shipped = whole_process(model, args.pairs, args.repeats)
    base = results["pipeline"]
    header = "| path | pairs/s | × (a) | label agreement with (a) | test macro-F1 | peak RSS MB |\n|---|---|---|---|---|---|"
    lines = [header]
    names = {"pipeline": "(a) transformers pipeline, batch 32", "torch": "(b) stance Predictor, torch (steady state)", "onnx": "(c) ONNX fp32", "onnx-int8": "(d) ONNX int8"}
    for key, label in names.items():
        r = results[key]
        agree = sum(a == b for a, b in zip(r["labels"], base["labels"])) / len(base["labels"])
        lines.append(f"| {label} | {r['pairs_per_s']} | {r['pairs_per_s'] / base['pairs_per_s']:.2f} | {agree:.3f} | {r['test_macro_f1']:.3f} | {r['peak_rss_mb']} |")
    lines.append(f"| (b) `stance predict` as shipped, whole process incl. start-up | {shipped['pairs_per_s']} | {shipped['pairs_per_s'] / base['pairs_per_s']:.2f} | | | |")
    print(f"\nScoring {args.pairs} pairs, median of {args.repeats} (cores: {len(os.sched_getaffinity(0))})\n")
    print("\n".join(lines))
    print(f"\n`stance predict` on 10 rows, cold: {shipped['ten_rows_s']} s;  `stance --help`: {shipped['help_s']} s")
    print_streaming(model, args.stream)
    if args.train:
        extra = ["--train-rows", str(args.train_rows), "--repeats", str(max(1, args.repeats - 2))]
        ours = in_subprocess(["--train-kind", "stance", *extra])
        unfrozen = in_subprocess(["--train-kind", "stance-unfrozen", *extra])
        padded = in_subprocess(["--train-kind", "trainer", *extra])
        print(f"\nTraining, one epoch over {ours['rows']} rows of the default config (median):")
        print("| recipe | seconds | × |\n|---|---|---|")
        print(f"| plain Trainer, every batch padded to 128 | {padded['seconds']} | 1.00 |")
        print(f"| stance train, every layer trained (dynamic padding, length-grouped) | {unfrozen['seconds']} | {padded['seconds'] / unfrozen['seconds']:.2f} |")
        print(f"| stance train as configured (also the lowest layer frozen) | {ours['seconds']} | {padded['seconds'] / ours['seconds']:.2f} |")


if __name__ == "__main__":
    main()
