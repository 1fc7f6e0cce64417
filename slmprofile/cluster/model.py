"""``TaskTypeClusterer``: embeddings -> task types (fine) and task families (coarse), scikit-learn style.

Stages, each swappable: template blending (:mod:`.templates`) -> reducer (UMAP by default, :mod:`.reduce`) -> a
density clusterer (HDBSCAN by default, any :class:`~slmprofile.cluster.density.DensityClusterer`, :mod:`.density`)
with ``min_cluster_size`` chosen by an internal score -> merges (clusters sharing a template group,
:mod:`.templates`; clusters asked and answered alike, see :mod:`slmprofile.cluster.views`) -> noise handling ->
families (Ward linkage over cluster centroids).

How the features are combined: prompts that share a template (``groups``) are pulled towards their template's mean
embedding (``template_weight``), since in real logs one feature is one template; everything else is the prompt
embedding alone. Nothing here looks at labels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..params import Interval, Options, Rule, check_params
from .density import CLUSTERERS, make_clusterer
from .forms import FormSignals, form_families, form_rows
from .reduce import make_reducer
from .templates import blend_templates, group_means, merge_by_groups, normalize_rows
from .views import PromptViews, ViewMerge, merge_by_views

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

logger = logging.getLogger(__name__)

FLAG_CORE = "core"  # a member of its cluster in the density clustering
FLAG_ASSIGNED = "assigned"  # noise or out-of-sample point, close enough to its nearest cluster
FLAG_UNASSIGNED = "unassigned"  # too far from every cluster: cluster_id -1
FLAG_TEMPLATE = "template"  # not embedded: took the one task type its template has in the fitted sample

#: Points used to estimate each silhouette (a seeded random subset beyond this size).
SILHOUETTE_SAMPLE = 5000
#: Points each bootstrap refit uses at most.
BOOTSTRAP_POINTS = 20_000


def candidate_min_cluster_sizes(n: int) -> list[int]:
    """``min_cluster_size`` values tried, scaled to the number of prompts (around sqrt(n)/5)."""
    base = max(5.0, n ** 0.5 / 5)
    values = sorted({max(3, int(round(base * f))) for f in (0.4, 0.55, 0.75, 1.0, 1.15, 1.5, 2.0)})
    return [v for v in values if v < max(4, n // 2)] or [max(2, n // 4)]


@dataclass
class Selection:
    """One candidate ``min_cluster_size`` and its internal scores (no labels involved).

    ``score`` = silhouette of the clustered points in the reduced space (separation where the clustering happened)
    + their cosine silhouette in the embedding space (guards against clusters that only the reduction separates);
    the smallest candidate within ``selection_tolerance`` of the highest score wins. ``relative_validity`` is
    HDBSCAN's DBCV approximation, reported.
    """

    min_cluster_size: int
    n_clusters: int
    noise_share: float
    silhouette_reduced: float
    silhouette_embedding: float
    relative_validity: float

    @property
    def score(self) -> float:
        return self.silhouette_reduced + self.silhouette_embedding


class TaskTypeClusterer:
    """Cluster prompt embeddings into task types, without labels.

    Args:
        reducer: ``"umap"`` (default), ``"pca"``, ``"none"`` or an object with ``fit_transform``.
        n_components: reduced dimensions (5-15; 10 default).
        n_neighbors: UMAP neighbourhood (15-50; larger merges more, 30 default).
        min_cluster_size: HDBSCAN's smallest task type; ``"auto"`` picks it among
            :func:`candidate_min_cluster_sizes` by an internal score (see :class:`Selection`); an int fixes it.
        min_samples: HDBSCAN's conservativeness (1 = least noise).
        noise: ``"assign"`` gives each noise point its nearest cluster when it is as close as that cluster's own
            members usually are (see ``assign_quantile``), else leaves it unassigned (-1); ``"keep"`` leaves all
            noise unassigned.
        assign_quantile: a point joins cluster c if its cosine similarity to c's centroid is at least this quantile
            of c's members' similarities minus ``assign_slack``. Lower assigns more.
        template_weight: how far prompts of one template are pulled to the template mean (0 = off).
        merge_share: clusters that each hold at least this share of one template group's prompts are merged
            (see :func:`~slmprofile.cluster.templates.merge_by_groups`; 0 = off).
        view_merge: join clusters whose requests (system prompt + user text), responses and response lengths
            (relative to the requests) are all alike (see
            :func:`~slmprofile.cluster.views.merge_by_views`; needs ``views`` in ``fit``): ``"auto"`` cuts where
            the sampled members' silhouette is highest, a float in (0, 1] cuts at that similarity, ``"off"`` skips.
        view_samples: members per cluster whose two views are embedded for ``view_merge``.
        n_families: number of coarse families, or ``"auto"`` (best silhouette of the cluster centroids).
        family_features: ``"form"`` (default): with ``form`` signals in ``fit``, families are task forms, found by
            :func:`~slmprofile.cluster.forms.form_families` from the types' mean answer-format cues (and, for types
            with no form cue, their masked-request embeddings); ``"content"``: Ward over the type centroids (the topic).
        form_weight: with ``form`` signals in ``fit``, types are found on the prompt embedding joined with the
            masked-request embedding at this weight (0, the default: the prompt embedding alone; on the task-form
            development set a weight of 1 gave fewer, less pure types and lower CLINC150/Banking77/sample ARI).
        max_fit_samples: fit on a random sample this large; the rest is assigned to the nearest centroid.
        selection_tolerance: with ``min_cluster_size="auto"``, the smallest candidate whose score is within this
            of the best wins: when the internal score cannot tell two granularities apart, the finer one is kept
            (a type split in two is merged back at the family level; two tasks merged into one type mislead
            every per-type estimate).
        n_bootstrap: resamples for the per-type stability score (0 = skip). Each refits HDBSCAN on a bootstrap
            resample of the reduced points (at most ``BOOTSTRAP_POINTS``); a type's stability is the mean, over
            resamples, of its best Jaccard overlap with a resampled cluster (1 = always found again).
        keep_reducer: keep the fitted reducer as ``reducer_``. Assigning new prompts never needs it (that is by
            centroid), and a fitted UMAP of 50k prompts holds about 0.5 GB (its data, graph and search index), so the
            large-log path sets this False; ``reducer_`` is then None after ``fit``.
        clusterer: the density clusterer, by name (``"hdbscan"``, the default; ``"sklearn-hdbscan"``) or a factory
            ``(min_cluster_size=, min_samples=) -> object with fit_predict`` (:mod:`slmprofile.cluster.density`).
        random_state: seed for sampling, UMAP and the bootstrap.

    Attributes (after ``fit``): ``labels_`` (n,), ``flags_`` (n,) of core/assigned/unassigned, ``distances_``
    (cosine distance to the own or nearest centroid), ``centroids_`` (k, d), ``families_`` (k,),
    ``min_cluster_size_``, ``selection_`` (list of :class:`Selection`), ``n_clusters_``, ``stability_`` (k,),
    ``n_merged_`` (clusters joined by template groups), ``view_merge_`` (a :class:`ViewMerge`),
    ``content_dims_`` (the prompt embedding's width: ``centroids_`` are wider when ``form_weight`` joined the
    masked-request embedding; :meth:`content_centroids` gives the prompt-embedding part), ``prompt_families_`` (n,)
    (every prompt's family; unassigned prompts take the nearest family in the form space when ``form`` was given,
    else -1), ``family_basis_`` (``"form"`` or ``"content"``).
    """

    def __init__(self, *, reducer: str | Any = "umap", n_components: int = 10, n_neighbors: int = 30,
                 min_cluster_size: int | str = "auto", min_samples: int = 1, noise: str = "assign",
                 assign_quantile: float = 0.0, assign_slack: float = 0.1, template_weight: float = 0.7,
                 merge_share: float = 0.05, view_merge: str | float = "auto", view_samples: int = 32,
                 n_families: int | str = "auto", family_features: str = "form", form_weight: float = 0.0,
                 max_fit_samples: int = 50_000, n_bootstrap: int = 5,
                 selection_tolerance: float = 0.01, keep_reducer: bool = True, clusterer: str | Any = "hdbscan",
                 random_state: int | None = 0) -> None:
        self.reducer = reducer
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.noise = noise
        self.assign_quantile = assign_quantile
        self.assign_slack = assign_slack
        self.template_weight = template_weight
        self.merge_share = merge_share
        self.view_merge = view_merge
        self.view_samples = view_samples
        self.n_families = n_families
        self.family_features = family_features
        self.form_weight = form_weight
        self.max_fit_samples = max_fit_samples
        self.n_bootstrap = n_bootstrap
        self.selection_tolerance = selection_tolerance
        self.keep_reducer = keep_reducer
        self.clusterer = clusterer
        self.random_state = random_state

    _parameter_constraints = {
        "noise": [Options("assign", "keep")],
        "min_cluster_size": [Options("auto"), Interval(int, 2, None)],
        "merge_share": [Interval(float, 0, 1)],
        "selection_tolerance": [Interval(float, 0, None)],
        "view_merge": [Options("auto", "off"), Interval(float, 0, 1, closed="right")],
        "view_samples": [Interval(int, 2, None)],
        "family_features": [Options("form", "content")],
        "form_weight": [Interval(float, 0, 2)],
        "template_weight": [Interval(float, 0, 1)],
        "clusterer": [Options(*CLUSTERERS), Rule(callable, "a factory (see slmprofile.cluster.density)")],
    }

    # ------------------------------------------------------------------ fit
    def fit(self, X: np.ndarray, *, groups: Sequence[Any] | None = None, views: PromptViews | None = None,
            form: FormSignals | None = None) -> TaskTypeClusterer:
        """Learn task types from embeddings ``X`` (n, d); ``groups`` are template ids (optional); ``views`` the
        request and response texts of the same rows and an encoder, for ``view_merge`` (optional); ``form`` their
        form signals (:class:`~slmprofile.cluster.forms.FormSignals`), for families by task form and types that keep
        forms apart (optional)."""
        import numpy as np

        check_params(self)
        n = len(X)
        if form is not None and len(form) != n:
            raise ValueError(f"form signals have {len(form)} rows for {n} prompts")
        self.content_dims_ = int(np.asarray(X).shape[1])
        self.form_dims_ = 0
        X = self._joined(X, form)
        if n < 10:
            raise ValueError(f"need at least 10 prompts to find task types; got {n}")
        self.group_means_ = group_means(X, groups) if groups is not None else {}
        Xb = blend_templates(X, groups, self.template_weight)
        rng = np.random.default_rng(self.random_state)
        fit_idx = np.sort(rng.choice(n, self.max_fit_samples, replace=False)) if n > self.max_fit_samples \
            else np.arange(n)
        n_neighbors = min(self.n_neighbors, max(2, len(fit_idx) - 1))
        n_components = min(self.n_components, max(2, len(fit_idx) - 2))
        self.reducer_ = make_reducer(self.reducer, n_components=n_components, n_neighbors=n_neighbors,
                                     random_state=self.random_state)
        Z = np.asarray(self.reducer_.fit_transform(Xb[fit_idx]), dtype=np.float64)
        fit_groups = None if groups is None else np.asarray(groups, dtype=object)[fit_idx]
        raw = self._cluster(Z, Xb[fit_idx])
        grouped = merge_by_groups(raw, fit_groups, self.merge_share)
        self.n_merged_ = int(raw.max()) - int(grouped.max())
        sample_labels = grouped
        if views is None or self.view_merge == "off":
            self.view_merge_ = ViewMerge(reason="off" if self.view_merge == "off" else "no views given",
                                         clusters_before=int(grouped.max()) + 1, clusters_after=int(grouped.max()) + 1)
        else:
            fit_views = views if len(fit_idx) == n else PromptViews(texts=lambda idx: views.texts(fit_idx[idx]),
                                                                     encode=views.encode)
            sample_labels, self.view_merge_ = merge_by_views(
                grouped, fit_views, per_cluster=self.view_samples,
                cut=None if self.view_merge == "auto" else float(self.view_merge), strata=fit_groups,
                random_state=self.random_state)
        k = int(sample_labels.max()) + 1
        self.n_clusters_ = k
        if k == 0:
            logger.warning("no task types found in %d prompts: all unassigned", n)
            self.centroids_ = np.zeros((0, X.shape[1]), dtype=np.float32)
            self.thresholds_ = np.zeros(0)
            self.families_ = np.zeros(0, dtype=int)
            self.prompt_families_ = np.full(n, -1)
            self.family_basis_ = "content"
            self.labels_ = np.full(n, -1)
            self.flags_ = np.array([FLAG_UNASSIGNED] * n, dtype=object)
            self.distances_ = np.full(n, np.nan)
            self.stability_ = np.zeros(0)
            return self
        if not self.keep_reducer:
            self.reducer_ = None
        self.stability_ = self._view_stability(self._stability(Z, grouped, int(grouped.max()) + 1, fit_groups),
                                               grouped, sample_labels, k)
        members = Xb[fit_idx]
        self.centroids_ = normalize_rows(np.stack([members[sample_labels == c].mean(0) for c in range(k)]))
        sims_member = np.einsum("ij,ij->i", members[sample_labels >= 0],
                                self.centroids_[sample_labels[sample_labels >= 0]])
        lab_member = sample_labels[sample_labels >= 0]
        self.thresholds_ = np.array([np.quantile(sims_member[lab_member == c], self.assign_quantile)
                                     for c in range(k)]) - self.assign_slack
        labels = np.full(n, -1)
        labels[fit_idx] = sample_labels
        flags = np.array([FLAG_UNASSIGNED] * n, dtype=object)
        flags[labels >= 0] = FLAG_CORE
        sims = Xb @ self.centroids_.T
        nearest = sims.argmax(1)
        best = sims[np.arange(n), nearest]
        if self.noise == "assign":
            todo = labels < 0
        else:
            todo = np.zeros(n, dtype=bool)
            todo[np.setdiff1d(np.arange(n), fit_idx)] = True  # out-of-sample points still get assigned
        ok = todo & (best >= self.thresholds_[nearest])
        labels[ok] = nearest[ok]
        flags[ok] = FLAG_ASSIGNED
        own = np.where(labels >= 0, sims[np.arange(n), np.maximum(labels, 0)], best)
        self.labels_ = labels
        self.flags_ = flags
        self.distances_ = 1.0 - own
        if form is not None and self.family_features == "form":
            rows = form_rows(labels, random_state=self.random_state)  # the families need no more
            features = form.features(rows)
            self.families_ = form_families(labels, features, cues=form.cues, rows=rows, random_state=self.random_state)
            self.family_basis_ = "form"
            self.prompt_families_ = _nearest_family(labels, self.families_, features, rows)
        else:
            self.families_ = self._families(self.centroids_, Xb, labels)
            self.family_basis_ = "content"
            self.prompt_families_ = np.where(labels >= 0, self.families_[np.maximum(labels, 0)], -1)
        return self

    def _joined(self, X: np.ndarray, form: FormSignals | None, *, fitting: bool = True) -> np.ndarray:
        """Unit prompt embeddings, joined with the weighted unit masked-request embeddings when types use form."""
        import numpy as np

        X = normalize_rows(X)
        if fitting and form is not None and self.form_weight > 0:
            self.form_dims_ = int(form.vectors([0]).shape[1])
        if not getattr(self, "form_dims_", 0):
            return X
        if form is None:
            raise ValueError("this TaskTypeClusterer was fit with form signals: pass form= for new prompts too")
        return normalize_rows(np.hstack([X, self.form_weight * normalize_rows(form.vectors())]))

    def content_centroids(self) -> np.ndarray:
        """Unit centroids in the prompt-embedding space (``centroids_`` without the masked-request part)."""
        return normalize_rows(self.centroids_[:, :self.content_dims_]) if len(self.centroids_) else self.centroids_

    def _cluster(self, Z: np.ndarray, X: np.ndarray) -> np.ndarray:
        import numpy as np
        from sklearn.metrics import silhouette_score

        sizes = candidate_min_cluster_sizes(len(Z)) if self.min_cluster_size == "auto" else [int(self.min_cluster_size)]
        sample = min(len(Z), SILHOUETTE_SAMPLE)
        self.selection_: list[Selection] = []
        results = []
        for size in sizes:
            model = make_clusterer(self.clusterer, min_cluster_size=size, min_samples=self.min_samples)
            labels = model.fit_predict(Z)
            k = int(labels.max()) + 1
            kept = labels >= 0
            if k >= 2 and kept.sum() > k:
                sil_z = float(silhouette_score(Z[kept], labels[kept], sample_size=min(sample, int(kept.sum())),
                                               random_state=self.random_state))
                sil_x = float(silhouette_score(X[kept], labels[kept], metric="cosine",
                                               sample_size=min(sample, int(kept.sum())), random_state=self.random_state))
                validity = float(getattr(model, "relative_validity_", float("nan")))
            else:
                sil_z = sil_x = validity = -1.0
            choice = Selection(size, k, float((~kept).mean()), sil_z, sil_x, validity)
            self.selection_.append(choice)
            results.append((choice, labels))
        top = max(choice.score for choice, _ in results)
        choice, best_labels = min(((c, lab) for c, lab in results if c.score >= top - self.selection_tolerance),
                                  key=lambda item: item[0].min_cluster_size)
        self.min_cluster_size_ = choice.min_cluster_size
        return np.asarray(best_labels)

    def _stability(self, Z: np.ndarray, labels: np.ndarray, k: int,
                   groups: np.ndarray | None = None) -> np.ndarray:
        import numpy as np

        if self.n_bootstrap <= 0:
            return np.full(k, np.nan)
        rng = np.random.default_rng(None if self.random_state is None else self.random_state + 1)
        pool = np.arange(len(Z)) if len(Z) <= BOOTSTRAP_POINTS else rng.choice(len(Z), BOOTSTRAP_POINTS, replace=False)
        scores = np.zeros(k)
        for _ in range(self.n_bootstrap):
            idx = np.unique(rng.choice(pool, len(pool), replace=True))
            boot = make_clusterer(self.clusterer, min_cluster_size=self.min_cluster_size_,
                                  min_samples=self.min_samples).fit_predict(Z[idx])
            boot = merge_by_groups(boot, None if groups is None else groups[idx], self.merge_share)
            orig = labels[idx]
            kb = int(boot.max()) + 1
            if kb == 0:
                continue
            both = np.zeros((k, kb))
            keep = (orig >= 0) & (boot >= 0)
            np.add.at(both, (orig[keep], boot[keep]), 1)
            size_o = np.bincount(orig[orig >= 0], minlength=k)[:, None]
            size_b = np.bincount(boot[boot >= 0], minlength=kb)[None, :]
            jaccard = both / np.maximum(size_o + size_b - both, 1)
            scores += jaccard.max(axis=1)
        return scores / self.n_bootstrap

    @staticmethod
    def _view_stability(parts: np.ndarray, before: np.ndarray, after: np.ndarray, k: int) -> np.ndarray:
        """Stability of each final cluster: the size-weighted mean stability of the density clusters it joins (the
        bootstrap refits the density clustering; the view merge is not refit)."""
        import numpy as np

        if len(parts) == k:
            return parts
        kept = before >= 0
        sizes = np.bincount(before[kept], minlength=len(parts)).astype(float)
        target = np.zeros(len(parts), dtype=np.int64)
        target[before[kept]] = after[kept]
        out = np.zeros(k)
        weight = np.zeros(k)
        np.add.at(out, target, np.nan_to_num(parts) * sizes)
        np.add.at(weight, target, sizes)
        result = out / np.maximum(weight, 1)
        return np.full(k, np.nan) if np.isnan(parts).all() else result

    def _families(self, centroids: np.ndarray, X: np.ndarray | None = None,
                  labels: np.ndarray | None = None) -> np.ndarray:
        """Ward linkage over the unit centroids; the count maximizes the cosine silhouette of the prompts'
        family labels (a seeded sample of clustered prompts; the centroids themselves when no prompts are given)."""
        import numpy as np

        k = len(centroids)
        if k < 3:
            return np.zeros(k, dtype=int)
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.metrics import silhouette_score

        def cut(n_fam: int) -> np.ndarray:
            return AgglomerativeClustering(n_clusters=n_fam, linkage="ward").fit_predict(centroids)

        if self.n_families != "auto":
            n_fam = max(1, min(int(self.n_families), k))
            return np.zeros(k, dtype=int) if n_fam == 1 else cut(n_fam)
        points = None
        if X is not None and labels is not None and (labels >= 0).sum() > k:
            rng = np.random.default_rng(self.random_state)
            kept = np.flatnonzero(labels >= 0)
            pick = kept if len(kept) <= SILHOUETTE_SAMPLE else rng.choice(kept, SILHOUETTE_SAMPLE, replace=False)
            points = (X[pick], labels[pick])
        best, best_score = np.zeros(k, dtype=int), -np.inf
        for n_fam in range(2, max(2, min(k // 2, 25)) + 1):  # a family gathers two types on average, or more
            fam = cut(n_fam)
            if points is None:
                score = silhouette_score(centroids, fam, metric="cosine")
            else:
                fam_of = fam[points[1]]
                if len(set(fam_of.tolist())) < 2:
                    continue
                score = silhouette_score(points[0], fam_of, metric="cosine")
            if score > best_score:
                best, best_score = fam, score
        return best

    # ------------------------------------------------------------------ predict
    def predict(self, X: np.ndarray, *, groups: Sequence[Any] | None = None,
                form: FormSignals | None = None) -> np.ndarray:
        """Task type of new embeddings: the nearest centroid when close enough, else -1."""
        return self.assign(X, groups=groups, form=form)[0]

    def assign(self, X: np.ndarray, *, groups: Sequence[Any] | None = None,
               form: FormSignals | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, distances)`` of new embeddings: the nearest centroid when close enough (else -1) and the
        cosine distance to it. Template groups seen in ``fit`` are blended with their fitted means. ``form``: the
        new prompts' form signals, needed when the types were fit with them."""
        import numpy as np

        X = blend_templates(self._joined(X, form, fitting=False), groups, self.template_weight,
                            getattr(self, "group_means_", None))
        if len(self.centroids_) == 0:
            return np.full(len(X), -1), np.full(len(X), np.nan)
        sims = X @ self.centroids_.T
        nearest = sims.argmax(1)
        best = sims[np.arange(len(X)), nearest]
        ok = best >= self.thresholds_[nearest]
        return np.where(ok, nearest, -1), 1.0 - best

    def fit_predict(self, X: np.ndarray, *, groups: Sequence[Any] | None = None,
                    form: FormSignals | None = None) -> np.ndarray:
        return self.fit(X, groups=groups, form=form).labels_


def _nearest_family(labels: np.ndarray, families: np.ndarray, features: np.ndarray,
                    rows: np.ndarray | None = None) -> np.ndarray:
    """Every prompt's family: its type's, or for an unassigned prompt the family whose members' mean form features
    are nearest. ``features`` are those of ``rows`` (all rows when None), which hold every unassigned prompt."""
    import numpy as np

    out = np.where(labels >= 0, families[np.maximum(labels, 0)], -1)
    lost = out < 0
    if not lost.any() or not len(families):
        return out
    rows = np.arange(len(labels)) if rows is None else np.asarray(rows, dtype=np.int64)
    held = out[rows]
    fams = np.unique(families)
    means = np.stack([features[held == f].mean(0) if (held == f).any() else np.full(features.shape[1], np.inf)
                      for f in fams])
    mine = features[held < 0]
    d = ((mine[:, None, :] - means[None]) ** 2).sum(-1)
    out[rows[held < 0]] = fams[d.argmin(1)]
    return out
