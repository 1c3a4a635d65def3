"""Video moment sampling speed on 1080p H.264, and the decoding strategies it was chosen from.

    .venv/bin/python bench/bench_video.py [CLIP] [--seconds 40] [--repeat 2] [--case phone long-gop]

Without CLIP it builds (once, cached under bench/out) the clips of each ``--case``:

  phone     1920x1080, 30 fps, H.264 High with B-frames, a keyframe every 2 s and none at cuts,
            shots of 4-7 s that pan and zoom across real photos (the MATE nature backgrounds when
            installed) with sensor-like noise, about 12 Mbit/s. Target >= 20x realtime.
  long-gop  the same with a keyframe every 10 s (none at cuts, as cameras, screen recorders and
            re-encoders write) and shots of 2-4 s, so most shots have no keyframe of their own.
            Target >= 5x realtime; every shot should still be found.

Each strategy runs in a fresh child process so peak RSS is its own. Prints seconds of video per
wall second ("x realtime"), the same per CPU second (steadier on a busy machine), moments per
minute, peak RSS and, for the sampler, scene recall: the share of shots of 2 s or more that have a
moment whose timestamp lies inside them. full-decode is the ceiling the sampler must beat.

Strategies:
  sampler          KeyframeSampler.moments(), the real thing (threads: FFmpeg's choice)
  sampler-1thread  the same with one decoder thread
  keyframe-packets PyAV: only keyframe packets sent to the decoder (what the sampler does)
  skip-nonkey      PyAV: every packet sent, decoder told skip_frame="NONKEY"
  full-decode      PyAV: every frame decoded
  opencv-seek      cv2.VideoCapture(CAP_FFMPEG), CAP_PROP_POS_MSEC seek every 2 s then read()
  opencv-grab      cv2.VideoCapture, grab() every frame, retrieve() one per 2 s
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common import CACHE, REPO

STRATEGIES = ["sampler", "sampler-1thread", "keyframe-packets", "skip-nonkey", "full-decode",
              "opencv-seek", "opencv-grab"]


# --- the clip -------------------------------------------------------------------------------

def _sources(size: tuple[int, int], count: int) -> list[np.ndarray]:
    from PIL import Image

    w, h = size
    files = sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg"))
    out = []
    for i in range(count):
        if files:
            with Image.open(files[i % len(files)]) as im:
                im = im.convert("RGB").resize((int(w * 1.4), int(h * 1.4)), Image.Resampling.BICUBIC)
                out.append(np.asarray(im))
        else:
            from tests.videogen import photo_like

            out.append(photo_like((int(w * 1.4), int(h * 1.4)), seed=i))
    return out


CASES = {"phone": {"keyframe_s": 2, "shot_s": (4, 7)}, "long-gop": {"keyframe_s": 10, "shot_s": (2, 4)}}


def build_clip(path: Path, seconds: int, fps: int = 30, size: tuple[int, int] = (1920, 1080),
               keyframe_s: int = 2, shot_s: tuple[float, float] = (4, 7)) -> Path:
    from tests.videogen import write_video

    w, h = size
    rng = np.random.default_rng(0)
    shots, t = [], 0.0
    while t < seconds:
        length = float(rng.uniform(*shot_s))
        shots.append((t, min(length, seconds - t)))
        t += length
    pictures = _sources(size, len(shots))
    noise = [rng.integers(-6, 7, (h, w, 3), dtype=np.int16) for _ in range(7)]

    def frames():
        for index, (start, length) in enumerate(shots):
            picture = pictures[index]
            ph, pw = picture.shape[:2]
            dx, dy = rng.uniform(-1, 1, 2)  # pan direction of this shot
            for i in range(int(length * fps)):
                progress = i / (length * fps)
                x = int((pw - w) * (0.5 + 0.45 * dx * (progress - 0.5)))
                y = int((ph - h) * (0.5 + 0.45 * dy * (progress - 0.5)))
                crop = picture[y:y + h, x:x + w].astype(np.int16) + noise[i % len(noise)]
                yield start + i / fps, np.clip(crop, 0, 255).astype(np.uint8)

    tmp = path.with_suffix(".part.mp4")
    # Phones spend 10-20 Mbit/s on 1080p; decoding cost grows with the bitrate, so ask for that.
    write_video(tmp, frames(), fps=fps, keyint=keyframe_s * fps,
                options={"preset": "veryfast", "profile": "high", "b": "12M", "maxrate": "16M",
                         "bufsize": "24M"})
    path.with_suffix(".shots.json").write_text(json.dumps(shots))
    tmp.rename(path)
    return path


def scene_recall(shots: list[list[float]], stamps: list[float], shortest: float = 2.0) -> tuple[int, int]:
    """(shots of ``shortest`` seconds or more with a moment inside, how many such shots)."""
    long_enough = [(start, length) for start, length in shots if length >= shortest]
    hit = sum(any(start <= t < start + length for t in stamps) for start, length in long_enough)
    return hit, len(long_enough)


# --- strategies (each runs in its own process) ----------------------------------------------

def run_strategy(name: str, clip: str) -> dict:
    import av

    start, cpu_start = time.perf_counter(), time.process_time()
    moments = decoded = 0
    stamps: list[float] = []
    if name.startswith("sampler"):
        from indexer.video import KeyframeSampler, SamplerConfig

        config = SamplerConfig(threads=1 if name == "sampler-1thread" else 0)
        for moment in KeyframeSampler(config).moments(clip):
            moments += 1
            stamps.append(moment.timestamp)
    elif name in ("keyframe-packets", "skip-nonkey", "full-decode"):
        with av.open(clip) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if name == "skip-nonkey":
                stream.codec_context.skip_frame = "NONKEY"
            for packet in container.demux(stream):
                if name == "keyframe-packets" and packet.size and not packet.is_keyframe:
                    continue
                for frame in stream.decode(packet if packet.size else None):
                    decoded += 1
                    if name != "full-decode" or decoded % 60 == 1:
                        frame.reformat(64, 64, "rgb24", interpolation="AREA").to_ndarray()
    elif name.startswith("opencv"):
        import cv2

        cap = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
        fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if name == "opencv-seek":
            t = 0.0
            while t * fps < count:
                cap.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
                ok, frame = cap.read()
                if not ok:
                    break
                decoded += 1
                t += 2.0
        else:
            index = 0
            while cap.grab():
                if index % int(round(2 * fps)) == 0:
                    cap.retrieve()
                    decoded += 1
                index += 1
        cap.release()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"wall": wall, "cpu": cpu, "moments": moments, "decoded": decoded, "peak_rss": _peak_rss(),
            "stamps": stamps}


def _peak_rss() -> int:
    """This process's own high-water mark (ru_maxrss survives exec: it would report the parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(name: str, clip: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, str(clip)], capture_output=True,
                         text=True, cwd=REPO, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", nargs="?", help="a video to measure instead of the generated one")
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=2, help="runs per strategy; the best is kept")
    parser.add_argument("--only", nargs="*", choices=STRATEGIES)
    parser.add_argument("--case", nargs="*", choices=list(CASES), default=list(CASES),
                        help="which generated clips to measure (default: both)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_strategy(*args.child)))
        return

    sys.path.insert(0, str(REPO))
    if args.clip:
        measure(Path(args.clip), args, None)
        return
    for case in args.case:
        clip = CACHE / (f"video-1080p30-{args.seconds}s.mp4" if case == "phone"
                        else f"video-1080p30-{args.seconds}s-{case}.mp4")
        if not clip.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            print(f"building {clip} ...", flush=True)
            started = time.perf_counter()
            build_clip(clip, args.seconds, **CASES[case])
            print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
        shots_file = clip.with_suffix(".shots.json")
        measure(clip, args, json.loads(shots_file.read_text()) if shots_file.exists() else None, case)


def measure(clip: Path, args, shots: list | None, case: str = "given clip") -> None:
    from indexer.video import probe_video

    info = probe_video(clip)
    mbps = clip.stat().st_size * 8 / info.duration / 1e6
    print(f"\n[{case}] clip: {clip.name}  {info.width}x{info.height} {info.codec} {info.fps:.0f} fps  "
          f"{info.duration:.1f} s  {mbps:.1f} Mbit/s")
    print(f"{'strategy':18s} {'wall s':>7s} {'x realtime':>10s} {'cpu s':>6s} {'x per cpu':>9s} {'frames':>7s} "
          f"{'moments/min':>11s} {'peak RSS':>9s} {'scene recall':>12s}")
    for name in args.only or STRATEGIES:
        best = min((child(name, clip) for _ in range(args.repeat)), key=lambda r: r["wall"])
        sampler = name.startswith("sampler")
        per_min = f"{best['moments'] / info.duration * 60:.1f}" if sampler else "-"
        frames = str(best["decoded"]) if best["decoded"] else "-"
        recall = "-"
        if sampler and shots:
            hit, total = scene_recall(shots, best["stamps"])
            recall = f"{hit}/{total}"
        print(f"{name:18s} {best['wall']:7.2f} {info.duration / best['wall']:10.1f} {best['cpu']:6.2f} "
              f"{info.duration / best['cpu']:9.1f} {frames:>7s} {per_min:>11s} {best['peak_rss'] / 2**20:7.0f} MB"
              f" {recall:>12s}", flush=True)

if __name__ == "__main__":
    main()
