"""Optional fine-tuning of the router's encoder (``train_router(..., finetune=FinetuneSettings())``,
``slmprofile router train --finetune``).

The default router reads a frozen MiniLM. Fine-tuning trains the encoder's weights, with a temporary logistic
head on its mean-pooled unit vector, to predict whether keeping a prompt on the SLM loses nothing (the SLM is
right, or both models are wrong; without frontier outcomes, whether the SLM is right). The temporary head is then
dropped: the router's own heads, calibration and threshold are fit on the fine-tuned embeddings exactly as on
frozen ones, and the export puts the fine-tuned encoder into the same single ONNX graph.

The fine-tuned encoder is a sentence-transformers directory (``safetensors`` weights, config, tokenizer), written
under the router directory as ``encoder/``; :func:`~slmprofile.router.export.export_router` picks it up from there.
Only the training prompts are used (the held-out evaluation never sees them). On a CPU this is slow: each prompt
costs a forward and a backward pass (see docs/router.md for measured times).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import SlmprofileError
from ..params import Interval, check_params

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

logger = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
#: Files copied from the base model over the saved ones (the tokenizer and the sequence length are unchanged).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                   "sentence_bert_config.json")


@dataclass
class FinetuneSettings:
    """How to fine-tune the encoder.

    Args:
        epochs: passes over the training prompts.
        batch_size: prompts per optimiser step.
        learning_rate: AdamW learning rate of the encoder's weights (small: 1e-5 to 5e-5).
        head_learning_rate: learning rate of the temporary logistic head.
        max_length: word pieces read per prompt while fine-tuning (shorter is faster; the exported graph still
            reads the encoder's full maximum length).
        max_prompts: fine-tune on a seeded sample of at most this many labelled prompts (``None``: all).
        logit_scale: the head reads ``logit_scale *`` the unit vector (unit vectors need a scale to give logits
            of a useful range).
        random_state: seed of the sample, the order of the batches and the head's initialisation.
    """

    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    head_learning_rate: float = 1e-2
    max_length: int = 128
    max_prompts: int | None = 20_000
    logit_scale: float = 10.0
    random_state: int = 0

    _parameter_constraints = {
        **{name: [Interval(int, 1, None)] for name in ("epochs", "batch_size", "max_length")},
        **{name: [Interval(float, 0, None, closed="neither")]
           for name in ("learning_rate", "head_learning_rate", "logit_scale")},
        "max_prompts": [None, Interval(int, 10, None)],
    }

    def check(self) -> None:
        check_params(self)


@dataclass
class FinetuneResult:
    """Where the fine-tuned encoder was written and how training went (``losses``: mean loss per epoch)."""

    path: Path
    prompts: int
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"path": str(self.path), "prompts": self.prompts, "steps": self.steps,
                "seconds": round(self.seconds, 1), "epoch_losses": [round(x, 5) for x in self.losses]}


def finetune_target(slm_correct: Any, frontier_correct: Any = None) -> np.ndarray:
    """Per prompt: 1 when keeping it on the SLM loses nothing (SLM right, or both wrong), NaN when unknown.

    Without frontier outcomes (``None`` or NaN) the frontier counts as right, so the target is the SLM's outcome.
    Rates (weak labels) pass through as soft targets."""
    import numpy as np

    s = np.asarray(slm_correct, dtype=np.float64)
    f = np.ones_like(s) if frontier_correct is None else np.asarray(frontier_correct, dtype=np.float64)
    f = np.where(np.isfinite(f), f, 1.0)
    return np.where(np.isfinite(s), np.maximum(s, 1.0 - f), np.nan)


def finetune_encoder(texts: Sequence[str], target: Any, out_dir: str | Path, *, model: str | Path | None = None,
                     sample_weight: Any = None, settings: FinetuneSettings | None = None,
                     progress: bool = False) -> FinetuneResult:
    """Fine-tune a sentence-transformers encoder on ``texts`` (with ``target`` in [0, 1]; NaN rows skipped) and
    save it to ``out_dir`` (see the module docs). ``model``: a local model directory (default: the bundled
    MiniLM); it must be Transformer + mean Pooling + Normalize, like every router encoder."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from ..encoder import default_model_path, load_transformer

    settings = settings or FinetuneSettings()
    settings.check()
    started = time.perf_counter()
    model_path = Path(model) if model else default_model_path()
    load_transformer(model_path)  # the graph's constraints, checked before spending time on training
    y = np.asarray(target, dtype=np.float64)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if len(y) != len(texts) or len(w) != len(texts):
        raise SlmprofileError(f"finetune: {len(texts)} prompts, {len(y)} targets, {len(w)} weights")
    rows = np.flatnonzero(np.isfinite(y) & (w > 0))
    if len(rows) < 10 or len(np.unique(np.round(y[rows]))) < 2:
        raise SlmprofileError("finetune: need at least 10 labelled prompts with both outcomes present")
    rng = np.random.default_rng(settings.random_state)
    if settings.max_prompts is not None and len(rows) > settings.max_prompts:
        rows = np.sort(rng.choice(rows, settings.max_prompts, replace=False))
    torch.manual_seed(settings.random_state)

    st = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    full_length = st.max_seq_length
    st.max_seq_length = min(settings.max_length, full_length)
    dim = int(st[0].auto_model.config.hidden_size)
    head = torch.nn.Linear(dim, 1)
    base_rate = float(np.clip(np.average(y[rows], weights=w[rows]), 1e-3, 1 - 1e-3))
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(float(np.log(base_rate / (1 - base_rate))))
    optimiser = torch.optim.AdamW([{"params": st.parameters(), "lr": settings.learning_rate},
                                   {"params": head.parameters(), "lr": settings.head_learning_rate}],
                                  weight_decay=0.01)
    steps_per_epoch = -(-len(rows) // settings.batch_size)
    total = steps_per_epoch * settings.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up over 10 %, then linear decay
        optimiser, lambda step: min(1.0, (step + 1) / max(1, total // 10)) * max(0.0, 1 - step / total))
    texts = ["" if t is None else str(t) for t in texts]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="fine-tune encoder", unit="step")
    losses: list[float] = []
    st.train()
    try:
        for _ in range(settings.epochs):
            order = rng.permutation(rows)
            epoch_loss, seen = 0.0, 0.0
            for start in range(0, len(order), settings.batch_size):
                batch = order[start:start + settings.batch_size]
                features = st.tokenize([texts[i] for i in batch])
                vectors = st(features)["sentence_embedding"]
                logits = head(vectors * settings.logit_scale).squeeze(-1)
                target_t = torch.as_tensor(y[batch], dtype=torch.float32)
                weight_t = torch.as_tensor(w[batch], dtype=torch.float32)
                loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, target_t, reduction="none")
                        * weight_t).sum() / weight_t.sum()
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(st.parameters(), 1.0)
                optimiser.step()
                scheduler.step()
                epoch_loss += loss.item() * len(batch)
                seen += len(batch)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{epoch_loss / seen:.4f}")
            losses.append(epoch_loss / max(seen, 1))
    finally:
        if bar is not None:
            bar.close()
    st.eval()
    st.max_seq_length = full_length
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    st.save(str(out), safe_serialization=True, create_model_card=False)
    for stale in out.glob("*.bin"):  # safetensors only: nothing that unpickles on load
        stale.unlink()
    import shutil

    # fine-tuning leaves the tokenizer as it was: keep the base model's files, so that training, the export and the
    # runtime tokenise exactly as before (a save can record the truncation used while training)
    for name in TOKENIZER_FILES:
        if (model_path / name).is_file():
            shutil.copyfile(model_path / name, out / name)
    result = FinetuneResult(path=out, prompts=int(len(rows)), steps=total, seconds=time.perf_counter() - started,
                            losses=losses)
    logger.info("fine-tuned the encoder on %d prompts in %.0f s (epoch losses %s) -> %s", result.prompts,
                result.seconds, [round(x, 4) for x in losses], out)
    return result
