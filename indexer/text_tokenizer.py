"""Any Hugging Face ``tokenizer.json`` (CLIP BPE, SigLIP/Gemma SentencePiece, XLM-R, NLLB...), without torch.

The ``tokenizers`` library (Rust) runs the normaliser, pre-tokeniser, model and post-processor the file describes,
so ids are the ones ``transformers``' fast tokenizer gives for the same files when called the way CLIP-style text
towers are called: ``padding='max_length'``, ``truncation=True``, ``max_length=context_length`` (the post-processor's
special tokens are kept when a long text is cut). What the file does not say comes from the export's configs and
is passed in: the context length, the pad token and padding/truncation side (``tokenizer_config.json``), and an
optional open_clip text cleaning applied first (``lower``/``whitespace``/``canonicalize``, as open_clip's
``HFTokenizer`` does for e.g. SigLIP).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.tokenizer import TokenizerError, clean_text

logger = logging.getLogger(__name__)

TOKENIZER_JSON = "tokenizer.json"
CLEAN_MODES = ("none", "lower", "whitespace", "canonicalize")
_SIDES = ("right", "left")


def _token_text(value: Any) -> str | None:
    """A special token as ``tokenizer_config.json`` writes it: a string or a serialised AddedToken."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        return value["content"]
    return None


class JsonTokenizer:
    """Texts to ``[N, context_length]`` int64 ids (and an attention mask) from one ``tokenizer.json``.

    Safe to share between threads: padding and truncation are configured once, encoding does not mutate state.
    """

    def __init__(
        self,
        path: str | Path,
        context_length: int,
        pad_token: str | None = None,
        pad_id: int | None = None,
        clean: str = "none",
        padding_side: str = "right",
        truncation_side: str = "right",
    ) -> None:
        from tokenizers import Tokenizer

        path = Path(path)
        if clean not in CLEAN_MODES:
            raise TokenizerError(f"unknown clean mode {clean!r}; expected one of {', '.join(CLEAN_MODES)}")
        if not isinstance(context_length, int) or isinstance(context_length, bool) or context_length < 2:
            raise TokenizerError(f"context length must be an integer of at least 2, got {context_length!r}")
        if padding_side not in _SIDES or truncation_side not in _SIDES:
            raise TokenizerError(f"padding/truncation side must be 'right' or 'left', got {padding_side!r}/{truncation_side!r}")
        if not path.is_file():
            raise TokenizerError(f"tokenizer file not found: {path}")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises plain Exception for a malformed file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TokenizerError(f"{path.name} is not a usable tokenizer.json: {first[:200]}") from exc
        if pad_id is None:
            if pad_token is None:
                padding = tokenizer.padding or {}
                pad_id, pad_token = padding.get("pad_id"), padding.get("pad_token")
            else:
                pad_id = tokenizer.token_to_id(pad_token)
                if pad_id is None:
                    raise TokenizerError(f"the pad token {pad_token!r} is not in {path.name}")
        if pad_id is None:
            raise TokenizerError(f"{path.name} names no pad token and the export's configs give none")
        pad_token = pad_token or tokenizer.id_to_token(pad_id) or "[PAD]"
        tokenizer.enable_truncation(max_length=context_length, direction=truncation_side)
        tokenizer.enable_padding(length=context_length, pad_id=pad_id, pad_token=pad_token, direction=padding_side)
        self._tokenizer = tokenizer
        self._context_length = context_length
        self._pad_id = int(pad_id)
        self._clean = clean
        logger.debug("loaded %s: context %d, pad %r (%d), clean %s", path, context_length, pad_token, pad_id, clean)

    @classmethod
    def from_settings(cls, model_dir: Path, settings: Mapping[str, Any]) -> JsonTokenizer:
        """Build from a manifest's ``tokenizer`` entry (see ``settings_from_configs``)."""
        files = settings.get("files") or {}
        name = files.get("json", TOKENIZER_JSON)
        return cls(
            Path(model_dir) / name,
            context_length=int(settings.get("context_length", 77)),
            pad_token=settings.get("pad_token"),
            pad_id=settings.get("pad_id"),
            clean=settings.get("clean", "none"),
            padding_side=settings.get("padding_side", "right"),
            truncation_side=settings.get("truncation_side", "right"),
        )

    @property
    def context_length(self) -> int:
        return self._context_length

    @property
    def pad_id(self) -> int:
        return self._pad_id

    @property
    def clean(self) -> str:
        return self._clean

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def encode_with_mask(self, texts: str | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, attention mask), both int64 ``[len(texts), context_length]``."""
        if isinstance(texts, str):
            texts = [texts]
        if not all(isinstance(text, str) for text in texts):
            raise TokenizerError("can only tokenize str")
        cleaned = [clean_text(text, self._clean) for text in texts]
        length = self._context_length
        ids = np.zeros((len(cleaned), length), dtype=np.int64)
        mask = np.zeros((len(cleaned), length), dtype=np.int64)
        if not cleaned:
            return ids, mask
        try:
            encodings = self._tokenizer.encode_batch(cleaned)
        except Exception as exc:  # e.g. a context too short for the post-processor's special tokens
            raise TokenizerError(f"cannot tokenize: {str(exc).strip()[:200]}") from exc
        for row, encoding in enumerate(encodings):
            ids[row] = encoding.ids
            mask[row] = encoding.attention_mask
        return ids, mask

    def __call__(self, texts: str | Sequence[str]) -> np.ndarray:
        return self.encode_with_mask(texts)[0]


def settings_from_configs(
    tokenizer_config: Mapping[str, Any],
    context_length: int,
    clean: str = "none",
    special_tokens_map: Mapping[str, Any] | None = None,
    json_name: str = TOKENIZER_JSON,
) -> dict[str, Any]:
    """The manifest's ``tokenizer`` entry for a ``tokenizer.json`` described by ``tokenizer_config.json``.

    The pad token is the config's ``pad_token`` (CLIP's is its end-of-text token, so CLIP is EOS-padded as
    ``transformers`` and Immich do), else the special-tokens map's, else whatever ``tokenizer.json`` pads with.
    """
    pad_token = _token_text(tokenizer_config.get("pad_token"))
    if pad_token is None and special_tokens_map:
        pad_token = _token_text(special_tokens_map.get("pad_token"))
    settings: dict[str, Any] = {
        "kind": "hf-tokenizers",
        "files": {"json": json_name},
        "context_length": int(context_length),
        "clean": clean,
        "padding_side": tokenizer_config.get("padding_side") or "right",
        "truncation_side": tokenizer_config.get("truncation_side") or "right",
    }
    if pad_token is not None:
        settings["pad_token"] = pad_token
    return settings


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``{}`` when the file is absent. Raises TokenizerError when unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise TokenizerError(f"cannot read {Path(path).name}: {exc}") from exc
    return data if isinstance(data, dict) else {}
