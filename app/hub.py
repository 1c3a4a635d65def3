"""The one downloader: files from a Hugging Face hub (or a mirror) with resume, stall detection and checksums.

Speaks the hub's HTTP protocol directly with the standard library, so every step is ours to control:

- ``GET {endpoint}/api/models/{repo}/revision/{rev}`` pins the commit, ``GET .../tree/{commit}?recursive=true``
  lists the files with their sizes, git blob ids and, for LFS files, the sha256 (``lfs.oid``);
- ``GET {endpoint}/{repo}/resolve/{commit}/{path}`` fetches a file; LFS files answer with a redirect to a
  CDN, which we follow by hand (the redirect's ``X-Linked-Etag``/``X-Linked-Size`` are logged);
- an interrupted file resumes with ``Range: bytes=N-``; a server that ignores Range restarts it from zero.

Every file is verified: LFS files against their sha256 (or a pin), small files against their git blob
sha1. A file that fails is deleted and refused. Honours HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and the
proxy variables (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY). Progress is reported as events; nothing
here prints.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import MediaseekError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
CHUNK = 1 << 16
_TRUE = ("1", "ON", "YES", "TRUE")


class HubError(MediaseekError):
    """A download failed; ``str()`` is one line saying why and what to do."""


class OfflineError(HubError):
    pass


class HubNotFoundError(HubError):
    pass


class IntegrityError(HubError):
    pass


class StalledError(HubError):
    pass


class DownloadCancelled(HubError):
    pass


@dataclass(frozen=True)
class DownloadProgress:
    """One progress event: ``done``/``total`` bytes over all files of the download."""

    phase: str  # "resolve" | "download" | "verify" | "done"
    file: str
    done: int
    total: int
    rate: float  # bytes per second, smoothed
    eta: float | None  # seconds


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files
    git_oid: str | None  # the git blob sha1 (small files)


@dataclass(frozen=True)
class RepoFiles:
    repo: str
    revision: str  # the commit every file is fetched from
    files: tuple[RemoteFile, ...]


@dataclass
class Settings:
    """Tunables; tests shorten them through the environment (MEDIASEEK_HUB_STALL_S, ..._RETRY_S)."""

    stall_s: float = field(default_factory=lambda: float(os.environ.get("MEDIASEEK_HUB_STALL_S", "30")))
    connect_s: float = 4.0
    attempts_without_progress: int = 3
    retry_s: float = field(default_factory=lambda: float(os.environ.get("MEDIASEEK_HUB_RETRY_S", "1")))


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def is_offline() -> bool:
    return any(os.environ.get(v, "").strip().upper() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


# --------------------------------------------------------------------------- HTTP plumbing


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib's signature
        return None  # surfaces the 3xx as an HTTPError we follow by hand


def _proxies() -> dict[str, str]:
    """The environment's proxies, with ALL_PROXY filling in for a scheme that has none of its own."""
    proxies = dict(urllib.request.getproxies())
    every = proxies.pop("all", None)
    if every:
        for scheme in ("http", "https"):
            proxies.setdefault(scheme, every)
    for scheme in ("http", "https"):
        url = proxies.get(scheme)
        if url and urllib.parse.urlparse(url if "://" in url else f"http://{url}").scheme.startswith("socks"):
            raise HubError(f"SOCKS proxies are not supported ({scheme} proxy {url}): use an HTTP proxy")
    return proxies


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler(_proxies()), _NoRedirect())


def _route_host(url: str) -> tuple[str, int]:
    """The host a request to ``url`` really connects to: its proxy when one applies."""
    parsed = urllib.parse.urlparse(url)
    host = parsed.hostname or ""
    proxy = _proxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        p = urllib.parse.urlparse(proxy if "://" in proxy else f"http://{proxy}")
        return p.hostname or "", p.port or 80
    return host, parsed.port or (443 if parsed.scheme == "https" else 80)


def _check_reachable(url: str, timeout: float, what: str) -> None:
    """Resolve the host the request goes to within ``timeout`` (name lookups ignore socket timeouts)."""
    host, port = _route_host(url)
    outcome: dict[str, str] = {}

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome["ok"] = ""
        except OSError as exc:
            outcome["error"] = exc.strerror or str(exc)

    thread = threading.Thread(target=resolve, name="hub-resolve", daemon=True)
    thread.start()
    thread.join(timeout)
    if "ok" not in outcome:
        reason = outcome.get("error", f"no answer within {timeout:g} s")
        raise OfflineError(f"{what}: no network connection ({host}: {reason})")


def _auth_headers(url: str) -> dict[str, str]:
    token = os.environ.get("HF_TOKEN")
    if token and url.startswith(endpoint()):
        return {"Authorization": f"Bearer {token}"}
    return {}


def _network_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.timeout) or isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, OSError):
        return reason.strerror or str(reason) or type(reason).__name__
    return str(reason) or type(exc).__name__


def _open(url: str, headers: dict[str, str], timeout: float, what: str):
    """GET ``url`` following redirects by hand; returns (response, final url, first response's headers)."""
    opener = _opener()
    first_headers = None
    for _ in range(6):
        request = urllib.request.Request(url, headers={"User-Agent": "mediaseek", **_auth_headers(url), **headers})
        try:
            response = opener.open(request, timeout=timeout)
            return response, url, first_headers or response.headers
        except urllib.error.HTTPError as exc:
            if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                first_headers = first_headers or exc.headers
                url = urllib.parse.urljoin(url, exc.headers["Location"])
                exc.close()
                continue
            exc.close()
            if exc.code == 404:
                raise HubNotFoundError(f"{what}: not found on {endpoint()} (HTTP 404)") from None
            if exc.code in (401, 403):
                raise HubError(f"{what}: access denied (HTTP {exc.code}); a gated or private repository needs "
                               "HF_TOKEN") from None
            if exc.code == 416:
                return None, url, exc.headers
            raise HubError(f"{what}: the server answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            host = _route_host(url)[0]
            label = host if host == urllib.parse.urlparse(url).hostname else f"proxy {host}"
            raise OfflineError(f"{what}: no network connection ({label}: {_network_reason(exc)})") from None
    raise HubError(f"{what}: too many redirects")


def _get_json(url: str, what: str, settings: Settings):
    response, _, _ = _open(url, {"Accept": "application/json"}, settings.stall_s, what)
    with response:
        try:
            return json.loads(response.read().decode("utf-8")), response.headers
        except (ValueError, OSError) as exc:
            raise HubError(f"{what}: the hub sent an unreadable answer ({_network_reason(exc)})") from None


# --------------------------------------------------------------------------- repository metadata


def parse_repo_spec(spec: str) -> tuple[str, str]:
    """``OWNER/REPO[@REVISION]`` -> (repo, revision)."""
    repo, _, revision = spec.partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts) or any(p in (".", "..") for p in parts):
        raise HubError(f"expected OWNER/REPO[@REVISION], got {spec!r}")
    return repo, revision or "main"


def list_repo_files(repo: str, revision: str = "main", settings: Settings | None = None) -> RepoFiles:
    """The files of ``repo`` at ``revision`` (pinned to a commit) with sizes and checksums."""
    settings = settings or Settings()
    what = f"cannot list {repo}@{revision}"
    if is_offline():
        raise OfflineError(f"{what}: no network connection (offline mode: HF_HUB_OFFLINE is set)")
    base = f"{endpoint()}/api/models/{repo}"
    _check_reachable(base, settings.connect_s, what)
    info, _ = _get_json(f"{base}/revision/{urllib.parse.quote(revision, safe='')}", what, settings)
    commit = str(info.get("sha") or revision) if isinstance(info, dict) else revision
    files: list[RemoteFile] = []
    url: str | None = f"{base}/tree/{urllib.parse.quote(commit, safe='')}?recursive=true"
    while url:
        entries, headers = _get_json(url, what, settings)
        for entry in entries if isinstance(entries, list) else []:
            if entry.get("type") != "file":
                continue
            lfs = entry.get("lfs") or {}
            files.append(RemoteFile(path=str(entry["path"]), size=int(lfs.get("size", entry.get("size", 0))),
                                    sha256=lfs.get("oid") or lfs.get("sha256"), git_oid=entry.get("oid")))
        url = _next_link(headers.get("Link", ""), url)
    return RepoFiles(repo, commit, tuple(files))


def _next_link(header: str, current: str) -> str | None:
    for part in header.split(","):
        if 'rel="next"' in part and "<" in part:
            return urllib.parse.urljoin(current, part[part.index("<") + 1: part.index(">")])
    return None


# --------------------------------------------------------------------------- checksums


def _git_blob_sha1(path: Path) -> str:
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, remote: RemoteFile, pin: str | None = None) -> str | None:
    """None when ``path`` is ``remote``'s content, else a description of the mismatch."""
    if path.stat().st_size != remote.size:
        return f"size {path.stat().st_size} instead of {remote.size}"
    expected = pin or remote.sha256
    if expected:
        got = _sha256(path)
        return None if got == expected.lower() else f"sha256 {got[:12]}… instead of {expected[:12]}…"
    if remote.git_oid and len(remote.git_oid) == 40:
        got = _git_blob_sha1(path)
        return None if got == remote.git_oid.lower() else f"git blob id {got[:12]}… instead of {remote.git_oid[:12]}…"
    return None


# --------------------------------------------------------------------------- downloading


class _Meter:
    """Turns bytes received into DownloadProgress events (at most ~10 per second)."""

    def __init__(self, total: int, on_progress: Callable[[DownloadProgress], None] | None) -> None:
        self.total, self.done, self.on_progress = total, 0, on_progress
        self.rate, self._last_t, self._last_done, self._emitted = 0.0, time.monotonic(), 0, 0.0

    def add(self, count: int, file: str, force: bool = False) -> None:
        self.done += count
        now = time.monotonic()
        span = now - self._last_t
        if span >= 0.5:
            instant = (self.done - self._last_done) / span
            self.rate = instant if self.rate == 0 else 0.7 * self.rate + 0.3 * instant
            self._last_t, self._last_done = now, self.done
        if self.on_progress and (force or now - self._emitted >= 0.1):
            self._emitted = now
            eta = (self.total - self.done) / self.rate if self.rate > 0 else None
            self.on_progress(DownloadProgress("download", file, self.done, self.total, self.rate, eta))

    def credit(self, count: int, file: str) -> None:
        """Bytes that were not received now (a resumed or cached file, or a restart): no effect on the rate."""
        self.done += count
        self._last_done += count
        self.add(0, file, force=True)

    def phase(self, phase: str, file: str) -> None:
        if self.on_progress:
            self.on_progress(DownloadProgress(phase, file, self.done, self.total, self.rate, None))


def download_files(repo_files: RepoFiles, wanted: Iterable[RemoteFile], dest: Path, *,
                   pins: dict[str, str] | None = None, force: bool = False,
                   on_progress: Callable[[DownloadProgress], None] | None = None,
                   cancel: threading.Event | None = None, settings: Settings | None = None) -> list[Path]:
    """Download ``wanted`` files of ``repo_files`` into ``dest`` (keeping their repo paths) and verify them.

    A complete file already in ``dest`` is re-verified and kept, or deleted and fetched again when corrupt
    (``force`` fetches everything again). A ``NAME.part`` file is resumed.
    """
    settings = settings or Settings()
    wanted = list(wanted)
    pins = pins or {}
    meter = _Meter(sum(f.size for f in wanted), on_progress)
    out = []
    for remote in wanted:
        target = dest / remote.path
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        if force:
            for stale in (target, part):
                stale.unlink(missing_ok=True)
        if target.is_file():
            meter.phase("verify", remote.path)
            problem = verify(target, remote, pins.get(remote.path))
            if problem is None:
                meter.credit(remote.size, remote.path)
                out.append(target)
                continue
            log.warning("cached %s is corrupt (%s); downloading it again", remote.path, problem)
            target.unlink()
        url = (f"{endpoint()}/{repo_files.repo}/resolve/{urllib.parse.quote(repo_files.revision, safe='')}/"
               f"{urllib.parse.quote(remote.path)}")
        _fetch(url, remote, part, meter, cancel, settings, f"cannot download {repo_files.repo}/{remote.path}")
        meter.phase("verify", remote.path)
        problem = verify(part, remote, pins.get(remote.path))
        if problem is not None:
            part.unlink(missing_ok=True)
            raise IntegrityError(f"{repo_files.repo}/{remote.path} is damaged ({problem}); the download was "
                                 "deleted and nothing was installed")
        os.replace(part, target)
        out.append(target)
    meter.phase("done", "")
    return out


def _fetch(url: str, remote: RemoteFile, part: Path, meter: _Meter, cancel: threading.Event | None,
           settings: Settings, what: str) -> None:
    """Bring ``part`` to ``remote.size`` bytes, resuming and retrying while attempts make progress."""
    if is_offline():
        raise OfflineError(f"{what}: no network connection (offline mode: HF_HUB_OFFLINE is set)")
    have = part.stat().st_size if part.exists() else 0
    if have > remote.size:
        part.unlink()
        have = 0
    meter.credit(have, remote.path)
    best, idle_attempts, last_error = have, 0, ""
    while have < remote.size or remote.size == 0:
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled("download stopped")
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response, final_url, first = _open(url, headers, settings.stall_s, what)
            if response is None:  # 416: what we hold is already complete or bogus
                part.unlink(missing_ok=True)
                meter.credit(-have, remote.path)
                have = 0
                raise HubError(f"{what}: the server refused the resume request")
            with response:
                if first is not response.headers:
                    log.debug("%s redirected to %s (X-Linked-Etag %s, X-Linked-Size %s)", remote.path,
                              final_url, first.get("X-Linked-Etag"), first.get("X-Linked-Size"))
                if have and response.status != 206:  # Range ignored: start over
                    log.info("%s: server ignored the resume request; starting the file again", remote.path)
                    meter.credit(-have, remote.path)
                    have = 0
                mode = "ab" if have else "wb"
                with open(part, mode) as fh:
                    while True:
                        if cancel is not None and cancel.is_set():
                            raise DownloadCancelled("download stopped")
                        block = response.read(CHUNK)
                        if not block:
                            break
                        fh.write(block)
                        have += len(block)
                        meter.add(len(block), remote.path)
            if remote.size == 0 or have >= remote.size:
                return
            last_error = f"the connection closed after {have} of {remote.size} bytes"
        except (HubNotFoundError, IntegrityError, DownloadCancelled):
            raise
        except HubError as exc:
            last_error = str(exc).split(": ", 1)[-1]
            if have == 0 and best == 0 and isinstance(exc, OfflineError) and "timed out" not in last_error:
                raise  # nothing reachable at all: say so now, don't wait on retries
        except (socket.timeout, TimeoutError):
            last_error = f"no data for {settings.stall_s:g} s (stalled)"
        except (OSError, ValueError, http.client.HTTPException) as exc:  # resets, IncompleteRead
            last_error = f"the connection broke ({_network_reason(exc)})"
        if have > best:
            best, idle_attempts = have, 0
        else:
            idle_attempts += 1
            if idle_attempts >= settings.attempts_without_progress:
                raise StalledError(f"{what}: gave up after {idle_attempts} attempts without progress "
                                   f"({last_error}); run the same command again to resume")
        log.info("%s: %s; retrying", remote.path, last_error)
        time.sleep(settings.retry_s)


def download_url(url: str, target: Path, *, sha256: str | None = None, size: int | None = None,
                 on_progress: Callable[[DownloadProgress], None] | None = None,
                 cancel: threading.Event | None = None, settings: Settings | None = None) -> Path:
    """Download a plain URL (weights published outside a hub) with the same resume and checks."""
    settings = settings or Settings()
    what = f"cannot download {url}"
    if is_offline():
        raise OfflineError(f"{what}: no network connection (offline mode: HF_HUB_OFFLINE is set)")
    _check_reachable(url, settings.connect_s, what)
    if not size:
        response, _, _ = _open(url, {"Range": "bytes=0-0"}, settings.stall_s, what)
        if response is None:
            raise HubError(f"{what}: the server refused a range request")
        with response:
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            size = int(total) if total.isdigit() else int(response.headers.get("Content-Length") or 0)
    remote = RemoteFile(target.name, size, sha256, None)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    _fetch(url, remote, part, _Meter(size, on_progress), cancel, settings, what)
    problem = verify(part, remote)
    if problem:
        part.unlink(missing_ok=True)
        raise IntegrityError(f"{url} is damaged ({problem}); the download was deleted")
    os.replace(part, target)
    return target
