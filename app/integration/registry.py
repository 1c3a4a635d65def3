"""A thin interface to the current user's registry (HKEY_CURRENT_USER).

Only what the Explorer entries need: string values, key existence, deleting a key
with everything under it. ``WinregRegistry`` is the real one (Windows only);
``MemoryRegistry`` keeps the same behaviour in a dict so the Windows integration can
be tested anywhere. Key paths are relative to HKEY_CURRENT_USER, backslash-separated,
case-insensitive like the registry itself; value name ``""`` is the key's default value.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from app.integration._types import IntegrationError


class RegistryBackend(ABC):
    @abstractmethod
    def set_value(self, key: str, name: str, value: str) -> None:
        """Create ``key`` (and its parents) if needed and set a REG_SZ value."""

    @abstractmethod
    def get_value(self, key: str, name: str) -> str | None:
        """The string value, or None when the key or the value does not exist."""

    @abstractmethod
    def key_exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete_tree(self, key: str) -> bool:
        """Delete ``key`` with all its subkeys and values; False when it did not exist."""

    @abstractmethod
    def delete_if_empty(self, key: str) -> bool:
        """Delete ``key`` only when it has neither subkeys nor values."""


class MemoryRegistry(RegistryBackend):
    """An in-memory HKEY_CURRENT_USER."""

    def __init__(self) -> None:
        self._keys: dict[str, dict[str, str]] = {}

    @staticmethod
    def _norm(key: str) -> str:
        return "\\".join(part for part in key.split("\\") if part).lower()

    def set_value(self, key: str, name: str, value: str) -> None:
        parts = self._norm(key).split("\\")
        for depth in range(1, len(parts) + 1):
            self._keys.setdefault("\\".join(parts[:depth]), {})
        self._keys[self._norm(key)][name.lower()] = value

    def get_value(self, key: str, name: str) -> str | None:
        return self._keys.get(self._norm(key), {}).get(name.lower())

    def key_exists(self, key: str) -> bool:
        return self._norm(key) in self._keys

    def delete_tree(self, key: str) -> bool:
        root = self._norm(key)
        doomed = [k for k in self._keys if k == root or k.startswith(root + "\\")]
        for k in doomed:
            del self._keys[k]
        return bool(doomed)

    def delete_if_empty(self, key: str) -> bool:
        root = self._norm(key)
        if root not in self._keys or self._keys[root] or any(k.startswith(root + "\\") for k in self._keys):
            return False
        del self._keys[root]
        return True

    def keys(self) -> list[str]:
        return sorted(self._keys)


class WinregRegistry(RegistryBackend):
    """HKEY_CURRENT_USER through ``winreg``; no administrator rights needed."""

    def __init__(self) -> None:
        try:
            import winreg
        except ImportError:
            raise IntegrationError("the Windows registry is only available on Windows") from None
        self._winreg = winreg

    def set_value(self, key: str, name: str, value: str) -> None:
        wr = self._winreg
        with wr.CreateKeyEx(wr.HKEY_CURRENT_USER, key, 0, wr.KEY_WRITE) as handle:
            wr.SetValueEx(handle, name, 0, wr.REG_SZ, value)

    def get_value(self, key: str, name: str) -> str | None:
        wr = self._winreg
        try:
            with wr.OpenKey(wr.HKEY_CURRENT_USER, key) as handle:
                value, kind = wr.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return value if kind in (wr.REG_SZ, wr.REG_EXPAND_SZ) else None

    def key_exists(self, key: str) -> bool:
        wr = self._winreg
        try:
            with wr.OpenKey(wr.HKEY_CURRENT_USER, key):
                return True
        except FileNotFoundError:
            return False

    def delete_tree(self, key: str) -> bool:
        wr = self._winreg
        try:
            with wr.OpenKey(wr.HKEY_CURRENT_USER, key, 0, wr.KEY_READ) as handle:
                children = []
                index = 0
                while True:
                    try:
                        children.append(wr.EnumKey(handle, index))
                    except OSError:
                        break
                    index += 1
        except FileNotFoundError:
            return False
        for child in children:
            self.delete_tree(f"{key}\\{child}")
        wr.DeleteKey(wr.HKEY_CURRENT_USER, key)
        return True

    def delete_if_empty(self, key: str) -> bool:
        wr = self._winreg
        try:
            with wr.OpenKey(wr.HKEY_CURRENT_USER, key) as handle:
                subkeys, values, _ = wr.QueryInfoKey(handle)
        except FileNotFoundError:
            return False
        if subkeys or values:
            return False
        wr.DeleteKey(wr.HKEY_CURRENT_USER, key)
        return True
