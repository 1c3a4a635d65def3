"""Which onnxruntime execution provider a session gets, and why not the one wanted.

CUDA first (then CoreML/DirectML), CPU always last. Before a CUDA session, ``onnxruntime.preload_dlls()`` lets
the provider find CUDA/cuDNN installed as pip wheels. onnxruntime reports a provider that cannot load only in its
own log on file descriptor 2 and then silently falls back to CPU; ``create_session`` captures that log while the
session is created and keeps its one-line reason for ``mediaseek status``.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

_GPU_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")


def choose_providers(requested: Sequence[str] | None = None) -> list[str]:
    """Providers in preference order: CUDA, then CoreML/DirectML where present, then CPU.

    ``requested`` (from config or ``MEDIASEEK_PROVIDERS``) overrides the automatic choice;
    unknown names are dropped and CPU is always kept as the last resort.
    """
    import onnxruntime as ort

    available = ort.get_available_providers()
    env = os.environ.get("MEDIASEEK_PROVIDERS")
    if env:
        requested = [p.strip() for p in env.split(",") if p.strip()]
    if requested:
        chosen = [p for p in requested if p in available]
    else:
        chosen = [p for p in _GPU_PROVIDERS if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


_preload_lock = threading.Lock()
_provider_lock = threading.Lock()  # the stderr capture while a GPU session is created is process-wide
_preloaded = False


def preload_cuda_libraries() -> None:
    """Let the CUDA provider find the pip-installed CUDA/cuDNN libraries (nvidia-* wheels).

    onnxruntime-gpu >= 1.21 has ``preload_dlls()``; without it the provider's ``dlopen`` looks only in the system
    paths and fails (``libcublasLt.so.13: cannot open shared object file``). Harmless where those wheels or a GPU
    are absent: failures are logged and the session creation that follows reports what is really missing.
    """
    global _preloaded
    with _preload_lock:
        if _preloaded:
            return
        _preloaded = True
        import onnxruntime as ort

        preload = getattr(ort, "preload_dlls", None)
        if preload is None:
            return
        said = io.StringIO()
        try:
            # It print()s each library it cannot find to stdout, which would corrupt `search --json`.
            with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                preload()
        except Exception as exc:  # a missing library is reported again, more precisely, by the provider itself
            log.info("onnxruntime.preload_dlls failed: %s", exc)
        if said.getvalue().strip():
            log.info("onnxruntime.preload_dlls: %s", " | ".join(said.getvalue().strip().splitlines()))


@dataclass(frozen=True)
class ProviderInfo:
    """The execution provider a session really got, the one wanted first, and why they differ (or None)."""

    provider: str
    wanted: str
    reason: str | None = None


_ORT_LOG_LINE = re.compile(r"^\S*\s*\d{4}-\d\d-\d\d [\d:.]+ \[([EWF]):onnxruntime:[^\]]*\] (.*)$")


def _provider_reason(captured: str) -> str | None:
    """One line from onnxruntime's own log saying why a GPU provider did not load."""
    errors = []
    for raw in captured.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", raw).strip()
        match = _ORT_LOG_LINE.match(line)
        if match:
            errors.append((match.group(1), match.group(2)))
    for _, text in errors:
        if " with error: " in text:
            reason = text.rsplit(" with error: ", 1)[1].strip()
            if "libcuda.so" in reason:
                return reason + " (no NVIDIA driver found)"
            if re.search(r"lib(cublas|cudnn|cudart|curand|cufft|nvrtc)", reason):
                return reason + " (CUDA libraries missing: pip install 'mediaseek[gpu]')"
            return reason
    for level, text in errors:
        if level in "EF":
            return text.split(" : ", 2)[-1].strip()[:300]
    for _, text in errors:
        return text.split("] ", 1)[-1].strip()[:300]
    return None


@contextlib.contextmanager
def _captured_stderr(sink: list[str]):
    """Collect what native code writes to file descriptor 2 meanwhile (onnxruntime logs there, not to Python).

    Lines that are not onnxruntime's are written back, so other output is not lost.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as temp:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
        os.dup2(temp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            temp.seek(0)
            text = temp.read().decode("utf-8", "replace")
            sink.append(text)
            others = [line for line in text.splitlines(keepends=True)
                      if "onnxruntime:" not in line and re.sub(r"\x1b\[[0-9;]*m", "", line).strip()]
            if others:
                try:
                    os.write(2, "".join(others).encode())
                except OSError:
                    pass


def create_session(path_or_bytes, opts, providers: list[str]) -> tuple[object, str | None]:
    """An ``InferenceSession`` and, when a GPU provider was wanted but not given, onnxruntime's reason."""
    import onnxruntime as ort

    wants_gpu = providers[0] != "CPUExecutionProvider"
    if not wants_gpu:
        return ort.InferenceSession(path_or_bytes, sess_options=opts, providers=providers), None
    if "CUDAExecutionProvider" in providers:
        preload_cuda_libraries()
    sink: list[str] = []
    # Warnings on, but onto a captured descriptor: the reason is kept for `status`, the terminal stays quiet.
    ort.set_default_logger_severity(2)
    try:
        with _provider_lock, _captured_stderr(sink):
            session = ort.InferenceSession(path_or_bytes, sess_options=opts, providers=providers)
    finally:
        ort.set_default_logger_severity(3)
    captured = "".join(sink)
    if captured.strip():
        log.debug("onnxruntime said while creating a %s session: %s", providers[0], captured.strip())
    reason = None
    if session.get_providers()[0] != providers[0]:
        reason = _provider_reason(captured) or f"onnxruntime did not enable {providers[0]}"
        log.warning("%s unavailable, running on %s: %s", providers[0], session.get_providers()[0], reason)
    return session, reason


_probe_cache: dict[tuple[str, ...], ProviderInfo] = {}


def probe_providers(requested: Sequence[str] | None = None) -> ProviderInfo:
    """Which provider a session would get here, found with a one-node model (cached per process)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    providers = choose_providers(requested)
    key = tuple(providers)
    if key not in _probe_cache:
        graph = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])], "probe",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        opts = ort.SessionOptions()
        opts.log_severity_level = 2
        session, reason = create_session(model.SerializeToString(), opts, providers)
        _probe_cache[key] = ProviderInfo(session.get_providers()[0], providers[0], reason)
    return _probe_cache[key]
