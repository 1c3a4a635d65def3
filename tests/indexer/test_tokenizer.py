"""ClipTokenizer must give the ids open_clip's SimpleTokenizer gives, without importing torch itself."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.tokenizer import (
    MERGES_USED,
    ClipTokenizer,
    TokenizerError,
    default_bpe_path,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

open_clip = pytest.importorskip("open_clip")
from open_clip.tokenizer import SimpleTokenizer  # noqa: E402  (needs open_clip, which the skip above guards)

WORDS = [
    "a", "dog", "running", "on", "the", "beach", "photo", "of", "my", "grandmother's", "birthday", "cake",
    "sunset", "over", "mountains", "New", "York", "CITY", "at", "night", "isn't", "we'll", "they've", "I'm",
    "you'd", "it's", "Rock'n'roll", "e-mail", "self-driving", "U.S.A.", "don't", "hello", "world", "snow",
    "café", "naïve", "Zürich", "façade", "smörgåsbord", "Ærøskøbing", "İstanbul", "straße", "Ωmega",
    "東京タワー", "北京", "서울", "こんにちは", "مرحبا", "بالعالم", "שלום", "नमस्ते", "สวัสดี", "Привет", "мир",
    "e\u0301te\u0301", "Z\u0351\u0364a\u0368\u0306l\u0350g\u0368o", "a\u0308", "ﬁsh", "ｆｕｌｌｗｉｄｔｈ",
    "😀", "🐶🏖️", "👨‍👩‍👧‍👦", "🇯🇵", "🇺🇳🏳️‍🌈", "👍🏽", "❤️", "🧑🏿‍🚀", "©", "™", "°C", "½", "²", "Ⅻ",
    "3.14159", "1,000,000", "2024-01-31", "12:30", "٣٤٥", "१२३", "#1", "$100", "50%", "007",
    "!!!", "?!?", "...", "---", "(((", ")))", "[x]", "{y}", "<b>", "@user", "#hashtag", "a_b_c", "~~", "*",
    "&amp;", "&lt;3", "&amp;amp;", "&quot;quoted&quot;", "&#x1F600;", "&#39;", "&nbsp;", "&eacute;t&eacute;",
    "cafÃ©", "schÃ¶n", "â€œsmartâ€\x9d", "Ã¼ber", "donâ€™t",
    "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\x00", "\x1b[31m",
    "<start_of_text>", "<END_OF_TEXT>", "<|endoftext|>",
]

HAND_PICKED = [
    "",
    " ",
    "\n\t \r\n",
    "a dog running on the beach",
    "A PHOTO OF A CAT",
    "Hello &amp; welcome &lt;home&gt;",
    "cafÃ© au lait, schÃ¶n",
    "â€œHelloâ€\x9d she said",
    "The ﬁrst ﬂight",
    "👨‍👩‍👧‍👦 family 🇯🇵 trip 👍🏽",
    "Ünïcödé   with\ttabs\nand\nnewlines  ",
    "e\u0301 combining vs é precomposed",
    "नमस्ते दुनिया",
    "東京タワーの夜景",
    "مرحبا بالعالم ١٢٣",
    "numbers 1234567890 and 3.14 and 1e10",
    "punctuation!!! ??? ... ;;; --- ***",
    "under_score snake_case_name",
    "it's I'M we'Ll THEY'VE",
    "<start_of_text>literal specials<end_of_text>",
    "<START_OF_TEXT> upper specials",
    "x" * 300,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "word " * 100,
]


def generated_texts(count: int, seed: int) -> list[str]:
    """Deterministic random mixtures of WORDS with varied separators, some long enough to be truncated."""
    rng = random.Random(seed)
    separators = [" ", " ", " ", "", "  ", "\t", "\n", ", ", "-", "."]
    texts = []
    for _ in range(count):
        length = rng.choice([1, 2, 3, 5, 8, 13, 40, 90])
        parts = []
        for _ in range(length):
            parts.append(rng.choice(WORDS))
            parts.append(rng.choice(separators))
        text = "".join(parts)
        if rng.random() < 0.3:
            text = text.upper()
        if rng.random() < 0.2:
            text = "  " + text + " \n"
        texts.append(text)
    return texts


ALL_TEXTS = HAND_PICKED + WORDS + generated_texts(300, seed=1234)


@pytest.fixture(scope="module")
def bpe_path() -> Path:
    return default_bpe_path()


@pytest.fixture(scope="module")
def tokenizer(bpe_path: Path) -> ClipTokenizer:
    return ClipTokenizer.from_bpe_file(bpe_path)


def reference_ids(reference: SimpleTokenizer, texts: list[str], context_length: int | None = None) -> np.ndarray:
    return reference(texts, context_length=context_length).numpy()


def test_default_bpe_path_is_open_clips_file(bpe_path: Path) -> None:
    assert bpe_path.name == "bpe_simple_vocab_16e6.txt.gz"
    assert bpe_path.parent == Path(open_clip.__file__).parent


def test_import_does_not_import_torch() -> None:
    probe = "import indexer.tokenizer, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr


def test_vocabulary_matches_open_clip(tokenizer: ClipTokenizer) -> None:
    reference = SimpleTokenizer()
    assert tokenizer.vocab_size == reference.vocab_size == 49408
    assert tokenizer.sot_token_id == reference.sot_token_id == 49406
    assert tokenizer.eot_token_id == reference.eot_token_id == 49407
    assert tokenizer.context_length == 77


def test_encode_matches_open_clip_per_text(tokenizer: ClipTokenizer) -> None:
    reference = SimpleTokenizer()
    mismatches = [text for text in ALL_TEXTS if tokenizer.encode(text) != reference.encode(text)]
    assert mismatches == []


def test_batch_matches_open_clip_tokenize(tokenizer: ClipTokenizer) -> None:
    ours = tokenizer(ALL_TEXTS)
    assert ours.dtype == np.int64
    assert ours.shape == (len(ALL_TEXTS), 77)
    np.testing.assert_array_equal(ours, open_clip.tokenize(ALL_TEXTS).numpy())


def test_texts_generated_include_truncated_ones(tokenizer: ClipTokenizer) -> None:
    # Guards the corpus itself: without over-long texts the comparisons above would not exercise truncation.
    lengths = [len(tokenizer.encode(text)) for text in ALL_TEXTS]
    assert sum(length > 75 for length in lengths) >= 20
    assert sum(length == 0 for length in lengths) >= 3


def test_single_string_gives_one_row(tokenizer: ClipTokenizer) -> None:
    row = tokenizer("a dog")
    assert row.shape == (1, 77)
    assert list(row[0, :4]) == [49406, 320, 1929, 49407]
    assert not row[0, 4:].any()


def test_empty_batch(tokenizer: ClipTokenizer) -> None:
    assert tokenizer([]).shape == (0, 77)


@pytest.mark.parametrize("word_count", [74, 75, 76, 77, 200])
def test_truncation_boundary_like_open_clip(tokenizer: ClipTokenizer, word_count: int) -> None:
    text = " ".join(["a"] * word_count)  # "a" is one token, so the row holds word_count + 2 ids before truncation
    ours = tokenizer([text])
    np.testing.assert_array_equal(ours, open_clip.tokenize([text]).numpy())
    used = min(word_count + 2, 77)
    assert ours[0, used - 1] == tokenizer.eot_token_id
    assert not ours[0, used:].any()
    if word_count + 2 > 77:
        assert list(ours[0, -2:]) == [320, tokenizer.eot_token_id]


@pytest.mark.parametrize("context_length", [16, 32, 64])
def test_other_context_lengths(bpe_path: Path, context_length: int) -> None:
    ours = ClipTokenizer.from_bpe_file(bpe_path, context_length=context_length)
    reference = SimpleTokenizer(context_length=context_length)
    texts = ALL_TEXTS[:150]
    result = ours(texts)
    assert result.shape == (len(texts), context_length)
    np.testing.assert_array_equal(result, reference_ids(reference, texts))


@pytest.mark.parametrize("clean", ["whitespace", "canonicalize"])
def test_other_clean_modes(bpe_path: Path, clean: str) -> None:
    ours = ClipTokenizer.from_bpe_file(bpe_path, clean=clean)
    reference = SimpleTokenizer(clean=clean)
    np.testing.assert_array_equal(ours(ALL_TEXTS), reference_ids(reference, ALL_TEXTS))
    assert ours.clean == clean


def test_clean_modes_differ(bpe_path: Path) -> None:
    text = "Hello, World_Wide!"
    lower = ClipTokenizer.from_bpe_file(bpe_path).encode(text)
    whitespace = ClipTokenizer.from_bpe_file(bpe_path, clean="whitespace").encode(text)
    canonical = ClipTokenizer.from_bpe_file(bpe_path, clean="canonicalize").encode(text)
    assert len({tuple(lower), tuple(whitespace), tuple(canonical)}) == 3


def test_repeated_calls_use_cache_consistently(tokenizer: ClipTokenizer) -> None:
    text = "a photograph of snowy mountains at dawn"
    assert tokenizer.encode(text) == tokenizer.encode(text) == SimpleTokenizer().encode(text)


def test_invalid_arguments(bpe_path: Path, tokenizer: ClipTokenizer) -> None:
    with pytest.raises(TokenizerError, match="clean"):
        ClipTokenizer.from_bpe_file(bpe_path, clean="upper")
    with pytest.raises(TokenizerError, match="context length"):
        ClipTokenizer([("a", "b")], context_length=0)
    with pytest.raises(TokenizerError, match="str"):
        tokenizer.encode(b"bytes")  # type: ignore[arg-type]


def test_missing_and_corrupt_bpe_files(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="not found"):
        ClipTokenizer.from_bpe_file(tmp_path / "absent.txt.gz")
    not_gzip = tmp_path / "plain.txt.gz"
    not_gzip.write_text("header\ni n\n")
    with pytest.raises(TokenizerError) as caught:
        ClipTokenizer.from_bpe_file(not_gzip)
    assert caught.value.reason
    bad_line = tmp_path / "bad.txt.gz"
    with gzip.open(bad_line, "wt", encoding="utf-8") as handle:
        handle.write("header\ni n\nt h e\n")
    with pytest.raises(TokenizerError, match="two symbols"):
        ClipTokenizer.from_bpe_file(bad_line)


# --- HuggingFace files --------------------------------------------------------------------------------------


def write_hf_files(directory: Path, reference: SimpleTokenizer, bpe_path: Path) -> tuple[Path, Path]:
    """Write vocab.json and merges.txt as HF's CLIPTokenizer publishes them, built from open_clip's reference."""
    vocab = {token: token_id for token, token_id in reference.encoder.items()}
    vocab["<|startoftext|>"] = vocab.pop("<start_of_text>")
    vocab["<|endoftext|>"] = vocab.pop("<end_of_text>")
    vocab_path = directory / "vocab.json"
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")[1 : MERGES_USED + 1]
    merges_path = directory / "merges.txt"
    merges_path.write_text("#version: 0.2\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return vocab_path, merges_path


@pytest.fixture(scope="module")
def hf_files(tmp_path_factory: pytest.TempPathFactory, bpe_path: Path) -> tuple[Path, Path]:
    return write_hf_files(tmp_path_factory.mktemp("hf"), SimpleTokenizer(), bpe_path)


def test_hf_files_agree_with_bpe_file(hf_files: tuple[Path, Path], tokenizer: ClipTokenizer) -> None:
    vocab_path, merges_path = hf_files
    from_hf = ClipTokenizer.from_hf_files(vocab_path, merges_path)
    assert from_hf.vocab_size == tokenizer.vocab_size
    assert (from_hf.sot_token_id, from_hf.eot_token_id) == (tokenizer.sot_token_id, tokenizer.eot_token_id)
    np.testing.assert_array_equal(from_hf(ALL_TEXTS), tokenizer(ALL_TEXTS))


def test_hf_files_respect_options(hf_files: tuple[Path, Path], bpe_path: Path) -> None:
    vocab_path, merges_path = hf_files
    from_hf = ClipTokenizer.from_hf_files(vocab_path, merges_path, context_length=32, clean="canonicalize")
    reference = SimpleTokenizer(context_length=32, clean="canonicalize")
    np.testing.assert_array_equal(from_hf(ALL_TEXTS[:80]), reference_ids(reference, ALL_TEXTS[:80]))


def _load_vocab(hf_files: tuple[Path, Path]) -> dict[str, int]:
    return json.loads(hf_files[0].read_text(encoding="utf-8"))


def _malformed_vocabs(vocab: dict[str, int]) -> dict[str, object]:
    swapped = dict(vocab)
    swapped["a</w>"], swapped["the</w>"] = vocab["the</w>"], vocab["a</w>"]
    extra = dict(vocab)
    extra["<pad>"] = len(vocab)
    missing = dict(vocab)
    del missing["dog</w>"]
    renamed_special = dict(vocab)
    renamed_special["<s>"] = renamed_special.pop("<|startoftext|>")
    wrong_type = dict(vocab)
    wrong_type["dog</w>"] = str(vocab["dog</w>"])
    return {
        "swapped ids": swapped,
        "extra token": extra,
        "missing token": missing,
        "renamed special": renamed_special,
        "string id": wrong_type,
        "a list": list(vocab),
    }


@pytest.mark.parametrize(
    "case", ["swapped ids", "extra token", "missing token", "renamed special", "string id", "a list"]
)
def test_malformed_vocab_is_refused(hf_files: tuple[Path, Path], tmp_path: Path, case: str) -> None:
    bad_vocab = tmp_path / "vocab.json"
    bad_vocab.write_text(json.dumps(_malformed_vocabs(_load_vocab(hf_files))[case]), encoding="utf-8")
    with pytest.raises(TokenizerError) as caught:
        ClipTokenizer.from_hf_files(bad_vocab, hf_files[1])
    assert "vocab.json" in caught.value.reason


def test_vocab_that_is_not_json_or_absent(hf_files: tuple[Path, Path], tmp_path: Path) -> None:
    broken = tmp_path / "vocab.json"
    broken.write_text('{"a": 1,', encoding="utf-8")
    with pytest.raises(TokenizerError, match="JSON"):
        ClipTokenizer.from_hf_files(broken, hf_files[1])
    with pytest.raises(TokenizerError, match="not found"):
        ClipTokenizer.from_hf_files(tmp_path / "nope.json", hf_files[1])


def test_merges_of_a_different_tokenizer_are_refused(hf_files: tuple[Path, Path], tmp_path: Path) -> None:
    # Dropping a merge shifts every later id, which vocab.json then contradicts.
    lines = hf_files[1].read_text(encoding="utf-8").split("\n")
    shifted = tmp_path / "merges.txt"
    shifted.write_text("\n".join(lines[:1] + lines[2:]), encoding="utf-8")
    with pytest.raises(TokenizerError):
        ClipTokenizer.from_hf_files(hf_files[0], shifted)


def test_query_latency_is_reported(tokenizer: ClipTokenizer) -> None:
    """Measures warm latency of one short query; reported, not asserted (shared CPUs make timings noisy)."""
    query = "a dog running on the beach at sunset"
    expected = open_clip.tokenize([query]).numpy()
    tokenizer([query])
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        result = tokenizer(query)
    per_query_us = (time.perf_counter() - start) / rounds * 1e6
    print(f"\nwarm tokenizer latency: {per_query_us:.1f} us per short query")
    np.testing.assert_array_equal(result, expected)
