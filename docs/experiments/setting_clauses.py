"""E20: setting-clause augmentation. Besides the default pair augmentation, joins a hostile or
conciliatory single-target training sentence with a clause that names another alliance only as a
venue or a date ("..., speaking on the sidelines of the SCO summit in Astana."), which the contract
labels neutral; the sentence keeps its label for its own target. Training rows only. Run from the
repository root:

    python docs/experiments/setting_clauses.py FRACTION SEED OUTPUT
"""

import random
import sys

sys.path.insert(0, "docs/experiments")
import stance.train  # noqa: E402
from common import train_and_score  # noqa: E402

CITIES = ["Brussels", "Geneva", "Vienna", "Astana", "Jakarta", "Addis Ababa", "Abuja", "Riyadh", "Johannesburg", "Minsk",
          "Tashkent", "Bangkok", "Cairo", "Buenos Aires", "Moscow", "Beijing", "New Delhi", "Kuala Lumpur", "Nairobi",
          "Tokyo", "Warsaw", "Ankara", "Doha", "Bishkek", "Lima", "Dakar", "Manila", "Baku"]
SUFFIXES = [
    ", speaking on the sidelines of the {A} summit in {C}.", ", ahead of the {A} summit in {C} next week.",
    ", on the eve of the {A} ministerial meeting in {C}.", ", as {A} foreign ministers gathered in {C} for a scheduled meeting.",
    "; {A} leaders meet separately in {C} next month.", ", during a break at the {A} ministerial in {C}.",
    ", a week after the {A} summit in {C} ended.", ", according to a statement issued during the {A} meeting in {C}.",
    ", in remarks to reporters at a {A} conference in {C}.", ", days before the {A} holds its annual summit in {C}.",
    ", in an interview given as the {A} opened its session in {C}.", ", speaking in {C}, which hosts the next {A} summit.",
    ", at a forum in {C} attended by {A} officials.",
]
PREFIXES = ["Speaking on the sidelines of the {A} summit in {C}, ", "As {A} ministers met in {C}, ",
            "At a news conference after the {A} meeting in {C}, ", "On the eve of the {A} summit in {C}, "]


def setting_augment(rows: list[dict], fraction: float, seed: int) -> list[dict]:
    from stance.alliances import load_registry
    from stance.articles import default_finder

    registry, finder, rng = load_registry(), default_finder(), random.Random(seed + 7)
    targets = sorted({r["target"] for r in rows} & set(registry.alliances))

    def surface(target: str) -> str:  # the id where news writes it so (NATO, Quad, Five Eyes), else the first name
        alliance = registry.alliances[target]
        forms = alliance.abbreviations + alliance.names
        return target if target.lower() in {f.lower() for f in forms} else (forms or (target,))[0]

    lowercase_words = {w for r in rows for w in r["text"].split()[1:] if w.islower()}
    targets_of: dict[str, set] = {}
    for r in rows:
        targets_of.setdefault(r["text"], set()).add(r["target"])
    stanced = [r for r in rows if r["label"] != "neutral" and len(targets_of[r["text"]]) == 1 and r["text"].endswith(".") and not r["text"].endswith('."')]
    out, wanted, tries = [], int(fraction * len(rows)), 0
    while len(out) < 2 * wanted and tries < 20 * wanted:
        tries += 1
        row, other, city = rng.choice(stanced), rng.choice(targets), rng.choice(CITIES)
        if other == row["target"]:
            continue
        if rng.random() < 0.75 or row["text"][0] in "\"'“‘":
            text = row["text"][:-1] + rng.choice(SUFFIXES).format(A=surface(other), C=city)
        else:  # a prefix: lower-case the sentence's first word unless it is a name
            first, _, rest = row["text"].partition(" ")
            text = rng.choice(PREFIXES).format(A=surface(other), C=city) + (first.lower() if first.lower() in lowercase_words else first) + " " + rest
        found = {m.target for m in finder.find(text)}
        if other not in found or row["target"] not in found or len(text.split()) > 45:
            continue
        story = f"setting-{len(out) // 2:05d}"
        out += [{**row, "text": text, "article_id": story, "origin": "augmented"},
                {**row, "text": text, "target": other, "label": "neutral", "article_id": story, "origin": "augmented"}]
    return out


if __name__ == "__main__":
    fraction = float(sys.argv[1])
    pair_augment = stance.train.pair_augment
    stance.train.pair_augment = lambda rows, f, seed: pair_augment(rows, f, seed) + setting_augment(rows, fraction, seed)
    train_and_score(int(sys.argv[2]), sys.argv[3])
