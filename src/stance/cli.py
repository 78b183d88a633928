"""The `stance` command line: a thin layer over data, train, evaluate, predict, articles and export.

Only typer and the standard library are imported here at start-up; each command imports what it
needs, so that `stance --help` and argument errors answer at once.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(help="Stance of news sentences toward alliances: hostile, conciliatory or neutral.", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Check, count and split labeled rows.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def friendly(command):
    """Print the project's own errors as one line on stderr and exit 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from .errors import StanceError

        try:
            return command(*args, **kwargs)
        except StanceError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: outputs were left as they were before this run", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None

    return wrapper


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr, force=True)


# ---------------------------------------------------------------- data


@data_app.command("validate")
@friendly
def data_validate(
    files: Annotated[list[Path], typer.Argument(help="JSONL/CSV files or folders of them.")],
    unlabeled: Annotated[bool, typer.Option(help="Check rows to be scored (text, optional target) instead of labeled rows.")] = False,
) -> None:
    """Check rows against the row format; print each problem as file:line: field: what is wrong."""
    from .data import validate_files

    n, problems = validate_files(files, labeled=not unlabeled)
    for p in problems:
        typer.echo(str(p))
    fatal = sum(p.fatal for p in problems)
    typer.echo(f"{n} rows, {fatal} error(s), {len(problems) - fatal} warning(s)", err=True)
    if fatal:
        raise typer.Exit(1)


@data_app.command("stats")
@friendly
def data_stats(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders (default: data/corpus).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Rows, stories, and counts per label and per target × label."""
    from .data import corpus_stats, load_rows
    from .evaluate import _table
    from .labels import LABELS

    stats = corpus_stats(load_rows(files or [Path("data/corpus")]))
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    typer.echo(f"rows {stats['rows']}   stories {stats['stories']}   targets {len(stats['per_target'])}\n")
    typer.echo(_table(["label", "rows", "share"], [[l, stats["per_label"].get(l, 0), f"{stats['per_label'].get(l, 0) / stats['rows']:.1%}"] for l in LABELS], False) + "\n")
    rows = []
    for target, counts in stats["per_target"].items():
        total = sum(counts.values())
        rows.append([target, total] + [counts.get(l, 0) for l in LABELS] + [f"{max(counts.values()) / total:.0%}"])
    typer.echo(_table(["target", "rows", *LABELS, "top label"], rows, False))


@data_app.command("split")
@friendly
def data_split(
    config: Annotated[Path, typer.Option(help="Config whose data section names the files, seed and fractions.")] = Path("configs/default.yaml"),
    output: Annotated[Optional[Path], typer.Option(help="Where to write article_id,split (default: the config's data.splits).")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the stories of the existing split file where they are; assign only new stories.")] = False,
) -> None:
    """Assign every story to train/validation/test (seeded, grouped by article_id, stratified) and save it."""
    from .config import load_config
    from .data import load_rows, make_splits, read_splits, write_splits
    from .errors import StanceError

    cfg = load_config(config)["data"]
    rows = load_rows(cfg["paths"])
    path = output or Path(cfg["splits"])
    if keep and not Path(cfg["splits"]).is_file():
        raise StanceError(f"{cfg['splits']}: no split file to keep (run `stance data split` without --keep)")
    kept = read_splits(cfg["splits"]) if keep else None
    assignment = make_splits(rows, cfg.get("split_seed", 13), cfg.get("val_fraction", 0.1), cfg.get("test_fraction", 0.15), keep=kept)
    write_splits(assignment, path)
    counts = {s: sum(1 for r in rows if assignment[r["article_id"]] == s) for s in ("train", "validation", "test")}
    new = f", {sum(1 for a in assignment if a not in kept)} new" if kept is not None else ""
    typer.echo(f"wrote {path}: {len(assignment)} stories{new}; rows {counts}")


@data_app.command("export")
@friendly
def data_export(
    split: Annotated[str, typer.Option(help="train, validation or test.")] = "test",
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file to write.")] = Path("reports/test.jsonl"),
    config: Annotated[Path, typer.Option(help="Config whose data section names the files and the split file.")] = Path("configs/default.yaml"),
) -> None:
    """Write the rows of one split (as the config's split file assigns them) to a JSONL file."""
    from .config import load_config
    from .errors import StanceError
    from .files import atomic_file
    from .train import prepare_splits

    splits = prepare_splits(load_config(config))
    if split not in splits:
        raise StanceError(f"split {split!r}: expected one of {', '.join(splits)}")
    with atomic_file(output) as f:
        for row in splits[split]:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {output}: {len(splits[split])} {split} rows")


# ---------------------------------------------------------------- train / evaluate


@app.command()
@friendly
def train(
    config: Annotated[Path, typer.Option(help="YAML config.")] = Path("configs/default.yaml"),
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value: --set training.learning_rate=3e-5 (repeatable).")] = None,
    output: Annotated[Optional[Path], typer.Option(help="Model folder to write (default: the config's output).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the last epoch checkpoint of an interrupted run.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Fine-tune the base model on the corpus; save weights, tokenizer, config, metrics and a model card."""
    from .config import load_config
    from .train import train as run_training

    cfg = load_config(config, set_)
    metrics = run_training(cfg, output=output, resume=resume, progress=not quiet)
    out = output or cfg["output"]
    typer.echo(f"saved {out}  ({metrics['epochs_run']} epochs, {metrics['train_seconds']:.0f} s)")
    for split in ("validation", "test"):
        if split in metrics:
            base = metrics.get("baseline", {}).get(split, {}).get("macro_f1")
            typer.echo(f"{split:<10} macro-F1 {metrics[split]['macro_f1']:.3f}  accuracy {metrics[split]['accuracy']:.3f}  n {metrics[split]['n']}" + (f"   (TF-IDF baseline {base:.3f})" if base is not None else ""))


@app.command()
@friendly
def evaluate(
    paths: Annotated[list[Path], typer.Argument(help="One or more model folders, then the labeled data file (JSONL/CSV).", show_default=False)],
    report: Annotated[Optional[Path], typer.Option(help="Also write Markdown + PNG + JSON reports into this folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a list for several models).")] = False,
    backend: Annotated[str, typer.Option(help="auto, torch, onnx or onnx-int8.")] = "auto",
    skip_invalid: Annotated[bool, typer.Option(help="Drop invalid rows (counted in a warning) instead of failing.")] = False,
) -> None:
    """Score labeled rows with saved models: macro-F1, per label, per target, confusion, top errors."""
    from .data import load_rows
    from .errors import StanceError
    from .evaluate import compare, evaluate as run_evaluation, format_report, write_report

    if len(paths) < 2:
        raise StanceError("give at least one MODEL folder and then the DATA file")
    *models, data = paths
    rows = load_rows(data, skip_invalid=skip_invalid)
    results = [run_evaluation(m, rows, backend=backend) for m in models]
    if report:
        for i, m in enumerate(results):
            write_report(m, report, name=Path(models[i]).name if len(results) > 1 else "report")
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2, ensure_ascii=False))
    elif len(results) == 1:
        typer.echo(format_report(results[0]))
    else:
        typer.echo(compare(results))


@app.command("evaluate-articles")
@friendly
def evaluate_articles(
    gold: Annotated[Path, typer.Argument(help="Gold articles (JSONL: article_id, paragraphs of sentences with their pairs).")],
    model: Annotated[Optional[Path], typer.Option(help="Also score the found pairs with this model: end-to-end macro-F1.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object, with every miss and false hit.")] = False,
) -> None:
    """Mention detection precision/recall over (sentence, alliance) pairs, and end-to-end macro-F1."""
    from .articles import evaluate_articles as run

    predictor = None
    if model:
        from .predict import Predictor

        predictor = Predictor(model)
    report = run(gold, predictor)
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    typer.echo(f"pairs: gold {report['pairs_gold']}, found {report['pairs_found']}   detection precision {report['precision']:.3f}   recall {report['recall']:.3f}")
    if "end_to_end_macro_f1" in report:
        typer.echo(f"end-to-end macro-F1 {report['end_to_end_macro_f1']:.3f}   accuracy {report['end_to_end_accuracy']:.3f}   over {report['end_to_end_n']} labeled gold pairs (a missed pair counts as wrong)")
    for miss in report["missed"][:15]:
        typer.echo(f"  missed  {miss['target']:<10} {miss['article_id']}: {miss['sentence'][:100]}")
    for hit in report["false_hits"][:15]:
        typer.echo(f"  extra   {hit['target']:<10} {hit['article_id']}: {hit['mention']!r} in {hit['sentence'][:80]}")


# ---------------------------------------------------------------- predict


@app.command()
@friendly
def predict(
    model: Annotated[Path, typer.Argument(help="Model folder.")],
    input: Annotated[str, typer.Argument(help="JSONL or CSV with text and target ('-' for stdin); with --articles, JSONL with id and text, or a folder of .txt files.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output file (.jsonl or .csv), '-' for stdout.")] = "-",
    target: Annotated[Optional[str], typer.Option(help="Target for rows that have none.")] = None,
    articles: Annotated[bool, typer.Option(help="INPUT holds whole articles: find the alliances each sentence refers to, then score each pair.")] = False,
    summary: Annotated[Optional[Path], typer.Option(help="With --articles: also write one row per (article, alliance) here.")] = None,
    backend: Annotated[str, typer.Option(help="auto (fastest path within 0.01 macro-F1), torch, onnx or onnx-int8.")] = "auto",
    batch_size: Annotated[Optional[int], typer.Option(min=1, help="Pairs per batch (default: 16 on ONNX, 64 on torch).")] = None,
    min_confidence: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="Mark pairs whose top probability is below this as uncertain.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="CPU threads (default: all cores).")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="Skip invalid rows (counted on stderr) instead of failing.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run: keep the rows already written to OUTPUT.partial.")] = False,
) -> None:
    """Score (text, target) rows, or whole articles with --articles; add label and probabilities."""
    from .output import run_prediction

    run_prediction(model, input, output, target=target, articles=articles, summary=summary, backend=backend, batch_size=batch_size, min_confidence=min_confidence, threads=threads, skip_invalid=skip_invalid, resume=resume)


@app.command()
@friendly
def mentions(
    input: Annotated[str, typer.Argument(help="JSONL with id and text, a folder of .txt files, or '-' for stdin.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output JSONL ('-' for stdout).")] = "-",
    alliances: Annotated[Optional[Path], typer.Option(help="Your own alliances, in the shape of configs/alliances.yaml (merged).")] = None,
    all_sentences: Annotated[bool, typer.Option(help="Also output sentences that refer to no alliance.")] = False,
) -> None:
    """Find the sentences of each article that refer to an alliance, and which alliance (no model needed)."""
    from .output import run_mentions

    run_mentions(input, output, alliances=alliances, all_sentences=all_sentences)


@app.command()
@friendly
def export(
    model: Annotated[Path, typer.Argument(help="Model folder.")],
    output: Annotated[Optional[Path], typer.Option(help="Folder for the exported model (default: MODEL/onnx).")] = None,
    onnx: Annotated[bool, typer.Option("--onnx", help="Export to ONNX (the only format for now).")] = True,
    int8: Annotated[bool, typer.Option(help="Also write an int8 dynamically quantised copy.")] = False,
    check: Annotated[Optional[Path], typer.Option(help="Labeled rows (e.g. the validation split) to measure each copy's macro-F1 change on; `stance predict` takes the int8 copy by default only when that change is within 0.01.")] = None,
) -> None:
    """Export a model to ONNX (fp32, optionally int8), checked against torch on sample rows."""
    from .data import load_rows
    from .onnx import export_onnx

    report = export_onnx(model, output, int8=int8, check_rows=load_rows(check) if check else None)
    typer.echo(json.dumps(report, indent=2))


if __name__ == "__main__":
    app()
