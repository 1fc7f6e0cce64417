"""A seeded, reproducible sample of a fictional company's LLM traffic, in four real log formats.

``generate_sample(out_dir)`` writes what a team at "Northwind Analytics" (a B2B analytics SaaS) would export after a
month of LLM use: each internal service logs through a different tool, so the calls are spread over

* ``logs/openai_chat.jsonl``: batch jobs (invoice extraction, review sentiment, NPS tagging) and the DataBot
  Slack bot (SQL through a ``run_sql`` tool call), logged as raw OpenAI request/response pairs;
* ``logs/langfuse_observations.jsonl``: the Insights Copilot (SQL, metrics maths, strategy questions, small talk),
  traced with Langfuse;
* ``logs/helicone_export.csv``: the support desk (ticket triage, reply drafts, help-center answers, translation of
  incoming tickets), proxied through Helicone;
* ``logs/litellm_spend_logs.jsonl.gz``: internal tools behind a LiteLLM proxy (PR review bot, meeting-notes bot, HR bot,
  Slack assistant, localization pipeline, release notes, ...);

plus ``truth.csv`` (the task type, template and planted PII of every real call, keyed by the id a reader assigns)
and ``README.md``. Everything is pure stdlib and depends only on the arguments: the same seed gives byte-identical
files. ``generate_sample(out_dir, drift=True)`` also writes the month after under ``month2/`` (same layout), where the
task mix shifts, invoice extraction gets harder for the small model and a new task (résumé screening, built in
:mod:`slmprofile.sample_drift`) appears, with the ground truth of those changes in ``month2/drift_truth.json``.

The package: :mod:`~slmprofile.sample.mix` (names, models, the task mix of a month), :mod:`~slmprofile.sample.calls`
(one call: ids, tokens, cost, timing), :mod:`~slmprofile.sample.records` (one writer per log format),
:mod:`~slmprofile.sample.readme` (the README and change notes) and :mod:`~slmprofile.sample.generate` (the months,
truth, offline eval and drift truth). The content tables are :mod:`slmprofile.sample_content`.
"""

from __future__ import annotations

from .generate import generate_sample
from .mix import (DRIFT_DIR, DRIFT_TRUTH, EVAL_FILE, EVAL_SLM, FT_MODEL, HELICONE_COLUMNS, LOG_FILES, NEW_TASK,
                  SLM_DIFFICULTY, TASK_FAMILIES, SampleSummary)

__all__ = ["SampleSummary", "generate_sample", "TASK_FAMILIES", "LOG_FILES", "DRIFT_DIR", "DRIFT_TRUTH"]
