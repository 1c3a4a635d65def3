"""Which model should a CPU user get by default? Measures the candidates' CPU speed.

    .venv/bin/python bench/bench_models.py [--rounds 3] [ARCH ...]
    .venv/bin/python bench/bench_models.py --catalogue [--rounds 1]   # every catalogue architecture

``--catalogue`` takes the architectures of app/catalogue.py's entries (the figures its
``images_per_s``/``text_ms`` fields quote); architectures our export path cannot export yet
(non-CLIP-BPE text towers: SigLIP, NLLB, XLM-R) are listed as skipped with the reason.

Candidates are open_clip architectures whose published ImageNet-1k zero-shot accuracy
is >= 70% (figures from open_clip's results table and Apple's model cards, below).
Weights are random (no download here): speed depends on the graph, not the weights.
Each model is exported through our own export path, then timed round-robin so load
changes on the machine hit every candidate alike; the best round counts.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from common import exported_model

# arch: (pretrained tag, published ImageNet-1k zero-shot top-1 %, source)
CANDIDATES = {
    "MobileCLIP2-S0": ("dfndr2b", 71.5, "apple/ml-mobileclip README"),
    "MobileCLIP-S1": ("datacompdr", 72.6, "apple MobileCLIP model card"),
    "ViT-B-32-256": ("datacomp_s34b_b86k", 72.8, "open_clip openclip_results.csv"),
    "ViT-B-16": ("datacomp_xl_s13b_b90k", 73.5, "open_clip openclip_results.csv"),
    "MobileCLIP-S2": ("datacompdr", 74.4, "apple MobileCLIP model card"),
}


def image_rate(encoder, x: np.ndarray, seconds: float = 4.0) -> float:
    encoder.encode(x)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        encoder.encode(x)
        count += len(x)
    return count / (time.perf_counter() - start)


def text_latency(encoder, runs: int = 30) -> float:
    encoder.encode("warm up")
    times = []
    for i in range(runs):
        start = time.perf_counter()
        encoder.encode(f"a photo of a dog running on a beach number {i}")
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("archs", nargs="*", default=None)
    ap.add_argument("--catalogue", action="store_true", help="bench the catalogue entries' architectures")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()

    from indexer.encoders import ClipModel

    names: dict[str, str] = {}  # arch -> catalogue entry names
    if args.catalogue:
        from app.catalogue import entries

        for entry in entries():
            names.setdefault(entry.arch, entry.name)
        archs = args.archs or list(names)
    else:
        archs = args.archs or list(CANDIDATES)
    models = {}
    for arch in archs:
        try:
            model_dir = exported_model(arch)
        except Exception as exc:  # the export path refuses it (e.g. a Hugging Face text tower)
            print(f"{arch:<20} skipped: {str(exc).splitlines()[0][:120]}", flush=True)
            continue
        clip = ClipModel(model_dir, providers=["CPUExecutionProvider"])
        h, w = clip.preprocess.size
        x = np.random.default_rng(0).standard_normal((args.batch, 3, h, w)).astype(np.float32)
        models[arch] = (clip, x)
    best = {arch: (0.0, float("inf")) for arch in models}
    for _ in range(args.rounds):
        for arch, (clip, x) in models.items():
            rate = image_rate(clip.image, x)
            latency = text_latency(clip.text)
            best[arch] = (max(best[arch][0], rate), min(best[arch][1], latency))
    print(f"{'arch':<16} {'pretrained':<24} {'IN-1k':>6} {'size':>5} {'images/s':>9} {'text ms':>8}")
    for arch, (rate, latency) in sorted(best.items(), key=lambda kv: -kv[1][0]):
        tag, acc, _ = CANDIDATES.get(arch, ("?", float("nan"), ""))
        size = models[arch][0].preprocess.size[0]
        print(f"{arch:<16} {tag:<24} {acc:>6.1f} {size:>5} {rate:>9.2f} {latency:>8.1f}  {names.get(arch, '')}")


if __name__ == "__main__":
    main()
