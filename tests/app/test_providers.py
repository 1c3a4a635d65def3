"""`mediaseek status` names the onnxruntime execution provider in use, and why a wanted GPU provider is not."""
from __future__ import annotations

import json

import onnxruntime as ort
import pytest

from indexer.providers import _provider_reason, choose_providers, preload_cuda_libraries, probe_providers
from tests.conftest import run_cli

CUDA_LISTED = "CUDAExecutionProvider" in ort.get_available_providers()


def test_status_names_the_cpu_provider(tmp_path):
    result = run_cli(tmp_path, "status", "--json", check=True)
    status = json.loads(result.stdout)
    assert status["provider"] == "CPUExecutionProvider"
    assert status["provider_wanted"] == "CPUExecutionProvider" and status["provider_problem"] is None
    text = run_cli(tmp_path, "status", check=True).stdout
    assert "provider: CPUExecutionProvider\n" in text


def test_status_with_automatic_providers_never_crashes(tmp_path, monkeypatch):
    """MEDIASEEK_PROVIDERS unset: CUDA is wanted where onnxruntime-gpu lists it; without a GPU the reason shows."""
    monkeypatch.delenv("MEDIASEEK_PROVIDERS", raising=False)  # tests/ui/conftest.py sets it for the session
    result = run_cli(tmp_path, "status", "--json", env={"MEDIASEEK_PROVIDERS": ""}, check=True)
    assert result.stderr == "", result.stderr  # onnxruntime's own complaints stay out of the terminal
    status = json.loads(result.stdout)
    assert status["provider_wanted"] == choose_providers()[0]
    if status["provider"] != status["provider_wanted"]:
        problem = status["provider_problem"]
        assert problem and "\n" not in problem and len(problem) < 400
        text = run_cli(tmp_path, "status", env={"MEDIASEEK_PROVIDERS": ""}, check=True).stdout
        assert f"{status['provider_wanted']} unavailable: {problem}" in text
    else:
        assert status["provider_problem"] is None


@pytest.mark.skipif(not CUDA_LISTED, reason="onnxruntime without the CUDA provider")
def test_probe_reports_cuda_reason_when_it_cannot_load(monkeypatch):
    monkeypatch.delenv("MEDIASEEK_PROVIDERS", raising=False)
    info = probe_providers(["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert info.wanted == "CUDAExecutionProvider"
    if info.provider == "CPUExecutionProvider":  # no GPU on this machine
        assert info.reason and "\n" not in info.reason


def test_preload_is_harmless_when_repeated():
    preload_cuda_libraries()
    preload_cuda_libraries()
    assert probe_providers(["CPUExecutionProvider"]).provider == "CPUExecutionProvider"


@pytest.mark.parametrize("captured, expected", [
    ("\x1b[1;31m2026-12-04 16:19:22.771 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] /src/x.cc:2043 "
     "Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /v/libonnxruntime_providers_cuda.so with error: "
     "libcublasLt.so.13: cannot open shared object file: No such file or directory\n\x1b[m\n"
     "\x1b[0;93m2026-12-04 16:19:22.771 [W:onnxruntime:Default, onnxruntime_pybind_state.cc:1295 Create] "
     "Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 13.*.\x1b[m\n",
     "libcublasLt.so.13: cannot open shared object file: No such file or directory (CUDA libraries missing: "
     "pip install 'mediaseek[gpu]')"),
    ("2026-12-04 16:19:22.771 [E:onnxruntime:Default, cuda_call.cc:123 CudaCall] CUDA failure 100: no CUDA-capable "
     "device is detected ; GPU=0\n", "CUDA failure 100: no CUDA-capable device is detected ; GPU=0"),
    ("2026-12-04 16:19:22.771 [W:onnxruntime:Default, x.cc:1 F] Failed to create CUDAExecutionProvider.\n",
     "Failed to create CUDAExecutionProvider."),
    ("unrelated output\n", None),
])
def test_reason_is_taken_from_onnxruntimes_log(captured, expected):
    reason = _provider_reason(captured)
    assert reason == expected or (expected and reason.startswith(expected))


def test_preload_output_stays_off_stdout(monkeypatch, capsys):
    """onnxruntime.preload_dlls() print()s every CUDA library it cannot find: that must not reach stdout (JSON)."""
    import indexer.providers as providers

    def noisy_preload():
        print("Failed to load libcublasLt.so.13: cannot open shared object file")
        raise OSError("nothing to load")

    monkeypatch.setattr(ort, "preload_dlls", noisy_preload, raising=False)
    monkeypatch.setattr(providers, "_preloaded", False)
    providers.preload_cuda_libraries()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
