"""Shared fixtures: a tiny real open_clip model imported through the real CLI, and
helpers that run the real ``mediaseek`` command against a temporary home."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tinyclip import make_tiny_checkpoint, write_tiny_config

REPO = Path(__file__).resolve().parents[1]


def mediaseek_command() -> list[str]:
    script = Path(sys.executable).with_name("mediaseek")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def run_cli(home: Path, *args: str, check: bool | None = None, timeout: float = 300,
            env: dict | None = None, prefix: list[str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "MEDIASEEK_HOME": str(home), "MEDIASEEK_PROVIDERS": "CPUExecutionProvider",
                "PYTHONPATH": str(REPO), **(env or {})}
    result = subprocess.run([*(prefix or []), *mediaseek_command(), *map(str, args)], capture_output=True, text=True,
                            errors="surrogateescape", env=full_env, timeout=timeout, cwd=kwargs.pop("cwd", REPO),
                            **kwargs)
    if check:
        assert result.returncode == 0, f"mediaseek {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> tuple[Path, Path]:
    """(config json, checkpoint) of the tiny randomly initialised model."""
    folder = tmp_path_factory.mktemp("tiny")
    return write_tiny_config(folder), make_tiny_checkpoint(folder / "tiny.pt", seed=0)


@pytest.fixture(scope="session")
def model_home_template(tmp_path_factory, tiny_checkpoint) -> Path:
    """A MEDIASEEK_HOME where the tiny model was imported once via `mediaseek models import`."""
    home = tmp_path_factory.mktemp("home-template")
    config, checkpoint = tiny_checkpoint
    run_cli(home, "models", "import", "--arch", config, "--checkpoint", checkpoint, "--name", "tiny", check=True)
    return home


@pytest.fixture
def home(tmp_path, model_home_template) -> Path:
    """A fresh library home with the tiny model installed and active."""
    target = tmp_path / "home"
    target.mkdir()
    shutil.copytree(model_home_template / "models", target / "models")
    shutil.copy2(model_home_template / "config.json", target / "config.json")
    return target


@pytest.fixture
def library(home):
    from app.library import Library
    from app.paths import AppPaths

    lib = Library(AppPaths(data=home, cache=home / "cache", logs=home / "logs"), providers=["CPUExecutionProvider"])
    yield lib
    lib.close()


@pytest.fixture
def xdg_trash(tmp_path, monkeypatch) -> Path:
    """A desktop trash of the test's own (XDG_DATA_HOME/Trash): nothing reaches the user's trash."""
    data = tmp_path / "xdg-data"
    data.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data / "Trash"
