"""Small JSON settings file (active model, provider override)."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Config:
    active_model: str | None = None
    providers: list[str] | None = None  # None: automatic (CUDA -> CoreML/DirectML -> CPU)
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "Config":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable config %s: %s", path, exc)
            return cls()
        if not isinstance(raw, dict):
            return cls()
        providers = raw.get("providers")
        return cls(
            active_model=raw.get("active_model") if isinstance(raw.get("active_model"), str) else None,
            providers=[str(p) for p in providers] if isinstance(providers, list) else None,
            extra={k: v for k, v in raw.items() if k not in ("active_model", "providers")},
        )

    def save(self, path: Path) -> None:
        data = {**self.extra, "active_model": self.active_model, "providers": self.providers}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)
