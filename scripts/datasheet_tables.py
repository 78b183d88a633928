"""Print the datasheet's count tables (Markdown) from data/corpus: python scripts/datasheet_tables.py"""

import collections
import json
from pathlib import Path

LABELS = ("hostile", "conciliatory", "neutral")
rows = [json.loads(line) for f in sorted(Path("data/corpus").glob("*.jsonl")) for line in f.open(encoding="utf-8") if line.strip()]
splits = dict(line.strip().split(",") for line in Path("data/splits.csv").open() if not line.startswith("article_id")) if Path("data/splits.csv").is_file() else {}


def table(title, counter_by_key, order=None):
    print(f"\n### {title}\n\n| {title.split(' per ')[-1]} | rows | hostile | conciliatory | neutral | top share |\n|---|---|---|---|---|---|")
    for key in order or sorted(counter_by_key, key=lambda k: -sum(counter_by_key[k].values())):
        c = counter_by_key[key]
        n = sum(c.values())
        print(f"| {key} | {n} | " + " | ".join(str(c.get(l, 0)) for l in LABELS) + f" | {max(c.values()) / n:.0%} |")


total = collections.Counter(r["label"] for r in rows)
print(f"rows {len(rows)}, stories {len({r['article_id'] for r in rows})}, reports (distinct addresses) {len({r.get('source_url') for r in rows})}, alliances {len({r['target'] for r in rows})}")
print("\n| label | rows | share |\n|---|---|---|")
for l in LABELS:
    print(f"| {l} | {total[l]} | {total[l] / len(rows):.1%} |")
by = collections.defaultdict(collections.Counter)
for r in rows:
    by[r["target"]][r["label"]] += 1
table("Rows per alliance", by)
decades = collections.defaultdict(collections.Counter)
for r in rows:
    y = r.get("year")
    decades[f"{y // 10 * 10}s" if isinstance(y, int) else "unknown"][r["label"]] += 1
table("Rows per decade", decades, sorted(decades))
countries = collections.Counter(r.get("outlet_country", "unknown") for r in rows)
print("\n### Rows per outlet country\n\n" + ", ".join(f"{c} {n}" for c, n in countries.most_common()))
files = collections.Counter({f.stem: sum(1 for line in f.open(encoding="utf-8") if line.strip()) for f in Path("data/corpus").glob("*.jsonl")})
print("\n### Rows per batch file\n\n" + ", ".join(f"{f} {n}" for f, n in files.most_common()))
if splits:
    per_split = collections.defaultdict(collections.Counter)
    for r in rows:
        per_split[splits.get(r["article_id"], "train")][r["label"]] += 1
    table("Rows per split", per_split, ["train", "validation", "test"])
