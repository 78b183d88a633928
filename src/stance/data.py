"""Labeled rows: reading, validating, counting and splitting them.

A row is one (sentence, target alliance) pair, stored as one JSON object per line (or a CSV row):
`article_id`, `text`, `target`, `label`, `origin`, and `source_url` for paraphrases. Every problem is
reported as `file:line: field: what is wrong`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .alliances import known_targets
from .errors import StanceError
from .labels import LABELS

log = logging.getLogger("stance")

REQUIRED = ("article_id", "text", "target", "label", "origin")
SPLITS = ("train", "validation", "test")
LONG_TEXT_CHARS = 2000  # a sentence is rarely longer; the model reads only the first max_length tokens


@dataclass(frozen=True)
class Problem:
    """One problem in one row. `fatal` problems make the row invalid; others are warnings."""

    file: str
    line: int
    field: str
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        kind = "" if self.fatal else "warning: "
        return f"{self.file}:{self.line}: {self.field}: {kind}{self.message}"


def expand_paths(paths: Iterable[str | Path], suffixes: tuple[str, ...] = (".jsonl", ".csv")) -> list[Path]:
    """Files as given; a folder stands for its data files, sorted so that order is reproducible."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in suffixes and not f.name.startswith("."))
            if not found:
                raise StanceError(f"{p}: folder holds no {' or '.join(suffixes)} files")
            out.extend(found)
        elif p.is_file() or str(p) == "-":
            out.append(p)
        else:
            raise StanceError(f"{p}: no such file")
    return out


def _decoded_lines(path: Path, stream=None) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each line; text is None where the bytes are not UTF-8."""
    handle = stream if stream is not None else open(path, "rb")
    try:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte-order mark, as spreadsheet exports write
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield number, None
    finally:
        if stream is None:
            handle.close()


def read_records(path: str | Path, stream=None) -> Iterator[tuple[int, dict | None, Problem | None]]:
    """Yield (line, record, problem) for each non-blank line of a JSONL or CSV file.

    Exactly one of record and problem is set. Reading streams: a file of a million rows is never
    held in memory. `stream` (a binary file object) replaces opening `path`, e.g. for stdin.
    """
    path = Path(path)
    name = "<stdin>" if str(path) == "-" else str(path)
    if path.is_dir():
        raise StanceError(f"{name}: is a folder, expected a .jsonl or .csv file")
    if str(path) != "-" and not path.is_file():
        raise StanceError(f"{name}: no such file")
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path, name, stream)
        return
    for number, line in _decoded_lines(path, stream):
        if line is None:
            yield number, None, Problem(name, number, "-", "not valid UTF-8 text")
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            yield number, None, Problem(name, number, "-", f"malformed JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(record, dict):
            yield number, None, Problem(name, number, "-", f"expected a JSON object, got {type(record).__name__}")
            continue
        yield number, record, None


def _read_csv(path: Path, name: str, stream) -> Iterator[tuple[int, dict | None, Problem | None]]:
    undecodable: set[int] = set()

    def lines() -> Iterator[str]:
        for number, line in _decoded_lines(path, stream):
            if line is None:
                undecodable.add(number)
                line = ""
            yield line + "\n"

    reader = csv.reader(lines())
    header: list[str] | None = None
    last_line = 0
    try:
        for values in reader:
            first, last_line = last_line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if undecodable & set(range(first, last_line + 1)):
                yield first, None, Problem(name, first, "-", "not valid UTF-8 text")
                continue
            if header is None:
                header = [h.strip() for h in values]
                continue
            if len(values) != len(header):
                yield first, None, Problem(name, first, "-", f"expected {len(header)} columns ({', '.join(header)}), found {len(values)}")
                continue
            yield first, dict(zip(header, values)), None
    except csv.Error as e:
        yield reader.line_num, None, Problem(name, reader.line_num, "-", f"malformed CSV ({e})")


def check_record(record: dict, file: str, line: int, labeled: bool = True) -> list[Problem]:
    """Problems of one record against the row format; `labeled=False` checks a row to be scored."""
    problems: list[Problem] = []
    fields = REQUIRED if labeled else ("text",)

    def bad(field: str, message: str, fatal: bool = True) -> None:
        problems.append(Problem(file, line, field, message, fatal))

    for field in fields:
        if field not in record or record[field] is None:
            bad(field, "missing")
        elif not isinstance(record[field], str):
            bad(field, f"expected a string, got {type(record[field]).__name__} {record[field]!r}"[:120])
        elif not record[field].strip():
            bad(field, "empty")
    if not labeled and record.get("target") is not None and not isinstance(record["target"], str):
        bad("target", f"expected a string, got {type(record['target']).__name__}")
    if problems:
        return problems
    if labeled and record["label"] not in LABELS:
        hint = f" (did you mean {record['label'].strip().lower()!r}?)" if record["label"].strip().lower() in LABELS else ""
        bad("label", f"{record['label']!r} is not one of {', '.join(LABELS)}{hint}")
    target = record.get("target")
    if isinstance(target, str) and target.strip() and target not in known_targets():
        bad("target", f"{target!r} is not a canonical id in configs/alliances.yaml; the model still scores it", fatal=False)
    if labeled and record["origin"] == "paraphrase" and not str(record.get("source_url") or "").strip():
        bad("source_url", "required for origin 'paraphrase'")
    if len(record["text"]) > LONG_TEXT_CHARS:
        bad("text", f"{len(record['text'])} characters; only the first max_length tokens are read", fatal=False)
    return problems


def validate_files(paths: Iterable[str | Path], labeled: bool = True, valid: list | None = None) -> tuple[int, list[Problem]]:
    """Check every row of every file; return the number of rows read and all problems found.

    Beyond single rows it finds exact duplicates (same story, text and target) and the same
    (text, target) labeled differently anywhere in the files. `valid`, if given, receives every
    row without a fatal problem, so that a caller reads the files once.
    """
    problems: list[Problem] = []
    n = 0
    seen: dict[tuple, tuple[str, int, str]] = {}
    for path in expand_paths(paths):
        empty = True
        for line, record, problem in read_records(path):
            empty = False
            if problem:
                problems.append(problem)
                continue
            n += 1
            row_problems = check_record(record, str(path), line, labeled)
            if labeled and not any(p.fatal for p in row_problems):
                key = (record["text"].strip(), record["target"])
                if key in seen:
                    first_file, first_line, first_label = seen[key]
                    if first_label != record["label"]:
                        row_problems.append(Problem(str(path), line, "label", f"{record['label']!r} but {first_file}:{first_line} labels the same text and target {first_label!r}"))
                    else:
                        row_problems.append(Problem(str(path), line, "text", f"duplicate of {first_file}:{first_line}", fatal=False))
                else:
                    seen[key] = (str(path), line, record["label"])
            problems.extend(row_problems)
            if valid is not None and not any(p.fatal for p in row_problems):
                valid.append(record)
        if empty:
            problems.append(Problem(str(path), 0, "-", "file holds no rows"))
    return n, problems


def load_rows(paths: str | Path | Iterable[str | Path], labeled: bool = True, skip_invalid: bool = False) -> list[dict]:
    """Read rows from JSONL/CSV files (or folders of them), checked against the row format.

    Invalid rows raise a StanceError that lists every problem as `file:line: field: message`;
    with `skip_invalid=True` they are dropped and counted in a warning instead. Exact duplicates
    are dropped with a warning. Each row keeps only the format's fields (and `source_url`).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    valid: list[dict] = []
    n, problems = validate_files(paths, labeled, valid)
    fatal = [p for p in problems if p.fatal]
    for p in problems:
        if not p.fatal and "duplicate" not in p.message:
            log.warning("%s", p)
    if fatal and not skip_invalid:
        shown = "\n".join(map(str, fatal[:30]))
        more = f"\n... and {len(fatal) - 30} more" if len(fatal) > 30 else ""
        raise StanceError(f"{len(fatal)} invalid row(s):\n{shown}{more}")
    keep = REQUIRED + ("source_url",) if labeled else None
    rows, seen = [], set()
    for record in valid:
        if labeled:
            key = (record["article_id"], record["text"].strip(), record["target"])
            if key in seen:
                continue
            seen.add(key)
            record = {k: record[k] for k in keep if k in record}
        rows.append(record)
    if fatal:
        log.warning("skipped %d invalid row(s); first: %s", len({(p.file, p.line) for p in fatal}), fatal[0])
    if not rows:
        raise StanceError(f"no valid rows in {', '.join(map(str, paths))}")
    return rows


def data_hash(rows: Iterable[dict]) -> str:
    """sha256 of the rows' content (order-independent), recorded in every model folder."""
    digest = hashlib.sha256()
    for line in sorted(json.dumps([r["article_id"], r["text"], r["target"], r["label"]], ensure_ascii=False) for r in rows):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def corpus_stats(rows: list[dict]) -> dict:
    """Counts for `stance data stats` and the datasheet: rows, stories, per label, per target × label."""
    per_target: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        per_target[r["target"]][r["label"]] += 1
    return {
        "rows": len(rows),
        "stories": len({r["article_id"] for r in rows}),
        "per_label": dict(Counter(r["label"] for r in rows)),
        "per_target": {t: dict(c) for t, c in sorted(per_target.items(), key=lambda kv: -sum(kv[1].values()))},
    }


def make_splits(
    rows: list[dict], seed: int = 13, val_fraction: float = 0.1, test_fraction: float = 0.15, keep: dict[str, str] | None = None
) -> dict[str, str]:
    """Assign each story (`article_id`) to train, validation or test.

    Grouped: a story never spans two splits. Stratified as far as grouping allows: stories go,
    largest first and in seeded random order among equals, to the split whose per-label counts
    are furthest below their targets. The same rows and seed always give the same assignment.
    `keep`: an earlier assignment whose stories stay where they are (so that adding data never
    moves a test story into training); only the stories it lacks are assigned.
    """
    stories: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        stories[r["article_id"]][r["label"]] += 1
    totals = Counter(r["label"] for r in rows)
    fractions = {"train": 1 - val_fraction - test_fraction, "validation": val_fraction, "test": test_fraction}
    filled = {s: Counter() for s in SPLITS}
    assignment = {a: split for a, split in (keep or {}).items() if a in stories}
    for story, split in assignment.items():
        filled[split].update(stories[story])
    ids = sorted(a for a in stories if a not in assignment)
    random.Random(seed).shuffle(ids)
    ids.sort(key=lambda a: -sum(stories[a].values()))  # stable: keeps the shuffled order among ties
    for story in ids:
        counts = stories[story]

        def need(split: str) -> float:
            # How much this story's labels are still wanted in `split`, relative to its targets.
            return sum(c * (fractions[split] * totals[l] - filled[split][l]) / max(totals[l], 1) for l, c in counts.items())

        best = max((s for s in SPLITS if fractions[s] > 0), key=need)
        assignment[story] = best
        filled[best].update(counts)
    return assignment


def read_splits(path: str | Path) -> dict[str, str]:
    """Read a fixed split assignment (CSV with article_id,split)."""
    path = Path(path)
    assignment = {}
    with open(path, encoding="utf-8", newline="") as f:
        for number, rec in enumerate(csv.DictReader(f), start=2):
            if rec.get("split") not in SPLITS or not rec.get("article_id"):
                raise StanceError(f"{path}:{number}: split: expected article_id and one of {', '.join(SPLITS)}")
            assignment[rec["article_id"]] = rec["split"]
    return assignment


def write_splits(assignment: dict[str, str], path: str | Path) -> None:
    from .files import atomic_file

    with atomic_file(path) as f:
        f.write("article_id,split\n")
        for article_id in sorted(assignment):
            f.write(f"{article_id},{assignment[article_id]}\n")


def split_rows(rows: list[dict], assignment: dict[str, str]) -> dict[str, list[dict]]:
    """Rows per split; stories missing from `assignment` (new data) go to train, with a warning."""
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    missing = set()
    for r in rows:
        split = assignment.get(r["article_id"])
        if split is None:
            missing.add(r["article_id"])
            split = "train"
        out[split].append(r)
    if missing:
        log.warning("%d stor(ies) not in the split file went to train (run `stance data split` to refresh it)", len(missing))
    return out


def to_dataset_dict(splits: dict[str, list[dict]]):
    """The splits as a `datasets.DatasetDict` with columns article_id, text, target, label."""
    from datasets import Dataset, DatasetDict

    columns = ("article_id", "text", "target", "label")
    return DatasetDict({name: Dataset.from_dict({c: [r[c] for r in rows] for c in columns}) for name, rows in splits.items()})
