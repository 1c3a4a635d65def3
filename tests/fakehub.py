"""A loopback stand-in for the Hugging Face hub, speaking the parts of its protocol the downloader uses.

- ``GET /api/models/{repo}/revision/{rev}``: ``{"id", "sha", "siblings": [{"rfilename"}]}``
- ``GET /api/models/{repo}/tree/{rev}?recursive=true``: entries with ``oid`` (git blob id), ``size`` and, for
  LFS files, ``lfs: {oid: sha256, size, pointerSize}``
- ``GET|HEAD /{repo}/resolve/{rev}/{path}``: small files directly; LFS files with a 302 to ``/cdn/...`` that
  carries ``X-Repo-Commit``, ``X-Linked-Etag`` and ``X-Linked-Size`` like the real hub
- ``/cdn/{sha256}``: the bytes, with Range (206 + Content-Range)

Faults per file path: ``drop`` (close after ``at`` bytes, ``times`` times), ``stall`` (send ``at`` bytes then
go silent), ``flip`` (one bit flipped), ``404``, ``ignore_range`` (always 200 from byte 0; combine with drop).
"""
from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


@dataclass
class Fault:
    kind: str  # drop | stall | flip | 404
    at: int = 0  # bytes sent before dropping or stalling
    times: int = 10**9  # how many requests it hits
    ignore_range: bool = False


@dataclass
class Repo:
    commit: str
    files: dict[str, bytes]

    def is_lfs(self, path: str) -> bool:
        return path.endswith(".onnx") or len(self.files[path]) > 10_000


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.faults: dict[str, Fault] = {}
        self.log: list[tuple[str, str, str]] = []  # (method, path, Range header)
        self.sent: dict[str, int] = {}  # repo file path -> bytes sent in total
        self.closing = threading.Event()
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def add_repo(self, repo: str, files: dict[str, bytes]) -> str:
        commit = hashlib.sha1(repo.encode() + b"".join(sorted(files.values()))).hexdigest()
        self.repos[repo] = Repo(commit, dict(files))
        return commit

    def requests_for(self, path: str) -> list[tuple[str, str, str]]:
        return [entry for entry in self.log if entry[1].endswith("/" + path)]

    # -- serving ------------------------------------------------------------------------------
    def _find(self, parts: list[str]) -> tuple[str, Repo] | None:
        repo = "/".join(parts[:2])
        return (repo, self.repos[repo]) if repo in self.repos else None

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        url = urllib.parse.urlsplit(h.path)
        path = urllib.parse.unquote(url.path)
        logged = path
        if path.startswith("/cdn/"):  # log CDN hits under their repo file path too
            logged += "/" + urllib.parse.parse_qs(url.query).get("path", [""])[0]
        with self._lock:
            self.log.append((h.command, logged, h.headers.get("Range", "")))
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            found = self._find(parts[2:4])
            if not found or parts[5] not in ("main", found[1].commit):
                return self._send(h, 404, b'{"error": "Repository not found"}', head=head)
            repo, info = found
            if parts[4] == "revision":
                body = {"id": repo, "sha": info.commit, "siblings": [{"rfilename": p} for p in info.files]}
            elif parts[4] == "tree":
                body = [self._tree_entry(info, p) for p in sorted(info.files)]
            else:
                return self._send(h, 404, b"{}", head=head)
            return self._send(h, 200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head)
        if len(parts) >= 5 and parts[2] == "resolve":
            found = self._find(parts[:2])
            file_path = "/".join(parts[4:])
            if not found or file_path not in found[1].files or parts[3] not in ("main", found[1].commit):
                return self._send(h, 404, b"Entry not found", head=head)
            repo, info = found
            fault = self.faults.get(file_path)
            if fault and fault.kind == "404":
                return self._send(h, 404, b"Entry not found", head=head)
            data = info.files[file_path]
            common = {"X-Repo-Commit": info.commit}
            if info.is_lfs(file_path):
                sha = hashlib.sha256(data).hexdigest()
                location = f"/cdn/{sha}?repo={urllib.parse.quote(repo)}&path={urllib.parse.quote(file_path)}"
                return self._send(h, 302, b"", {**common, "Location": location, "X-Linked-Etag": f'"{sha}"',
                                                "X-Linked-Size": str(len(data)), "ETag": f'"{git_blob_oid(data)}"'},
                                  head)
            return self._serve_bytes(h, file_path, data, {**common, "ETag": f'"{git_blob_oid(data)}"'}, head)
        if parts[0] == "cdn":
            query = urllib.parse.parse_qs(url.query)
            repo, file_path = query["repo"][0], query["path"][0]
            return self._serve_bytes(h, file_path, self.repos[repo].files[file_path], {}, head)
        return self._send(h, 404, b"not found", head=head)

    @staticmethod
    def _tree_entry(info: Repo, path: str) -> dict:
        data = info.files[path]
        entry = {"type": "file", "path": path, "size": len(data), "oid": git_blob_oid(data)}
        if info.is_lfs(path):
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n" \
                      f"size {len(data)}\n".encode()
            entry.update(oid=git_blob_oid(pointer), size=len(data),
                         lfs={"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                              "pointerSize": len(pointer)})
        return entry

    def _send(self, h, status: int, body: bytes, headers: dict | None = None, head: bool = False) -> None:
        h.send_response(status)
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _serve_bytes(self, h, file_path: str, data: bytes, headers: dict, head: bool) -> None:
        fault = self.faults.get(file_path)
        if fault and fault.kind == "flip":
            flipped = bytearray(data)
            flipped[len(flipped) // 2] ^= 0x01
            data = bytes(flipped)
        start = 0
        wanted = h.headers.get("Range", "")
        if wanted.startswith("bytes=") and not (fault and fault.ignore_range):
            start = int(wanted[6:].split("-")[0] or 0)
        if start >= len(data) and data:
            h.send_response(416)
            h.send_header("Content-Range", f"bytes */{len(data)}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        body = data[start:]
        h.send_response(206 if start else 200)
        for key, value in headers.items():
            h.send_header(key, value)
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        h.end_headers()
        if head:
            return
        if fault and fault.kind in ("drop", "stall") and fault.times > 0:
            with self._lock:
                fault.times -= 1
            cut = max(fault.at - start, 0) if not fault.ignore_range else fault.at
            cut = min(cut, len(body))
            self._write(h, file_path, body[:cut])
            if fault.kind == "stall":
                self.closing.wait(120)
            h.close_connection = True
            try:
                h.wfile.flush()
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        self._write(h, file_path, body)

    def _write(self, h, file_path: str, body: bytes) -> None:
        try:
            for offset in range(0, len(body), 1 << 16):
                h.wfile.write(body[offset: offset + (1 << 16)])
                with self._lock:
                    self.sent[file_path] = self.sent.get(file_path, 0) + min(1 << 16, len(body) - offset)
        except OSError:
            pass


# --------------------------------------------------------------------------- fixtures (import into a test module)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

TINY_REPO = "test-org/tiny-immich"
TINY_ENTRY = "tiny-hub"


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_immich_files(model_home_template, tmp_path_factory) -> dict[str, bytes]:
    """The tiny test model laid out as Immich publishes it, plus files an install must not fetch."""
    from tests.app.test_models import immich_layout

    folder = immich_layout(model_home_template / "models" / "tiny", tmp_path_factory.mktemp("immich") / "tiny")
    files = _folder_files(folder)
    files["visual/fp16/model.armnn"] = b"not for onnxruntime" * 100
    files["textual/model_fp16.onnx"] = b"a precision variant" * 100
    files["README.md"] = b"# tiny\n"
    return files


@pytest.fixture
def fakehub(tiny_immich_files, tmp_path, monkeypatch):
    """A running fake hub serving the tiny Immich repo, with the catalogue pointed at it."""
    hub = FakeHub()
    hub.add_repo(TINY_REPO, tiny_immich_files)
    hub.add_repo("test-org/not-a-model", {"README.md": b"hello\n", "weights.bin": b"\0" * 20_000})
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps([{
        "name": TINY_ENTRY, "repo": TINY_REPO, "layout": "immich", "arch": "mediaseek-tiny",
        "languages": "English", "licence": "MIT", "quality": "random weights (test)",
        "size_mb": round(sum(len(v) for v in tiny_immich_files.values()) / 1e6, 1), "size_source": "test",
        "images_per_s": 100.0, "text_ms": 5.0, "recommended": True}]))
    env = {"HF_ENDPOINT": hub.url, "MEDIASEEK_CATALOGUE": str(catalogue), "MEDIASEEK_HUB_STALL_S": "1",
           "MEDIASEEK_HUB_RETRY_S": "0.05", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    hub.env = env
    yield hub
    hub.close()


def leftovers(home: Path) -> list[str]:
    """Hidden staging/partial folders under the home's models folder."""
    models = home / "models"
    return sorted(p.name for p in models.iterdir() if p.name.startswith(".")) if models.is_dir() else []


__all__ = ["FakeHub", "Fault", "fakehub", "tiny_immich_files", "leftovers", "TINY_REPO", "TINY_ENTRY"]
