"""Install footprint: `du` of a fresh virtual environment with mediaseek alone and with the `export` extra.

    python bench/bench_footprint.py [--keep DIR]

Creates the environments in a temporary folder (or DIR), installs the working tree with `pip install .` and
`pip install '.[export]'`, and prints each one's size and its largest packages. Goal: <= 1.5 GB without the extra.
Takes minutes (downloads); pip's cache is used when present.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(root: Path, name: str, spec: str) -> int:
    env = root / name
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", spec], cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"pip install {spec} failed:\n{done.stderr[-2000:]}")
    size = tree_size(env)
    site = next((env / "lib").glob("python*/site-packages"))
    biggest = sorted(((tree_size(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)[:6]
    print(f"{name:>10}: {size / 1e9:.2f} GB  (largest: "
          + ", ".join(f"{n} {s / 1e6:.0f} MB" for s, n in biggest) + ")", flush=True)
    return size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="create the environments here and keep them")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="mediaseek-footprint-"))
    try:
        base = measure(root, "runtime", ".")
        full = measure(root, "export", ".[export]")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"runtime {base / 1e9:.2f} GB (goal <= 1.50 GB: {'met' if base <= 1.5e9 else 'NOT met'}); "
          f"the export extra adds {(full - base) / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
