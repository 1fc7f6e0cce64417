"""Redaction throughput with and without the cheap gates, same process, same texts.

    python benchmarks/redact_speed.py [--repeats 3]

Two gates skip work that cannot find anything: the recognizers whose every match holds a digit (IBAN, card,
national id, IP, phone) are not run on a text without one, and an API-key pattern is not run on a text without its
literal prefix. The baseline is the same code with both gates switched off, timed in this run; the findings of
both must be identical (checked here too). Texts: the bundled sample's prompts and responses, and - when
../shared/data is there - public prompts (MMLU and GSM8K questions, CLINC150, Banking77, MT-Bench). Prints MB/s
of each and the ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

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


def _mb_per_s(texts: list[str], repeats: int) -> float:
    from slmprofile.redact import redact

    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for text in texts:
            redact(text)
        best = min(best, time.perf_counter() - started)
    return sum(len(t) for t in texts) / 1e6 / best


def main() -> None:
    import slmprofile.redact.patterns as patterns
    import slmprofile.redact.text as text_mod
    from slmprofile.redact import find_pii

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    gates = (patterns._KEY_PATTERNS, text_mod._NEED_DIGITS)
    ungated = (tuple((p, mixed, ("",)) for p, mixed, _ in gates[0]), frozenset())
    for name, texts in _texts().items():
        gated_findings = [find_pii(t) for t in texts]
        on = _mb_per_s(texts, args.repeats)
        patterns._KEY_PATTERNS, text_mod._NEED_DIGITS = ungated
        try:
            assert [find_pii(t) for t in texts] == gated_findings, "the gates changed a finding"
            off = _mb_per_s(texts, args.repeats)
        finally:
            patterns._KEY_PATTERNS, text_mod._NEED_DIGITS = gates
        mb = sum(len(t) for t in texts) / 1e6
        print(f"{name}: {len(texts):,} texts, {mb:.1f} MB, {sum(map(len, gated_findings)):,} findings; "
              f"gates off {off:.2f} MB/s, on {on:.2f} MB/s: {on / off:.2f}x")


if __name__ == "__main__":
    main()
