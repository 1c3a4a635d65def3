"""Pure maths behind duplicate finding: near pairs of vectors, groups, and which file to keep.

``near_pairs`` finds every pair of stored vectors whose cosine reaches a threshold without
holding an n x n matrix: vectors are quantised to int8 with one scale per row (the search matrix's
scheme) and multiplied in blocks of ``BLOCK`` rows with onnxruntime's ``MatMulInteger`` (u8 x s8,
the pairing that runs on VNNI; numpy has no integer BLAS and float32 was 4x slower here). Each block
product is filtered with one integer comparison against a bound that can only admit too many pairs,
then the few survivors are scored exactly. Memory stays at the codes plus one block product.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

BLOCK = 4096
_ZERO_POINT = 128

# Camera originals come in these; PNG/WebP/GIF/BMP/TIFF copies are usually conversions or exports.
ORIGINAL_FORMATS = frozenset({".jpg", ".jpeg", ".heic", ".heif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf",
                              ".rw2", ".raf", ".mp4", ".mov", ".m4v"})


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 codes offset into uint8 (``x ~= scale * (code - 128)``) and scales."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1) / np.float32(127.0) if len(vectors) else np.zeros(0, np.float32)
    scales[scales == 0] = 1.0
    codes = np.rint(vectors / scales[:, None])
    np.clip(codes, -127, 127, out=codes)
    codes += _ZERO_POINT
    return codes.astype(np.uint8), scales.astype(np.float32)


def near_pairs(codes: np.ndarray, scales: np.ndarray, threshold: float,
               block: int = BLOCK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with approximate cosine >= ``threshold``: (i, j, score) arrays.

    Scores carry the int8 rounding error (about 1e-3 on unit vectors), far below the margins the
    thresholds leave.
    """
    n = len(codes)
    found_i, found_j, found_s = [], [], []
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    signed = (codes.astype(np.int16) - _ZERO_POINT).astype(np.int8)
    session = _int8_matmul()
    zero = np.array(_ZERO_POINT, dtype=np.uint8)
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = codes[start:stop]
        row_scales = scales[start:stop]
        for col in range(start, n, block):
            col_stop = min(col + block, n)
            right = np.ascontiguousarray(signed[col:col_stop].T)
            dots = session.run(None, {"A": rows, "B": right, "A_ZERO": zero})[0]
            bound = threshold / (float(row_scales.max()) * float(scales[col:col_stop].max()))
            hits = np.flatnonzero(dots >= np.floor(bound))
            if len(hits) == 0:
                continue
            li, lj = np.divmod(hits, col_stop - col)
            gi, gj = li + start, lj + col
            score = dots[li, lj].astype(np.float32) * scales[gi] * scales[gj]
            keep = (gi < gj) & (score >= threshold)
            found_i.append(gi[keep])
            found_j.append(gj[keep])
            found_s.append(score[keep])
    if not found_i:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s)


@functools.lru_cache(maxsize=1)
def _int8_matmul() -> Any:
    """onnxruntime session computing ``(A - A_ZERO) @ B`` for uint8 A [n, d] and int8 B [d, m]."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B", "A_ZERO"], ["Y"])],
        "mediaseek_int8_pairs",
        [
            helper.make_tensor_value_info("A", TensorProto.UINT8, ["n", "d"]),
            helper.make_tensor_value_info("B", TensorProto.INT8, ["d", "m"]),
            helper.make_tensor_value_info("A_ZERO", TensorProto.UINT8, []),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, ["n", "m"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(os.cpu_count() or 1, 8))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


class UnionFind:
    """Disjoint sets over arbitrary hashable items (path halving)."""

    def __init__(self) -> None:
        self._parent: dict[Any, Any] = {}

    def find(self, item: Any) -> Any:
        parent = self._parent.setdefault(item, item)
        while parent != item:
            grand = self._parent[parent]
            self._parent[item] = grand
            item, parent = parent, grand
        return item

    def union(self, a: Any, b: Any) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[Any]]:
        """Sets with at least two members, members in insertion order."""
        out: dict[Any, list[Any]] = {}
        for item in self._parent:
            out.setdefault(self.find(item), []).append(item)
        return [members for members in out.values() if len(members) > 1]


# -- which file to keep ---------------------------------------------------------------------
@dataclass(frozen=True)
class KeepFacts:
    """What the keep rule looks at, for one file."""

    path: str
    width: int | None
    height: int | None
    mtime: float  # seconds
    taken_at: float | None = None
    camera: str | None = None
    has_gps: bool = False
    duration: float | None = None


def _metadata_names(f: KeepFacts) -> list[str]:
    return [name for name, present in (("date taken", f.taken_at is not None), ("camera", bool(f.camera)),
                                       ("location", f.has_gps)) if present]


def _criteria(f: KeepFacts) -> list[tuple[Any, str]]:
    """(sort key, reason) per rule, in order; the smallest key wins."""
    pixels = (f.width or 0) * (f.height or 0)
    ext = os.path.splitext(f.path)[1].lower()
    original = ext in ORIGINAL_FORMATS
    meta = _metadata_names(f)
    day = datetime.fromtimestamp(f.mtime, timezone.utc).strftime("%Y-%m-%d")
    rules = []
    if f.duration is not None:
        rules.append((-round(f.duration, 1), f"longest ({f.duration:.0f} s)"))
    rules += [
        (-pixels, f"largest ({f.width}×{f.height})"),
        (0 if original else 1, f"original format ({ext.lstrip('.').upper() or 'no extension'})"),
        (-len(meta), f"more metadata ({', '.join(meta)})"),
        (f.mtime, f"oldest ({day})"),
        (f.path, "first by name"),
    ]
    return rules


def choose_keep(files: Sequence[KeepFacts]) -> tuple[int, str]:
    """Index of the file to keep and the reason, by the documented rule: longest (videos), largest
    resolution, original format over converted, more metadata, oldest, then first by name. The reason
    names the first rule that set the choice apart from the runner-up."""
    keyed = [[key for key, _ in _criteria(f)] for f in files]
    order = sorted(range(len(files)), key=lambda i: keyed[i])
    best = order[0]
    if len(order) == 1:
        return best, "only file"
    runner = order[1]
    for (key, reason), other in zip(_criteria(files[best]), keyed[runner]):
        if key != other:
            return best, reason
    return best, "first by name"


# -- videos -----------------------------------------------------------------------------------
def ordered_match_fraction(short_times: np.ndarray, matched_long_times: list[list[float]]) -> float:
    """Share of the shorter video's moments that match moments of the longer one in the same order.

    ``matched_long_times[k]`` lists the longer video's moment times matching the shorter one's
    moment ``k`` (in time order). The longest chain of increasing times is counted, so a trimmed
    copy (a run of the longer one's moments) scores high and a reordered edit does not.
    """
    import bisect

    tails: list[float] = []
    for options in matched_long_times:
        # Patience sorting over each moment's options, largest first, so one moment counts once.
        for t in sorted(options, reverse=True):
            k = bisect.bisect_left(tails, t)
            if k == len(tails):
                tails.append(t)
            else:
                tails[k] = t
    return len(tails) / max(len(short_times), 1)
