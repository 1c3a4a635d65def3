"""The PyTorch modules ``indexer.export`` traces to ONNX: each tower as a plain module, and the
length-agnostic text tower of causal CLIP text transformers (a short query runs only up to its
end-of-text token, with output identical to the full context; the export's parity check proves it)."""

from __future__ import annotations

import contextlib

import numpy as np
import open_clip
import torch


class _ImageTower(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(image, normalize=False)


class _TextTower(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(text, normalize=False)


class _TrimmedTextTower(torch.nn.Module):
    """The text tower of a causal CLIP text transformer, for any sequence length up to the context.

    With a causal mask the pooled (end-of-text) token never sees the padding after it, so
    running only up to the longest end-of-text token gives the same embedding as the full
    77 tokens — and a short query costs a fraction of the compute. Same steps as
    ``open_clip.CLIP.encode_text``, with the positional embedding and mask cut to the input.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        from open_clip.transformer import text_global_pool

        m = self.model
        length = text.shape[1]
        x = m.token_embedding(text)
        x = x + m.positional_embedding[:length]
        x = m.transformer(x, attn_mask=m.attn_mask[:length, :length])
        x = m.ln_final(x)
        x = text_global_pool(x, text, m.text_pool_type, eos_token_id=getattr(m, "text_eos_id", None))
        if m.text_projection is not None:
            x = m.text_projection(x) if isinstance(m.text_projection, torch.nn.Linear) else x @ m.text_projection
        return x


class _LengthAgnosticAttention(torch.nn.Module):
    """Self-attention computed from an ``nn.MultiheadAttention``'s weights without baking the
    sequence length into the graph (the stock module's traced reshapes fix it to the example's).
    Used only while exporting a trimmable text tower; parity against the stock module is checked."""

    def __init__(self, mha: torch.nn.MultiheadAttention) -> None:
        super().__init__()
        self.mha = mha

    def forward(self, q, k=None, v=None, need_weights=False, attn_mask=None):
        mha = self.mha
        x = q if mha.batch_first else q.transpose(0, 1)
        heads = mha.num_heads
        head_dim = mha.embed_dim // heads
        batch = x.shape[0]
        qkv = torch.nn.functional.linear(x, mha.in_proj_weight, mha.in_proj_bias)
        qkv = qkv.reshape(batch, -1, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        scores = (qkv[0] * head_dim ** -0.5) @ qkv[1].transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        out = (scores.softmax(dim=-1) @ qkv[2]).transpose(1, 2).reshape(batch, -1, mha.embed_dim)
        out = mha.out_proj(out)
        return (out if mha.batch_first else out.transpose(0, 1)), None


@contextlib.contextmanager
def _length_agnostic_attention(model: torch.nn.Module):
    """Swap the text transformer's attention modules for ``_LengthAgnosticAttention`` meanwhile."""
    swapped = []
    for block in model.transformer.resblocks:
        attn = getattr(block, "attn", None)
        if isinstance(attn, torch.nn.MultiheadAttention) and attn._qkv_same_embed_dim:
            block.attn = _LengthAgnosticAttention(attn)
            swapped.append((block, attn))
    try:
        yield
    finally:
        for block, attn in swapped:
            block.attn = attn


def _can_trim_text(model: torch.nn.Module) -> bool:
    """Causal CLIP text towers pooled at the end-of-text token (the highest id) can be trimmed."""
    return (
        isinstance(model, open_clip.CLIP)
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", None) == "argmax"
    )


def trim_tokens(tokens: np.ndarray) -> np.ndarray:
    """Cut a batch of token ids after the last end-of-text token (the highest id in each row)."""
    return tokens[:, : int(tokens.argmax(axis=1).max()) + 1]
