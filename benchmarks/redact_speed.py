"""Redaction throughput of a column of texts: the batch path against text-by-text redaction, same process, same texts.

    python benchmarks/redact_speed.py [--repeats 3]

Three ways to redact the same texts, timed in this run:

- ``ungated``: ``redact`` text by text with every recognizer on every text (redaction as it was before the cheap
  gates; the 1M-call run of issue 22 spent 432 s here, ~1.4 MB/s);
- ``gated``: ``redact`` text by text with the cheap gates (recognizers whose every match holds a digit skipped on a
  text without one, key patterns skipped on a text without their literal prefix);
- ``batch``: ``redact_many`` (what a run uses): every recognizer's trigger over the whole column in polars' Rust
  regex engine, then the Python recognizers only where their trigger fired.

The three must write identical texts (checked here). Texts: the bundled sample's prompts and responses, and - when
../shared/data is there - public prompts (MMLU and GSM8K questions, CLINC150, Banking77, MT-Bench). Prints MB/s of
each and the batch path's ratio to the other two.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def _texts() -> dict[str, list[str]]:
    from slmprofile.datasets import load_banking77, load_clinc150, load_mt_bench, load_routellm, shared_data_dir
    from slmprofile.ingest import ingest

    frame = ingest([ROOT / "data" / "logs"]).frame
    out = {"sample": [t for c in ("prompt_text", "response_text") for t in frame[c].to_list() if t]}
    if shared_data_dir() is not None:
        public = [t for load in (load_routellm, load_clinc150, load_banking77, load_mt_bench)
                  for t in load()["text"].to_list()]
        out["public"] = list(dict.fromkeys(t for t in public if t))
    return out


def _best(fn: Callable[[], list], repeats: int) -> tuple[float, list]:
    best, result = float("inf"), []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    import slmprofile.redact.patterns as patterns
    import slmprofile.redact.text as text_mod
    from slmprofile.redact import redact, redact_many

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    gates = (patterns._KEY_PATTERNS, text_mod._NEED_DIGITS)
    ungated = (tuple((p, mixed, ("",)) for p, mixed, _ in gates[0]), frozenset())
    for name, texts in _texts().items():
        mb = sum(len(t) for t in texts) / 1e6
        batch_s, batch = _best(lambda texts=texts: redact_many(texts)[0], args.repeats)
        gated_s, gated = _best(lambda texts=texts: [redact(t)[0] for t in texts], args.repeats)
        patterns._KEY_PATTERNS, text_mod._NEED_DIGITS = ungated
        try:
            ungated_s, plain = _best(lambda texts=texts: [redact(t)[0] for t in texts], args.repeats)
        finally:
            patterns._KEY_PATTERNS, text_mod._NEED_DIGITS = gates
        assert batch == gated == plain, "the paths wrote different texts"
        changed = sum(a != b for a, b in zip(batch, texts))
        print(f"{name}: {len(texts):,} texts, {mb:.1f} MB, {changed:,} changed; ungated {mb / ungated_s:.2f} MB/s, "
              f"gated {mb / gated_s:.2f} MB/s, batch {mb / batch_s:.2f} MB/s: {ungated_s / batch_s:.1f}x ungated, "
              f"{gated_s / batch_s:.1f}x gated")


if __name__ == "__main__":
    main()
