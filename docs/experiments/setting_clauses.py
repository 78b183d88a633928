"""E20/E21: setting-clause augmentation (`stance.augment.setting_augment`, adopted as
`training.augment_settings`). Besides the default pair augmentation, joins a hostile or
conciliatory single-target training sentence with a clause that names another alliance only as a
venue or a date ("..., speaking on the sidelines of the SCO summit in Astana."), which the contract
labels neutral; the sentence keeps its label for its own target. Training rows only. Run from the
repository root:

    python docs/experiments/setting_clauses.py FRACTION SEED OUTPUT [KEY=VALUE ...]   # config overrides
"""

import sys

sys.path.insert(0, "docs/experiments")
from common import train_and_score  # noqa: E402

if __name__ == "__main__":
    train_and_score(int(sys.argv[2]), sys.argv[3], [f"training.augment_settings={sys.argv[1]}", *sys.argv[4:]])
