"""A static-embedding encoder distilled offline from the bundled MiniLM: one vector per word piece, a mean per prompt.

Distillation (:func:`distill_static`, done once and cached): every word piece of the encoder's vocabulary is run
through the encoder alone, as ``[CLS] piece [SEP]``, and the output is mean pooled (what sentence-transformers does
for a one-piece text); the table of piece vectors is reduced by PCA to ``dims`` dimensions (centred over the
vocabulary) and, with ``weighting="sif"``, each row is scaled by a smooth-inverse-frequency weight ``a / (a + p)``
where ``p`` is a Zipf estimate of the piece's frequency from its rank in the vocabulary (the idea of the
``model2vec`` library; written here, no new dependency). ``[PAD]``, ``[CLS]``, ``[SEP]``, ``[MASK]`` and the
``[unused*]`` pieces get zero rows, so the special tokens that every prompt carries do not move its vector.

Encoding (:class:`StaticEmbedder`, numpy + tokenizers only): tokenise (truncated to the source encoder's maximum
length), gather the pieces' rows, mean over the attention mask, L2 normalise. About 100x the throughput of the
transformer on a CPU, at some cost in quality (see docs/router.md for RouteLLM figures).

:class:`StaticEncoder` is the same look-up as a ``torch.nn.Module`` with the interface of a Hugging Face encoder
(``forward(input_ids=, attention_mask=)`` -> ``.last_hidden_state``, ``.config.hidden_size``), so the router's
export graph (:func:`slmprofile.router.export.build_graph_module`: mean pooling + normalise + head) runs on it
unchanged and the exported ``router.onnx`` is one ``Gather`` plus the head.

The cache: ``<cache_dir>/static/<source model identity>-<dims>d-<weighting>[-<subset digest>]/`` holds
``static.safetensors`` (tensor ``embeddings``, float32 ``(vocab_size, dims)``), ``static.json`` (provenance: source
model identity, dims, method, versions), the source's ``tokenizer.json`` and a ``sentence_bert_config.json`` with its
maximum length. Nothing in it is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from .encoder import default_cache_dir, default_model_path, model_identity, versions
from .errors import SlmprofileError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

logger = logging.getLogger(__name__)

STATIC_FILE = "static.safetensors"
STATIC_CONFIG = "static.json"
#: Folder of the static embedding inside a trained router directory (beside ``head.npz``), read by the export.
STATIC_DIR = "static"
STATIC_FORMAT = "slmprofile-static-embedding"
STATIC_VERSION = 1
#: Default output dimensions (PCA of MiniLM's 384): see docs/router.md for the choice.
DEFAULT_DIMS = 256
Weighting = Literal["none", "sif"]
WEIGHTINGS = ("none", "sif")
#: ``a`` of the smooth-inverse-frequency weight ``a / (a + p)``.
SIF_A = 1e-4
#: Pieces run through the encoder per forward pass while distilling.
DISTILL_BATCH = 512


def _source_path(model_path: str | Path | None) -> Path:
    if model_path is None:
        return default_model_path()
    path = Path(model_path).expanduser()
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        raise SlmprofileError(f"{path}: not a local transformer model directory with config.json and tokenizer.json "
                              "(slmprofile never downloads models)")
    return path


def _max_length(path: Path) -> int:
    config = path / "sentence_bert_config.json"
    found = json.loads(config.read_text()).get("max_seq_length") if config.is_file() else None
    return int(found) if found else 256


def special_ids(tokenizer: Any) -> list[int]:
    """Ids whose rows are zero: the special tokens and the ``[unused*]`` placeholders of a BERT vocabulary."""
    vocab = tokenizer.get_vocab()
    names = {"[PAD]", "[CLS]", "[SEP]", "[MASK]", "<pad>", "<s>", "</s>", "<mask>"}
    specials = {t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special} \
        if hasattr(tokenizer, "get_added_tokens_decoder") else set()
    specials.discard("[UNK]")  # an unknown piece is content: it keeps its vector
    return sorted(i for piece, i in vocab.items()
                  if piece in names or piece in specials or (piece.startswith("[unused") and piece.endswith("]")))


def sif_weights(vocab_size: int, zeroed: Sequence[int], *, a: float = SIF_A) -> np.ndarray:
    """``a / (a + p(rank))`` per id, ``p`` a Zipf distribution over the ids in vocabulary order (zeroed ids skipped):
    BERT-style vocabularies list pieces roughly from frequent to rare."""
    import numpy as np

    keep = np.ones(vocab_size, dtype=bool)
    keep[list(zeroed)] = False
    rank = np.zeros(vocab_size)
    rank[keep] = np.arange(1, int(keep.sum()) + 1)
    p = np.zeros(vocab_size)
    p[keep] = 1.0 / rank[keep]
    p /= p.sum()
    return (a / (a + p)).astype(np.float32)


def piece_vectors(model_path: str | Path | None = None, token_ids: Sequence[int] | None = None, *,
                  batch_size: int = DISTILL_BATCH, progress: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, vectors)``: each id's vector, the encoder's mean-pooled output for ``[CLS] piece [SEP]`` (float32
    ``(len(ids), hidden)``). ``token_ids`` default: every id but the zeroed ones (:func:`special_ids`)."""
    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    path = _source_path(model_path)
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    vocab = tokenizer.get_vocab()
    cls_id, sep_id = vocab.get("[CLS]"), vocab.get("[SEP]")
    if cls_id is None or sep_id is None:
        raise SlmprofileError(f"{path}: the static distillation needs a BERT-style vocabulary with [CLS] and [SEP]")
    zeroed = set(special_ids(tokenizer))
    ids = np.array([i for i in (range(tokenizer.get_vocab_size()) if token_ids is None else token_ids)
                    if i not in zeroed], dtype=np.int64)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    out = np.empty((len(ids), int(model.config.hidden_size)), dtype=np.float32)
    starts = range(0, len(ids), batch_size)
    show = progress if progress is not None else len(ids) > 4 * batch_size
    iterator: Any = starts
    if show:
        from tqdm.auto import tqdm

        iterator = tqdm(starts, desc=f"distil static embedding ({len(ids):,} word pieces)", unit="batch")
    with torch.inference_mode():
        for start in iterator:
            chunk = torch.from_numpy(ids[start:start + batch_size])
            batch = torch.stack([torch.full_like(chunk, cls_id), chunk, torch.full_like(chunk, sep_id)], dim=1)
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            out[start:start + len(chunk)] = hidden.mean(dim=1).float().numpy()  # no padding: a plain mean
    return ids, out


def _folder_name(model_id: str, dims: int, weighting: str, token_ids: Sequence[int] | None) -> str:
    name = f"{model_id}-{dims}d-{weighting}"
    if token_ids is not None:
        digest = hashlib.blake2b(",".join(map(str, sorted(set(token_ids)))).encode(), digest_size=6).hexdigest()
        name += f"-subset{digest}"
    return name


def distill_static(model_path: str | Path | None = None, *, dims: int = DEFAULT_DIMS, weighting: Weighting = "none",
                   token_ids: Sequence[int] | None = None, cache_dir: str | Path | None = None,
                   batch_size: int = DISTILL_BATCH, progress: bool | None = None, force: bool = False) -> Path:
    """Distil (once) the static embedding of ``model_path`` (default: the bundled MiniLM) -> its cache folder.

    ``dims``: PCA output dimensions (at most the encoder's hidden size; equal to it = centring and rotation only);
    ``weighting``: ``none`` or ``sif`` (see the module docs); ``token_ids``: distil only these ids (the others get
    zero rows; for tests); ``cache_dir``: cache root (default :func:`slmprofile.embed.default_cache_dir`).
    A folder already in the cache is reused unless ``force``. About a minute for MiniLM's 30k pieces on one core.
    """
    import datetime as dt

    import numpy as np
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer

    if weighting not in WEIGHTINGS:
        raise ValueError(f"The 'weighting' parameter must be one of {', '.join(WEIGHTINGS)}; got {weighting!r} "
                         "instead.")
    if not isinstance(dims, int) or dims < 1:
        raise ValueError(f"The 'dims' parameter must be a positive integer; got {dims!r} instead.")
    path = _source_path(model_path)
    model_id = model_identity(path)
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    target = root / "static" / _folder_name(model_id, dims, weighting, token_ids)
    if (target / STATIC_CONFIG).is_file() and (target / STATIC_FILE).is_file() and not force:
        return target
    started = time.perf_counter()
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    vocab_size = int(tokenizer.get_vocab_size())
    ids, vectors = piece_vectors(path, token_ids, batch_size=batch_size, progress=progress)
    hidden = vectors.shape[1]
    if dims > hidden:
        raise ValueError(f"The 'dims' parameter must be at most the encoder's {hidden} dimensions; got {dims!r}.")
    if len(ids) < 2:
        raise SlmprofileError("the static distillation needs at least two word pieces")
    vec = vectors.astype(np.float64)
    mean = vec.mean(axis=0)
    _, sing, vt = np.linalg.svd(vec - mean, full_matrices=False)
    k = min(dims, len(ids))
    projected = (vec - mean) @ vt[:k].T
    explained = float((sing[:k] ** 2).sum() / max((sing ** 2).sum(), 1e-30))
    table = np.zeros((vocab_size, dims), dtype=np.float32)
    table[ids, :k] = projected.astype(np.float32)
    zeroed = special_ids(tokenizer)
    if weighting == "sif":
        table *= sif_weights(vocab_size, zeroed)[:, None]
    max_length = _max_length(path)
    info = {
        "format": STATIC_FORMAT, "format_version": STATIC_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": {"model_id": model_id, "path": str(path), "hidden_size": hidden},
        "dims": dims, "vocab_size": vocab_size, "max_length": max_length, "weighting": weighting,
        "sif_a": SIF_A if weighting == "sif" else None,
        "method": "each word piece alone through the encoder as [CLS] piece [SEP], mean pooled; PCA (centred over "
                  "the distilled pieces) to dims" + ("; rows scaled by a / (a + p), p Zipf by vocabulary rank"
                                                     if weighting == "sif" else ""),
        "pieces_distilled": int(len(ids)), "zero_rows": "special tokens, [unused*] and pieces not distilled",
        "pca_explained_variance": round(explained, 6), "subset": token_ids is not None,
        "seconds": round(time.perf_counter() - started, 1), "versions": versions(("slmprofile", "torch", "transformers", "tokenizers", "numpy", "safetensors")),
    }
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}-{time.time_ns()}")
    tmp.mkdir(parents=True)
    try:
        save_file({"embeddings": table}, str(tmp / STATIC_FILE), metadata={"format": STATIC_FORMAT})
        shutil.copyfile(path / "tokenizer.json", tmp / "tokenizer.json")
        (tmp / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_length}), encoding="utf-8")
        (tmp / STATIC_CONFIG).write_text(json.dumps(info, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not is_static_folder(target):  # else another process finished first: keep its folder
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("distilled a %d-d static embedding of %s in %.0f s (%s)", dims, model_id, info["seconds"], target)
    return target


def is_static_folder(path: str | Path | None) -> bool:
    """True for a folder written by :func:`distill_static`."""
    return path is not None and (Path(path) / STATIC_CONFIG).is_file() and (Path(path) / STATIC_FILE).is_file()


def load_static(folder: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """``(table float32 (vocab_size, dims), static.json)`` of a static folder (safetensors: nothing unpickled)."""
    import numpy as np
    from safetensors.numpy import load_file

    folder = Path(folder)
    if not is_static_folder(folder):
        raise SlmprofileError(f"{folder}: not a static embedding folder (needs {STATIC_FILE} and {STATIC_CONFIG})")
    info = json.loads((folder / STATIC_CONFIG).read_text(encoding="utf-8"))
    if info.get("format") != STATIC_FORMAT or info.get("format_version", 0) > STATIC_VERSION:
        raise SlmprofileError(f"{folder / STATIC_CONFIG}: not a static embedding of this slmprofile version")
    table = np.ascontiguousarray(load_file(str(folder / STATIC_FILE))["embeddings"], dtype=np.float32)
    if table.shape != (info["vocab_size"], info["dims"]):
        raise SlmprofileError(f"{folder / STATIC_FILE}: shape {table.shape} does not match {STATIC_CONFIG}")
    return table, info


def static_identity(folder: str | Path, info: dict[str, Any] | None = None) -> str:
    """``static-<source id>-<dims>d-<weighting>``: names the vectors of a static folder."""
    info = info or json.loads((Path(folder) / STATIC_CONFIG).read_text(encoding="utf-8"))
    return f"static-{info['source']['model_id']}-{info['dims']}d-{info['weighting']}"


def static_info(folder: str | Path) -> dict[str, Any]:
    """What ``router.json`` / ``training.json`` record about a static encoder: ``{"kind": "static", ...}``."""
    info = json.loads((Path(folder) / STATIC_CONFIG).read_text(encoding="utf-8"))
    return {"kind": "static", "model_id": static_identity(folder, info), "source_model_id": info["source"]["model_id"],
            "dim": info["dims"], "weighting": info["weighting"], "max_length": info["max_length"],
            "method": info["method"], "pooling": "mean", "normalize": True, "fine_tuned": False}


@dataclass
class StaticStats:
    """What one :meth:`StaticEmbedder.encode` call did."""

    texts: int = 0
    seconds: float = 0.0


class StaticEmbedder:
    """Static-embedding encoder with the :class:`slmprofile.embed.Embedder` interface: ``encode(texts)`` -> float32
    ``(n, dims)`` unit vectors (an empty text, which has only special tokens, gives a zero vector).

    Args:
        model: a static folder (from :func:`distill_static`), or the source encoder directory to distil from
            (default: the bundled MiniLM; distilled on first use and cached).
        dims, weighting: of the distillation (ignored when ``model`` is a static folder).
        cache_dir: cache root for the distillation (default :func:`slmprofile.embed.default_cache_dir`).
        batch_size: texts per gather (bounds memory).
        progress: progress bar while distilling (None: only for the full vocabulary).

    Numpy + tokenizers only once distilled; the constructor does no work.
    """

    long_text = "truncate"  # what the router's features require of an embedder
    normalize = True

    def __init__(self, model: str | Path | None = None, *, dims: int = DEFAULT_DIMS, weighting: Weighting = "none",
                 cache_dir: str | Path | None = None, batch_size: int = 1024, progress: bool | None = None) -> None:
        self.model = model
        self.dims = dims
        self.weighting = weighting
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.progress = progress

    @property
    def folder_(self) -> Path:
        """The static folder in use (distilled now when not cached yet)."""
        if getattr(self, "_folder", None) is None:
            if is_static_folder(self.model):
                self._folder = Path(self.model)  # type: ignore[arg-type]
            else:
                self._folder = distill_static(self.model, dims=self.dims, weighting=self.weighting,
                                              cache_dir=self.cache_dir, progress=self.progress)
        return self._folder

    def _load(self) -> None:
        if getattr(self, "table_", None) is not None:
            return
        from .runtime import load_tokenizer

        self.table_, self.info_ = load_static(self.folder_)
        self.dim_ = int(self.info_["dims"])
        self.max_seq_length_ = int(self.info_["max_length"])
        self.model_id_ = static_identity(self.folder_, self.info_)
        self.tokenizer_ = load_tokenizer(self.folder_ / "tokenizer.json", self.max_seq_length_)

    def encode_ids(self, ids: Any, mask: Any) -> np.ndarray:
        """Unit vectors from padded ``(input_ids, attention_mask)`` (the exported graph's computation, in numpy)."""
        import numpy as np

        self._load()
        m = np.asarray(mask, dtype=np.float32)
        pooled = np.einsum("bt,btd->bd", m, self.table_[np.asarray(ids)]) / np.maximum(m.sum(1, keepdims=True), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` -> float32 ``(len(texts), dims)``: tokenise, gather, mean over the pieces, normalise."""
        import numpy as np

        started = time.perf_counter()
        self._load()
        texts = ["" if t is None else str(t) for t in texts]
        out = np.empty((len(texts), self.dim_), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            block = texts[start:start + self.batch_size]
            encodings = [self.tokenizer_.encode(block[0])] if len(block) == 1 else self.tokenizer_.encode_batch(block)
            lengths = np.array([len(e.ids) for e in encodings])
            flat = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=int(lengths.sum()))
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            sums = np.add.reduceat(self.table_[flat], offsets, axis=0) if len(flat) else \
                np.zeros((len(block), self.dim_), dtype=np.float32)
            sums[lengths == 0] = 0.0  # reduceat gives the next row for an empty slice
            pooled = sums / np.maximum(lengths, 1)[:, None]
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[start:start + len(block)] = pooled / norms
        self.stats_ = StaticStats(texts=len(texts), seconds=time.perf_counter() - started)
        return out

    def info(self) -> dict[str, Any]:
        """Identity and settings (:func:`static_info`), for ``training.json`` / ``router.json``."""
        return {**static_info(self.folder_), "folder": str(self.folder_)}


@dataclass
class StaticOutput:
    """What :class:`StaticEncoder` returns (the field the router graph reads from a Hugging Face encoder)."""

    last_hidden_state: Any


@dataclass
class StaticConfig:
    hidden_size: int


def _static_encoder_class() -> type:
    """The :class:`StaticEncoder` class, defined on first use so that importing this module does not import torch."""
    global _ENCODER_CLASS
    if _ENCODER_CLASS is not None:
        return _ENCODER_CLASS
    import numpy as np
    import torch

    class StaticEncoder(torch.nn.Module):
        """The static look-up as a ``torch.nn.Module``: ``forward(input_ids=, attention_mask=)`` -> an object whose
        ``last_hidden_state`` is the gathered piece vectors ``(batch, sequence, dims)``; ``config.hidden_size`` =
        dims. Pooling and normalisation are left to the caller, as with a transformer encoder."""

        def __init__(self, table: Any) -> None:
            super().__init__()
            weight = table if isinstance(table, torch.Tensor) else \
                torch.from_numpy(np.ascontiguousarray(table, dtype=np.float32))
            self.register_buffer("table", weight.float())
            self.config = StaticConfig(hidden_size=int(weight.shape[1]))

        @classmethod
        def from_folder(cls, folder: str | Path) -> tuple[Any, int]:
            """``(encoder, max_length)`` of a static folder."""
            table, info = load_static(folder)
            return cls(table), int(info["max_length"])

        def forward(self, input_ids: Any, attention_mask: Any = None) -> StaticOutput:  # noqa: ARG002
            return StaticOutput(last_hidden_state=torch.nn.functional.embedding(input_ids, self.table))

    StaticEncoder.__module__ = __name__
    _ENCODER_CLASS = StaticEncoder
    return StaticEncoder


_ENCODER_CLASS: type | None = None


def __getattr__(name: str) -> Any:
    if name == "StaticEncoder":  # ``from slmprofile.static_embed import StaticEncoder`` imports torch only then
        return _static_encoder_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
