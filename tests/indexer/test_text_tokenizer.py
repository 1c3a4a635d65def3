"""JsonTokenizer (tokenizer.json through the `tokenizers` library) must give the ids `transformers` gives for the
same files, and open_clip's ids for a CLIP vocabulary. The tokenizer files are built here: small vocabularies
trained with the `tokenizers` trainers and saved through the real `transformers` tokenizer classes (XLM-R, Gemma
as in SigLIP2, NLLB, CLIP), plus hand-assembled WordPiece and Unigram pipelines loaded as generic fast tokenizers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer.text_tokenizer import JsonTokenizer, read_json_object, settings_from_configs
from indexer.tokenizer import TokenizerError
from tests.indexer.test_tokenizer import ALL_TEXTS, HAND_PICKED, WORDS

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = WORDS + HAND_PICKED + ["the quick brown fox jumps over the lazy dog", "a photo of a cat on a sofa"] * 5
TEXTS = ALL_TEXTS + [" ".join(WORDS), "🎂" * 200, ""]


def _trained_unigram(size: int = 400) -> list[tuple[str, float]]:
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(CORPUS, trainers.UnigramTrainer(vocab_size=size, special_tokens=["<unk>"], unk_token="<unk>"))
    return [tuple(piece) for piece in json.loads(tok.to_str())["model"]["vocab"]]


def _trained_bpe(size: int = 500) -> tuple[dict[str, int], list[tuple[str, str]]]:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=size, special_tokens=["<pad>", "<unk>", "<s>", "</s>", "<bos>", "<eos>", "<mask>"]))
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return model["vocab"], merges


def _clip_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    from open_clip.tokenizer import SimpleTokenizer

    reference = SimpleTokenizer()
    vocab = dict(reference.encoder)
    vocab["<|startoftext|>"] = vocab.pop("<start_of_text>")
    vocab["<|endoftext|>"] = vocab.pop("<end_of_text>")
    return vocab, [tuple(pair) for pair in reference.bpe_ranks]


def _wordpiece_fast() -> object:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = decoders.WordPiece()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]")


def _unigram_fast() -> object:
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *[p for p in _trained_unigram(300) if p[0] != "<unk>"]]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tok.decoder = decoders.Metaspace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                                unk_token="<unk>")


def _build(kind: str) -> object:
    if kind == "xlm-roberta":
        return transformers.XLMRobertaTokenizer(vocab=_trained_unigram())
    if kind == "gemma-siglip2":
        vocab, merges = _trained_bpe()
        return transformers.GemmaTokenizer(vocab=vocab, merges=merges, padding_side="right")
    if kind == "gemma-left":
        vocab, merges = _trained_bpe()
        return transformers.GemmaTokenizer(vocab=vocab, merges=merges, padding_side="left")
    if kind == "nllb":
        vocab, merges = _trained_bpe()
        return transformers.NllbTokenizer(vocab=vocab, merges=merges, src_lang="fra_Latn")
    if kind == "clip":
        vocab, merges = _clip_vocab()
        return transformers.CLIPTokenizer(vocab=vocab, merges=merges)
    if kind == "wordpiece":
        return _wordpiece_fast()
    if kind == "unigram":
        return _unigram_fast()
    raise AssertionError(kind)


KINDS = ["xlm-roberta", "gemma-siglip2", "gemma-left", "nllb", "clip", "wordpiece", "unigram"]


@pytest.fixture(scope="module", params=KINDS)
def saved(request, tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp(request.param)
    _build(request.param).save_pretrained(str(folder))
    return request.param, folder


def _ours(folder: Path, context_length: int, clean: str = "none") -> JsonTokenizer:
    settings = settings_from_configs(read_json_object(folder / "tokenizer_config.json"), context_length, clean)
    return JsonTokenizer.from_settings(folder, settings)


@pytest.mark.parametrize("context_length", [8, 16, 77])
def test_ids_and_mask_match_transformers(saved, context_length: int) -> None:
    kind, folder = saved
    reference = transformers.AutoTokenizer.from_pretrained(str(folder))
    expected = reference(TEXTS, padding="max_length", truncation=True, max_length=context_length)
    ids, mask = _ours(folder, context_length).encode_with_mask(TEXTS)
    assert ids.shape == mask.shape == (len(TEXTS), context_length) and ids.dtype == np.int64
    mismatched = [text for text, want, got in zip(TEXTS, expected["input_ids"], ids.tolist()) if list(want) != got]
    assert mismatched == [], f"{kind}: {len(mismatched)} of {len(TEXTS)} differ, e.g. {mismatched[:3]!r}"
    np.testing.assert_array_equal(mask, np.asarray(expected["attention_mask"]))


def test_corpus_exercises_truncation_padding_and_unknowns(saved) -> None:
    _, folder = saved
    ours = _ours(folder, 16)
    _, mask = ours.encode_with_mask(TEXTS)
    assert (mask.sum(axis=1) == 16).sum() >= 50  # cut to the context
    assert (mask.sum(axis=1) < 8).sum() >= 50  # padded
    assert len(TEXTS) >= 400


def test_padding_side_left_is_honoured(tmp_path) -> None:
    _build("gemma-left").save_pretrained(str(tmp_path))
    ids, mask = _ours(tmp_path, 16).encode_with_mask(["a dog"])
    assert mask[0, 0] == 0 and mask[0, -1] == 1


@pytest.mark.parametrize("clean", ["lower", "canonicalize"])
def test_clip_tokenizer_json_gives_open_clips_ids(tmp_path, clean: str) -> None:
    """Padded with 0 and cleaned as open_clip does, HF's CLIP tokenizer.json gives open_clip's ids.

    ('whitespace' cleaning cannot match: HF's CLIP normaliser always lower-cases.)"""
    from open_clip.tokenizer import SimpleTokenizer

    _build("clip").save_pretrained(str(tmp_path))
    ours = JsonTokenizer(tmp_path / "tokenizer.json", 77, pad_id=0, clean=clean)
    # open_clip spells its specials <start_of_text>/<end_of_text>, HF <|startoftext|>: typed literally they differ.
    texts = [t for t in TEXTS if "oftext|>" not in t.lower() and "_of_text>" not in t.lower()]
    np.testing.assert_array_equal(ours(texts), SimpleTokenizer(clean=clean)(texts).numpy())


def test_open_clip_hf_tokenizer_parity(tmp_path) -> None:
    """SigLIP-style: open_clip's HFTokenizer (canonicalize, 64 tokens) on the same files gives the same ids."""
    from open_clip.tokenizer import HFTokenizer

    _build("gemma-siglip2").save_pretrained(str(tmp_path))
    reference = HFTokenizer(str(tmp_path), context_length=64, clean="canonicalize")
    np.testing.assert_array_equal(_ours(tmp_path, 64, clean="canonicalize")(TEXTS), reference(TEXTS).numpy())


def test_bad_files_and_settings_are_typed_errors(tmp_path) -> None:
    with pytest.raises(TokenizerError, match="not found"):
        JsonTokenizer(tmp_path / "tokenizer.json", 16, pad_id=0)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(TokenizerError, match="not a usable tokenizer.json"):
        JsonTokenizer(tmp_path / "tokenizer.json", 16, pad_id=0)
    _build("unigram").save_pretrained(str(tmp_path))
    with pytest.raises(TokenizerError, match="pad token"):
        JsonTokenizer(tmp_path / "tokenizer.json", 16, pad_token="<nope>")
    with pytest.raises(TokenizerError, match="context length"):
        JsonTokenizer(tmp_path / "tokenizer.json", 1, pad_id=0)
    with pytest.raises(TokenizerError, match="clean mode"):
        JsonTokenizer(tmp_path / "tokenizer.json", 16, pad_id=0, clean="shout")
    assert _ours(tmp_path, 16)([]).shape == (0, 16)


def test_import_does_not_import_torch_or_transformers() -> None:
    probe = ("import indexer.text_tokenizer, sys; bad = {'torch', 'transformers'} & set(sys.modules); "
             "assert not bad, bad")
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
