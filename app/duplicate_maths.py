"""Pure maths behind duplicate finding: near pairs of vectors, groups, and which file to keep.

``near_pairs`` finds every pair of stored vectors whose cosine reaches a threshold without
holding an n x n matrix: vectors are quantised to int8 with one scale per row (the search matrix's
scheme), projected onto their leading principal axes, and multiplied in blocks of ``BLOCK`` rows
with onnxruntime's ``MatMulInteger`` (u8 x s8, the pairing that runs on VNNI; float32 in numpy was
5x slower here), which also returns each row's maximum. Each block is filtered against a bound
that can only admit too many pairs; the few survivors are scored exactly on the full vectors.
Memory stays at the codes plus one block product.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

BLOCK = 2048
PROJECTED_DIMS = 256  # width of the all-pairs pass (see near_pairs)
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


def near_pairs(codes: np.ndarray, scales: np.ndarray, threshold: float, block: int = BLOCK,
               dims: int = PROJECTED_DIMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with cosine >= ``threshold`` (int8 rows ``codes``/``scales`` from ``quantize``):
    (i, j, score) arrays; scores carry the int8 rounding error (about 1e-3).

    The all-pairs pass runs on the vectors projected onto their ``dims`` principal axes. For unit
    vectors ``u.v = Pu.Pv + Qu.Qv <= Pu.Pv + |Qu||Qv|`` (Q: the discarded part), so requiring
    ``Pu.Pv >= threshold - |Qu||Qv|`` can only admit extra pairs, never lose one; the survivors are
    then scored on the full vectors. Real CLIP vectors keep most of their energy in the leading
    axes (a tight bound); even isotropic random vectors keep it selective at half the width.
    """
    n, d = codes.shape if codes.ndim == 2 else (len(codes), 0)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    if d > dims and n > block:
        short_codes, short_scales, residual = _project(codes, scales, dims)
        slack = 0.02  # int8 error of the projected scores and of the residual norms
    else:
        short_codes, short_scales, residual = codes, scales, np.zeros(n, np.float32)
        slack = 0.0
    signed = (short_codes ^ np.uint8(_ZERO_POINT)).view(np.int8)
    session = _int8_matmul()
    zero = np.array(_ZERO_POINT, dtype=np.uint8)
    found_i, found_j = [], []
    # Each column block transposed once (ORT wants contiguous [d, m]), not once per row block.
    right_blocks = [np.ascontiguousarray(signed[col:col + block].T) for col in range(0, n, block)]
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = short_codes[start:stop]
        row_scale, row_residual = float(short_scales[start:stop].max()), float(residual[start:stop].max())
        for col in range(start, n, block):
            col_stop = min(col + block, n)
            dots, row_max = session.run(None, {"A": rows, "B": right_blocks[col // block], "A_ZERO": zero})
            need = threshold - slack - row_residual * float(residual[col:col_stop].max())
            bound = np.floor(need / (row_scale * float(short_scales[col:col_stop].max())))
            hit_rows = np.flatnonzero(row_max[:, 0] >= bound)
            if len(hit_rows) == 0:
                continue
            li, lj = np.nonzero(dots[hit_rows] >= bound)
            gi, gj = hit_rows[li] + start, lj + col
            keep = gi < gj
            found_i.append(gi[keep])
            found_j.append(gj[keep])
    if not found_i:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    gi, gj = np.concatenate(found_i).astype(np.int64), np.concatenate(found_j).astype(np.int64)
    score = _exact_scores(codes, scales, gi, gj)
    keep = score >= threshold
    return gi[keep], gj[keep], score[keep]


def _dequantize(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    out = codes.astype(np.float32)
    out -= _ZERO_POINT
    out *= scales[:, None]
    return out


def _exact_scores(codes: np.ndarray, scales: np.ndarray, gi: np.ndarray, gj: np.ndarray) -> np.ndarray:
    out = np.empty(len(gi), np.float32)
    for begin in range(0, len(gi), 65536):
        a, b = gi[begin:begin + 65536], gj[begin:begin + 65536]
        out[begin:begin + len(a)] = np.einsum("ij,ij->i", _dequantize(codes[a], scales[a]),
                                              _dequantize(codes[b], scales[b]))
    return out


def _project(codes: np.ndarray, scales: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Int8 codes of the vectors on their ``dims`` principal axes, and the norms of what is left."""
    n = len(codes)
    sample = np.linspace(0, n - 1, min(n, 20_000)).astype(np.int64)
    x = _dequantize(codes[sample], scales[sample])
    _, axes = np.linalg.eigh(x.T @ x)  # uncentred: the axes that keep the most of each vector
    basis = np.ascontiguousarray(axes[:, ::-1][:, :dims])
    # One scale for all rows (not one per row): the block filter then compares exact integer dot
    # products instead of a bound loosened by the spread of per-row scales.
    peak = float(np.abs(x @ basis).max()) * 1.25
    short = np.empty((n, dims), np.uint8)
    residual = np.empty(n, np.float32)
    for begin in range(0, n, 16384):
        x = _dequantize(codes[begin:begin + 16384], scales[begin:begin + 16384])
        p = x @ basis
        q = np.rint(p * (127.0 / peak))
        np.clip(q, -127, 127, out=q)
        short[begin:begin + len(x)] = (q + _ZERO_POINT).astype(np.uint8)
        left = np.einsum("ij,ij->i", x, x) - np.einsum("ij,ij->i", p, p)
        residual[begin:begin + len(x)] = np.sqrt(np.maximum(left, 0.0))
    return short, np.full(n, peak / 127.0, np.float32), residual


@functools.lru_cache(maxsize=1)
def _int8_matmul() -> Any:
    """onnxruntime session computing ``Y = (A - A_ZERO) @ B`` for uint8 A [n, d] and int8 B [d, m],
    and each row's maximum (so that rows without a hit are skipped without a numpy pass over Y)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B", "A_ZERO"], ["Y"]),
         helper.make_node("ReduceMax", ["Y"], ["M"], axes=[1], keepdims=1)],
        "mediaseek_int8_pairs",
        [
            helper.make_tensor_value_info("A", TensorProto.UINT8, ["n", "d"]),
            helper.make_tensor_value_info("B", TensorProto.INT8, ["d", "m"]),
            helper.make_tensor_value_info("A_ZERO", TensorProto.UINT8, []),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, ["n", "m"]),
         helper.make_tensor_value_info("M", TensorProto.INT32, ["n", 1])],
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
