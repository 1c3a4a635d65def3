"""Installing models from a hub, through the real downloader and the real ``mediaseek`` CLI, against a
loopback fake hub (tests/fakehub.py) serving the tiny model in Immich's layout, with injected faults."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from tests.conftest import REPO, mediaseek_command, run_cli
from tests.fakehub import TINY_ENTRY, TINY_REPO, Fault, fakehub, leftovers, tiny_immich_files  # noqa: F401


@pytest.fixture
def bare(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def one_line_error(result) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mediaseek: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def installed(home) -> list[str]:
    models = home / "models"
    return sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) if models.is_dir() else []


def test_available_lists_the_catalogue(bare, fakehub):
    listing = json.loads(run_cli(bare, "models", "available", "--json", check=True).stdout)
    assert [e["name"] for e in listing] == [TINY_ENTRY] and listing[0]["recommended"]
    assert listing[0]["layout"] == "immich" and listing[0]["repo"] == TINY_REPO
    text = run_cli(bare, "models", "available", check=True).stdout
    assert TINY_ENTRY in text and "recommended" in text


def test_real_catalogue_covers_fast_english_and_multilingual(bare):
    from app import catalogue

    env = {k: v for k, v in os.environ.items() if k != "MEDIASEEK_CATALOGUE"}
    listing = json.loads(run_cli(bare, "models", "available", "--json", check=True, env={**env}).stdout)
    names = {e["name"] for e in listing}
    assert {"mobileclip-s1", "vit-b-32-openai", "siglip2-b16"} <= names
    assert any("multilingual" in e["languages"] for e in listing)
    assert sum(e["recommended"] for e in listing) == 1
    assert all(e["layout"] in (catalogue.IMMICH, catalogue.TRANSFORMERS_JS) for e in listing)


def test_install_catalogue_entry_then_index_and_search(bare, fakehub, tmp_path):
    from tests.media import save_jpeg, scene

    result = run_cli(bare, "models", "install", TINY_ENTRY, check=True)
    assert "installed model tiny-hub" in result.stdout
    assert installed(bare) == [TINY_ENTRY] and leftovers(bare) == []
    fetched = {path.split("/resolve/", 1)[1].split("/", 1)[1] for _, path, _ in fakehub.log if "/resolve/" in path}
    assert "visual/model.onnx" in fetched and "textual/model.onnx" in fetched
    assert not fetched & {"visual/fp16/model.armnn", "textual/model_fp16.onnx", "README.md"}
    # LFS files came through the CDN redirect
    assert any(path.startswith("/cdn/") for _, path, _ in fakehub.log)

    photos = tmp_path / "photos"
    save_jpeg(photos / "red.jpg", scene("red", seed=1))
    save_jpeg(photos / "checker.jpg", scene("checker", seed=2))
    run_cli(bare, "index", photos, check=True)
    hits = json.loads(run_cli(bare, "search", "a red picture", "--json", check=True).stdout)
    assert len(hits) == 2


def test_install_any_hub_repo_by_revision_and_refuse_unknown_layouts(bare, fakehub):
    commit = fakehub.repos[TINY_REPO].commit
    run_cli(bare, "models", "install", f"hf:{TINY_REPO}@{commit}", "--name", "pinned", check=True)
    assert installed(bare) == ["pinned"]
    line = one_line_error(run_cli(bare, "models", "install", "hf:test-org/not-a-model"))
    assert "not in a supported layout" in line
    line = one_line_error(run_cli(bare, "models", "install", "hf:test-org/absent"))
    assert "not found" in line
    assert leftovers(bare) == []


def test_resume_after_a_dropped_connection(bare, fakehub):
    fakehub.faults["textual/model.onnx"] = Fault("drop", at=1_000_000, times=1)
    run_cli(bare, "models", "install", TINY_ENTRY, check=True)
    ranges = [rng for _, path, rng in fakehub.requests_for("textual/model.onnx") if path.startswith("/cdn/")]
    assert ranges == ["", "bytes=1000000-"]
    assert installed(bare) == [TINY_ENTRY] and leftovers(bare) == []


def test_server_that_drops_and_ignores_range_gives_up(bare, fakehub):
    fakehub.faults["textual/model.onnx"] = Fault("drop", at=500_000, ignore_range=True)
    line = one_line_error(run_cli(bare, "models", "install", TINY_ENTRY, timeout=120))
    assert "without progress" in line and "run the same command again" in line
    assert installed(bare) == []
    assert len([1 for _, p, _ in fakehub.requests_for("textual/model.onnx") if p.startswith("/cdn/")]) == 4


def test_stall_gives_up_with_a_message(bare, fakehub):
    fakehub.faults["visual/model.onnx"] = Fault("stall", at=100_000)
    line = one_line_error(run_cli(bare, "models", "install", TINY_ENTRY, timeout=120))
    assert "stalled" in line and "visual/model.onnx" in line
    assert installed(bare) == []


def test_flipped_bit_is_refused_and_nothing_installed(bare, fakehub):
    fakehub.faults["visual/model.onnx"] = Fault("flip")
    line = one_line_error(run_cli(bare, "models", "install", TINY_ENTRY))
    assert "damaged" in line and "sha256" in line and "nothing was installed" in line
    assert installed(bare) == []
    staged = list((bare / "models").rglob("model.onnx*"))
    assert not [p for p in staged if "visual" in p.parts], staged  # the damaged file was deleted


def test_corrupt_cached_file_is_downloaded_again(bare, fakehub):
    # a stalled install keeps its verified files for the next try ...
    fakehub.faults["visual/model.onnx"] = Fault("stall", at=0)
    one_line_error(run_cli(bare, "models", "install", TINY_ENTRY, timeout=120))
    cached = bare / "models" / f".download-{TINY_ENTRY}" / "files" / "textual" / "model.onnx"
    assert cached.is_file()
    data = bytearray(cached.read_bytes())
    data[100] ^= 0xFF  # ... and one of them rots on disk
    cached.write_bytes(bytes(data))
    del fakehub.faults["visual/model.onnx"]
    before = len(fakehub.requests_for("textual/model.onnx"))
    run_cli(bare, "models", "install", TINY_ENTRY, check=True)
    assert len(fakehub.requests_for("textual/model.onnx")) > before
    assert installed(bare) == [TINY_ENTRY] and leftovers(bare) == []
    # --force downloads everything again into a working model
    before = len(fakehub.requests_for("config.json"))
    run_cli(bare, "models", "install", TINY_ENTRY, "--force", check=True)
    assert len(fakehub.requests_for("config.json")) > before and installed(bare) == [TINY_ENTRY]


def test_missing_file_is_a_404_message_and_leaves_nothing(bare, fakehub):
    fakehub.faults["textual/model.onnx"] = Fault("404")
    line = one_line_error(run_cli(bare, "models", "install", TINY_ENTRY))
    assert "textual/model.onnx" in line and "not found" in line
    assert installed(bare) == [] and leftovers(bare) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_fails_at_once_with_one_line(bare, fakehub):
    line = one_line_error(run_cli(bare, "models", "install", TINY_ENTRY, env={"HF_HUB_OFFLINE": "1"}, timeout=30))
    assert "offline" in line and "HF_HUB_OFFLINE" in line
    dead = f"http://127.0.0.1:{_closed_port()}"
    line = one_line_error(run_cli(bare, "models", "install", TINY_ENTRY, env={"HF_ENDPOINT": dead}, timeout=30))
    assert "no network connection (127.0.0.1" in line
    # open_clip weights go through the same downloader: the network error, not a later candidate's 404
    line = one_line_error(run_cli(bare, "models", "install", "ViT-B-32:laion2b_s34b_b79k",
                                  env={"HF_ENDPOINT": dead}, timeout=120))
    assert "no network connection (127.0.0.1" in line and "404" not in line
    assert installed(bare) == [] and leftovers(bare) == []


def _start_install(home, fakehub):
    env = {**os.environ, **fakehub.env, "MEDIASEEK_HOME": str(home), "PYTHONPATH": str(REPO),
           "MEDIASEEK_HUB_STALL_S": "60"}
    return subprocess.Popen([*mediaseek_command(), "models", "install", TINY_ENTRY], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_stalled(fakehub, process, path: str = "textual/model.onnx", at: int = 2_000_000) -> None:
    deadline = time.monotonic() + 120
    while fakehub.sent.get(path, 0) < at:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the install never reached the stalled file"
        time.sleep(0.05)
    time.sleep(0.3)  # let the client write what it received


def test_ctrl_c_stops_cleanly_then_rerun_installs(bare, fakehub):
    fakehub.faults["textual/model.onnx"] = Fault("stall", at=2_000_000)
    process = _start_install(bare, fakehub)
    _wait_until_stalled(fakehub, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "interrupted" in err
    assert installed(bare) == [] and leftovers(bare) == []
    del fakehub.faults["textual/model.onnx"]
    run_cli(bare, "models", "install", TINY_ENTRY, check=True)
    assert installed(bare) == [TINY_ENTRY]


def test_sigkill_then_rerun_resumes_and_cleans_up(bare, fakehub):
    fakehub.faults["textual/model.onnx"] = Fault("stall", at=2_000_000, times=1)
    process = _start_install(bare, fakehub)
    _wait_until_stalled(fakehub, process)
    process.kill()
    process.communicate(timeout=30)
    assert leftovers(bare) == [f".download-{TINY_ENTRY}"]
    # debris of another killed install (a registry partial folder of a dead process) is swept too
    (bare / "models" / ".other.partial-999999999-1").mkdir()
    run_cli(bare, "models", "install", TINY_ENTRY, check=True)
    ranges = [rng for _, path, rng in fakehub.requests_for("textual/model.onnx") if path.startswith("/cdn/")]
    assert ranges[-1].startswith("bytes=") and int(ranges[-1][6:-1]) > 0  # resumed, not restarted
    assert installed(bare) == [TINY_ENTRY] and leftovers(bare) == []


def test_downloader_reports_progress_events(fakehub, tmp_path):
    from app import catalogue, hub

    listing = hub.list_repo_files(TINY_REPO)
    wanted = [f for f in listing.files if catalogue.needed(f.path, catalogue.detect_layout(
        [g.path for g in listing.files]))]
    events = []
    hub.download_files(listing, wanted, tmp_path / "dl", on_progress=events.append)
    downloads = [e for e in events if e.phase == "download"]
    assert downloads and all(e.total == sum(f.size for f in wanted) for e in events)
    assert [e.done for e in downloads] == sorted(e.done for e in downloads)
    assert events[-1].phase == "done" and events[-1].done == events[-1].total


def test_open_clip_weights_come_through_the_same_downloader(bare, fakehub):
    """ARCH:PRETRAINED fetches the file open_clip names (here only the .bin exists) via app/hub.py, then
    exports it locally; a file that is no checkpoint fails in one line and leaves nothing behind."""
    fakehub.add_repo("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", {"open_clip_pytorch_model.bin": b"junk" * 5000,
                                                              "README.md": b"x"})
    result = run_cli(bare, "models", "install", "ViT-B-32:laion2b_s34b_b79k", timeout=240)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the export's progress lines
    assert line.startswith("mediaseek: ") and "open_clip_pytorch_model.bin is not a PyTorch checkpoint" in line
    assert fakehub.requests_for("open_clip_pytorch_model.bin")
    assert not fakehub.requests_for("open_clip_model.safetensors")  # the listing said it is absent: no 404 tried
    assert installed(bare) == [] and leftovers(bare) == []


def test_plain_url_download_resumes_and_checks_sha256(fakehub, tmp_path):
    import hashlib

    from app import hub

    data = fakehub.repos[TINY_REPO].files["visual/model.onnx"]
    sha = hashlib.sha256(data).hexdigest()
    url = f"{fakehub.url}/cdn/{sha}?repo={TINY_REPO}&path=visual/model.onnx"
    fakehub.faults["visual/model.onnx"] = Fault("drop", at=300_000, times=1)
    target = hub.download_url(url, tmp_path / "weights.bin", sha256=sha)
    assert target.read_bytes() == data and not (tmp_path / "weights.bin.part").exists()
    fakehub.faults["visual/model.onnx"] = Fault("flip")
    with pytest.raises(hub.IntegrityError, match="damaged"):
        hub.download_url(url, tmp_path / "other.bin", sha256=sha)
    assert not list(tmp_path.glob("other.bin*"))
