"""Development set for task *forms*: mixed real prompts, each with the form of its task (what is asked and the shape
of the answer), built from ../shared/data and the bundled sample only.

    python benchmarks/form_devset.py [--seed 0]        # prints the counts per form and source

``build(seed)`` returns one row per distinct prompt: ``source, label`` (intent / subject / category / sample task),
``form``, ``archetype`` (the archetype a correct tag names), ``text`` (user text), ``system_prompt``,
``response_text``, ``template_id``. ``seed`` draws the capped sources' random subsets, so several seeds give several
development sets.

Sources: CLINC150 test and Banking77 test (600 each, sampled), MMLU (600 over its 29 subjects), GSM8K (600), MT-Bench
(all 80 first turns), and the bundled sample's 14 tasks (50 distinct prompts each, redacted as the pipeline sees them,
with system prompt, response and template id).

Forms (9):
  multiple_choice  MMLU                                                   (pick one of options A-D)
  intent           CLINC150, Banking77, sample chit_chat, faq_answer      (a short request to an assistant or bot)
  word_problem     GSM8K, MT-Bench math and reasoning, sample math_word_problem
  code             MT-Bench coding, sample sql_generation, code_review
  extraction       MT-Bench extraction, sample invoice_extraction, keyword_extraction
  classification   sample review_sentiment, ticket_triage                 (label a given text with listed labels)
  writing          MT-Bench writing and roleplay, sample email_drafting   (compose new text from a brief)
  transform        sample translation, meeting_summary, release_notes     (rewrite, translate or summarise a text)
  open_question    MT-Bench stem and humanities, sample strategy_question (explain or advise)
"""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
MT_BENCH_FORM = {"writing": "writing", "roleplay": "writing", "reasoning": "word_problem", "math": "word_problem",
                 "coding": "code", "extraction": "extraction", "stem": "open_question", "humanities": "open_question"}
SAMPLE_FORM = {"chit_chat": "intent", "faq_answer": "intent", "math_word_problem": "word_problem",
               "sql_generation": "code", "code_review": "code", "invoice_extraction": "extraction",
               "keyword_extraction": "extraction", "review_sentiment": "classification",
               "ticket_triage": "classification", "email_drafting": "writing", "translation": "transform",
               "meeting_summary": "transform", "release_notes": "transform", "strategy_question": "open_question"}
#: The archetype a correct tag names, per form (transform: per sample task, below).
FORM_ARCHETYPE = {"multiple_choice": "multiple choice", "intent": "open-ended chat", "word_problem": "maths/reasoning",
                  "code": "code", "extraction": "extraction", "classification": "classification",
                  "writing": "creative writing", "open_question": "question answering"}
TASK_ARCHETYPE = {"translation": "rewriting/translation", "release_notes": "rewriting/translation",
                  "meeting_summary": "summarisation"}
#: Forms a type must not mix; the words a family name should contain for each.
FORM_WORDS = {"multiple_choice": "multiple-choice", "intent": "assistant", "word_problem": "maths", "code": "code",
              "extraction": "extraction", "classification": "classification", "writing": "writing",
              "transform": ("translation", "summary", "rewriting"), "open_question": "question"}
#: Words a task type's name should contain for each of the sample's tasks (its form, as a person would name it).
SAMPLE_NAME_WORDS = {"chit_chat": ("assistant", "chat"), "faq_answer": ("assistant", "question"),
                     "math_word_problem": ("maths",), "sql_generation": ("code",), "code_review": ("code",),
                     "invoice_extraction": ("extraction",), "keyword_extraction": ("extraction", "classification"),
                     "review_sentiment": ("classification",), "ticket_triage": ("classification",),
                     "email_drafting": ("writing",), "translation": ("translation",), "meeting_summary": ("summary",),
                     "release_notes": ("rewriting", "summary"), "strategy_question": ("question",)}


@functools.lru_cache(maxsize=1)
def sample_prompts():
    """Distinct prompts of the bundled sample (redacted, as the pipeline sees them) with their task."""
    import polars as pl

    from slmprofile.ingest import ingest
    from slmprofile.redact import redact_logs

    logs, _ = redact_logs(ingest(ROOT / "data" / "logs").frame)
    truth = pl.read_csv(ROOT / "data" / "truth.csv").select("id", "task_type")
    return (logs.join(truth, on="id").group_by("prompt_hash", maintain_order=True)
            .agg(pl.col("prompt_text").first(), pl.col("system_prompt").drop_nulls().first(),
                 pl.col("response_text").drop_nulls().first(), pl.col("template_id").first(),
                 pl.col("task_type").first())
            .filter(pl.col("prompt_text").is_not_null()))


def build(seed: int = 0, *, cap: int = 600, per_task: int = 50, root: str | Path | None = None):
    """The development set (see the module docs); raises FileNotFoundError without ../shared/data."""
    import polars as pl

    from slmprofile import datasets as D

    def capped(df: pl.DataFrame, n: int) -> pl.DataFrame:
        return df if df.height <= n else df.sample(n, seed=seed, shuffle=True)

    none = pl.lit(None, dtype=pl.Utf8)
    plain = [none.alias("system_prompt"), none.alias("response_text"), none.alias("template_id")]
    routellm = D.load_routellm(root)
    parts = [
        capped(D.load_clinc150(root, split="test"), cap).select(
            pl.lit("clinc150").alias("source"), pl.col("intent").alias("label"), pl.lit("intent").alias("form"),
            "text", *plain),
        capped(D.load_banking77(root, split="test"), cap).select(
            pl.lit("banking77").alias("source"), pl.col("intent").alias("label"), pl.lit("intent").alias("form"),
            "text", *plain),
        capped(routellm.filter(pl.col("source") == "mmlu"), cap).select(
            pl.lit("mmlu").alias("source"), pl.col("subject").alias("label"),
            pl.lit("multiple_choice").alias("form"), "text", *plain),
        capped(routellm.filter(pl.col("source") == "gsm8k"), cap).select(
            pl.lit("gsm8k").alias("source"), pl.lit("gsm8k").alias("label"), pl.lit("word_problem").alias("form"),
            "text", *plain),
        D.load_mt_bench(root).select(
            pl.lit("mt_bench").alias("source"), pl.col("category").alias("label"),
            pl.col("category").replace_strict(MT_BENCH_FORM).alias("form"), "text", *plain),
    ]
    sample = sample_prompts()
    sample = pl.concat([capped(sample.filter(pl.col("task_type") == t), per_task) for t in sorted(SAMPLE_FORM)])
    parts.append(sample.select(
        pl.lit("sample").alias("source"), pl.col("task_type").alias("label"),
        pl.col("task_type").replace_strict(SAMPLE_FORM).alias("form"), pl.col("prompt_text").alias("text"),
        "system_prompt", "response_text", "template_id"))
    cols = ["source", "label", "form", "text", "system_prompt", "response_text", "template_id"]
    out = pl.concat([p.select(cols) for p in parts]).unique("text", keep="first", maintain_order=True)
    archetype = [TASK_ARCHETYPE.get(label) if source == "sample" and label in TASK_ARCHETYPE
                 else FORM_ARCHETYPE.get(form) for source, label, form in zip(out["source"], out["label"], out["form"])]
    return out.with_columns(pl.Series("archetype", archetype, dtype=pl.Utf8))


def main() -> None:
    import polars as pl

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    d = build(args.seed)
    print(f"{d.height} prompts, {d['form'].n_unique()} forms")
    with pl.Config(tbl_rows=60):
        print(d.group_by("form", "source").len().sort("form", "source"))


if __name__ == "__main__":
    main()
