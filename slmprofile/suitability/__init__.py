"""Per task type: can a small model (SLM) take this traffic, and how sure are we?

Three kinds of evidence are kept apart in the table and combined into one rate per task type and candidate model:

1. **Heuristic prior** (:func:`heuristic_prior`): a Beta prior whose mean comes from the task type's archetype
   (classification, extraction and short rewriting high; maths/reasoning, code, long creative work low), adjusted
   on the logit scale for output shape (a small label set, JSON, short or long outputs), templated traffic, prompt
   length, output diversity, tool use and language, each adjustment with its reason. Its weight is a stated number
   of pseudo-calls (``prior_strength``, default 4): a prior, labelled as such, never decides a verdict alone.
2. **Logged outcomes**: per-call correctness of a candidate (``slm_correct``) and of the frontier model
   (``frontier_correct``), e.g. from an offline eval joined at ingest; quality signals of the current traffic
   (``feedback``, ``eval_score``, errors) are shown beside them.
3. **Shadow runs** (:mod:`slmprofile.shadow`): agreement of candidate models with the logged frontier answers.

The rate is the candidate's success rate (``metric="success"``: share of calls it gets right / agrees on) or its
parity rate (``metric="parity"``: share of calls where it is right or the frontier is wrong too). Evidence counts
``k`` of ``n`` are pooled with the prior's pseudo-counts ``w`` (``k + w*m`` of ``n + w``), and the rate gets a
Wilson interval (:func:`wilson_interval`). The verdict is ``slm`` when the interval's lower bound clears the target
(default 0.95), ``frontier`` when its upper bound is below it, otherwise ``undecided`` with the number of further
samples that would decide it at the current rate (:func:`samples_to_decide`).

**Calibrated prior (empirical Bayes).** When enough task types have evidence (at least 5), the prior is
calibrated across them: a weighted logistic-scale regression of the observed rates on the heuristic prior and, when
logged, the frontier's own success rate on all of the type's calls (tasks the frontier finds hard are harder for a
small model), with the prior's strength estimated from the spread left over (method of moments,
:func:`prior_strength_estimate`). A task type's prior then weighs ``min(strength, max(n / 2, prior_strength))``
pseudo-calls (:data:`PRIOR_EVIDENCE_RATIO`): at most half its own evidence, which guards the intervals against a
calibration that fits one task type badly. On RouteLLM (MMLU subjects and GSM8K, 10 % samples) this keeps the
intervals' coverage at or above nominal and ranks the subjects better than the sample rates alone (Spearman 0.85
against 0.81 on average over 200 seeds; see ``tests/test_suitability.py``).

**SLM share and escalation.** Calls can be kept on the SLM selectively: sorted by a per-call score (the SLM's own
confidence when known - ``slm_confidence`` or shadow logprobs - else the call's typicality, minus its distance to
the task type's centroid), the largest top share whose evaluated calls reach the target is kept (``slm_share``;
``slm_share_lo`` requires the Wilson lower bound to reach it, ``slm_share_hi`` only the upper bound), and the rest
escalates to the frontier (``escalation_rate = 1 - slm_share``). These use the evidence only, not the prior.

>>> table = assess_suitability("out/sample", outcomes="data/evals/offline_eval.csv")   # doctest: +SKIP
"""

from .assess import assess_suitability, outcome_candidates, write_table
from .calls import UNUSED_BY_ESTIMATES, load_calls
from .estimator import TYPICALITY, SuitabilityEstimator
from .intervals import (DEFAULT_CONFIDENCE, DEFAULT_TARGET, VERDICTS, decide, kept_share, samples_to_decide,
                        wilson_interval, z_value)
from .prior import (ARCHETYPE_PRIOR, DEFAULT_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH, MIN_TYPES_TO_CALIBRATE,
                    PRIOR_EVIDENCE_RATIO, UNKNOWN_ARCHETYPE_PRIOR, Prior, heuristic_prior, non_english_share,
                    prior_strength_estimate)

__all__ = ["ARCHETYPE_PRIOR", "DEFAULT_CONFIDENCE", "DEFAULT_PRIOR_STRENGTH", "DEFAULT_TARGET", "MAX_PRIOR_STRENGTH",
           "MIN_TYPES_TO_CALIBRATE", "PRIOR_EVIDENCE_RATIO", "TYPICALITY", "UNKNOWN_ARCHETYPE_PRIOR",
           "UNUSED_BY_ESTIMATES", "VERDICTS", "Prior", "SuitabilityEstimator", "assess_suitability", "decide",
           "heuristic_prior", "kept_share", "load_calls", "non_english_share", "outcome_candidates",
           "prior_strength_estimate", "samples_to_decide", "wilson_interval", "write_table", "z_value"]
