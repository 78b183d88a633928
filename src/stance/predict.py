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


def torch_logits(model, tokenizer, targets: list[str], texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Logits of an in-memory transformers model for each (target, text) pair, in input order."""
    import torch

    from .modeling import encode_pairs

    encoded = encode_pairs(tokenizer, targets, texts, max_length)
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


class Predictor:
    """A saved stance model, ready to score (target, sentence) pairs.

    backend: `torch`, `onnx` (fp32 export in MODEL/onnx), `onnx-int8`, or `auto`: the int8 ONNX copy
    when the folder has one whose test macro-F1 is within 0.01 of the fp32 model and onnxruntime is
    installed, else torch.
    """

    def __init__(self, model_dir: str | Path, backend: str = "auto", batch_size: int = 64, threads: int | None = None):
        from .modeling import check_model_folder

        if backend not in BACKENDS:
            raise StanceError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        self.model_dir = check_model_folder(model_dir)
        self.meta = read_meta(self.model_dir)
        self.max_length = int(self.meta.get("max_length", 128))
        self.temperature = float(self.meta.get("temperature", 1.0))
        self.batch_size = batch_size
        self.backend = self._choose_backend(backend)
        self._set_threads(threads)
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        if self.backend == "torch":
            from .modeling import load_classifier

            self.model, _ = load_classifier(self.model_dir)
        else:
            from .onnx import OnnxClassifier

            self.model = OnnxClassifier(self._onnx_file(self.backend), threads)

    def _onnx_file(self, backend: str) -> Path:
        name = "model.int8.onnx" if backend == "onnx-int8" else "model.onnx"
        for candidate in (self.model_dir / "onnx" / name, self.model_dir / name):
            if candidate.is_file():
                return candidate
        raise StanceError(f"{self.model_dir}: no {name}; create it with `stance export {self.model_dir} --onnx`")

    def _choose_backend(self, backend: str) -> str:
        if backend != "auto":
            return backend
        if not (self.model_dir / "model.safetensors").is_file():
            return "onnx-int8" if (self.model_dir / "model.int8.onnx").is_file() else "onnx"
        int8 = self.meta.get("onnx", {}).get("int8_macro_f1_delta")
        has_int8 = (self.model_dir / "onnx" / "model.int8.onnx").is_file()
        if has_int8 and int8 is not None and abs(int8) <= 0.01:
            try:
                import onnxruntime  # noqa: F401

                return "onnx-int8"
            except ImportError:
                log.info("onnxruntime not installed; scoring with torch (pip install 'alliance-stance[onnx]')")
        return "torch"

    @staticmethod
    def _set_threads(threads: int | None) -> None:
        import torch

        # All cores by default, but never more threads than cores: oversubscription halves speed.
        torch.set_num_threads(threads or max(1, len(os.sched_getaffinity(0))))

    def logits(self, targets: list[str], texts: list[str]) -> np.ndarray:
        if self.backend == "torch":
            return torch_logits(self.model, self.tokenizer, targets, texts, self.max_length, self.batch_size)
        return self.model.logits(self.tokenizer, targets, texts, self.max_length, self.batch_size)

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
