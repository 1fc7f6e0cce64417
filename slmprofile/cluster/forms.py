"""Task *form*: what a request asks for and the shape of the answer, read from signals that exist without responses.

Two signals, both label-free:

- **answer-format cues** (:func:`cue_matrix`): a small vector per request of hand-written cues such as "options A-D",
  "write a function", "classify", "translate", "summarise", a blank to fill, code share, numbers, length and lines;
- **the instruction, not the content** (:func:`mask_content`): the request with its content words masked (function
  words and a fixed vocabulary of instruction words kept, numbers as ``0``, every other word as ``x``), so that two
  exam questions on anatomy and on law read alike, and an exam question and a banking request do not.

Families are forms: :func:`form_name` reads a group's mean cues as a form a person would name ("Multiple-choice
questions", "Code", "Maths word problem"), and :func:`form_families` gives each task type (not each prompt) the family
of its form, so a family gathers types that are asked alike whatever their topic; types with no form cue are grouped
among themselves by their mean form features.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

_OPTION_LINE = re.compile(r"(?m)^\s*\(?([A-Ja-j])[.):]\s+\S")
_INLINE_OPTIONS = re.compile(r"(?:^|\s)\(?[A-D][.)]\s+\S.*\(?[B-D][.)]\s+\S", re.S)
_ANSWER = re.compile(r"(?i)\banswer\s*[:：]\s*$|\bthe answer is\b|\bchoose (?:the|one)\b|\bwhich of the following\b")
_CODE_ASK = re.compile(r"(?i)\b(write|implement|develop|create|code|fix|debug|review|refactor|optimi[sz]e)\b[^.?\n]{0,60}"
                       r"\b(function|program|script|class|method|query|sql|code|algorithm|api|regex|diff|pr|pull request|"
                       r"unit tests?)\b")
_LANGUAGE = re.compile(r"(?i)\b(python|java(script)?|c\+\+|c#|sql|rust|golang|typescript|html|css|bash|regex|numpy|"
                       r"pandas)\b")
_CODE_LINE = re.compile(r"```|^\s*(def |class |import |#include|public |SELECT |select |for \(|while \(|return )", re.M)
_CLASSIFY = re.compile(r"(?i)\b(classify|categori[sz]e|category|categories|label|sentiment|which intent|route|triage|"
                       r"one of(?: these| the following)?:?|reply with one word|assign (?:it|them) to)\b")
_EXTRACT = re.compile(r"(?i)\b(extract|json|fields?|keys?|tags?|entities|return only|parse|list all|identify all|"
                      r"key-value|csv|table)\b")
_TRANSLATE = re.compile(r"(?i)\b(translate|translation|into (english|french|german|spanish|italian|chinese|japanese))\b")
_SUMMARISE = re.compile(r"(?i)\b(summari[sz]e|summary|tl;?dr|key points|action items|recap|condense)\b")
_REWRITE = re.compile(r"(?i)\b(rewrite|rephrase|paraphrase|edit|proofread|polish|improve the (wording|tone)|"
                      r"release notes)\b")
_COMPOSE = re.compile(r"(?i)\b(write|draft|compose|create|craft|generate)\b[^.?\n]{0,40}\b(email|e-mail|letter|story|"
                      r"poem|essay|blog|post|speech|article|script|ad|advertisement|tweet|slogan|song|limerick|message)\b")
_ROLE = re.compile(r"(?i)\b(pretend|act as|role of|imagine you are|you are (a|an|the)|as if you were|embrace the role)\b")
_EXPLAIN = re.compile(r"(?i)\b(explain|describe|discuss|why|how does|how do|what are the|compare|evaluate|analy[sz]e|"
                      r"provide insights|justify|advise|should we|recommend)\b")
_SOLVE = re.compile(r"(?i)\b(how many|how much|calculate|compute|solve|what is the (total|value|area|probability|sum|"
                    r"number|average|percentage)|find the|what percent|per (hour|day|week|month|year)|in total)\b")
_BLANK = re.compile(r"_{2,}|\[blank\]|\(\s*\)")
_FIRST_PERSON = re.compile(r"(?i)\b(i|i'm|i've|my|me|mine|can you|could you|please|help me)\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_CODE_CHARS = frozenset("{}[]();=<>_/\\|#$`*")

#: The answer-format cues, in the column order of :func:`cue_matrix`. Binary cues are 0/1; shares and log sizes are
#: scaled to about [0, 1].
CUE_NAMES = ("options", "answer_cue", "code_ask", "language", "code_lines", "code_char_share", "classify", "extract",
             "translate", "summarise", "rewrite", "compose", "role", "explain", "solve", "blank", "question_mark",
             "ends_question", "first_person", "number_share", "numbers", "length", "lines", "non_ascii",
             "upper_share", "has_system")
CUE_INDEX = {name: i for i, name in enumerate(CUE_NAMES)}


def request_of(system_prompt: str | None, prompt: str | None) -> str:
    """System prompt, then user text (the request a model was given)."""
    return "\n".join(p.strip() for p in (system_prompt, prompt) if p and p.strip())


def cue_vector(system_prompt: str | None, prompt: str | None) -> list[float]:
    """The :data:`CUE_NAMES` cues of one request."""
    text = prompt or ""
    req = request_of(system_prompt, prompt)
    words = _WORD.findall(req)
    n_words = max(len(words), 1)
    numbers = _NUMBER.findall(req)
    lines = [line for line in req.splitlines() if line.strip()]
    n_options = len({m.upper() for m in _OPTION_LINE.findall(req)})
    chars = max(len(req), 1)

    def has(rx: re.Pattern[str]) -> float:
        return 1.0 if rx.search(req) else 0.0

    return [
        1.0 if n_options >= 3 or _INLINE_OPTIONS.search(req[-600:]) else 0.0,
        has(_ANSWER), has(_CODE_ASK), has(_LANGUAGE), has(_CODE_LINE),
        min(sum(req.count(ch) for ch in _CODE_CHARS) / chars * 10, 1.0),
        has(_CLASSIFY), has(_EXTRACT), has(_TRANSLATE), has(_SUMMARISE), has(_REWRITE), has(_COMPOSE), has(_ROLE),
        has(_EXPLAIN), has(_SOLVE), has(_BLANK),
        min(req.count("?") / max(len(lines), 1), 1.0),
        1.0 if req.rstrip().endswith("?") else 0.0,
        min(len(_FIRST_PERSON.findall(text)) / n_words * 5, 1.0),
        min(len(numbers) / n_words * 3, 1.0),
        math.log1p(len(numbers)) / 4,
        math.log1p(len(req)) / 8,
        math.log1p(len(lines)) / 4,
        min((len(req) - len(req.encode("ascii", "ignore"))) / chars * 20, 1.0),  # characters past ASCII
        min(sum(map(str.isupper, req)) / chars * 5, 1.0),
        1.0 if system_prompt and system_prompt.strip() else 0.0,
    ]


def _rust(rx: re.Pattern[str]) -> str:
    """A pattern of this module for polars' regex engine (Rust ``regex``: the same syntax for what is used here),
    its compile flags written inline."""
    flags = "".join(f for f, bit in (("s", re.S), ("m", re.M)) if rx.flags & bit)
    return (f"(?{flags})" if flags else "") + rx.pattern


#: Line breaks ``str.splitlines`` knows besides ``\n``, made ``\n`` before lines are counted or masked.
_LINE_BREAKS = r"\r\n?|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"


def _requests(system_prompts: Sequence[str | None], prompts: Sequence[str | None]) -> Any:
    """A polars frame: ``req`` (:func:`request_of` of each row), ``text`` (the user text, "" for None) and
    ``has_system``."""
    import polars as pl

    frame = pl.DataFrame({"s": list(system_prompts), "p": list(prompts)}, schema={"s": pl.String, "p": pl.String})
    sys_, user = pl.col("s").str.strip_chars(), pl.col("p").str.strip_chars()
    return frame.select(
        req=pl.concat_str([pl.when(sys_ != "").then(sys_), pl.when(user != "").then(user)], separator="\n",
                          ignore_nulls=True).fill_null(""),
        text=pl.col("p").fill_null(""), has_system=(sys_ != "").fill_null(False))


def cue_matrix(system_prompts: Sequence[str | None], prompts: Sequence[str | None]) -> np.ndarray:
    """(n, len(CUE_NAMES)) float32 cues of aligned system prompts and user texts: :func:`cue_vector` of each row,
    computed column-wise by polars' regex engine (about 10x faster on 2 cores; ``tests/test_forms.py`` checks the
    two agree)."""
    import numpy as np
    import polars as pl

    frame = _requests(system_prompts, prompts)
    if frame.height == 0:
        return np.zeros((0, len(CUE_NAMES)), dtype=np.float32)
    req, text = pl.col("req"), pl.col("text")

    def has(rx: re.Pattern[str]) -> pl.Expr:
        return req.str.contains(_rust(rx)).cast(pl.Float64)

    def capped(expr: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(expr, pl.lit(1.0))

    counts = frame.with_columns(
        n_words=pl.max_horizontal(req.str.count_matches(_WORD.pattern), pl.lit(1)),
        n_numbers=req.str.count_matches(_NUMBER.pattern),
        n_lines=req.str.replace_all(_LINE_BREAKS, "\n").str.split("\n")
        .list.eval(pl.element().str.contains(r"\S")).list.sum(),
        n_options=req.str.extract_all(_rust(_OPTION_LINE))
        .list.eval(pl.element().str.extract(r"([A-Ja-j])", 1).str.to_uppercase()).list.n_unique(),
        chars=pl.max_horizontal(req.str.len_chars(), pl.lit(1)))
    n_lines, chars = pl.col("n_lines"), pl.col("chars")
    columns = [
        ((pl.col("n_options") >= 3) | req.str.slice(-600).str.contains(_rust(_INLINE_OPTIONS))).cast(pl.Float64),
        has(_ANSWER), has(_CODE_ASK), has(_LANGUAGE), has(_CODE_LINE),
        capped(req.str.count_matches(r"[{}\[\]();=<>_/\\|#$`*]") / chars * 10),
        has(_CLASSIFY), has(_EXTRACT), has(_TRANSLATE), has(_SUMMARISE), has(_REWRITE), has(_COMPOSE), has(_ROLE),
        has(_EXPLAIN), has(_SOLVE), has(_BLANK),
        capped(req.str.count_matches("?", literal=True) / pl.max_horizontal(n_lines, pl.lit(1))),
        req.str.contains(r"\?\s*$").cast(pl.Float64),
        capped(text.str.count_matches(_FIRST_PERSON.pattern) / pl.col("n_words") * 5),
        capped(pl.col("n_numbers") / pl.col("n_words") * 3),
        pl.col("n_numbers").log1p() / 4,
        req.str.len_chars().log1p() / 8,
        n_lines.log1p() / 4,
        capped(req.str.count_matches(r"[^\x00-\x7F]") / chars * 20),  # characters past ASCII
        capped(req.str.count_matches(r"\p{Uppercase}") / chars * 5),
        pl.col("has_system").cast(pl.Float64),
    ]
    out = counts.select([c.alias(name) for c, name in zip(columns, CUE_NAMES)])
    return out.to_numpy().astype(np.float32).reshape(frame.height, len(CUE_NAMES))


@functools.cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@functools.cache
def _mask_vocab() -> frozenset[str]:
    return _stop_words() | INSTRUCTION_WORDS


#: Instruction and answer-format words that :func:`mask_content` keeps, besides English function words.
INSTRUCTION_WORDS = frozenset("""write draft compose create generate craft rewrite rephrase paraphrase edit translate
summarise summarize summary extract return list identify classify categorize categorise category categories label labels
sentiment answer answers question questions choose select option options following correct true false explain describe
discuss compare evaluate analyze analyse solve calculate compute find total many much number percent function program
script code query class method implement review fix bug test output input json format fields keys tags reply word words
sentence sentences paragraph text message email letter story poem essay blog post article speech tone formal friendly
please help tell show give want need like know make use using based provide suggest recommend advise pretend act role
imagine step steps short brief concise only exactly one two three first last best why how what which who when where
problem assume given let if then each per""".split())
#: What :func:`mask_contents` reads as one token: a word, a number, any other character, a line break.
_TOKEN = r"[A-Za-z][A-Za-z']*|\d+(?:[.,]\d+)*|\S|\n"
#: Characters of a request that are masked (the instruction and the answer format sit in the opening and the end of
#: most prompts; long documents only add placeholders).
MASK_CHARS = 1500
#: Masked tokens of a request that are embedded (about one word piece each: 64 with the encoder's two markers). The
#: instruction sits in the opening; the answer-format cues read the whole request. On the development set
#: (``benchmarks/cluster_quality.py``, seeds 0-4, 2026-12-07) families and archetypes scored the same as with the
#: encoder's 256 pieces (family V 0.818 both; 0.779 vs 0.775 with instructions inline), at half the word pieces.
MASK_TOKENS = 62


def mask_content(text: str, *, vocab: frozenset[str] | None = None, max_chars: int = MASK_CHARS) -> str:
    """``text`` with its content masked: vocabulary words (English function words and :data:`INSTRUCTION_WORDS`,
    lower-cased), single characters (option labels, punctuation) are kept; numbers become ``0``; every other word
    becomes ``x``, and runs of ``x`` on a line collapse to one; lines without a token are dropped. Only the first
    ``max_chars`` characters are read. ``"Which bone is the femur? A. leg"`` -> ``"which x is the x ? A . x"``.
    (One text of :func:`mask_contents`.)"""
    return mask_contents([text], vocab=vocab, max_chars=max_chars)[0]


def mask_contents(texts: Sequence[str | None], *, vocab: frozenset[str] | None = None,
                  max_chars: int = MASK_CHARS, max_tokens: int | None = None) -> list[str]:
    """:func:`mask_content` of each text, column-wise in polars' regex engine (0.15 s for the sample's 3,299
    requests on 2 cores, where a Python loop over their tokens took 1.3 s). ``max_tokens``: keep at most this many
    masked tokens (line breaks not counted) of each text."""
    import polars as pl

    vocab = vocab if vocab is not None else _mask_vocab()
    if not len(texts):
        return []
    tok = pl.col("tok")
    low = tok.str.to_lowercase()
    masked = (pl.when(tok.str.contains(r"^\d")).then(pl.lit("0"))
              .when(tok.str.len_chars() == 1).then(tok)  # option labels, punctuation, line breaks
              .when(low.is_in(sorted(vocab))).then(low)
              .otherwise(pl.lit("x")))
    rows = pl.DataFrame({"text": list(texts)}, schema={"text": pl.String}).with_row_index("row")
    tokens = (rows.select("row", tok=pl.col("text").fill_null("").str.slice(0, max_chars)
                          .str.replace_all(_LINE_BREAKS, "\n")
                          .str.extract_all(_TOKEN))
              .explode("tok").drop_nulls("tok")
              .with_columns(m=masked))
    repeat = (pl.col("m") == "x") & (pl.col("m").shift(1).over("row") == "x")  # runs of x collapse to one
    kept = tokens.filter(~repeat.fill_null(False))
    if max_tokens is not None:
        kept = kept.filter((pl.col("m") != "\n").cast(pl.Int64).cum_sum().over("row") <= max_tokens)
    joined = kept.group_by("row").agg(pl.col("m").str.join(" "))
    out = (rows.select("row").join(joined, on="row", how="left").sort("row")
           .select(pl.col("m").str.replace_all(r" ?\n ?", "\n").str.replace_all(r"\n+", "\n")
                   .str.strip_chars("\n").fill_null("")))
    return out["m"].to_list()


#: Form features are computed for at most this many members of each task type (the families need the types' mean
#: form features, not every prompt's) and for every unassigned prompt: the content-masked requests of the other
#: prompts are never embedded (at 100k calls 35k masked requests -> a few thousand).
FORM_ROWS_PER_TYPE = 32


@dataclass
class FormSignals:
    """Form signals of the rows a clusterer is fit on: ``cues`` (n, len(CUE_NAMES)) and the content-masked requests,
    embedded only for the rows asked for (:meth:`vectors`, :meth:`features`): ``masked`` holds them when they were
    given, else ``texts`` (one masked request per row) and ``encode`` compute them on demand, each distinct masked
    request once. :meth:`features` is the form space families are found in."""

    cues: np.ndarray
    masked: np.ndarray | None = None
    texts: list[str] | None = field(default=None, repr=False)
    encode: Callable[[list[str]], Any] | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.masked is None and (self.texts is None or self.encode is None):
            raise ValueError("FormSignals needs the masked vectors, or the masked texts and an encode function")

    def __len__(self) -> int:
        return len(self.cues)

    def take(self, idx: Any) -> FormSignals:
        """The signals of rows ``idx`` (vectors computed so far are shared)."""
        import numpy as np

        idx = np.asarray(idx)
        if self.masked is not None:
            return FormSignals(cues=self.cues[idx], masked=self.masked[idx])
        return FormSignals(cues=self.cues[idx], texts=[self.texts[i] for i in idx.tolist()], encode=self.encode,
                           _cache=self._cache)

    @property
    def n_encoded(self) -> int:
        """Distinct masked requests embedded so far (0 when the vectors were given)."""
        return len(self._cache)

    def vectors(self, rows: Any = None) -> np.ndarray:
        """Masked-request embeddings of ``rows`` (all rows when None), embedding the distinct ones not done yet."""
        import numpy as np

        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        if self.masked is not None:
            return np.asarray(self.masked)[rows]
        texts = [self.texts[i] for i in rows.tolist()]
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            self._cache.update(zip(todo, np.asarray(self.encode(todo), dtype=np.float32)))
        if not texts:
            dim = len(next(iter(self._cache.values()))) if self._cache else 0
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def features(self, rows: Any = None, scale: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """[standardised cues / sqrt(#cues), unit masked embedding] of ``rows`` (all when None): both blocks weigh
        about 1. ``scale``: (mean, std) of the cues to standardise with (default: all rows', whatever ``rows``)."""
        import numpy as np

        cues = np.asarray(self.cues, dtype=np.float64)
        mean, std = scale if scale is not None else (cues.mean(0), cues.std(0))
        if rows is not None:
            cues = cues[np.asarray(rows, dtype=np.int64)]
        block = (cues - mean) / np.maximum(std, 1e-6) / np.sqrt(cues.shape[1])
        masked = np.asarray(self.vectors(rows), dtype=np.float64)
        masked = masked / np.maximum(np.linalg.norm(masked, axis=1, keepdims=True), 1e-12)
        return np.hstack([block, masked])

    @classmethod
    def from_texts(cls, system_prompts: Sequence[str | None], prompts: Sequence[str | None],
                   encode: Callable[[list[str]], Any]) -> FormSignals:
        """Cues and content-masked requests of aligned columns; the masked requests are embedded with ``encode``
        only when their vectors are asked for (a template masks to one string, so each distinct one once)."""
        masked = [m or "x" for m in mask_contents(_requests(system_prompts, prompts)["req"].to_list(),
                                                  max_tokens=MASK_TOKENS)]
        return cls(cues=cue_matrix(system_prompts, prompts), texts=masked, encode=encode)


def form_rows(labels: np.ndarray, *, per_type: int = FORM_ROWS_PER_TYPE,
              random_state: int | None = 0) -> np.ndarray:
    """Rows whose form features the families need (sorted): at most ``per_type`` members of each task type, drawn
    with ``random_state``, and every unassigned row (-1)."""
    import numpy as np

    labels = np.asarray(labels)
    rng = np.random.default_rng(random_state)
    picked = [np.flatnonzero(labels < 0)]
    for c in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == c)
        picked.append(members if len(members) <= per_type else rng.choice(members, per_type, replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


def form_families(labels: np.ndarray, features: np.ndarray, *, cues: np.ndarray | None = None,
                  rows: np.ndarray | None = None, max_families: int = 20, sample: int = 5000,
                  random_state: int | None = 0) -> np.ndarray:
    """Family of each task type (labels 0..k-1; -1 ignored) by task form.

    With ``cues`` (the rows' :func:`cue_matrix`), a type's family is the form its members read as
    (:func:`form_name` of their mean cues): types asked alike share a family whatever their topic, a family is never
    a topic, and the number of families is the number of forms the log holds, whatever its size. Types whose
    requests show no form cue (:data:`OTHER_FORM`) are grouped among themselves by their form ``features``
    (:func:`_ward_families`). Without ``cues``, every type is grouped that way. Nothing here looks at labels.
    ``rows``: the rows ``features`` holds (e.g. :func:`form_rows`; all rows when None); the cues are every row's.
    """
    import numpy as np

    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    if k == 0:
        return np.zeros(0, dtype=int)
    held = labels if rows is None else labels[np.asarray(rows, dtype=np.int64)]
    if cues is None:
        return _ward_families(held, features, np.arange(k), max_families=max_families, sample=sample,
                              random_state=random_state)
    forms = [form_name(cues[labels == c]) for c in range(k)]
    out = np.full(k, -1)
    order: dict[str, int] = {}
    for c, form in enumerate(forms):
        if form != OTHER_FORM:
            out[c] = order.setdefault(form, len(order))
    other = np.flatnonzero(out < 0)
    if len(other):
        sub = _ward_families(held, features, other, max_families=max_families, sample=sample,
                             random_state=random_state)
        out[other] = len(order) + sub
    return out


def _ward_families(labels: np.ndarray, features: np.ndarray, types: np.ndarray, *, max_families: int,
                   sample: int, random_state: int | None) -> np.ndarray:
    """Families (0..f-1) of the task types ``types``: Ward linkage over their mean form ``features``, cut where the
    family labels give their (sampled) prompts the highest silhouette; one family when fewer than four types or no
    cut separates them (silhouette <= 0)."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    if len(types) < 4:
        return np.zeros(len(types), dtype=int)
    descriptors = np.stack([features[labels == c].mean(0) for c in types])
    pos = np.full(max(int(labels.max()), int(np.max(types))) + 1, -1)
    pos[types] = np.arange(len(types))
    kept = np.flatnonzero(np.isin(labels, types))
    rng = np.random.default_rng(random_state)
    pick = kept if len(kept) <= sample else rng.choice(kept, sample, replace=False)
    best, best_score = np.zeros(len(types), dtype=int), 0.0
    for n_fam in range(2, min(max_families, len(types) - 1) + 1):
        fam = AgglomerativeClustering(n_clusters=n_fam, linkage="ward").fit_predict(descriptors)
        of_points = fam[pos[labels[pick]]]
        if len(set(of_points.tolist())) < 2:
            continue
        score = float(silhouette_score(features[pick], of_points))
        if score > best_score:
            best, best_score = fam, score
    return best


#: Form names, in the order :func:`form_name` tries them, and the archetype each one stands for.
FORM_ARCHETYPES = {
    "Multiple-choice questions": "multiple choice",
    "Translation": "rewriting/translation",
    "Code review": "code",
    "Code": "code",
    "Summary of a text": "summarisation",
    "Classification into given labels": "classification",
    "Rewriting a text": "rewriting/translation",
    "Extraction to fields / JSON": "extraction",
    "Writing from a brief": "creative writing",
    "Maths word problem": "maths/reasoning",
    "Assistant reply (chat / support)": "open-ended chat",
    "Assistant request (chat / support)": "open-ended chat",
    "Open question": "question answering",
}
OTHER_FORM = "Other requests"


def cue_means(cues: np.ndarray) -> dict[str, float]:
    """Mean of each cue over a group's rows."""
    import numpy as np

    cues = np.asarray(cues, dtype=np.float64).reshape(-1, len(CUE_NAMES))
    means = cues.mean(0) if len(cues) else np.zeros(len(CUE_NAMES))
    return {name: float(means[i]) for name, i in CUE_INDEX.items()}


def form_rule(m: Mapping[str, float]) -> tuple[str, str]:
    """(form name, the cue that decided it) of a group with mean cues ``m`` (see :func:`cue_means`); the first rule
    that matches wins, :data:`OTHER_FORM` when none does."""
    code = m["code_ask"] + m["code_lines"] + m["language"]
    rules: list[tuple[bool, str, str]] = [
        (m["options"] >= 0.5, "Multiple-choice questions", f"options A-D in {m['options']:.0%}"),
        (m["translate"] >= 0.5, "Translation", f"'translate' in {m['translate']:.0%}"),
        (code >= 1.0 and m["code_lines"] >= 0.5 and m["code_ask"] >= 0.5 and m["language"] < 0.5
         and m["rewrite"] < 0.5, "Code review", f"code in {m['code_lines']:.0%} with a review ask"),
        (code >= 1.0, "Code", f"code asks/lines/language names: {code:.2f} per request"),
        (m["summarise"] >= 0.5, "Summary of a text", f"'summarise' in {m['summarise']:.0%}"),
        (m["classify"] >= 0.5, "Classification into given labels", f"'classify'/'label' in {m['classify']:.0%}"),
        (m["rewrite"] >= 0.4, "Rewriting a text", f"'rewrite'/'edit' in {m['rewrite']:.0%}"),
        (m["extract"] >= 0.5, "Extraction to fields / JSON", f"'extract'/'JSON' in {m['extract']:.0%}"),
        (m["compose"] >= 0.4 or (m["role"] >= 0.5 and m["has_system"] < 0.5), "Writing from a brief",
         f"'write a <genre>' in {m['compose']:.0%}"),
        (m["solve"] >= 0.4 and m["number_share"] >= 0.1, "Maths word problem",
         f"'how many'/'calculate' in {m['solve']:.0%} with numbers"),
        (m["has_system"] >= 0.5 and m["explain"] < 0.3 and m["lines"] < 0.3, "Assistant reply (chat / support)",
         "short user turns under a system prompt"),
        (m["length"] < 0.62 and m["lines"] < 0.3 and m["has_system"] < 0.5, "Assistant request (chat / support)",
         "short one-line requests"),
        (m["explain"] >= 0.3 or m["ends_question"] >= 0.5, "Open question",
         f"'explain'/'why' in {m['explain']:.0%}"),
    ]
    for matched, name, why in rules:
        if matched:
            return name, why
    return OTHER_FORM, "no form cue"


def form_name(cues: np.ndarray) -> str:
    """The form name of a group of requests from their cue rows."""
    return form_rule(cue_means(cues))[0]
