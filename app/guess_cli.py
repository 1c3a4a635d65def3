"""``python -m app.guess_cli CHECKPOINT [--config JSON]``: the checkpoint's architecture as one JSON line.

The first-run window runs this as a child process (torch must never load into the window's process).
Output on stdout: {"exact": [...], "closest": ..., "closest_score": ..., "is_clip": ...} or {"error": "..."}.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.guess_cli")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--config", type=Path, default=None, help="a custom open_clip model config .json")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # open_clip's "initialized randomly" warnings are noise here
    from app.checkpoint_guess import guess
    from app.errors import MediaseekError

    try:
        result = guess(args.checkpoint, args.config)
    except MediaseekError as exc:
        sys.stdout.write(json.dumps({"error": str(exc)}) + "\n")
        return 1
    sys.stdout.write(json.dumps({"exact": result.exact, "closest": result.closest,
                                 "closest_score": round(result.closest_score, 3), "is_clip": result.is_clip}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
