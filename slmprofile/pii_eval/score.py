"""Scoring of a PII finder against a labelled evaluation set: precision, recall and F1, overall and per kind."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..redact import PII_KINDS, find_pii
from .generate import LabelledText


def _as_span(pred: Any) -> tuple[int, int, str]:
    if isinstance(pred, tuple):
        return pred[0], pred[1], pred[2]
    return pred.start, pred.end, pred.kind


def score_redaction(samples: Iterable[LabelledText], find: Callable[[str], Iterable[Any]] = find_pii) -> dict[str, Any]:
    """Precision, recall and F1 of a PII finder on labelled samples, overall and per kind.

    ``find(text)`` returns findings with ``start``/``end``/``kind`` (like :class:`~slmprofile.redact.Finding`)
    or ``(start, end, kind)`` tuples. Matching rule: a prediction is a true positive when its span
    **overlaps** a true span of the **same kind** (so boundary differences, e.g. a phone found without its
    ``+``, do not count against it); a true span is recalled when some prediction of its kind overlaps it.
    Precision/recall of a kind with no predictions/no true spans is 1.0.

    Returns ``{"precision", "recall", "f1", "n_true", "n_pred", "per_kind": {kind: {"precision",
    "recall", "n_true", "n_pred"}}, "false_positives", "false_negatives"}``; the last two list up to 50
    ``(kind, text of the span, sample index)`` for inspection.
    """
    n_true: dict[str, int] = {}
    n_found: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    n_tp: dict[str, int] = {}
    false_pos: list[tuple[str, str, int]] = []
    false_neg: list[tuple[str, str, int]] = []
    for idx, sample in enumerate(samples):
        preds = [_as_span(p) for p in find(sample.text)]
        for ts, te, tk in sample.spans:
            n_true[tk] = n_true.get(tk, 0) + 1
            if any(pk == tk and ps < te and ts < pe for ps, pe, pk in preds):
                n_found[tk] = n_found.get(tk, 0) + 1
            elif len(false_neg) < 50:
                false_neg.append((tk, sample.text[ts:te], idx))
        for ps, pe, pk in preds:
            n_pred[pk] = n_pred.get(pk, 0) + 1
            if any(pk == tk and ps < te and ts < pe for ts, te, tk in sample.spans):
                n_tp[pk] = n_tp.get(pk, 0) + 1
            elif len(false_pos) < 50:
                false_pos.append((pk, sample.text[ps:pe], idx))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    total_true, total_pred = sum(n_true.values()), sum(n_pred.values())
    precision = ratio(sum(n_tp.values()), total_pred)
    recall = ratio(sum(n_found.values()), total_true)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    kinds = list(PII_KINDS) + sorted((set(n_true) | set(n_pred)) - set(PII_KINDS))
    per_kind = {
        k: {
            "precision": ratio(n_tp.get(k, 0), n_pred.get(k, 0)),
            "recall": ratio(n_found.get(k, 0), n_true.get(k, 0)),
            "n_true": n_true.get(k, 0),
            "n_pred": n_pred.get(k, 0),
        }
        for k in kinds
    }
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "n_true": total_true,
        "n_pred": total_pred,
        "per_kind": per_kind,
        "false_positives": false_pos,
        "false_negatives": false_neg,
    }
