"""python -m harness.world [--out tasks] [--seed 0] [--large]: (re)generate the bundled suites (--large adds shopco-en-large, 100k docs; not committed)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from harness.world import generate_suite

BUNDLED = {"shopco-en": ("en", "default"), "shopco-zh": ("zh", "default"),
           "shopco-en-tiny": ("en", "tiny"), "shopco-zh-tiny": ("zh", "tiny")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="tasks", help="folder that receives the suites")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--large", action="store_true", help="also write shopco-en-large (100k docs)")
    args = ap.parse_args()
    todo = dict(BUNDLED)
    if args.large:
        todo["shopco-en-large"] = ("en", "large")
    for name, (lang, size) in todo.items():
        dest = Path(args.out) / name
        shutil.rmtree(dest, ignore_errors=True)  # regenerate from scratch: no stale docs
        generate_suite(dest, lang, size, args.seed, name)
        print(f"wrote {dest}")


if __name__ == "__main__":
    main()
