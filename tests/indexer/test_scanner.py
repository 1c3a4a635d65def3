import os
from pathlib import Path

from indexer.scanner import LibraryScanner, fingerprint


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def scan(root: Path, errors=None):
    scanner = LibraryScanner(on_error=lambda p, r: errors.append((p, r)) if errors is not None else None)
    return sorted(f.path for f in scanner.scan([str(root)]))


def test_finds_media_by_extension_case_insensitively_and_skips_hidden(tmp_path):
    touch(tmp_path / "a.JPG")
    touch(tmp_path / "sub" / "b.png")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden.jpg")
    touch(tmp_path / ".cache" / "c.jpg")
    touch(tmp_path / "@eaDir" / "thumb.jpg")
    touch(tmp_path / "noext")
    assert scan(tmp_path) == [str(tmp_path / "a.JPG"), str(tmp_path / "sub" / "b.png")]


def test_symlink_loops_terminate_and_linked_folders_are_visited_once(tmp_path):
    touch(tmp_path / "photos" / "a.jpg")
    os.symlink(tmp_path / "photos", tmp_path / "photos" / "loop")  # points at its own parent
    os.symlink(tmp_path / "self", tmp_path / "self")  # dangling self-reference
    os.symlink("missing.jpg", tmp_path / "dangling.jpg")
    errors = []
    found = scan(tmp_path, errors)
    assert found == [str(tmp_path / "photos" / "a.jpg")]


def test_non_utf8_names_are_returned_as_surrogate_escaped_str(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg"
    with open(raw, "wb") as fh:
        fh.write(b"x")
    (found,) = scan(tmp_path)
    assert os.fsencode(found) == raw


def test_missing_root_is_reported_not_raised(tmp_path):
    errors = []
    assert scan(tmp_path / "nope", errors) == []
    assert errors and errors[0][1] == "file not found"


def test_fingerprint_depends_on_content_not_name(tmp_path):
    a = touch(tmp_path / "a.jpg", b"1" * 300_000)
    b = touch(tmp_path / "b.jpg", b"1" * 300_000)
    c = touch(tmp_path / "c.jpg", b"1" * 299_999 + b"2")
    assert fingerprint(str(a)) == fingerprint(str(b))
    assert fingerprint(str(a)) != fingerprint(str(c))


def test_scanner_knows_every_extension_the_decoders_handle():
    from indexer.decode import IMAGE_EXTENSIONS
    from indexer.scanner import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS
    from indexer.video import VIDEO_EXTENSIONS as DECODABLE_VIDEO

    assert VIDEO_EXTENSIONS == DECODABLE_VIDEO
    assert set(IMAGE_EXTENSIONS) <= set(PHOTO_EXTENSIONS)


def test_videos_are_listed_as_videos(tmp_path):
    touch(tmp_path / "clip.MOV")
    touch(tmp_path / "a.jpg")
    kinds = {os.path.basename(f.path): f.kind for f in LibraryScanner().scan([str(tmp_path)])}
    assert kinds == {"clip.MOV": "video", "a.jpg": "photo"}
