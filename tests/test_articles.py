from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stance.alliances import load_registry, parse_registry
from stance.articles import MentionFinder, find_pairs, net_stance, split_sentences, summarize
from stance.errors import StanceError

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
FINDER = MentionFinder(load_registry())


def sentences(text):
    return [text[s:e] for s, e in split_sentences(text)]


def targets(text):
    return {m.target for m in FINDER.find(text)}


def test_splitter_survives_abbreviations_quotes_datelines_headlines_and_bullets():
    text = (
        "NATO allies split over Ukraine\n"
        "MOSCOW (Reuters) - Gen. Ivanov met U.S. envoys on Jan. 5 in Minsk. The talks ended early.\n"
        '"We will not leave. We have no choice," he said. Dr. J. Smith disagreed!\n'
        "- Armenia froze its CSTO participation\n"
        "• The EU welcomed the move"
    )
    assert sentences(text) == [
        "NATO allies split over Ukraine",
        "MOSCOW (Reuters) - Gen. Ivanov met U.S. envoys on Jan. 5 in Minsk.",
        "The talks ended early.",
        '"We will not leave. We have no choice," he said.',
        "Dr. J. Smith disagreed!",
        "Armenia froze its CSTO participation",
        "The EU welcomed the move",
    ]


def test_spans_point_into_the_text():
    text = "  The EU met.  NATO did not.\n\nASEAN   waited. "
    for s, e in split_sentences(text):
        assert text[s:e] == text[s:e].strip() and text[s:e]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Le ministre est allé au sommet et eu une réunion.", set()),
        ("He rode Quad bikes in the Quad Cities.", set()),
        ("Compile it with GCC version 13 and GCC flags.", set()),
        ("The SCOTUS ruling and the DISCO party.", set()),
        ("Gold (AU) prices rose; 1 AU is the Earth-Sun distance.", {"AU"}),  # a known limit: capital AU counts
        ("The Quad foreign ministers met as NATO and the EU watched.", {"Quad", "NATO", "EU"}),
        ("OPEC+ agreed a cut; OTAN et l'UE; НАТО и ОДКБ; 北约峰会", {"OPEC+", "NATO", "EU", "CSTO"}),
        ("Yerevan wants to join the 27-nation bloc and leave Putin's military alliance.", {"EU", "CSTO"}),
        ("Brussels said it would respond; the talks with Brussels stalled.", {"EU"}),
        ("NATO's headquarters are in Brussels.", {"NATO"}),
        ("The Council of Europe expelled Russia.", {"Council of Europe"}),
        ("EU-China trade and the EAEU customs rules.", {"EU", "EAEU"}),
        # Names match in British and American spelling whichever one the registry lists.
        ("The Shanghai Co-operation Organisation met.", {"SCO"}),
        ("The Gulf Co-operation Council and the Organization of Islamic Co-operation.", {"GCC", "OIC"}),
        ("The Group of 7 statement on Iran.", {"G7"}),
        ("Russia was suspended from the G8, the Group of Eight.", set()),  # convention 5: the G8 is not the G7
    ],
)
def test_mentions_avoid_the_usual_false_hits(text, expected):
    assert targets(text) == expected


def test_anaphors_resolve_to_the_last_named_alliance_of_the_right_kind():
    text = "NATO met in Vilnius. The EU sent observers. The alliance agreed to spend more. The bloc stayed silent."
    pairs = find_pairs(text)
    got = [(p.sentence_index, p.target, p.kind, p.resolved) for p in pairs]
    assert got == [(0, "NATO", "abbreviation", None), (1, "EU", "abbreviation", None), (2, "NATO", "anaphor", "last named"), (3, "EU", "anaphor", "last named")]


def test_anaphor_before_any_name_falls_back_to_the_main_alliance_and_generic_ones_need_a_recent_name():
    text = "The alliance is in crisis. Turkey blocked NATO's plan. NATO ministers will meet again."
    assert [(p.sentence_index, p.target, p.resolved) for p in find_pairs(text)][0] == (0, "NATO", "main alliance")
    far = "ASEAN met. One. Two. Three. Four. The group said nothing."
    assert [p.sentence_index for p in find_pairs(far)] == [0]


def test_one_pair_per_alliance_per_sentence():
    pairs = find_pairs("NATO said the alliance, the North Atlantic Treaty Organization, would act.")
    assert [(p.target, p.mention) for p in pairs] == [("NATO", "NATO")]


def test_seed_articles_every_alliance_sentence_is_found():
    if not SEEDS.is_dir():
        pytest.skip("shared/seeds not beside the repository")
    texts = {p.name[:3]: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    found = {name: {(p.sentence_index, p.target) for p in find_pairs(t)} for name, t in texts.items()}
    expect_000 = {"leaving the CSTO", "Collective Security Treaty Organization (CSTO)", "membership in the organization", "members of the organization", "Secretariat of the Collective Security", "Collective Security Treaty has not", "frozen our participation in this agreement"}
    expect_004 = {"leave the CSTO", "join the EU", "join the European Union", "Collective Security Treaty Organization (CSTO)", "This military alliance", "the CSTO define", "applies fully to the CSTO"}
    for name, expected in (("000", expect_000), ("004", expect_004)):
        text = texts[name]
        spans = split_sentences(text)
        hit = {i for i, _ in found[name]}
        for phrase in expected:
            index = next(i for i, (s, e) in enumerate(spans) if phrase in text[s:e])
            assert index in hit, f"{name}: sentence with {phrase!r} not found"
    assert (7, "EU") in found["004"] and (7, "CSTO") in found["004"]


def test_user_registry_entries_are_checked():
    with pytest.raises(StanceError, match="kind"):
        parse_registry({"alliances": {"X": {"name": "X", "kind": "social"}}}, "mine.yaml")
    registry = parse_registry({"alliances": {"Warsaw Pact": {"name": "Warsaw Treaty Organization", "kind": "military", "names": ["Warsaw Pact"]}}}, "mine.yaml")
    assert registry.describe("Warsaw Pact") == "Warsaw Pact, Warsaw Treaty Organization"
    assert {m.target for m in MentionFinder(registry).find("The Warsaw Pact dissolved.")} == {"Warsaw Pact"}


def test_summary_counts_and_net_stance():
    probs = [{"hostile": 0.8, "conciliatory": 0.1, "neutral": 0.1}, {"hostile": 0.1, "conciliatory": 0.7, "neutral": 0.2}]
    rows = [{"article_id": "a", "target": "NATO", "label": "hostile", "probs": probs[0]}, {"article_id": "a", "target": "NATO", "label": "conciliatory", "probs": probs[1]}]
    assert summarize(rows) == [{"article_id": "a", "target": "NATO", "pairs": 2, "hostile": 1, "conciliatory": 1, "neutral": 0, "net_stance": -0.05}]
    assert net_stance([]) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_fuzz_splitter_and_finder_never_raise(text):
    spans = split_sentences(text)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert spans == sorted(spans)
    for p in find_pairs(text):
        assert p.sentence == text[p.start : p.end]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["NATO", "the alliance", "EU", "the bloc", ".", " ", "\n", '"', "U.S.", "Quad", "member states", "Brussels said"]), max_size=40))
def test_fuzz_alliance_soup(parts):
    text = " ".join(parts)
    for p in find_pairs(text):
        assert p.target in load_registry().alliances


def _flat_alternation(forms, flags):
    """The plain regex the trie replaces: every form as its own whole-word branch, longest first."""
    import re

    parts = [f"(?<!\\w){re.escape(f)}" + ("(?!\\w)" if f[-1].isalnum() else "") for f in sorted(forms, key=len, reverse=True)]
    return re.compile("|".join(parts), flags)


@settings(max_examples=300, deadline=None)
@given(
    forms=st.sets(st.text(alphabet="abAB .-'", min_size=1, max_size=6).filter(lambda f: f.strip() == f and f), min_size=1, max_size=12),
    text=st.text(alphabet="abAB .-'x", max_size=40),
    ignore_case=st.booleans(),
)
@example(forms={"b.", "B"}, text="B.", ignore_case=True)  # case variants must not shadow a longer form
def test_trie_regex_matches_exactly_what_a_flat_alternation_matches(forms, text, ignore_case):
    import re

    from stance.articles import _alternation

    flags = re.IGNORECASE if ignore_case else 0
    spans = [(m.start(), m.end()) for m in _alternation(forms, flags).finditer(text)]
    assert spans == [(m.start(), m.end()) for m in _flat_alternation(forms, flags).finditer(text)]
