"""Text pass throughput on camera-sized photos, next to the embedding rate of the same run.

    .venv/bin/python bench/bench_text.py [--arch ViT-B-32] [--photos 16] [--mp 12] [--cores 2]

Builds 12 MP JPEGs from real photos (mate-backgrounds): half carry text drawn in real fonts
(a sign, a receipt-like block, a small caption), half none. One child process, pinned to
``--cores`` cores, indexes them with ``Library.index`` (embedding pass, then the text pass) and
reports: the embedding rate, the text pass rate on photos without text (detection only) and with
text (detection + recognition), and the process's peak RSS. Targets (2 cores): without text
>= 5 photos/s, with text >= 2 photos/s, peak RSS <= 1.2 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import CACHE, REPO, camera_photos, exported_model

SIGN_LINES = ["GATE B42", "Departures 14:35", "HARDWARE STORE", "Receipt #20931", "Total 42.80 EUR",
              "wifi password: orange-tulip", "Platform 7", "No parking"]


def text_photos(source: list[Path], folder: Path) -> list[Path]:
    """Copies of ``source`` with text drawn on them (cached)."""
    from PIL import Image

    from tests.media import draw_text

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, src in enumerate(source):
        target = folder / f"TXT_{i:04d}.jpg"
        if not target.exists():
            with Image.open(src) as im:
                image = im.convert("RGB")
            image = draw_text(image, SIGN_LINES[i % 8], height=0.06, at=(0.1, 0.1), angle=(i % 3 - 1) * 6)
            for j in range(3):  # a receipt-like block
                image = draw_text(image, SIGN_LINES[(i + j + 1) % 8], height=0.025, at=(0.5, 0.45 + j * 0.06),
                                  font="LiberationSans-Regular.ttf", plate=(250, 250, 245) if j == 0 else None)
            image = draw_text(image, SIGN_LINES[(i + 5) % 8], height=0.018, at=(0.1, 0.85),
                              fill=(230, 230, 230), plate=None)
            tmp = target.with_suffix(".tmp")
            image.save(tmp, "JPEG", quality=92)
            tmp.rename(target)
        out.append(target)
    return out


CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from app.library import Library
from app.paths import AppPaths
from indexer.ocr_pass import TextPass
home = Path({home!r})
lib = Library(AppPaths(data=home, cache=home / 'c', logs=home / 'l'), providers=['CPUExecutionProvider'])
report = lib.index([{photos!r}], read_text=False)
embed_rate = report.embedded / report.elapsed
rss_embed = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
lib.clip().image.release()  # as Library.index does before its text pass
text_pass = TextPass(lib.db)
jobs = text_pass.pending_jobs()
text_pass.load()
rates = {{}}
cpu = {{}}
def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
for group in ('plain', 'text'):
    mine = [j for j in jobs if os.sep + group + os.sep in j.path]
    start, c0 = time.perf_counter(), cpu_seconds()
    r = text_pass.run(mine)
    rates[group] = len(mine) / (time.perf_counter() - start)
    cpu[group] = (cpu_seconds() - c0) / len(mine)
st = lib.status()
print(json.dumps({{"embedded": report.embedded, "embed_rate": embed_rate, "plain": rates['plain'],
                  "text": rates['text'], "cpu_plain": cpu['plain'], "cpu_text": cpu['text'], "found": st.text_found, "read": st.text_read,
                  "rss_embed": rss_embed, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--photos", type=int, default=16, help="photos of each kind (with and without text)")
    ap.add_argument("--mp", type=float, default=12.0)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()

    model_dir = exported_model(args.arch)
    base = camera_photos(CACHE / f"photos-{args.mp:g}mp", args.photos * 2, args.mp)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photos = tmp / "photos"
        (photos / "plain").mkdir(parents=True)
        for p in base[: args.photos]:
            os.link(p, photos / "plain" / p.name)
        (photos / "text").mkdir()
        for p in text_photos(base[args.photos: args.photos * 2], CACHE / f"photos-text-{args.mp:g}mp"):
            os.link(p, photos / "text" / p.name)
        home = tmp / "home"
        shutil.copytree(model_dir, home / "models" / args.arch)
        (home / "config.json").write_text(json.dumps({"active_model": args.arch}))
        cores = sorted(os.sched_getaffinity(0))[: args.cores]
        code = CHILD.format(repo=str(REPO), home=str(home), photos=str(photos))
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                preexec_fn=lambda: os.sched_setaffinity(0, cores))
        if result.returncode:
            sys.exit(result.stderr)
        out = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"model {args.arch}, {args.photos} + {args.photos} photos of {args.mp:g} MP, {len(cores)} cores")
    print(f"embedding pass     {out['embed_rate']:6.2f} photos/s  ({out['embedded']} photos, same run)")
    n = len(cores)
    print(f"text, no text      {out['plain']:6.2f} photos/s  (target >= 5; {out['cpu_plain']:.3f} CPU-s/photo, "
          f"{n / out['cpu_plain']:.1f}/s if {n} cores were free)")
    print(f"text, with text    {out['text']:6.2f} photos/s  (target >= 2; {out['cpu_text']:.3f} CPU-s/photo, "
          f"{n / out['cpu_text']:.1f}/s if {n} cores were free)")
    load = os.getloadavg()[0]
    if load > n:
        print(f"note: load average {load:.1f} on this machine: other processes share the cores, rates are low")
    print(f"text found in      {out['found']:6d} of {out['read']} photos read")
    print(f"peak RSS           {out['rss'] / 2**20:6.0f} MiB  (target <= 1229 MiB = 1.2 GB; "
          f"{out['rss_embed'] / 2**20:.0f} MiB after the embedding pass)")


if __name__ == "__main__":
    main()
