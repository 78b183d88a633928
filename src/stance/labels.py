"""The label contract: three labels, spelled exactly so, in this fixed id order."""

LABELS: tuple[str, ...] = ("hostile", "conciliatory", "neutral")
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))


def check_label_map(id2label: dict) -> None:
    """Raise StanceError unless `id2label` (as stored in a model's config.json) is the contract's map."""
    from .errors import StanceError

    found = {int(k): v for k, v in id2label.items()}
    if found != ID2LABEL:
        raise StanceError(f"label map {found} is not the contract's {ID2LABEL}")
