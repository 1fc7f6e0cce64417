"""What the router reads from a prompt: its frozen-encoder embedding plus cheap token features.

Every feature here is also computed inside the exported ONNX graph from ``input_ids`` / ``attention_mask``, with the
same tokenizer set-up (:func:`slmprofile.runtime.configure_tokenizer`: truncation to the encoder's maximum length),
so training and serving see the same numbers:

- ``embedding``: mean-pooled, L2-normalised MiniLM vector (what :class:`slmprofile.embed.Embedder` returns with
  ``long_text="truncate"``);
- ``length``: ``log1p(word pieces) / log1p(max_length)`` (longer questions are harder for small models);
- ``bag of word pieces``: the count of each vocabulary id over the (truncated) prompt divided by
  ``sqrt(word pieces)``; the head learns one weight per id, so this is a linear bag-of-words model that lives in the
  graph as one ``Gather`` + sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..embed import Embedder


@dataclass
class RouterFeatures:
    """Router inputs for ``n`` prompts.

    ``embeddings``: float32 ``(n, dim)``, unit norm; ``input_ids``: int32 ``(n, max_len)`` padded with 0;
    ``attention_mask``: int8 ``(n, max_len)``; ``vocab_size``: the tokenizer's vocabulary size;
    ``max_length``: the truncation length.
    """

    embeddings: np.ndarray
    input_ids: np.ndarray
    attention_mask: np.ndarray
    vocab_size: int
    max_length: int

    def __post_init__(self) -> None:
        n = len(self.embeddings)
        if len(self.input_ids) != n or len(self.attention_mask) != n:
            raise ValueError(f"embeddings ({n} rows) and token ids ({len(self.input_ids)} rows) must describe the "
                             "same prompts")

    def __len__(self) -> int:
        return len(self.embeddings)

    @property
    def n_tokens(self) -> np.ndarray:
        """Word pieces per prompt after truncation (special tokens included), float32 ``(n,)``."""
        import numpy as np

        return self.attention_mask.sum(axis=1).astype(np.float32)

    def subset(self, index: Any) -> RouterFeatures:
        """The rows ``index`` (a boolean mask or integer positions)."""
        return RouterFeatures(self.embeddings[index], self.input_ids[index], self.attention_mask[index],
                              self.vocab_size, self.max_length)

    def length_feature(self) -> np.ndarray:
        """``log1p(n_tokens) / log1p(max_length)``, float32 ``(n, 1)``."""
        import numpy as np

        return (np.log1p(self.n_tokens) / self.log_max).astype(np.float32)[:, None]

    @property
    def log_max(self) -> np.float32:
        """``log1p(max_length)``: the length feature's scale."""
        import numpy as np

        return np.float32(np.log1p(self.max_length))

    def bag_of_pieces(self, *, scaled: bool = True) -> Any:
        """Sparse CSR ``(n, vocab_size)``: count of each id over the prompt, divided by sqrt(word pieces) when
        ``scaled`` (the fit's feature; the head divides the unscaled sum itself, see :mod:`.head_math`)."""
        import numpy as np
        from scipy.sparse import csr_matrix

        n, width = self.input_ids.shape
        mask = self.attention_mask.astype(bool)
        rows = np.repeat(np.arange(n), width)[mask.ravel()]
        cols = self.input_ids.ravel()[mask.ravel()].astype(np.int64)
        scale = 1.0 / np.sqrt(np.maximum(self.n_tokens, 1.0)) if scaled else np.ones(n, dtype=np.float32)
        matrix = csr_matrix((scale[rows].astype(np.float64), (rows, cols)), shape=(n, self.vocab_size))
        matrix.sum_duplicates()
        return matrix


def tokenize_for_router(texts: Sequence[str], tokenizer: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids int32, attention_mask int8)`` padded to the longest prompt, with a configured tokenizer."""
    import numpy as np

    encodings = tokenizer.encode_batch(["" if t is None else str(t) for t in texts])
    longest = max((len(e.ids) for e in encodings), default=1)
    ids = np.zeros((len(encodings), longest), dtype=np.int32)
    mask = np.zeros((len(encodings), longest), dtype=np.int8)
    for row, enc in enumerate(encodings):
        ids[row, :len(enc.ids)] = enc.ids
        mask[row, :len(enc.ids)] = 1
    return ids, mask


def encoder_tokenizer(model_path: str | Path | None = None, max_length: int | None = None) -> tuple[Any, int]:
    """The encoder's ``tokenizers.Tokenizer`` (configured) and its maximum length.

    ``max_length`` defaults to the sentence-transformers ``max_seq_length`` of the model directory.
    """
    import json

    from ..embed import default_model_path
    from ..runtime import load_tokenizer

    path = Path(model_path) if model_path else default_model_path()
    if max_length is None:  # sentence-transformers' setting, else the tokenizer's, else MiniLM's
        config = path / "sentence_bert_config.json"
        found = json.loads(config.read_text()).get("max_seq_length") if config.is_file() else None
        tok_config = path / "tokenizer_config.json"
        if found is None and tok_config.is_file():
            found = json.loads(tok_config.read_text()).get("model_max_length")
        max_length = int(found) if found and int(found) <= 100_000 else 256
    tokenizer_file = path / "tokenizer.json"
    if not tokenizer_file.is_file():
        from ..errors import SlmprofileError

        raise SlmprofileError(f"{tokenizer_file}: not found; the router needs a fast (tokenizers) tokenizer")
    return load_tokenizer(tokenizer_file, max_length), max_length


def build_features(texts: Sequence[str], *, embeddings: np.ndarray | None = None, embedder: Embedder | None = None,
                   model_path: str | Path | None = None) -> RouterFeatures:
    """Router features for ``texts``: embeds them (cached) unless ``embeddings`` are given, and tokenises them.

    ``embeddings`` must come from the same encoder with ``long_text="truncate"`` and unit normalisation (what
    ``slmprofile embed`` writes by default).
    """
    import numpy as np

    from ..embed import Embedder
    from ..errors import SlmprofileError

    texts = ["" if t is None else str(t) for t in texts]
    if embeddings is None:
        embedder = embedder or Embedder()
        if embedder.long_text != "truncate" or not embedder.normalize:
            raise SlmprofileError("the router's graph embeds the head of each prompt, unit-normalised: use an "
                                  "Embedder with long_text='truncate' and normalize=True")
        embeddings = embedder.encode(texts)
        model_path = model_path or embedder.model
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) != len(texts):
        raise SlmprofileError(f"embeddings must be (n_texts, dim) = ({len(texts)}, dim); got {embeddings.shape}")
    if not np.isfinite(embeddings).all():
        raise SlmprofileError("embeddings contain missing or non-finite values")
    tokenizer, max_length = encoder_tokenizer(model_path)
    ids, mask = tokenize_for_router(texts, tokenizer)
    return RouterFeatures(embeddings=embeddings, input_ids=ids, attention_mask=mask,
                          vocab_size=int(tokenizer.get_vocab_size()), max_length=max_length)
