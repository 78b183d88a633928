"""Synthetic training sentences that teach the model to read the target, not the sentence's mood.

Both functions take the training rows and return extra rows (two per synthetic sentence, one per
target, `origin: augmented`); they never touch validation or test rows.
"""

from __future__ import annotations

import random

# Real sentences that name two alliances with different stances run to 27 words (median) and 40 at
# the 90th percentile in the corpus; longer joins would be unlike them and cost training time.
MAX_JOINED_WORDS = 40


def single_target_rows(rows: list[dict]) -> list[dict]:
    """Rows whose sentence is labeled for one target only (a sentence with two labels is never
    joined to another: its second target would go unlabeled or mislabeled)."""
    targets_of: dict[str, set] = {}
    for r in rows:
        targets_of.setdefault(r["text"], set()).add(r["target"])
    return [r for r in rows if len(targets_of[r["text"]]) == 1]


def pair_augment(rows: list[dict], fraction: float, seed: int) -> list[dict]:
    """Synthetic two-target sentences that teach the model to read the target.

    Joins two single-target sentences from different stories whose targets and labels differ
    ("S1 S2", or one sentence "S1; s2", "S1, while s2"), and keeps both labels: (S1 S2, target of
    S1) keeps S1's label and (S1 S2, target of S2) keeps S2's. `fraction` × len(rows) such sentences
    are made (two rows each), none longer than MAX_JOINED_WORDS. Training only.
    """
    from .articles import default_finder

    if fraction <= 0:
        return []
    singles = single_target_rows(rows)
    finder, rng, out = default_finder(), random.Random(seed), []
    wanted, tries = int(fraction * len(rows)), 0
    while len(out) < 2 * wanted and tries < 50 * wanted and len(singles) > 1:
        tries += 1
        a, b = rng.sample(singles, 2)
        if a["target"] == b["target"] or a["label"] == b["label"] or a["article_id"] == b["article_id"]:
            continue
        if len(a["text"].split()) + len(b["text"].split()) > MAX_JOINED_WORDS:
            continue
        if b["target"] in {m.target for m in finder.find(a["text"])} or a["target"] in {m.target for m in finder.find(b["text"])}:
            continue  # each target must be named in its own half only
        # Half as two sentences, half as one sentence of two clauses ("A joined X, while B quit Y"),
        # the form real two-alliance sentences take.
        joiner = rng.choice([" ", " ", "; ", ", while ", " – and "])
        text = f"{a['text']}{joiner}{b['text']}" if joiner == " " else f"{a['text'].rstrip('.!? ')}{joiner}{b['text'][:1].lower()}{b['text'][1:]}"
        story = f"aug-{len(out) // 2:05d}"
        out += [{**a, "text": text, "article_id": story, "origin": "augmented"}, {**b, "text": text, "article_id": story, "origin": "augmented"}]
    return out


# Places and phrasings for `setting_augment`: an alliance named only as the venue or the occasion
# ("..., speaking on the sidelines of the SCO summit in Astana."), which the contract labels neutral.
CITIES = ("Brussels", "Geneva", "Vienna", "Astana", "Jakarta", "Addis Ababa", "Abuja", "Riyadh", "Johannesburg", "Minsk",
          "Tashkent", "Bangkok", "Cairo", "Buenos Aires", "Moscow", "Beijing", "New Delhi", "Kuala Lumpur", "Nairobi",
          "Tokyo", "Warsaw", "Ankara", "Doha", "Bishkek", "Lima", "Dakar", "Manila", "Baku")
SETTING_SUFFIXES = (
    ", speaking on the sidelines of the {A} summit in {C}.", ", ahead of the {A} summit in {C} next week.",
    ", on the eve of the {A} ministerial meeting in {C}.", ", as {A} foreign ministers gathered in {C} for a scheduled meeting.",
    "; {A} leaders meet separately in {C} next month.", ", during a break at the {A} ministerial in {C}.",
    ", a week after the {A} summit in {C} ended.", ", according to a statement issued during the {A} meeting in {C}.",
    ", in remarks to reporters at a {A} conference in {C}.", ", days before the {A} holds its annual summit in {C}.",
    ", in an interview given as the {A} opened its session in {C}.", ", speaking in {C}, which hosts the next {A} summit.",
    ", at a forum in {C} attended by {A} officials.",
)
SETTING_PREFIXES = ("Speaking on the sidelines of the {A} summit in {C}, ", "As {A} ministers met in {C}, ",
                    "At a news conference after the {A} meeting in {C}, ", "On the eve of the {A} summit in {C}, ")
MAX_SETTING_WORDS = 45


def setting_augment(rows: list[dict], fraction: float, seed: int) -> list[dict]:
    """Stanced sentences that also name another alliance only as their setting, neutral for it.

    Takes a hostile or conciliatory single-target sentence and adds a clause that names another
    registry alliance as the venue or date ("..., ahead of the ASEAN summit in Jakarta next week."):
    the sentence keeps its label for its own target and is neutral for the other. `fraction` ×
    len(rows) such sentences are made (two rows each). Training only.
    """
    from .alliances import load_registry
    from .articles import default_finder

    if fraction <= 0:
        return []
    registry, finder, rng = load_registry(), default_finder(), random.Random(seed + 7)
    targets = sorted({r["target"] for r in rows} & set(registry.alliances))

    def surface(target: str) -> str:  # the id where news writes it so (NATO, Quad), else the first name
        alliance = registry.alliances[target]
        forms = alliance.abbreviations + alliance.names
        return target if target.lower() in {f.lower() for f in forms} else (forms or (target,))[0]

    lowercase_words = {w for r in rows for w in r["text"].split()[1:] if w.islower()}
    # Only sentences that end in a full stop: a clause after a closing quote would read as quoted.
    stanced = [r for r in single_target_rows(rows) if r["label"] != "neutral" and r["text"].endswith(".")]
    out, wanted, tries = [], int(fraction * len(rows)), 0
    while len(out) < 2 * wanted and tries < 20 * wanted and stanced and len(targets) > 1:
        tries += 1
        row, other, city = rng.choice(stanced), rng.choice(targets), rng.choice(CITIES)
        if other == row["target"]:
            continue
        if rng.random() < 0.75 or row["text"][0] in "\"'“‘":
            text = row["text"][:-1] + rng.choice(SETTING_SUFFIXES).format(A=surface(other), C=city)
        else:  # a prefix: lower-case the sentence's first word unless it is a name
            first, _, rest = row["text"].partition(" ")
            text = rng.choice(SETTING_PREFIXES).format(A=surface(other), C=city) + (first.lower() if first.lower() in lowercase_words else first) + " " + rest
        found = {m.target for m in finder.find(text)}
        if other not in found or row["target"] not in found or len(text.split()) > MAX_SETTING_WORDS:
            continue  # both must be found where scoring will look for them
        story = f"setting-{len(out) // 2:05d}"
        out += [{**row, "text": text, "article_id": story, "origin": "augmented"},
                {**row, "text": text, "target": other, "label": "neutral", "article_id": story, "origin": "augmented"}]
    return out
