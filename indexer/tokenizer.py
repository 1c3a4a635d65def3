"""CLIP's byte-level BPE tokenizer, without torch.

The ONNX text towers we run were exported from open_clip, so a query must become exactly the ids open_clip's
``SimpleTokenizer`` would produce: same text cleaning (ftfy, html unescape, whitespace, optional lower-casing or
canonicalising), same pre-tokenising regex, same byte-to-character table, same merges, same truncation. We cannot
reuse open_clip's class because importing open_clip imports torch, and this module sits on the search path.

Merges come either from open_clip's ``bpe_simple_vocab_16e6.txt.gz`` or from HuggingFace ``vocab.json`` +
``merges.txt`` (the layout Immich publishes next to its textual ONNX models); both describe the same vocabulary.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import json
import logging
import string
import zlib
from collections.abc import Sequence
from pathlib import Path

import ftfy
import numpy as np
import regex

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT_LENGTH = 77
BPE_FILE_NAME = "bpe_simple_vocab_16e6.txt.gz"

# open_clip and HF both read exactly this many merge lines (counted as the original CLIP code does), whatever else
# the file holds: 512 byte symbols + 48894 merges + 2 specials = 49408 ids.
MERGES_USED = 49152 - 256 - 2

SOT_TEXT = "<start_of_text>"
EOT_TEXT = "<end_of_text>"
# HuggingFace names the same two ids differently.
_HF_SPECIAL_NAMES = {
    SOT_TEXT: ("<|startoftext|>", SOT_TEXT),
    EOT_TEXT: ("<|endoftext|>", EOT_TEXT),
}
_END_OF_WORD = "</w>"
_CLEAN_MODES = ("lower", "whitespace", "canonicalize")
# Bounded so a long-running app fed arbitrary queries cannot grow without limit; CLIP queries reuse few words.
_CACHE_LIMIT = 100_000
_PUNCTUATION_REMOVER = str.maketrans("", "", string.punctuation)


class TokenizerError(Exception):
    """The tokenizer files are missing or do not describe CLIP's BPE vocabulary, or the input is unusable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _byte_characters() -> dict[int, str]:
    """One printable character per byte value, so BPE never sees whitespace or control characters.

    Bytes that are already visible Latin-1 characters stand for themselves; the others (controls, space, soft
    hyphen...) are renamed to code points 256 and up, in byte order.
    """
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    visible_set = set(visible)
    table = {byte: chr(byte) for byte in visible}
    moved = (byte for byte in range(256) if byte not in visible_set)
    table.update({byte: chr(256 + rank) for rank, byte in enumerate(moved)})
    return table


def _byte_alphabet() -> list[str]:
    """The byte characters in CLIP's vocabulary order: visible bytes first, then the renamed ones."""
    return sorted(_byte_characters().values())


def _basic_clean(text: str) -> str:
    text = ftfy.fix_text(text)
    # Twice: scraped captions are often double-escaped ("&amp;amp;"), and CLIP was trained on text cleaned so.
    text = html.unescape(html.unescape(text))
    return text.strip()


def _collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def _clean_lower(text: str) -> str:
    return _collapse_whitespace(_basic_clean(text)).lower()


def _clean_whitespace(text: str) -> str:
    return _collapse_whitespace(_basic_clean(text))


def _clean_canonicalize(text: str) -> str:
    text = _basic_clean(text).replace("_", " ").translate(_PUNCTUATION_REMOVER).lower()
    return _collapse_whitespace(text)


_CLEANERS = {"lower": _clean_lower, "whitespace": _clean_whitespace, "canonicalize": _clean_canonicalize}


def clean_text(text: str, mode: str) -> str:
    """open_clip's text cleaning ``mode`` ('lower', 'whitespace', 'canonicalize'); 'none' returns ``text`` as is."""
    if mode == "none":
        return text
    try:
        return _CLEANERS[mode](text)
    except KeyError:
        raise TokenizerError(f"unknown clean mode {mode!r}; expected none or one of {', '.join(_CLEAN_MODES)}") from None


class ClipTokenizer:
    """Text to CLIP token ids, identical to open_clip's ``SimpleTokenizer`` (no reduction mask).

    Safe to share between threads: the only mutable state is a word cache whose updates are single dict operations.
    """

    def __init__(
        self,
        merges: list[tuple[str, str]],
        context_length: int = DEFAULT_CONTEXT_LENGTH,
        clean: str = "lower",
    ) -> None:
        if clean not in _CLEANERS:
            raise TokenizerError(f"unknown clean mode {clean!r}; expected one of {', '.join(_CLEAN_MODES)}")
        if not isinstance(context_length, int) or isinstance(context_length, bool) or context_length < 1:
            raise TokenizerError(f"context length must be a positive integer, got {context_length!r}")
        pairs: list[tuple[str, str]] = []
        for number, merge in enumerate(merges, start=1):
            if len(merge) != 2 or not all(isinstance(part, str) and part for part in merge):
                raise TokenizerError(f"merge {number} is not a pair of non-empty strings: {merge!r}")
            pairs.append((merge[0], merge[1]))

        alphabet = _byte_alphabet()
        vocab = alphabet + [char + _END_OF_WORD for char in alphabet]
        vocab += [first + second for first, second in pairs]
        vocab += [SOT_TEXT, EOT_TEXT]
        # dict() keeps the last id of a repeated entry, as open_clip does.
        self._encoder: dict[str, int] = dict(zip(vocab, range(len(vocab))))
        self._ranks: dict[tuple[str, str], int] = dict(zip(pairs, range(len(pairs))))
        self._sot = self._encoder[SOT_TEXT]
        self._eot = self._encoder[EOT_TEXT]
        self._context_length = context_length
        self._clean_name = clean
        self._clean = _CLEANERS[clean]
        self._byte_table = _byte_characters()
        # The specials are alternatives of the regex, so a literal "<start_of_text>" in a query becomes that id,
        # exactly like open_clip. They are matched case-insensitively but only the exact spelling is special.
        specials = "|".join(regex.escape(token) for token in (SOT_TEXT, EOT_TEXT))
        self._pattern = regex.compile(
            specials + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )
        self._special_ids = {SOT_TEXT: (self._sot,), EOT_TEXT: (self._eot,)}
        self._cache: dict[str, tuple[int, ...]] = dict(self._special_ids)

    @classmethod
    def from_bpe_file(
        cls, path: str | Path, context_length: int = DEFAULT_CONTEXT_LENGTH, clean: str = "lower"
    ) -> ClipTokenizer:
        """Load open_clip's gzip merges file: a header line, then one ``first second`` merge per line."""
        path = Path(path)
        try:
            with gzip.open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
        except FileNotFoundError as exc:
            raise TokenizerError(f"BPE merges file not found: {path}") from exc
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise TokenizerError(f"cannot read BPE merges file {path}: {exc}") from exc
        lines = text.split("\n")[1 : MERGES_USED + 1]
        merges = _parse_merge_lines(lines, path)
        logger.debug("loaded %d BPE merges from %s", len(merges), path)
        return cls(merges, context_length=context_length, clean=clean)

    @classmethod
    def from_hf_files(
        cls,
        vocab_json: Path,
        merges_txt: Path,
        context_length: int = DEFAULT_CONTEXT_LENGTH,
        clean: str = "lower",
    ) -> ClipTokenizer:
        """Load HuggingFace ``CLIPTokenizer`` files and check that ``vocab.json`` is CLIP's layout.

        We rebuild the vocabulary from the merges (as open_clip does) rather than trusting ``vocab.json``, then
        require every id in ``vocab.json`` to agree: a different tokenizer (XLM-R, SigLIP...) is refused here
        instead of silently producing ids the model was not trained on.
        """
        vocab_json, merges_txt = Path(vocab_json), Path(merges_txt)
        try:
            merges_text = merges_txt.read_text(encoding="utf-8")
            vocab_text = vocab_json.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise TokenizerError(f"tokenizer file not found: {exc.filename}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenizerError(f"cannot read tokenizer files: {exc}") from exc
        lines = merges_text.strip().split("\n")
        if lines and lines[0].startswith("#version"):
            lines = lines[1:]
        merges = _parse_merge_lines(lines[:MERGES_USED], merges_txt)
        try:
            published = json.loads(vocab_text)
        except json.JSONDecodeError as exc:
            raise TokenizerError(f"{vocab_json} is not valid JSON: {exc}") from exc
        tokenizer = cls(merges, context_length=context_length, clean=clean)
        tokenizer._check_published_vocab(published, vocab_json)
        logger.debug("loaded %d BPE merges from %s, ids agree with %s", len(merges), merges_txt, vocab_json)
        return tokenizer

    def _check_published_vocab(self, published: object, source: Path) -> None:
        if not isinstance(published, dict) or not all(
            isinstance(token, str) and isinstance(token_id, int) for token, token_id in published.items()
        ):
            raise TokenizerError(f"{source} is not a mapping of tokens to integer ids")
        if len(published) != self.vocab_size:
            raise TokenizerError(
                f"{source} has {len(published)} entries, CLIP's BPE layout for these merges has {self.vocab_size}"
            )
        for token, token_id in self._encoder.items():
            if token in _HF_SPECIAL_NAMES:
                names = _HF_SPECIAL_NAMES[token]
                if not any(published.get(name) == token_id for name in names):
                    raise TokenizerError(f"{source} does not give {names[0]} the id {token_id}")
            elif published.get(token) != token_id:
                raise TokenizerError(
                    f"{source} maps {token!r} to {published.get(token)!r}, CLIP's BPE layout expects {token_id}"
                )

    @property
    def sot_token_id(self) -> int:
        return self._sot

    @property
    def eot_token_id(self) -> int:
        return self._eot

    @property
    def context_length(self) -> int:
        return self._context_length

    @property
    def vocab_size(self) -> int:
        return len(self._encoder)

    @property
    def clean(self) -> str:
        return self._clean_name

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` after cleaning, without the start/end tokens and without truncation."""
        if not isinstance(text, str):
            raise TokenizerError(f"can only tokenize str, got {type(text).__name__}")
        ids: list[int] = []
        cache = self._cache
        for piece in self._pattern.findall(self._clean(text)):
            piece_ids = cache.get(piece)
            if piece_ids is None:
                piece_ids = self._encode_piece(piece)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                    cache.update(self._special_ids)
                cache[piece] = piece_ids
            ids.extend(piece_ids)
        return ids

    def __call__(self, texts: str | Sequence[str]) -> np.ndarray:
        """int64 ids of shape ``[len(texts), context_length]``: start, tokens, end, then zeros.

        Over-long text is cut to ``context_length`` ids and the last one replaced by the end token, as open_clip
        does, so the text tower still finds its end-of-text position.
        """
        if isinstance(texts, str):
            texts = [texts]
        length = self._context_length
        result = np.zeros((len(texts), length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self._sot, *self.encode(text), self._eot]
            if len(ids) > length:
                ids = ids[:length]
                ids[-1] = self._eot
            result[row, : len(ids)] = ids
        return result

    def _encode_piece(self, piece: str) -> tuple[int, ...]:
        # latin-1 turns each UTF-8 byte into the code point of the same value, which the table then renames.
        chars = piece.encode("utf-8").decode("latin-1").translate(self._byte_table)
        symbols = [*chars[:-1], chars[-1] + _END_OF_WORD]
        encoder = self._encoder
        return tuple(encoder[symbol] for symbol in self._merge(symbols))

    def _merge(self, symbols: list[str]) -> list[str]:
        """Apply merges lowest rank first; each round joins every non-overlapping occurrence, left to right."""
        ranks = self._ranks
        while len(symbols) > 1:
            best_rank = -1
            best: tuple[str, str] | None = None
            for pair in zip(symbols, symbols[1:]):
                rank = ranks.get(pair)
                if rank is not None and (best is None or rank < best_rank):
                    best_rank, best = rank, pair
            if best is None:
                break
            first, second = best
            joined = first + second
            merged: list[str] = []
            index, last = 0, len(symbols) - 1
            while index <= last:
                if index < last and symbols[index] == first and symbols[index + 1] == second:
                    merged.append(joined)
                    index += 2
                else:
                    merged.append(symbols[index])
                    index += 1
            symbols = merged
        return symbols


def _parse_merge_lines(lines: list[str], source: Path) -> list[tuple[str, str]]:
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    merges: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if len(parts) != 2:
            raise TokenizerError(f"{source}: merge {number} is not two symbols: {line[:80]!r}")
        merges.append((parts[0], parts[1]))
    if not merges:
        raise TokenizerError(f"{source} holds no BPE merges")
    return merges


def default_bpe_path() -> Path:
    """open_clip's bundled merges file, found without importing open_clip (which would import torch)."""
    try:
        spec = importlib.util.find_spec("open_clip")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / BPE_FILE_NAME
        if candidate.is_file():
            return candidate
    if spec is None:
        raise TokenizerError(
            f"open_clip is not installed, so its {BPE_FILE_NAME} cannot be found; use the tokenizer files of the model"
        )
    raise TokenizerError(f"open_clip is installed but has no {BPE_FILE_NAME} in {', '.join(locations) or 'its package'}")
