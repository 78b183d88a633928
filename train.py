"""Train the default model: the same as `stance train` (any of its options work here too)."""

import sys

from stance.cli import app

if __name__ == "__main__":
    sys.exit(app(["train", *sys.argv[1:]]))
