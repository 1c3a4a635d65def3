"""The ``mediaseek`` command line.

Exit codes: 0 success, 1 a failure explained in one line on stderr, 2 a usage error.
The core raises typed errors and emits progress events; this module is the only
place that prints.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from datetime import date
from pathlib import Path

log = logging.getLogger(__name__)

PROG = "mediaseek"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2), not a usage dump."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}, expected YYYY-MM-DD") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _score(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Search your photos and videos by describing them.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gui = sub.add_parser("gui", help="open the desktop app")
    gui.add_argument("--folder", help="open scoped to this folder")

    models = sub.add_parser("models", help="list, install, import, use or remove models")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", parser_class=_Parser)
    msub.add_parser("list", help="installed models")
    use = msub.add_parser("use", help="make NAME the active model")
    use.add_argument("name")
    rm = msub.add_parser("remove", help="delete model NAME and its vectors")
    rm.add_argument("name")
    msub.add_parser("available", help="the catalogue of ready ONNX models").add_argument("--json", action="store_true")
    inst = msub.add_parser("install", help="download a catalogue model NAME, a hub repo hf:OWNER/REPO[@REV], "
                           "or ARCH:PRETRAINED (exported locally), and activate it")
    inst.add_argument("spec", metavar="NAME|hf:OWNER/REPO[@REV]|ARCH:PRETRAINED")
    inst.add_argument("--name")
    inst.add_argument("--force", action="store_true", help="download every file again")
    inst.add_argument("--progress", choices=("bar", "json"), default="bar", help=argparse.SUPPRESS)
    imp = msub.add_parser("import", help="export a local open_clip checkpoint (offline) and activate it")
    imp.add_argument("--arch", default=None,
                     help="open_clip architecture name, or a model config .json (default: guessed from the checkpoint)")
    imp.add_argument("--checkpoint", required=True, type=Path)
    imp.add_argument("--name")
    imp.add_argument("--pretrained-tag", help="take preprocessing settings from this open_clip pretrained tag")
    onnx = msub.add_parser("import-onnx", help="adopt an existing ONNX export (Immich layout)")
    onnx.add_argument("dir", type=Path)
    onnx.add_argument("--name")

    add = sub.add_parser("add", help="add folders to the library")
    add.add_argument("dirs", nargs="+")
    remove = sub.add_parser("remove", help="remove a folder from the library (files are not touched)")
    remove.add_argument("dir")

    index = sub.add_parser("index", help="index the library (DIRs are added first)")
    index.add_argument("dirs", nargs="*")
    index.add_argument("--batch-size", type=_positive_int, default=16, help=argparse.SUPPRESS)
    index.add_argument("--workers", type=_positive_int, default=None, help=argparse.SUPPRESS)
    index.add_argument("--no-text", action="store_true", help="don't read the text in photos this run")

    for name, help_text in (("search", "search by text"), ("similar", "find media similar to FILE")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("query", metavar="TEXT" if name == "search" else "FILE")
        p.add_argument("--folder")
        p.add_argument("--type", choices=("photo", "video"))
        p.add_argument("--after", type=_date, metavar="YYYY-MM-DD")
        p.add_argument("--before", type=_date, metavar="YYYY-MM-DD")
        p.add_argument("--limit", type=_positive_int, default=20)
        p.add_argument("--min-score", type=_score)
        p.add_argument("--json", action="store_true")

    status = sub.add_parser("status", help="roots, counts, active model, failed files")
    status.add_argument("--json", action="store_true")

    dups = sub.add_parser("duplicates", help="find exact copies, the same picture in other forms, similar shots")
    dups.add_argument("--folder")
    dups.add_argument("--kind", choices=("exact", "same", "similar"))
    dups.add_argument("--json", action="store_true")
    dups.add_argument("--trash", action="store_true",
                      help="move every non-kept file of exact/same groups to the desktop trash")

    integ = sub.add_parser("integrate", help="file-manager integration")
    integ.add_argument("action", choices=("install", "uninstall", "status"))
    return parser


# -- output helpers ----------------------------------------------------------------------
def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """Renders IndexProgress events on a terminal (stderr); silent when not a TTY."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0
        self._width = 0

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        final = event.phase == "done" or (event.total and event.done >= event.total)
        if not final and now - self._last < 0.1:
            return
        self._last = now
        if event.phase == "scan":
            line = f"scanning… {event.done} files"
        elif event.phase in ("embed", "text"):
            total = max(event.total, 1)
            frac = min(event.done / total, 1.0)
            bar = "#" * int(frac * 24)
            current = os.path.basename(event.current or "")
            if event.file_total:
                current += f" {_fmt_time(event.file_done)}/{_fmt_time(event.file_total)}"
            failed = f"  {event.failed} failed" if event.failed else ""
            line = (f"[{bar:<24}] {event.done}/{event.total}  {event.rate:.1f}/s  "
                    f"ETA {_fmt_time(event.eta)}{failed}  {current}")
            if event.phase == "text":
                line = "reading text " + line
        else:
            line = ""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except OSError:
            columns = 100
        line = line[: max(columns - 1, 20)]
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self._width = len(line)
        if event.phase == "done":
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.flush()


# -- commands ----------------------------------------------------------------------------
def cmd_models(lib, args) -> int:
    from app.errors import MediaseekError

    action = args.models_command
    if action is None:
        raise UsageError(f"{PROG} models: choose an action: list, available, use, remove, install, import, "
                         "import-onnx")
    if action == "available":
        from app.model_cli import print_available

        return print_available(args.json)
    if action == "list":
        infos = lib.models.list(verify=True)
        if not infos:
            _out("no models installed")
        for info in infos:
            mark = "*" if info.active else " "
            origin = f"{info.arch or '?'}" + (f":{info.pretrained}" if info.pretrained else "")
            size = f"{info.size_bytes / 1e6:.0f} MB"
            problems = f"  PROBLEM: {'; '.join(info.problems)}" if info.problems else ""
            _out(f"{mark} {info.name}  ({origin}, {info.embed_dim}-d, {info.image_size[0]}px, {size}){problems}")
        return 0
    if action == "use":
        lib.models.use(args.name)
        _out(f"active model: {args.name}")
        return 0
    if action == "remove":
        lib.models.remove(args.name)
        lib.forget_model(args.name)
        _out(f"removed model {args.name}")
        return 0

    def progress(message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    if action == "import":
        manifest = lib.models.import_checkpoint(args.arch, args.checkpoint, name=args.name,
                                                pretrained_tag=args.pretrained_tag, progress=progress)
    elif action == "install":
        from app.model_cli import DownloadBar, interrupt_on_sigterm

        with interrupt_on_sigterm():
            manifest = lib.models.install(args.spec, name=args.name, progress=progress, force=args.force,
                                          on_download=DownloadBar(json_lines=args.progress == "json"))
    elif action == "import-onnx":
        manifest = lib.models.import_onnx(args.dir, name=args.name)
    else:  # pragma: no cover - argparse restricts choices
        raise MediaseekError(f"unknown action {action}")
    parity = ""
    if manifest.parity:
        parity = (f", parity cosine visual {manifest.parity['visual_min_cosine']:.6f}"
                  f" text {manifest.parity['textual_min_cosine']:.6f}")
    _out(f"installed model {manifest.name} ({manifest.embed_dim}-d{parity}); it is now the active model")
    return 0


def cmd_add(lib, args) -> int:
    for root in lib.add_roots(args.dirs):
        _out(f"library folder: {root.path}")
    return 0


def cmd_remove(lib, args) -> int:
    root = lib.remove_root(args.dir)
    _out(f"removed library folder {root.path} (your files were not touched)")
    return 0


def cmd_index(lib, args) -> int:
    cancel = threading.Event()
    interrupted = {"count": 0}

    def on_sigint(signum, frame):
        interrupted["count"] += 1
        if interrupted["count"] > 1:
            raise KeyboardInterrupt
        cancel.set()
        sys.stderr.write("\nstopping after the current batch… (Ctrl-C again to stop now)\n")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        report = lib.index(args.dirs, on_progress=ProgressBar(), cancel=cancel,
                           batch_size=args.batch_size, workers=args.workers,
                           **({"read_text": False} if args.no_text else {}))
    finally:
        signal.signal(signal.SIGINT, previous)
    for path, reason in report.errors:
        sys.stderr.write(f"warning: {path}: {reason}\n")
    parts = [f"{report.scanned} files scanned", f"{report.embedded} indexed"]
    if report.moments:
        parts.append(f"{report.moments} video moments")
    for label, value in (("new", report.new), ("changed", report.changed), ("moved", report.moved),
                         ("removed", report.removed), ("failed", report.failed)):
        if value:
            parts.append(f"{value} {label}")
    if report.failed_unchanged:
        parts.append(f"{report.failed_unchanged} known-bad unchanged")
    if report.text_read or report.text_failed:
        parts.append(f"text read in {report.text_read} photos"
                     + (f" ({report.text_failed} unreadable)" if report.text_failed else ""))
    _out(", ".join(parts) + f" in {report.elapsed + report.scan_seconds:.1f} s")
    if report.failed:
        _out(f"see '{PROG} status' for the files that could not be indexed")
    if report.cancelled:
        _out(f"stopped early; run '{PROG} index' again to continue")
        return 130
    return 0


def _filters(args):
    from app.library import SearchFilters

    if args.after and args.before and args.after > args.before:
        raise UsageError(f"{PROG} {args.command}: --after {args.after} is later than --before {args.before}")
    return SearchFilters(folder=args.folder, kind=args.type, after=args.after, before=args.before,
                         limit=args.limit, min_score=args.min_score)


def _print_results(results, as_json: bool) -> None:
    if as_json:
        _out(json.dumps([r.to_json() for r in results], ensure_ascii=True))
        return
    if not results:
        _out("no matches")
        return
    for r in results:
        at = ""
        if r.timestamp is not None:
            at = f"  @ {_fmt_time(r.timestamp)}"
        # The other matching moments of a video, best first, as in --json (never the best again).
        also = ", ".join(_fmt_time(m.timestamp) for m in r.other_moments)
        _out(f"{r.path}{at}  {r.score:.3f}" + (f"  also @ {also}" if also else ""))


def _hint_unindexed(lib) -> None:
    """Say on stderr when the active model has no vectors for some files (results may be partial)."""
    model = lib.models.active_name
    count = lib.needs_indexing() if model else 0
    if count:
        sys.stderr.write(f"{_need_indexing(count, model)}\n")


def _need_indexing(count: int, model: str | None) -> str:
    files = "1 file needs" if count == 1 else f"{count} files need"
    return f"{files} indexing with model {model} (run `{PROG} index`)"


def cmd_search(lib, args) -> int:
    _print_results(lib.search(args.query, _filters(args)), args.json)
    _hint_unindexed(lib)
    return 0


def cmd_similar(lib, args) -> int:
    _print_results(lib.similar(args.query, _filters(args)), args.json)
    _hint_unindexed(lib)
    return 0


def cmd_status(lib, args) -> int:
    st = lib.status()
    if args.json:
        _out(json.dumps({
            "home": st.home,
            "active_model": st.active_model,
            "serving_model": st.serving_model,
            "roots": [{"path": r.path, "files": r.files, "indexed": r.indexed, "failed": r.failed,
                       "pending": r.pending, "exists": r.exists} for r in st.roots],
            "photos": st.photos, "videos": st.videos, "indexed": st.indexed, "pending": st.pending,
            "embeddings": st.embeddings, "needs_index": st.pending,
            "failed": [{"path": f.path, "reason": f.reason} for f in st.failed],
            "text_read": st.text_read, "text_found": st.text_found, "text_pending": st.text_pending,
            "text_failed": [{"path": f.path, "reason": f.reason} for f in st.text_failed],
            "provider": st.provider, "provider_wanted": st.provider_wanted, "provider_problem": st.provider_problem,
        }, ensure_ascii=True))
        return 0
    _out(f"library: {st.home}")
    _out(f"model: {st.active_model or 'none (see mediaseek models --help)'}")
    if st.serving_model and st.serving_model != st.active_model:
        _out(f"  searches use {st.serving_model} until '{PROG} index' has re-indexed with {st.active_model}")
    _out(f"provider: {st.provider}" + (f" ({st.provider_wanted} unavailable: {st.provider_problem})"
                                        if st.provider_problem else ""))
    _out(f"files: {st.photos} photos, {st.videos} videos; {st.indexed} indexed, {st.pending} pending, "
         f"{len(st.failed)} failed")
    if st.pending and st.active_model:
        _out(_need_indexing(st.pending, st.active_model))
    _out(f"text: {st.text_read} photos read ({st.text_found} with text), {st.text_pending} to read, "
         f"{len(st.text_failed)} unreadable")
    if st.roots:
        _out("folders:")
        for r in st.roots:
            missing = "  (missing)" if not r.exists else ""
            _out(f"  {r.path}  {r.indexed}/{r.files} indexed, {r.failed} failed{missing}")
    else:
        _out("folders: none (add one with 'mediaseek add DIR')")
    if st.failed:
        _out("failed files:")
        for f in st.failed:
            _out(f"  {f.path}: {f.reason}")
    if st.text_failed:
        _out("photos whose text could not be read:")
        for f in st.text_failed:
            _out(f"  {f.path}: {f.reason}")
    return 0


def cmd_gui(lib, args) -> int:
    from ui.main import run

    folder = args.folder if args.command == "gui" else None
    if folder and os.name == "nt" and folder.endswith('"'):
        folder = folder[:-1] + "\\"  # Explorer's "%V" of a drive root arrives as C:" (C:\" unescaped)
    return run(folder or None)


def cmd_integrate(lib, args) -> int:
    from app import integration

    action = {"install": integration.install, "uninstall": integration.uninstall,
              "status": integration.status}[args.action]
    try:
        items = action()
    except integration.IntegrationError as exc:
        from app.errors import MediaseekError

        raise MediaseekError(str(exc)) from exc
    for item in items:
        state = "installed" if item.installed else "not installed"
        note = f"  ({item.note})" if item.note else ""
        _out(f"{item.target:<20} {state:<14} {item.path}{note}")
    return 0


def cmd_duplicates(lib, args) -> int:
    from app.duplicate_text import group_lines, groups_json, trash_lines
    from app.duplicates import KINDS, find_duplicates, trash_suggested

    if args.trash and args.kind == "similar":
        raise UsageError(f"{PROG} duplicates: --trash takes --kind exact or same; similar shots are never trashed")
    kinds = [args.kind] if args.kind else (["exact", "same"] if args.trash else list(KINDS))
    report = find_duplicates(lib, args.folder, kinds)
    if report.missing:
        sys.stderr.write(f"note: {report.missing}\n")
    if report.unreadable:
        count = len(report.unreadable)
        sys.stderr.write(f"note: {count} file{'s' if count > 1 else ''} could not be read and "
                         f"{'were' if count > 1 else 'was'} left out (see the log)\n")
    batch = trash_suggested(lib, report.groups) if args.trash else None
    if args.json:
        _out(json.dumps(groups_json(report, batch), ensure_ascii=True))
    else:
        for line in (trash_lines(batch) if batch is not None else group_lines(report)):
            _out(line)
    if batch is not None and batch.failed:
        sys.stderr.write(f"{PROG}: {len(batch.failed)} of {len(batch.failed) + len(batch.done)} files "
                         "could not be moved to the trash (listed above)\n")
        return 1
    return 0


COMMANDS = {
    "models": cmd_models, "add": cmd_add, "remove": cmd_remove, "index": cmd_index,
    "search": cmd_search, "similar": cmd_similar, "status": cmd_status, "gui": cmd_gui,
    "integrate": cmd_integrate, "duplicates": cmd_duplicates,
}


def main(argv: list[str] | None = None) -> int:
    # File names are bytes on POSIX; print undecodable ones as they are, never crash.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="surrogateescape")
        except (AttributeError, ValueError):
            pass
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    command = args.command or "gui"
    if command == "gui":
        # Straight to the window: a second launch hands its folder to the running app
        # without paying for the engine's imports.
        try:
            return cmd_gui(None, args)
        except ImportError as exc:
            sys.stderr.write(f"{PROG}: the desktop app cannot start: {exc}\n")
            return 1
    from app.errors import MediaseekError
    from app.library import Library
    from app.logs import setup_logging
    from app.paths import AppPaths
    from db import LibraryError
    from indexer.encoders import ModelLoadError

    paths = AppPaths.from_env()
    setup_logging(paths.logs, verbose=args.verbose)
    lib = Library(paths)
    try:
        return COMMANDS[command](lib, args)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except (MediaseekError, LibraryError, ModelLoadError) as exc:
        log.info("command failed: %s", exc)
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        log.exception("unexpected OS error")
        sys.stderr.write(f"{PROG}: {exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}\n")
        return 1
    finally:
        try:
            lib.close()
        except Exception:  # closing must never mask the real outcome
            log.exception("error while closing the library")


if __name__ == "__main__":
    sys.exit(main())
