"""Reading inputs to score and writing scored outputs: streamed, atomic, resumable.

An output file is written to OUTPUT.partial and renamed onto OUTPUT only when the run completes, so
OUTPUT is either absent or complete. `--resume` keeps what OUTPUT.partial already holds and skips
that many inputs.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .data import Problem, check_record, read_records
from .errors import StanceError
from .labels import LABELS

log = logging.getLogger("stance")
MAX_ARTICLE_CHARS = 2_000_000  # ~300,000 words: longer inputs are cut, with a warning


# ---------------------------------------------------------------- inputs


def iter_rows(input: str, default_target: str | None, skip_invalid: bool) -> Iterator[dict]:
    """Rows to score from JSONL/CSV (or '-' for stdin JSONL), checked one by one while streaming."""
    stream = sys.stdin.buffer if input == "-" else None
    skipped = 0
    for line, record, problem in read_records(input, stream=stream):
        problems = [problem] if problem else check_record(record, input, line, labeled=False)
        if record is not None and not record.get("target") and not default_target:
            problems.append(Problem(input, line, "target", "missing (give --target for rows without one)"))
        fatal = [p for p in problems if p and p.fatal]
        for p in problems:
            if p and not p.fatal:
                log.warning("%s", p)
        if fatal:
            if not skip_invalid:
                raise StanceError(str(fatal[0]))
            skipped += 1
            log.warning("skipped: %s", fatal[0])
            continue
        yield record
    if skipped:
        log.warning("skipped %d invalid row(s)", skipped)


def iter_articles(input: str) -> Iterator[tuple[str, str]]:
    """(article id, text) from a folder of .txt files, one .txt file, or JSONL with id and text."""
    path = Path(input)
    if input != "-" and path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".txt")
        if not files:
            raise StanceError(f"{path}: folder holds no .txt files")
        for f in files:
            yield f.stem, _read_text(f)
        return
    if path.suffix == ".txt":
        if not path.is_file():
            raise StanceError(f"{path}: no such file")
        yield path.stem, _read_text(path)
        return
    stream = sys.stdin.buffer if input == "-" else None
    for line, record, problem in read_records(input, stream=stream):
        if problem:
            raise StanceError(str(problem))
        article_id = record.get("id", record.get("article_id"))
        text = record.get("text")
        if article_id is None or (not isinstance(article_id, (str, int))):
            raise StanceError(f"{input}:{line}: id: missing (each article needs an 'id' or 'article_id')")
        if not isinstance(text, str) or not text.strip():
            raise StanceError(f"{input}:{line}: text: {'missing' if text is None else 'empty' if isinstance(text, str) else 'expected a string'}")
        if isinstance(record.get("title"), str) and record["title"].strip():
            text = record["title"].strip() + "\n\n" + text
        yield str(article_id), _cap(text, f"{input}:{line}")


def _read_text(path: Path) -> str:
    try:
        return _cap(path.read_bytes().decode("utf-8-sig"), str(path))
    except UnicodeDecodeError as e:
        raise StanceError(f"{path}: not valid UTF-8 text (byte {e.start})") from None


def _cap(text: str, where: str) -> str:
    if len(text) > MAX_ARTICLE_CHARS:
        log.warning("%s: text of %d characters cut to %d", where, len(text), MAX_ARTICLE_CHARS)
        return text[:MAX_ARTICLE_CHARS]
    return text


# ---------------------------------------------------------------- outputs


class RowWriter:
    """Writes dict rows as JSONL, or as CSV (probabilities flattened to p_<label>) by file suffix."""

    def __init__(self, handle, as_csv: bool):
        self.handle, self.as_csv, self.csv = handle, as_csv, None

    def write(self, row: dict) -> None:
        if not self.as_csv:
            self.handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        flat = {k: v for k, v in row.items() if k != "probs"}
        if "probs" in row:
            flat.update({f"p_{l}": row["probs"][l] for l in LABELS})
        if self.csv is None:
            self.csv = csv.DictWriter(self.handle, fieldnames=list(flat), extrasaction="ignore")
            self.csv.writeheader()
        self.csv.writerow(flat)


@contextmanager
def open_output(output: str, resume: bool = False) -> Iterator[tuple[RowWriter, int]]:
    """Yield (writer, rows already written). A file output goes through OUTPUT.partial."""
    if output == "-":
        yield RowWriter(sys.stdout, False), 0
        return
    path = Path(output)
    if path.is_dir():
        raise StanceError(f"{path}: is a folder, expected an output file")
    as_csv = path.suffix.lower() == ".csv"
    partial = path.with_name(path.name + ".partial")
    done = 0
    if resume and partial.is_file():
        if as_csv:
            raise StanceError("--resume needs a .jsonl output")
        done = _complete_lines(partial)
        log.warning("resuming: %d row(s) already in %s", done, partial)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(partial, "a" if done else "w", encoding="utf-8", newline="")
    try:
        yield RowWriter(handle, as_csv), done
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(partial, path)
    except BaseException:
        handle.close()
        if not resume:
            partial.unlink(missing_ok=True)
        raise


def _complete_lines(path: Path) -> int:
    """Count whole lines; cut a trailing half-written line so that appending continues cleanly."""
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        with open(path, "r+b") as f:
            f.truncate(keep)
    return data[:keep].count(b"\n")


# ---------------------------------------------------------------- commands


def run_prediction(model, input: str, output: str, *, target=None, articles=False, summary=None, backend="auto", batch_size=None, min_confidence=None, threads=None, skip_invalid=False, resume=False) -> None:
    """`stance predict`: score rows, or whole articles, from INPUT into OUTPUT."""
    from tqdm.auto import tqdm

    from .predict import Predictor, score_records

    if summary and not articles:
        raise StanceError("--summary needs --articles")
    if input != "-" and not Path(input).exists():
        raise StanceError(f"{input}: no such file or folder")
    predictor = Predictor(model, backend=backend, batch_size=batch_size, threads=threads)
    show = output != "-" and sys.stderr.isatty()
    with open_output(output, resume) as (writer, done):
        if articles:
            scored = score_articles(predictor, iter_articles(input), min_confidence, skip_articles=done)
            counts = _write_all(writer, scored, tqdm(desc="pairs", unit=" pairs", disable=not show))
            if summary:
                from .articles import summarize
                from .files import atomic_file

                if done:
                    log.warning("--summary after --resume covers only the articles scored in this run")
                with atomic_file(summary, newline="") as f:
                    out = RowWriter(f, str(summary).lower().endswith(".csv"))
                    for row in summarize(counts):
                        out.write(row)
        else:
            rows = iter_rows(input, target, skip_invalid)
            for _ in range(done):
                next(rows, None)
            _write_all(writer, score_records(predictor, rows, target, min_confidence), tqdm(desc="rows", unit=" rows", disable=not show), keep=False)


def _write_all(writer: RowWriter, rows, bar, keep: bool = True) -> list[dict]:
    kept = []
    for row in rows:
        writer.write(row)
        bar.update(1)
        if keep:
            kept.append({k: row[k] for k in ("article_id", "target", "label", "probs")})
    bar.close()
    return kept


def score_articles(predictor, articles, min_confidence=None, skip_articles: int = 0) -> Iterator[dict]:
    """Find every (sentence, alliance) pair in each article and score it; rows in article order.

    With `skip_articles`, that many output rows are taken as already written (resume): whole
    articles are skipped while their rows fit in that count.
    """
    from .articles import default_finder, find_pairs
    from .predict import CHUNK_ROWS

    finder = default_finder()
    pending: list[dict] = []
    to_skip = skip_articles

    def flush() -> Iterator[dict]:
        results = predictor.predict([p["target"] for p in pending], [p["sentence"] for p in pending], min_confidence)
        for pair, result in zip(pending, results):
            yield {**pair, **result}
        pending.clear()

    for article_id, text in articles:
        pairs = find_pairs(text, finder=finder)
        if to_skip >= len(pairs) and to_skip > 0:
            to_skip -= len(pairs)
            continue
        for p in pairs[to_skip:]:
            pending.append({"article_id": article_id, **p.to_dict()})
        to_skip = 0
        if len(pending) >= CHUNK_ROWS:
            yield from flush()
    if pending:
        yield from flush()


def run_mentions(input: str, output: str, alliances=None, all_sentences: bool = False) -> None:
    """`stance mentions`: the (sentence, alliance) pairs of each article, with their evidence."""
    from .alliances import load_registry
    from .articles import MentionFinder, find_pairs, split_sentences

    if input != "-" and not Path(input).exists():
        raise StanceError(f"{input}: no such file or folder")
    finder = MentionFinder(load_registry(str(alliances) if alliances else None))
    with open_output(output) as (writer, _):
        for article_id, text in iter_articles(input):
            pairs = find_pairs(text, finder=finder)
            for p in pairs:
                writer.write({"article_id": article_id, **p.to_dict()})
            if all_sentences:
                with_pairs = {p.sentence_index for p in pairs}
                for i, (s, e) in enumerate(split_sentences(text)):
                    if i not in with_pairs:
                        writer.write({"article_id": article_id, "sentence_index": i, "start": s, "end": e, "sentence": text[s:e], "target": None})
