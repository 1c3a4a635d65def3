"""Plain-text and JSON renderings of duplicate groups, for the command line (which prints them)."""
from __future__ import annotations

from datetime import datetime, timezone

from app.duplicates import DuplicateFile, DuplicateReport

_LABELS = {"exact": "exact copies", "same": "same picture", "similar": "similar shots"}


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _day(seconds: float | None) -> str:
    if seconds is None:
        return "----------"
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d")


def _file_line(f: DuplicateFile, mark: str) -> str:
    dims = f"{f.width}×{f.height}" if f.width and f.height else "?×?"
    return f"  {mark:<5} {f.path}  {dims}  {human_size(f.size)}  {_day(f.date)}"


def group_lines(report: DuplicateReport) -> list[str]:
    """Groups, largest reclaimable first, then a summary line."""
    if not report.groups:
        return ["no duplicates found"]
    lines = []
    for g in report.groups:
        if g.kind == "similar":
            tail = "not offered for deletion"
        else:
            tail = f"{human_size(g.reclaimable)} reclaimable"
        lines.append(f"{_LABELS[g.kind]}: {len(g.files)} files, {tail}; keep: {g.reason}")
        for i, f in enumerate(g.files):
            lines.append(_file_line(f, "keep" if i == g.keep else ""))
    counts = {kind: sum(1 for g in report.groups if g.kind == kind) for kind in _LABELS}
    summary = ", ".join(f"{k} {n}" for k, n in counts.items() if n)
    lines.append(f"{_count(len(report.groups), 'group')} ({summary}); {human_size(report.reclaimable)} reclaimable"
                 + (" with 'mediaseek duplicates --trash'" if report.reclaimable else ""))
    return lines


def trash_lines(batch) -> list[str]:
    """What ``--trash`` moved and what failed (``batch``: app.file_actions.TrashBatch)."""
    lines = [f"trashed {src}" for src, _ in batch.done]
    lines += [f"failed  {src}: {reason}" for src, reason in batch.failed]
    if not batch.done and not batch.failed:
        return ["nothing to move to the trash"]
    lines.append(f"moved {_count(len(batch.done), 'file')} to the trash, {human_size(batch.bytes_freed)} freed"
                 " (restore them from the desktop trash)")
    return lines


def groups_json(report: DuplicateReport, batch=None) -> list[dict]:
    """The contract's array of groups; after ``--trash`` each suggested file says what happened."""
    out = [g.to_json() for g in report.groups]
    if batch is None:
        return out
    done = {src for src, _ in batch.done}
    failed = dict(batch.failed)
    for group, data in zip(report.groups, out):
        suggested = {f.path for f in group.suggested}
        for item in data["files"]:
            if item["path"] in suggested:
                item["trashed"] = item["path"] in done
                if item["path"] in failed:
                    item["error"] = failed[item["path"]]
    return out


