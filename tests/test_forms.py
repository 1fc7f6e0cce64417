"""Task forms: answer-format cues, content masking, form names, families by form, the "unknown" archetype path, and
the development set built from ../shared/data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from slmprofile.cluster.forms import (CUE_INDEX, OTHER_FORM, cue_matrix, cue_vector, form_families, form_name,
                                      mask_content, mask_contents)

MCQ = ("Which bone is the longest in the human body?\nA. femur\nB. tibia\nC. humerus\nD. radius\nAnswer:")
MCQ_LAW = ("Under the doctrine of consideration, which promise is enforceable?\nA. gifts\nB. bargains\n"
           "C. past acts\nD. moral duties\nAnswer:")


def _cue(text: str, system: str | None = None) -> dict[str, float]:
    return {name: cue_vector(system, text)[i] for name, i in CUE_INDEX.items()}


def test_cues_read_the_answer_format_of_hand_written_requests() -> None:
    assert _cue(MCQ)["options"] == 1.0 and _cue(MCQ)["answer_cue"] == 1.0
    assert _cue("What's the capital of France?")["options"] == 0.0
    code = _cue("Write a Python function that returns the n-th Fibonacci number.")
    assert code["code_ask"] == 1.0 and code["language"] == 1.0 and code["options"] == 0.0
    assert _cue("Review: great sound.", system="Classify the sentiment as one of: positive, negative.")[
        "classify"] == 1.0
    assert _cue("Review: great sound.")["classify"] == 0.0  # the ask sits in the system prompt
    assert _cue("Translate into French: good morning")["translate"] == 1.0
    assert _cue("Summarize the meeting below in three bullets.")["summarise"] == 1.0
    assert _cue("The capital of Italy is ____.")["blank"] == 1.0
    maths = _cue("A shop sells 12 pens at $3 each and 5 books at $8. How much is the total?")
    assert maths["solve"] == 1.0 and maths["number_share"] > 0.2
    m = cue_matrix([None, "sys"], ["a", "b"])
    assert m.shape == (2, len(CUE_INDEX)) and m.dtype == np.float32 and m[1, CUE_INDEX["has_system"]] == 1.0


def test_masking_keeps_the_instruction_and_hides_the_topic() -> None:
    assert mask_content("Which bone is the femur? A. leg") == "which x is the x ? A . x"
    assert mask_content("Sold 12 apples for 3.50 each") == "x 0 x for 0 each"
    # two exam questions on unrelated subjects read alike once masked; a banking request does not
    first, second = mask_content(MCQ).splitlines(), mask_content(MCQ_LAW).splitlines()
    assert first[1:] == second[1:] == ["A . x", "B . x", "C . x", "D . x", "answer :"]
    assert mask_content("I lost my card, can you block it?") != mask_content(MCQ)


def test_masking_edge_cases_line_breaks_empty_and_long_texts() -> None:
    texts = ["", None, "\n \n", "Choose one?\r\n(A) cats\r(B) dogs\u2028Answer:", "alpha beta gamma 7 delta",
             "lorem " * 1000]
    assert mask_contents(texts) == ["", "", "", "choose one ?\n( A ) x\n( B ) x\nanswer :", "x 0 x", "x"]
    assert mask_content("ab. cd ef\n\n\ngh") == "x . x\nx"  # runs of x collapse within a line, not across lines
    assert mask_content("Answer: " + "lorem " * 2000, max_chars=20) == "answer : x"
    # the embedded view keeps the opening: at most max_tokens masked tokens, line breaks not counted
    assert mask_contents(["a b. c d\nthe of and\n1 2 3", "lorem " * 50, ""], max_tokens=5) == ["a b . c d", "x", ""]


def test_column_wise_cues_equal_the_per_request_definition(tmp_path) -> None:
    from slmprofile.ingest import ingest
    from slmprofile.sample import generate_sample

    generate_sample(tmp_path, n_calls=600, seed=5)
    frame = ingest([tmp_path / "logs"], estimate=False, templates=False).frame.unique(["system_prompt",
                                                                                         "prompt_text"])
    systems = frame["system_prompt"].to_list() + [None, "  ", "sys\r\nline", "ÉCOLE", None, None]
    prompts = frame["prompt_text"].to_list() + [
        "", None, "Which is it?\r\n(A) one\n(b) two\n C) three\nAnswer:", "Ⅷ über 12,5 Straße ²³ ___ ( )",
        "line1\r\rline2\x0bline3\u2028x   ", "a" * 2000 + " 12 B. x C. y D. z"]
    want = np.asarray([cue_vector(s, t) for s, t in zip(systems, prompts)], dtype=np.float32)
    np.testing.assert_allclose(cue_matrix(systems, prompts), want, rtol=0, atol=1e-6)
    assert cue_matrix([], []).shape == (0, len(CUE_INDEX))


def test_form_names_of_groups_of_requests() -> None:
    def name(texts, system=None):
        return form_name(cue_matrix([system] * len(texts), texts))

    assert name([MCQ, MCQ_LAW]) == "Multiple-choice questions"
    assert name(["Write a Python function that reverses a list.",
                 "Implement a JavaScript function to debounce a callback."]) == "Code"
    assert name(["Tom has 5 apples and buys 7 more. How many apples does he have in total?",
                 "A train travels 60 km per hour for 3 hours. How many km does it travel?"]) == "Maths word problem"
    assert name(["Translate into German: where is the station?", "Translate into Spanish: thank you"]) == \
        "Translation"
    assert name(["Review: broke after a week.", "Review: love it."],
                system="Classify the sentiment of the review as one of: positive, negative.") == \
        "Classification into given labels"
    assert name(["Summarize this thread in two sentences: ...", "Give me a TL;DR of the notes below."]) == \
        "Summary of a text"
    assert name(["Write a short poem about autumn leaves.", "Draft an email to my landlord about the heating."]) \
        == "Writing from a brief"
    assert name(["block my card", "what is my balance", "i need a new pin"]) == \
        "Assistant request (chat / support)"
    assert form_name(np.zeros((0, len(CUE_INDEX)), dtype=np.float32)) in (OTHER_FORM, "Assistant request "
                                                                                       "(chat / support)")


def _form_blobs(seed: int, copies: int = 1):
    """Six task types in three forms (two topics each): multiple choice, code asks and maths word problems."""
    rng = np.random.default_rng(seed)
    texts = {
        0: [MCQ], 1: [MCQ_LAW],
        2: ["Write a Python function that parses a date string."], 3: ["Write a SQL query that counts users."],
        4: ["Tom buys 3 pens at $2 each. How much does he pay in total?"],
        5: ["A tank holds 40 litres and leaks 2 per hour. How many hours until it is empty?"],
    }
    labels, cue_rows, feats = [], [], []
    for c, (t,) in texts.items():
        n = 20 * copies
        labels += [c] * n
        cue_rows.append(np.repeat(cue_matrix([None], [t]), n, axis=0))
        centre = np.eye(8)[c // 2] * 3  # the form features of a form sit together, whatever the topic
        feats.append(centre + rng.normal(scale=0.2, size=(n, 8)))
    return np.asarray(labels), np.vstack(feats), np.vstack(cue_rows)


def test_families_follow_forms_not_topics_nor_size() -> None:
    """Label-free choices: the same families for every seed 0-4 and for ten times the prompts."""
    seen = set()
    for seed in range(5):
        for copies in (1, 10):
            labels, feats, cues = _form_blobs(seed, copies)
            fam = form_families(labels, feats, cues=cues, random_state=seed)
            assert fam[0] == fam[1] and fam[2] == fam[3] and fam[4] == fam[5], fam
            assert len(set(fam.tolist())) == 3
            seen.add(tuple(fam.tolist()))
            # without cues the form features alone find the same three families
            plain = form_families(labels, feats, random_state=seed)
            assert plain[0] == plain[1] and plain[2] == plain[3] and plain[4] == plain[5], plain
            assert len(set(plain.tolist())) == 3
    assert len(seen) == 1  # deterministic, whatever the seed or size


def test_types_without_a_form_cue_are_grouped_by_their_form_features() -> None:
    rng = np.random.default_rng(0)
    texts = ["zebra crossing notes", "mango harvest log", "violet paint mix", "copper wire spool", "maple syrup batch",
             "cobalt glaze test"]
    labels = np.repeat(np.arange(6), 15)
    cues = np.vstack([np.repeat(cue_matrix([None], [t]), 15, axis=0) for t in texts])
    assert form_name(cues[:15]) != "Multiple-choice questions"
    feats = np.vstack([np.eye(4)[0 if c < 3 else 1] * 3 + rng.normal(scale=0.1, size=(15, 4)) for c in range(6)])
    fam = form_families(labels, feats, cues=cues)
    other = [c for c in range(6) if form_name(cues[labels == c]) == OTHER_FORM]
    if len(other) >= 4:  # the Ward split only runs on four or more such types
        groups = {fam[c] for c in other if c < 3}, {fam[c] for c in other if c >= 3}
        assert all(len(g) <= 1 for g in groups) and not (groups[0] & groups[1])


def test_unknown_archetype_without_form_shape_or_standout_description() -> None:
    from slmprofile.cluster.archetypes import UNKNOWN, tag_archetypes

    dump = "\n".join(["zebra crossing notes from the north site", "mango harvest log for the east orchard",
                      "violet paint mix ratios for the west wall", "copper wire spool counts",
                      "maple syrup batch records"] * 2)
    cues = cue_matrix([None] * 3, [dump, dump.upper(), dump.title()])
    assert form_name(cues) == OTHER_FORM
    rows = [{"calls": 3}]
    flat = np.full((1, 384), 1 / np.sqrt(384), dtype=np.float32)

    class FlatEmbedder:  # every description equally (dis)similar: nothing stands out
        def encode(self, texts):
            return np.tile(flat, (len(texts), 1))

    out = tag_archetypes(flat, rows, FlatEmbedder(), cues=[cues])[0]
    assert out["archetype"] == UNKNOWN and out["confidence"] < 0.5, out
    assert "no response-shape or form cue" in out["evidence"]
    # the same type asked as exam questions is tagged by its form, with the share of prompts that read so
    mc = cue_matrix([None] * 2, [MCQ, MCQ_LAW])
    out = tag_archetypes(flat, rows, FlatEmbedder(), cues=[mc])[0]
    assert out["archetype"] == "multiple choice" and out["confidence"] == 1.0, out


def test_sample_task_types_are_named_by_their_form(embedder, tmp_path: Path) -> None:
    """Each of the sample's 14 tasks: the type holding most of its calls has a name that contains its form."""
    import polars as pl

    from slmprofile.cluster import TaskTypeClusterer, discover_task_types
    from slmprofile.embed import embed_prompts
    from slmprofile.ingest import ingest
    from slmprofile.redact import redact_logs
    from slmprofile.sample import generate_sample

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from form_devset import SAMPLE_NAME_WORDS

    generate_sample(tmp_path, n_calls=800, seed=5)
    logs, _ = redact_logs(ingest([tmp_path / "logs"]).frame)
    result = discover_task_types(logs, embed_prompts(logs, embedder=embedder), embedder=embedder,
                                 clusterer=TaskTypeClusterer(n_bootstrap=0))
    truth = pl.read_csv(tmp_path / "truth.csv").select("id", pl.col("task_type").alias("task"))
    top = (result.clusters.join(truth, on="id").group_by("task", "task_type").len()
           .sort("len", descending=True).group_by("task", maintain_order=True).first())
    assert top.height == 14
    wrong = [(t, name) for t, name in top.select("task", "task_type").iter_rows()
             if not any(w in name.lower() for w in SAMPLE_NAME_WORDS[t])]
    assert len(wrong) <= 2, wrong


def test_development_set_has_every_form(shared_data: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import form_devset

    d = form_devset.build(0, cap=60, per_task=5, root=shared_data)
    assert set(d["form"]) == set(form_devset.FORM_WORDS)
    assert d["text"].n_unique() == d.height and d["form"].null_count() == 0
    assert d["archetype"].null_count() == 0  # transform rows take their sample task's archetype
    again = form_devset.build(0, cap=60, per_task=5, root=shared_data)
    assert again.equals(d) and not form_devset.build(1, cap=60, per_task=5, root=shared_data).equals(d)


def _counting_encoder(dim: int = 16):
    """A deterministic stand-in encoder (a seeded vector per text) that records every text it embeds."""
    import hashlib

    seen: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return np.stack([np.random.default_rng(int(hashlib.md5(t.encode()).hexdigest()[:8], 16)).normal(size=dim)
                         for t in texts]).astype(np.float32)

    return encode, seen


def test_form_signals_embed_only_the_rows_the_families_need() -> None:
    from slmprofile.cluster import TaskTypeClusterer
    from slmprofile.cluster.forms import FormSignals, form_rows

    rng = np.random.default_rng(0)
    sizes = [150, 120, 90, 60]
    texts = [MCQ, MCQ_LAW, "Write a Python function that parses a date string.",
             "Tom buys 3 pens at $2 each. How much does he pay in total?"]
    centres = np.eye(32)[:4] * 4
    X = np.vstack([centres[c] + rng.normal(scale=0.15, size=(n, 32)) for c, n in enumerate(sizes)])
    X[-3:] = rng.normal(scale=3, size=(3, 32))  # three prompts far from every type
    cues = np.vstack([np.repeat(cue_matrix([None], [t]), n, axis=0) for t, n in zip(texts, sizes)])
    masked = [f"masked request {i}" for i in range(len(X))]  # every row's masked request distinct
    encode, seen = _counting_encoder()
    form = FormSignals(cues=cues, texts=masked, encode=encode)
    model = TaskTypeClusterer(reducer="pca", n_components=5, min_cluster_size=20, n_bootstrap=0,
                              random_state=0).fit(X, form=form)
    k, lost = model.n_clusters_, int((model.labels_ < 0).sum())
    assert k >= 3
    # the families read the types' mean features: at most 32 members per type and every unassigned prompt embedded
    assert len(seen) == len(set(seen)) == form.n_encoded <= 32 * k + lost < len(X)
    assert (model.prompt_families_ >= 0).all()  # unassigned prompts take the nearest family all the same
    assert model.families_[model.labels_[0]] == model.families_[model.labels_[150]]  # two exam-question types
    assert model.families_[model.labels_[0]] != model.families_[model.labels_[300]]
    # rows drawn per type: all of a small type, 32 of a large one, every unassigned row, sorted
    labels = np.repeat([0, 1, -1], [10, 100, 4])
    rows = form_rows(labels, per_type=32, random_state=1)
    assert np.array_equal(rows, np.sort(rows)) and len(rows) == 10 + 32 + 4
    assert set(range(10)) <= set(rows.tolist()) and set(range(110, 114)) <= set(rows.tolist())
    # on rows only, the families are those of every row's features when a type is no larger than the draw
    blob_labels, feats, blob_cues = _form_blobs(0)
    assert np.array_equal(form_families(blob_labels, feats[form_rows(blob_labels)], cues=blob_cues,
                                        rows=form_rows(blob_labels)),
                          form_families(blob_labels, feats, cues=blob_cues))
    # vectors given up front are used as they are
    given = FormSignals(cues=cues[:5], masked=np.ones((5, 3), dtype=np.float32))
    assert given.vectors([1, 2]).shape == (2, 3) and given.n_encoded == 0
