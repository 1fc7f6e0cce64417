"""Plots of task types (matplotlib ``Figure`` objects, no global pyplot state): a 2-D map, cost share bars and
share over time. Save with ``fig.savefig(path)`` (PNG or SVG)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..deps import require
from ..plotting import plain_text

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import numpy as np
    import polars as pl
    from matplotlib.figure import Figure

    from . import TaskTypeResult


def _top_ids(task_types: pl.DataFrame, top: int, by: str = "calls") -> list[int]:
    import polars as pl

    return task_types.filter(pl.col("cluster_id") >= 0).sort(by, descending=True, nulls_last=True)[
        "cluster_id"].head(top).to_list()


#: UMAP layout epochs of the task map.
MAP_EPOCHS = 200


def project_2d(X: np.ndarray, *, random_state: int = 0, max_points: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """(indices, 2-D coordinates) of up to ``max_points`` embeddings, by UMAP (umap-learn, a core dependency: a
    missing one is an error naming the package, not a quietly different picture)."""
    import numpy as np

    umap = require("umap", package="umap-learn", purpose="the task map")
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(len(X), max_points, replace=False)) if len(X) > max_points else np.arange(len(X))
    from .reduce import CosineUMAP

    # CosineUMAP: the same layout as umap.UMAP's, its small-data distances in compiled code (see its docs); 200
    # layout epochs (UMAP's own choice above 10,000 points; 500 below) are plenty for a picture
    xy = CosineUMAP(umap.UMAP(n_components=2, n_neighbors=30, min_dist=0.1, metric="cosine", n_epochs=MAP_EPOCHS,
                              random_state=random_state, n_jobs=1 if random_state is not None else -1)
                    ).fit_transform(X[idx])
    return idx, np.asarray(xy)


@plain_text
def plot_task_map(result: TaskTypeResult, embeddings: pl.DataFrame, *, top: int = 12,
                  random_state: int = 0) -> Figure:
    """2-D map of distinct prompts coloured by task type (the ``top`` largest named, the rest grey). Prompts
    without an embedding (placed by their template in a sampled run) are not drawn."""
    import numpy as np
    from matplotlib.figure import Figure

    prompts = result.prompts.join(embeddings.select("prompt_hash", "embedding"), on="prompt_hash", how="inner")
    X = np.asarray(prompts["embedding"].to_numpy(), dtype=np.float32)
    idx, xy = project_2d(X, random_state=random_state)
    labels = prompts["cluster_id"].to_numpy()[idx]
    names = dict(zip(result.task_types["cluster_id"].to_list(), result.task_types["task_type"].to_list()))
    fig = Figure(figsize=(10, 7), layout="constrained")
    ax = fig.subplots()
    ax.scatter(xy[:, 0], xy[:, 1], s=6, c="#cccccc", linewidths=0)
    cmap = __import__("matplotlib").colormaps["tab20"]
    for i, cid in enumerate(_top_ids(result.task_types, top)):
        mask = labels == cid
        if not mask.any():
            continue
        ax.scatter(xy[mask, 0], xy[mask, 1], s=10, color=cmap(i % 20), linewidths=0, label=names[cid])
        cx, cy = np.median(xy[mask], axis=0)
        ax.annotate(names[cid][:28], (cx, cy), fontsize=7, ha="center",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.75, "lw": 0})
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"Task types ({result.summary.get('task_types', '?')}; largest {top} coloured, unassigned and "
                 "the rest grey)")
    return fig


@plain_text
def plot_cost_share(result: TaskTypeResult, *, top: int = 15) -> Figure:
    """Horizontal bars per task type: share of calls and share of cost."""
    import polars as pl
    from matplotlib.figure import Figure

    tt = result.task_types.filter(pl.col("cluster_id").is_in(_top_ids(result.task_types, top, by="cost_usd")))
    tt = tt.sort("cost_usd", descending=False, nulls_last=False)
    total_cost = float(result.task_types["cost_usd"].fill_null(0).sum()) or 1.0
    fig = Figure(figsize=(9, 0.42 * tt.height + 1.3), layout="constrained")
    ax = fig.subplots()
    ys = list(range(tt.height))
    ax.barh([y + 0.2 for y in ys], tt["share"].to_list(), height=0.4, label="share of calls")
    ax.barh([y - 0.2 for y in ys], [(c or 0) / total_cost for c in tt["cost_usd"].to_list()], height=0.4,
            label="share of cost")
    ax.set_yticks(ys, [n[:40] for n in tt["task_type"].to_list()], fontsize=8)
    ax.set_xlabel("share")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title("Where the calls and the money go (top task types by cost)")
    return fig


@plain_text
def plot_share_over_time(result: TaskTypeResult, *, top: int = 8) -> Figure:
    """Weekly share of calls of the ``top`` largest task types (drift)."""
    import polars as pl
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    rows = result.task_types.filter(pl.col("cluster_id").is_in(_top_ids(result.task_types, top)))
    for row in rows.iter_rows(named=True):
        if not row["weekly_share"]:
            continue
        series = json.loads(row["weekly_share"])
        ax.plot(list(series), list(series.values()), marker="o", label=row["task_type"][:32])
    ax.set_ylabel("share of the week's calls")
    ax.set_xlabel("week starting")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Task type share over time")
    return fig


def save_task_type_plots(result: TaskTypeResult, embeddings: pl.DataFrame, out_dir: str | Path) -> dict[str, str]:
    """Write the three task-type plots as PNG under ``out_dir``; returns name -> path."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = {"task_map": plot_task_map(result, embeddings), "task_cost_share": plot_cost_share(result),
               "task_share_over_time": plot_share_over_time(result)}
    paths = {}
    for name, fig in figures.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        paths[name] = str(path)
    return paths
