"""Train a router end to end: features, a held-out split (whole groups), the fit, an evaluation against baselines.

:func:`train_router` builds the features (optionally from a fine-tuned or a static encoder), holds out prompts
(whole task types when groups are given or derived), fits :class:`~slmprofile.router.estimator.SlmRouter`, scores
it against a kNN router and the reference points, and refits on everything; :class:`TrainResult` holds and writes
the outcome. The estimator itself, its model selection, heads, calibration and groups live in the modules this one
re-exports from (``from slmprofile.router.train import SlmRouter, derive_groups, ...`` keeps working).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..rundir import RunDir
from .calibration import centered_isotonic, interp_calibration
from .estimator import HEAD_FORMAT_VERSION, SlmRouter
from .groups import MIN_TEMPLATE_GROUPS, derive_groups
from .heads import MIN_LABELLED, Heads, as_labels
from .selection import BAG_C, C_GRID, FRONTIER_WEIGHTS, MIN_FOLD_GAP, OOF_TOL, PLAIN_C

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .features import RouterFeatures
    from .finetune import FinetuneResult, FinetuneSettings

__all__ = ["BAG_C", "C_GRID", "FRONTIER_WEIGHTS", "HEAD_FORMAT_VERSION", "MIN_FOLD_GAP", "MIN_LABELLED",
           "MIN_TEMPLATE_GROUPS", "OOF_TOL", "PLAIN_C", "Heads", "SlmRouter", "TrainResult", "centered_isotonic",
           "data_summary", "derive_groups", "interp_calibration", "train_router"]

logger = logging.getLogger(__name__)

#: Up to this many prompts the held-out fit and the fit on all prompts run side by side, one BLAS thread each (on 2
#: cores: 9.4 s -> 5.7 s for the sample's 3,562 calls); above it one after the other, with every BLAS thread, in
#: less memory for the same time: 8,000 calls of a 100k-call run 18.8 s and 0.65 GB against 18.5-19.3 s and 0.83
#: GB side by side, 20,000 calls 58.0 s and 1.46 GB against 58.8 s and 1.81 GB (2026-12-08, this 2-core machine).
SIDE_BY_SIDE_MAX_PROMPTS = 5_000


@dataclass
class TrainResult:
    """What :func:`train_router` returns: the fitted router, its held-out evaluation and a data summary."""

    router: SlmRouter
    evaluation: Any  # polars DataFrame, one row per router / baseline
    scores: dict[str, Any] = field(repr=False)  # name -> metrics.RouterScore (curves for plots)
    data: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    finetune: FinetuneResult | None = None  # the fine-tuned encoder, when one was trained
    encoder: dict[str, Any] = field(default_factory=dict)  # kind (transformer / static) and identity of the encoder

    @property
    def selection(self) -> dict[str, Any]:
        """How the exported router was chosen: folds, candidates, ``chosen`` (``full`` or ``plain``) and ``why``."""
        return getattr(self.router, "selection_", {})

    @property
    def estimates(self) -> dict[str, Any]:
        """Expected APGR / CPT(50 %) of the router: ``seen_task_types`` (random folds), ``new_task_types``
        (leave-groups-out folds), each ``{"apgr": {"mean", "sd", "n_folds"}, "cpt50": {...}}``, and
        ``which_applies``."""
        return getattr(self.router, "estimates_", {})

    def describe(self) -> list[str]:
        """Plain-language lines: which model was kept and why, what to expect on familiar and on new task types,
        and what the novelty guard does."""
        lines = []
        if self.selection.get("why"):
            lines.append(f"model: {self.selection.get('chosen')} - {self.selection['why']}")
        names = {"seen_task_types": "task types like the training data",
                 "new_task_types": "task types absent from the training data"}
        for key, label in names.items():
            est = self.estimates.get(key) or {}
            a = est.get("apgr") or {}
            if a.get("mean") is not None:
                lines.append(f"expected APGR on {label}: {a['mean']:.3f} (sd {a.get('sd') or 0:.3f} over "
                             f"{a.get('n_folds')} {est.get('folds')} folds)")
        guard = getattr(self.router, "novelty_", None)
        if guard is not None:
            new = "" if guard.new_flagged_ is None else f", {guard.new_flagged_:.0%} of prompts of held-out task types"
            lines.append(f"novelty guard: prompts farther than {guard.threshold_:.3f} from the training traffic go to "
                         f"the frontier model (flags {guard.seen_flagged_:.1%} of familiar held-out prompts{new})")
        return lines

    def metrics(self) -> dict[str, Any]:
        """The router's held-out metrics and the baselines', as plain JSON-ready values."""
        import math

        out = {}
        for row in self.evaluation.iter_rows(named=True):
            out[row["router"]] = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                  for k, v in row.items() if k != "router" and v is not None}
        return out

    def plot(self, path: str | Path) -> Path:
        """Cost-quality curves of the router and the baselines (PNG)."""
        from .metrics import plot_curves

        plot_curves(self.scores, path)
        return Path(path)

    def write(self, directory: str | Path) -> dict[str, Path]:
        """``head.npz``, ``training.json``, ``evaluation.csv`` and ``cost_quality.png`` under ``directory`` (and
        the fine-tuned encoder as ``encoder/``, or the static embedding as ``static/``, which the export reads)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = {"head": self.router.save(directory / RunDir.ROUTER_HEAD)}
        summary = {"data": self.data, "split": self.split, "metrics": self.metrics(),
                   "validation": self.router.validation_, "params": self.router.get_params(),
                   "chosen": self.selection.get("chosen"), "why": self.selection.get("why"),
                   "selection": self.selection, "estimates": self.estimates,
                   "novelty": None if getattr(self.router, "novelty_", None) is None else self.router.novelty_.summary()}
        if self.finetune is not None:
            from .finetune import ENCODER_DIR

            target = directory / ENCODER_DIR
            if self.finetune.path.resolve() != target.resolve():
                import shutil

                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(self.finetune.path, target)
            files["encoder"] = target
            summary["finetune"] = {**self.finetune.summary(), "path": ENCODER_DIR}
        if self.encoder:
            summary["encoder"] = {k: v for k, v in self.encoder.items() if k != "folder"}
        if self.encoder.get("kind") == "static":  # the table travels with the head: the export reads it there
            import shutil

            from ..static_embed import STATIC_DIR

            source, target = Path(self.encoder["folder"]), directory / STATIC_DIR
            if source.resolve() != target.resolve():
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(source, target)
            files["static"] = target
            summary["encoder"]["path"] = STATIC_DIR
        (directory / RunDir.ROUTER_TRAINING).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        files["training"] = directory / RunDir.ROUTER_TRAINING
        self.evaluation.write_csv(directory / RunDir.ROUTER_EVALUATION)
        files["evaluation"] = directory / RunDir.ROUTER_EVALUATION
        if self.scores:
            files["plot"] = self.plot(directory / RunDir.ROUTER_CURVE)
        return files


def data_summary(texts: list[str], s: Any, f: Any, timestamps: Any = None, groups: Any = None) -> dict[str, Any]:
    """Counts, label rates, date range and a content hash of the training data (for ``router.json``)."""
    import hashlib

    import numpy as np

    s_arr = as_labels(s, "slm_correct", len(texts))
    f_arr = as_labels(f, "frontier_correct", len(texts))
    digest = hashlib.blake2b(digest_size=16)
    for text, a, b in zip(texts, s_arr.tolist(), f_arr.tolist()):
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(f"|{a}|{b}\n".encode())
    out: dict[str, Any] = {
        "prompts": len(texts), "distinct_prompts": len(set(texts)),
        "slm_labelled": int(np.isfinite(s_arr).sum()), "frontier_labelled": int(np.isfinite(f_arr).sum()),
        "slm_success_rate": float(np.nanmean(s_arr)) if np.isfinite(s_arr).any() else None,
        "frontier_success_rate": float(np.nanmean(f_arr)) if np.isfinite(f_arr).any() else None,
        "hash": digest.hexdigest(),
    }
    if groups is not None:
        out["groups"] = int(len(set(map(str, groups))))
    if timestamps is not None:
        stamps = [t for t in timestamps if t is not None]
        if stamps:
            out["date_range"] = [str(min(stamps)), str(max(stamps))]
    return out


def train_router(texts: list[str], slm_correct: Any, frontier_correct: Any = None, *,
                 embeddings: np.ndarray | None = None, embedder: Any = None, features: RouterFeatures | None = None,
                 groups: Any = None, templates: Any = None, sample_weight: Any = None, timestamps: Any = None,
                 test_size: float = 0.2, router: SlmRouter | None = None, knn_k: int = 50, refit: bool = True, random_state: int = 0,
                 finetune: FinetuneSettings | bool | None = None, finetune_dir: str | Path | None = None,
                 progress: bool = False, encoder: Literal["minilm", "static"] = "minilm") -> TrainResult:
    """Train a router and evaluate it on held-out prompts against baselines.

    ``texts``: the prompts; ``slm_correct`` / ``frontier_correct``: outcomes (see :meth:`SlmRouter.fit`);
    ``embeddings``: precomputed (same encoder, ``long_text="truncate"``) or computed with ``embedder``;
    ``groups``: task type / subject: the test split then holds out whole groups, so no group leaks, and the router
    makes its choices on folds that keep them whole; without groups they are derived (:func:`derive_groups`: from
    ``templates``, template ids per prompt, when there are enough distinct ones, else a k-means of the
    embeddings) and used the same way (``split["groups_source"]`` says which);
    ``test_size``: share of prompts (or groups) held out for the evaluation (0 skips it);
    ``router``: the estimator and its settings (default :class:`SlmRouter`); ``refit``: after the evaluation, fit
    the returned router on all prompts (the reported metrics stay those of the held-out split).
    ``finetune``: ``True`` or :class:`~slmprofile.router.finetune.FinetuneSettings` fine-tunes the encoder on the
    training prompts first (never the held-out ones; :mod:`slmprofile.router.finetune`) into ``finetune_dir``
    (default: a temporary directory; :meth:`TrainResult.write` copies it to ``encoder/``); the features, the kNN
    baseline included, then come from the fine-tuned encoder. After the evaluation the heads are refit on all
    prompts, the encoder is not.
    ``encoder``: ``minilm`` (the transformer: the bundled MiniLM, or ``embedder``'s model) or ``static`` (a static
    embedding distilled from it, :class:`~slmprofile.static_embed.StaticEmbedder`: ``embedder`` when it is one, else
    the default one, distilled once and cached); :meth:`TrainResult.write` then copies the table to ``static/``
    and the export builds the static graph from it. ``embeddings`` and ``finetune`` are for the transformer only.

    The evaluation (on held-out prompts with both outcomes; the frontier counts as always right when its outcomes
    are unknown) covers the router, a kNN router on the same embeddings (``knn_k`` neighbours), random routing,
    the oracle, and the always-SLM / always-frontier points.
    """
    import numpy as np

    from .baselines import knn_scores
    from .features import build_features
    from .metrics import evaluate_routers

    texts = ["" if t is None else str(t) for t in texts]
    n = len(texts)
    s = as_labels(slm_correct, "slm_correct", n)
    f = as_labels(frontier_correct, "frontier_correct", n)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    g = None if groups is None else np.asarray([str(x) for x in groups])
    templates = None if templates is None else [None if t is None else str(t) for t in templates]
    estimator = router or SlmRouter(random_state=random_state)
    from ..static_embed import StaticEmbedder

    if isinstance(embedder, StaticEmbedder):
        encoder = "static"
    if encoder not in ("minilm", "static"):
        raise ValueError(f"The 'encoder' parameter must be 'minilm' or 'static'; got {encoder!r} instead.")
    encoder_info: dict[str, Any] = {"kind": "transformer"}
    if encoder == "static":
        if finetune:
            raise ValueError("finetune is for the transformer encoder; a static encoder is distilled, not tuned")
        if embeddings is not None:
            raise ValueError("precomputed embeddings come from the transformer encoder; leave them out with "
                             "encoder='static' (static vectors take seconds to compute)")
        if not isinstance(embedder, StaticEmbedder):
            embedder = StaticEmbedder(progress=progress or None)
        encoder_info = embedder.info()
    if not finetune and features is None:
        features = build_features(texts, embeddings=embeddings, embedder=embedder)
    split: dict[str, Any] = {"test_size": test_size, "kind": "none"}
    groups_source = "given" if g is not None and len(np.unique(g)) >= 2 else None
    base = features.embeddings if features is not None else embeddings
    if groups_source is None and base is not None:  # derived groups, for the split and the router's folds alike
        g, info = derive_groups(base, templates, random_state=random_state)
        groups_source = info["source"]
        split["derived_groups"] = info
    split["groups_source"] = groups_source or "none"
    rng = np.random.default_rng(random_state)
    test = np.zeros(n, dtype=bool)
    if test_size > 0:
        if g is not None and len(np.unique(g)) >= 4:
            uniq = np.unique(g)
            held = rng.choice(uniq, size=max(1, round(test_size * len(uniq))), replace=False)
            test = np.isin(g, held)
            split.update(kind="groups", held_out_groups=sorted(held.tolist()))
        else:
            test[rng.permutation(n)[: max(1, round(test_size * n))]] = True
            split["kind"] = "random"
    finetuned = None
    if finetune:
        import tempfile

        from ..embed import Embedder
        from .finetune import FinetuneSettings, finetune_encoder, finetune_target

        settings = finetune if isinstance(finetune, FinetuneSettings) else FinetuneSettings(random_state=random_state)
        train_idx = np.flatnonzero(~test)
        target = finetune_target(s, f)
        out_dir = Path(finetune_dir) if finetune_dir else Path(tempfile.mkdtemp(prefix="slmprofile-encoder-"))
        finetuned = finetune_encoder([texts[i] for i in train_idx], target[train_idx], out_dir,
                                     model=getattr(embedder, "model", None), sample_weight=w[train_idx],
                                     settings=settings, progress=progress)
        tuned = Embedder(finetuned.path, device="cpu", cache_dir=False, progress=progress)
        features = build_features(texts, embedder=tuned, model_path=finetuned.path)
    split["test_prompts"] = int(test.sum())
    evaluation = None
    scores: dict[str, Any] = {}
    from concurrent.futures import ThreadPoolExecutor

    import polars  # noqa: F401 - imported before the fits' threads: scikit-learn's input checks in both look for
    from threadpoolctl import threadpool_limits  # it, and a first import racing between them fails half-done

    concurrent = bool(test.any() and refit and n <= SIDE_BY_SIDE_MAX_PROMPTS)

    def fit_all() -> None:
        estimator.fit(features, s, f, sample_weight=w, groups=g, groups_source=groups_source,
                      templates=templates if g is None else None, progress=progress and not concurrent)

    # The held-out fit and the fit on all prompts are independent: they run side by side, each on one BLAS thread
    # (their matrices are small: one thread each is faster than two shared, and the two fits fill both cores of a
    # 2-core machine: 9.4 s -> 5.7 s on the sample). The results do not depend on the order.
    with threadpool_limits(limits=1 if concurrent else None), ThreadPoolExecutor(max_workers=1) as pool:
        final = pool.submit(fit_all) if concurrent else None
        if test.any():
            train = ~test
            # the held-out fit is scored, not served: with a refit beside it, it skips the novelty guard (its 11
            # k-means fits), which scoring does not use
            held = type(estimator)(**{**estimator.get_params(), "novelty_quantile": None}) if refit else estimator
            held.fit(features.subset(train), s[train], f[train], sample_weight=w[train],
                     groups=None if g is None else g[train], groups_source=groups_source,
                     templates=None if templates is None or g is not None else [templates[i] for i in
                                                                                np.flatnonzero(train)],
                     progress=progress)
            f_ref = f if held.has_frontier_ else np.ones(n)
            judged = test & np.isin(s, (0.0, 1.0)) & np.isfinite(f_ref)
            if judged.sum() >= 10 and abs(np.nanmean(f_ref[judged]) - np.nanmean(s[judged])) > 1e-9:
                te = features.subset(judged)
                labelled_train = train & np.isfinite(s) & (w > 0)
                knn_target = np.maximum(s, 1 - f_ref)[labelled_train]
                candidates = {"router": held.score(te),
                              f"knn{knn_k}": knn_scores(features.embeddings[labelled_train], knn_target,
                                                        te.embeddings, k=knn_k)}
                evaluation, scores = evaluate_routers(candidates, s[judged], f_ref[judged])
                split["evaluated_prompts"] = int(judged.sum())
            else:
                logger.warning("too few held-out prompts with outcomes (or no quality gap) to evaluate the router")
        if final is not None:
            final.result()
        elif refit or not test.any():
            fit_all()
    if evaluation is None:
        import polars as pl

        evaluation = pl.DataFrame({"router": ["router"], "apgr": [estimator.validation_.get("apgr", float("nan"))]})
    data = data_summary(texts, s, f, timestamps=timestamps, groups=groups)
    return TrainResult(router=estimator, evaluation=evaluation, scores=scores, data=data, split=split,
                       finetune=finetuned, encoder=encoder_info)
