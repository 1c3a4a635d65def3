"""Photo indexing throughput vs the model-only ceiling, peak RSS, and no-op rescan speed.

    .venv/bin/python bench/bench_index.py [--arch ViT-B-32] [--photos 64] [--mp 12]

Prints end-to-end images/s next to the model-only images/s of the same ONNX model
measured in the same run, and their ratio (target >= 0.9 on 2 cores).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import CACHE, REPO, camera_photos, exported_model


def model_only(model_dir: Path, images: int, batch: int) -> float:
    """The ceiling: the image encoder alone on ready tensors, in its fastest setting
    (ORT thread spinning on or off, whichever is faster here)."""
    from indexer.encoders import ImageEncoder
    from indexer.manifest import ModelManifest

    h, w = ModelManifest.load(model_dir).preprocess["size"]
    x = np.random.default_rng(0).standard_normal((batch, 3, h, w)).astype(np.float32)
    best = 0.0
    for spinning in (True, False):
        encoder = ImageEncoder(model_dir / "visual.onnx", providers=["CPUExecutionProvider"], allow_spinning=spinning)
        encoder.encode(x)  # warm up
        runs = max(1, images // batch)
        start = time.perf_counter()
        for _ in range(runs):
            encoder.encode(x)
        best = max(best, runs * batch / (time.perf_counter() - start))
    return best


def decode_only(model_dir: Path, photo_dir: Path) -> float:
    """Images/s for decode + preprocess alone on one thread (what the model competes with)."""
    from indexer.decode import read_image
    from indexer.manifest import ModelManifest
    from indexer.preprocess import PreprocessConfig, draft_target, preprocess

    cfg = PreprocessConfig.from_dict(ModelManifest.load(model_dir).preprocess)
    paths = sorted(photo_dir.glob("*.jpg"))
    start = time.perf_counter()
    for path in paths:
        image, meta = read_image(path, draft=draft_target(cfg))
        preprocess(image, cfg, meta.reduced)
    return len(paths) / (time.perf_counter() - start)


def index_run(home: Path, photos_dir: Path, batch: int) -> tuple[float, int, int]:
    """Run `mediaseek index` as a child process; returns (images/s, peak RSS bytes, count)."""
    code = f"""
import sys, time, resource
sys.path.insert(0, {str(REPO)!r})
from app.library import Library
from app.paths import AppPaths
p = AppPaths(data=__import__('pathlib').Path({str(home)!r}), cache=__import__('pathlib').Path({str(home)!r})/'c', logs=__import__('pathlib').Path({str(home)!r})/'l')
lib = Library(p, providers=['CPUExecutionProvider'])
t = time.perf_counter()
r = lib.index([{str(photos_dir)!r}], batch_size={batch})
print(r.embedded, r.elapsed, r.scan_seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    embedded, elapsed, rss_kb = int(out[0]), float(out[1]), int(out[3])
    return embedded / elapsed, rss_kb * 1024, embedded


def rescan(files: int) -> float:
    """No-op rescan files/s over a synthetic library of `files` already-indexed entries."""
    from db import Database, Media, Root
    from indexer.sync import LibrarySync

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "photos"
        for i in range(files):
            d = root / f"{i // 1000:03d}"
            if i % 1000 == 0:
                d.mkdir(parents=True)
            (d / f"p{i:06d}.jpg").write_bytes(b"\xff\xd8")
        db = Database.open(tmp / "library.db")
        with db.session() as s:
            r = Root(path=str(root), added_at=time.time())
            s.add(r)
            s.flush()
            rid = r.id
        rows = []
        for dirpath, _, names in os.walk(root):
            for n in names:
                st = os.stat(os.path.join(dirpath, n))
                rows.append({"root_id": rid, "path": os.path.join(dirpath, n), "kind": "photo", "size": st.st_size,
                             "mtime_ns": st.st_mtime_ns, "status": "indexed", "date": st.st_mtime})
        from sqlalchemy import insert
        with db.session() as s:
            s.execute(insert(Media), rows)
        LibrarySync(db).run([(rid, str(root))])  # warm the OS cache as a user's second run would be
        start = time.perf_counter()
        report = LibrarySync(db).run([(rid, str(root))])
        elapsed = time.perf_counter() - start
        assert report.new == report.changed == report.removed == 0, report
        db.close()
        return files / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--photos", type=int, default=64)
    ap.add_argument("--mp", type=float, default=12.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rescan-files", type=int, default=50_000)
    args = ap.parse_args()

    model_dir = exported_model(args.arch)
    photos = CACHE / f"photos-{args.mp:g}mp"
    camera_photos(photos, args.photos, args.mp)
    photo_dir = CACHE / f"photos-{args.mp:g}mp-{args.photos}"
    if not photo_dir.exists():
        photo_dir.mkdir(parents=True)
        for p in sorted(photos.glob("*.jpg"))[: args.photos]:
            os.link(p, photo_dir / p.name)
    avg_mb = np.mean([p.stat().st_size for p in photo_dir.glob("*.jpg")]) / 1e6

    with tempfile.TemporaryDirectory() as home:
        home = Path(home)
        shutil.copytree(model_dir, home / "models" / args.arch)
        (home / "config.json").write_text(f'{{"active_model": "{args.arch}"}}')
        ceiling_before = model_only(model_dir, args.photos, args.batch)
        e2e, rss, count = index_run(home, photo_dir, args.batch)
        ceiling_after = model_only(model_dir, args.photos, args.batch)
        decode = decode_only(model_dir, photo_dir)
    ceiling = max(ceiling_before, ceiling_after)
    cores = os.cpu_count() or 1
    # If decoding and inference shared the cores perfectly, each image costs the model's
    # core-seconds plus the decoder's: this is the best any overlap can reach.
    bound = cores / (cores / ceiling + 1 / decode)
    print(f"model {args.arch}, {count} photos of {args.mp:g} MP (avg {avg_mb:.1f} MB), batch {args.batch}, "
          f"{os.cpu_count()} cores")
    print(f"model-only      {ceiling:7.2f} images/s  (before {ceiling_before:.2f}, after {ceiling_after:.2f})")
    print(f"decode+prep     {decode:7.2f} images/s on one thread")
    print(f"CPU bound       {bound:7.2f} images/s  (= ratio {bound / ceiling:.3f}: model + decode core-time on {cores} cores)")
    print(f"end-to-end      {e2e:7.2f} images/s")
    print(f"ratio           {e2e / ceiling:7.3f}   (target >= 0.90)")
    print(f"peak RSS        {rss / 2**20:7.0f} MiB  (target <= 1229 MiB = 1.2 GB)")
    if args.rescan_files:
        rate = rescan(args.rescan_files)
        print(f"no-op rescan    {rate:7.0f} files/s over {args.rescan_files} files  (target >= 20000)")


if __name__ == "__main__":
    main()
