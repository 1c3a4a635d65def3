"""App-level wrapper of ``indexer.checkpoint_arch``: typed one-line errors for the import paths."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from app.errors import MediaseekError

log = logging.getLogger(__name__)


def _engine():
    from app.models import _export_module

    _export_module()  # one line naming the export extra when torch/open_clip are missing
    from indexer import checkpoint_arch

    return checkpoint_arch


def guess(checkpoint: Path, config: Path | None = None):
    """The ``ArchGuess`` for ``checkpoint`` (``config``: a custom model .json), or MediaseekError."""
    engine = _engine()
    from indexer.export_checks import ExportError

    try:
        return engine.guess_architecture(Path(checkpoint), config)
    except ExportError as exc:
        raise MediaseekError(str(exc)) from exc


def guess_checkpoint_arch(checkpoint: Path, config: Path | None = None) -> str:
    """The architecture ``checkpoint`` fits (best first by file-name hint), or one line saying why none."""
    result = guess(checkpoint, config)
    if result.best:
        return result.best
    name = Path(checkpoint).name
    if not result.is_clip:
        raise MediaseekError(f"{name} is not an open_clip CLIP checkpoint: give its architecture with --arch")
    closest = (f" (closest: {result.closest}, {result.closest_score:.0%} of parameters match)"
               if result.closest else "")
    raise MediaseekError(f"cannot tell the architecture of {name}: no open_clip architecture fits it"
                         f"{closest}; give --arch ARCH or a model config .json")


def misfit_line(checkpoint: Path, arch: str, message: str) -> str:
    """Rewrite the exporter's 'does not fit architecture' error into one line naming what does fit."""
    detail = message.split(": ", 1)[1] if ": " in message else message
    detail = re.sub(r" \(e\.g\. [^)]*\)", "", detail)
    shown = Path(arch).stem if arch.lower().endswith(".json") else arch
    try:
        result = guess(checkpoint)
    except MediaseekError as exc:  # the guess must never hide the original error
        log.debug("architecture guess failed: %s", exc)
        return message
    return _engine().describe_misfit(checkpoint, shown, detail, result)
