"""Scoring (target, sentence) pairs with a saved model: `Predictor`, and streaming files through it.

Pairs are scored in batches sorted by length with dynamic padding under `torch.inference_mode`;
files are streamed in chunks, so memory stays flat however long the input is.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .errors import StanceError
from .labels import LABELS

log = logging.getLogger("stance")

META_FILE = "stance.json"  # our metadata beside config.json: max length, temperature, metrics, data hash
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
CHUNK_ROWS = 2048  # rows read, scored and written at a time when streaming a file
# Pairs per batch when not given. ONNX Runtime on one core per batch is fastest with small batches
# (int8 on 2 cores: 247 pairs/s at 16 against 228 at 64; less padding, the activations stay in
# cache); torch spreads each batch over all cores and wants larger ones.
DEFAULT_BATCH = {"torch": 64, "onnx": 16, "onnx-int8": 16}


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def length_sorted_batches(lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Indices in batches of similar length, longest first, so that padding is minimal."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def torch_logits(model, tokenizer, targets: list[str], texts: list[str], max_length: int, batch_size: int = 64, mark: bool = False) -> np.ndarray:
    """Logits of an in-memory transformers model for each (target, text) pair, in input order."""
    import torch

    from .modeling import encode_pairs

    encoded = encode_pairs(tokenizer, targets, texts, max_length, mark=mark)
    ids = encoded["input_ids"]
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    device = next(model.parameters()).device
    with torch.inference_mode():
        for batch in length_sorted_batches([len(x) for x in ids], batch_size):
            features = tokenizer.pad({k: [encoded[k][i] for i in batch] for k in encoded}, return_tensors="pt")
            features = {k: v.to(device) for k, v in features.items()}
            out[batch] = model(**features).logits.float().cpu().numpy()
    return out


def read_meta(model_dir: str | Path) -> dict:
    path = Path(model_dir) / META_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise StanceError(f"{path}: not valid JSON") from None


def batched_logits(encoder: "PairEncoder", run, inputs: list[str], targets: list[str], texts: list[str], batch_size: int, workers: int = 1) -> np.ndarray:
    """Logits in input order, computed in batches sorted by length and padded per batch.
    `run` maps a dict of int64 arrays (the model's `inputs`) to a batch of logits; with `workers` > 1
    that many batches run at once (for a `run` that releases the GIL, as ONNX Runtime does)."""
    encodings = encoder.encode(targets, texts)
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    batches = list(length_sorted_batches([len(e.ids) for e in encodings], batch_size))

    def score(batch: list[int]) -> np.ndarray:
        features = encoder.pad([encodings[i] for i in batch])
        return run({k: features[k] for k in inputs})

    if workers > 1 and len(batches) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            for batch, logits in zip(batches, pool.map(score, batches)):
                out[batch] = logits
    else:
        for batch in batches:
            out[batch] = score(batch)
    return out


class PairEncoder:
    """Tokenises (target, sentence) pairs with the model folder's tokenizer.json via `tokenizers`
    directly: the same Rust tokenizer transformers wraps, without importing transformers."""

    def __init__(self, model_dir: Path, max_length: int, mark: bool = False):
        from tokenizers import Tokenizer

        self.mark = mark
        path = model_dir / "tokenizer.json"
        if not path.is_file():
            raise StanceError(f"{model_dir}: no tokenizer.json (save the tokenizer with a fast tokenizer)")
        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length, strategy="only_second")
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.pad_id = int(config.get("pad_token_id") or 0)

    def encode(self, targets: list[str], texts: list[str]) -> list:
        from .modeling import model_inputs

        return self.tokenizer.encode_batch(list(zip(*model_inputs(targets, texts, self.mark))))

    def pad(self, encodings: list) -> dict[str, np.ndarray]:
        """input_ids, attention_mask and token_type_ids as int64 arrays, padded to the longest."""
        width = max(len(e.ids) for e in encodings)
        out = {k: np.zeros((len(encodings), width), dtype=np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
        out["input_ids"].fill(self.pad_id)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            out["input_ids"][row, :n] = e.ids
            out["attention_mask"][row, :n] = 1
            out["token_type_ids"][row, :n] = e.type_ids
        return out


class Predictor:
    """A saved stance model, ready to score (target, sentence) pairs.

    backend: `torch`, `onnx` (fp32 export in MODEL/onnx), `onnx-int8`, or `auto`: the fastest copy
    whose check at export kept macro-F1 within 0.01 of torch (int8, else fp32 ONNX) when onnxruntime
    is installed, else torch. The ONNX paths never import torch or transformers, so they start fast.
    batch_size: pairs per batch; by default 16 on ONNX and 64 on torch (`DEFAULT_BATCH`).
    """

    def __init__(self, model_dir: str | Path, backend: str = "auto", batch_size: int | None = None, threads: int | None = None):
        from .modeling import check_model_folder

        if backend not in BACKENDS:
            raise StanceError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        self.model_dir = check_model_folder(model_dir)
        self.meta = read_meta(self.model_dir)
        self.max_length = int(self.meta.get("max_length", 128))
        self.temperature = float(self.meta.get("temperature", 1.0))
        self.backend = self._choose_backend(backend)
        self.batch_size = batch_size or DEFAULT_BATCH[self.backend]
        # All cores by default, but never more threads than cores: oversubscription halves speed.
        self.threads = threads or max(1, len(os.sched_getaffinity(0)))
        self.encoder = PairEncoder(self.model_dir, self.max_length, bool(self.meta.get("mark_mentions", False)))
        if self.backend == "torch":
            import torch

            from .modeling import load_classifier

            torch.set_num_threads(self.threads)
            self.model, _ = load_classifier(self.model_dir)
            import inspect

            accepted = inspect.signature(self.model.forward).parameters
            self.inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]
        else:
            from .onnx import OnnxClassifier

            # One session run by `threads` batches at once, each on one core: about 13% faster on
            # 2 cores than one batch at a time on all cores (small matrices scale poorly across cores).
            self.model = OnnxClassifier(self._onnx_file(self.backend), threads=1)
            self.inputs = self.model.inputs

    def _onnx_file(self, backend: str) -> Path:
        name = "model.int8.onnx" if backend == "onnx-int8" else "model.onnx"
        for candidate in (self.model_dir / "onnx" / name, self.model_dir / name):
            if candidate.is_file():
                return candidate
        raise StanceError(f"{self.model_dir}: no {name}; create it with `stance export {self.model_dir} --int8`")

    def _choose_backend(self, backend: str) -> str:
        if backend != "auto":
            return backend
        if not (self.model_dir / "model.safetensors").is_file():  # an exported folder: ONNX only
            return "onnx-int8" if (self.model_dir / "model.int8.onnx").is_file() else "onnx"
        report = self.meta.get("onnx", {})
        for name, key, file in (("onnx-int8", "int8", "model.int8.onnx"), ("onnx", "fp32", "model.onnx")):
            delta = report.get(f"{key}_macro_f1_delta")
            if (self.model_dir / "onnx" / file).is_file() and delta is not None and abs(delta) <= 0.01:
                try:
                    import onnxruntime  # noqa: F401
                except ImportError:
                    log.info("onnxruntime not installed; scoring with torch (pip install 'alliance-stance[onnx]')")
                    return "torch"
                return name
        return "torch"

    def logits(self, targets: list[str], texts: list[str]) -> np.ndarray:
        """Raw logits, one row per pair, in input order."""
        workers = self.threads if self.backend != "torch" else 1
        return batched_logits(self.encoder, self._run, self.inputs, targets, texts, self.batch_size, workers)

    def _run(self, features: dict[str, np.ndarray]) -> np.ndarray:
        if self.backend != "torch":
            return self.model.run(features)
        import torch

        with torch.inference_mode():
            return self.model(**{k: torch.from_numpy(v) for k, v in features.items()}).logits.float().numpy()

    def predict_proba(self, targets: list[str], texts: list[str]) -> np.ndarray:
        """Calibrated probabilities, one row per pair, columns in the order of LABELS."""
        if len(targets) != len(texts):
            raise StanceError(f"{len(targets)} targets for {len(texts)} texts")
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        return softmax(self.logits(targets, texts), self.temperature)

    def predict(self, targets: list[str], texts: list[str], min_confidence: float | None = None) -> list[dict]:
        """One dict per pair: `label`, `confidence`, `probs` (label → probability), and `uncertain`
        when `min_confidence` is set and the top probability falls below it."""
        probs = self.predict_proba(targets, texts)
        out = []
        for p in probs:
            best = int(p.argmax())
            result = {"label": LABELS[best], "confidence": round(float(p[best]), 4), "probs": {l: round(float(v), 4) for l, v in zip(LABELS, p)}}
            if min_confidence is not None:
                result["uncertain"] = bool(p[best] < min_confidence)
            out.append(result)
        return out


def score_records(predictor: Predictor, records: Iterable[dict], default_target: str | None = None, min_confidence: float | None = None) -> Iterator[dict]:
    """Stream records (with `text` and `target`) through the predictor, chunk by chunk, in order."""
    chunk: list[dict] = []

    def flush() -> Iterator[dict]:
        results = predictor.predict([r["target"] for r in chunk], [r["text"] for r in chunk], min_confidence)
        for record, result in zip(chunk, results):
            yield {**record, **result}
        chunk.clear()

    for record in records:
        if not (record.get("target") or default_target):
            raise StanceError("target: missing (give --target for rows without one)")
        chunk.append({**record, "target": record.get("target") or default_target})
        if len(chunk) >= CHUNK_ROWS:
            yield from flush()
    if chunk:
        yield from flush()
