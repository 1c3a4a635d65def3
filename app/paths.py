"""Where mediaseek keeps its data.

``MEDIASEEK_HOME``, when set, holds everything (tests and portable installs use it).
Otherwise the platform's user data / cache / log folders are used. Nothing is ever
written next to the user's media.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "mediaseek"


@dataclass(frozen=True)
class AppPaths:
    data: Path
    cache: Path
    logs: Path

    @classmethod
    def from_env(cls) -> "AppPaths":
        home = os.environ.get("MEDIASEEK_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(data=root, cache=root / "cache", logs=root / "logs")
        return cls(
            data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @property
    def library_db(self) -> Path:
        return self.data / "library.db"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def config(self) -> Path:
        return self.data / "config.json"

    @property
    def thumbnails(self) -> Path:
        return self.cache / "thumbnails"

    def ensure(self) -> None:
        for folder in (self.data, self.models, self.cache, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
