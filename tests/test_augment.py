from conftest import synthetic_rows

from stance.articles import default_finder
from stance.augment import MAX_JOINED_WORDS, MAX_SETTING_WORDS, pair_augment, setting_augment


def test_pair_augmentation_joins_two_stances_and_keeps_each_label_with_its_target():
    rows = synthetic_rows(40)
    rows.append({**rows[0], "article_id": "long-001", "text": "NATO " + "word " * MAX_JOINED_WORDS})
    made = pair_augment(rows, 0.25, seed=3)
    assert len(made) == 2 * int(0.25 * len(rows)) and made == pair_augment(rows, 0.25, seed=3)
    source = {(r["text"], r["target"]): r for r in rows}
    for first, second in zip(made[::2], made[1::2]):
        assert first["text"] == second["text"] and first["article_id"] == second["article_id"]
        assert first["target"] != second["target"] and first["label"] != second["label"]
        assert len(first["text"].split()) <= MAX_JOINED_WORDS
        for row in (first, second):  # each half is a training sentence of that target, with its label
            half = next(r for (text, target), r in source.items() if target == row["target"] and text.rstrip(".!? ")[1:] in row["text"])
            assert half["label"] == row["label"]
    assert pair_augment(rows, 0, seed=3) == []



def test_setting_augmentation_names_another_alliance_as_venue_neutral_for_it():
    rows = synthetic_rows(40)
    quoted = {**rows[0], "article_id": "quote-001", "text": 'The minister said: "We will leave NATO."', "label": "hostile"}
    rows.append(quoted)
    made = setting_augment(rows, 0.25, seed=3)
    assert len(made) == 2 * int(0.25 * len(rows)) and made == setting_augment(rows, 0.25, seed=3)
    assert made != setting_augment(rows, 0.25, seed=4)
    source = {(r["text"].rstrip("."), r["target"]): r for r in rows}
    finder = default_finder()
    for own, other in zip(made[::2], made[1::2]):
        assert own["text"] == other["text"] and own["article_id"] == other["article_id"]
        assert own["label"] in ("hostile", "conciliatory") and other["label"] == "neutral"
        assert own["target"] != other["target"] and len(own["text"].split()) <= MAX_SETTING_WORDS
        assert {own["target"], other["target"]} <= {m.target for m in finder.find(own["text"])}
        # the stanced sentence is there whole (a prefix may lower-case its first word), its label kept
        original = next(r for (text, target), r in source.items() if target == own["target"] and text[1:] in own["text"])
        assert original["label"] == own["label"] and original is not quoted  # no clause after a closing quote
    assert setting_augment(rows, 0, seed=3) == []
    # neutral sentences and sentences ending in a closing quote are never a source
    assert setting_augment([quoted] + [r for r in rows if r["label"] == "neutral"], 0.5, seed=3) == []
