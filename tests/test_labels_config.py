import pytest

from stance.config import apply_overrides, load_config
from stance.errors import StanceError
from stance.labels import ID2LABEL, LABELS, check_label_map


def test_labels_are_the_contract():
    assert LABELS == ("hostile", "conciliatory", "neutral")
    check_label_map({"0": "hostile", "1": "conciliatory", "2": "neutral"})
    with pytest.raises(StanceError):
        check_label_map({"0": "negative", "1": "positive", "2": "neutral"})
    with pytest.raises(StanceError):
        check_label_map({**ID2LABEL, 3: "other"})


def test_overrides_parse_types_and_reject_unknown_keys():
    config = {"training": {"learning_rate": 5e-5, "class_weights": False}, "output": "m"}
    out = apply_overrides(config, ["training.learning_rate=3e-5", "training.class_weights=true", "output=models/x"])
    assert out["training"] == {"learning_rate": 3e-5, "class_weights": True}
    assert out["output"] == "models/x"
    assert config["training"]["learning_rate"] == 5e-5  # the original is untouched
    with pytest.raises(StanceError, match="unknown key"):
        apply_overrides(config, ["training.learnin_rate=1"])
    with pytest.raises(StanceError, match="KEY=VALUE"):
        apply_overrides(config, ["training.learning_rate"])


def test_shipped_configs_load():
    config = load_config("configs/default.yaml")
    assert config["model"]["base"] == "minilm-l6"
    assert set(config) >= {"model", "data", "training", "output"}
    with pytest.raises(StanceError, match="not found"):
        load_config("configs/missing.yaml")
