"""What a run does: :class:`RunSettings` (every stage's switch and its estimator's settings), checked once, and
:class:`ShadowSettings` for a candidate SLM to shadow-run. :func:`slmprofile.pipeline.run` takes either the object
or its fields as keywords."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from .params import Rule, check_params


#: Above this many calls (about the default fit sample of the sampled task types: beyond it sampling saves
#: embedding), ``slmprofile run`` takes the bounded-memory path by itself.
AUTO_STREAM_CALLS = 50_000


@dataclass
class ShadowSettings:
    """A candidate SLM to shadow-run on a stratified sample of each task type (spend-capped, cached)."""

    model: str
    base_url: str | None = None
    max_usd: float = 5.0
    price: tuple[float, float] | None = None


@dataclass
class RunSettings:
    """What :func:`run` does. Every stage can be switched off; the ``*_settings`` mappings go to the stage's own
    estimator (:func:`~slmprofile.suitability.assess_suitability`, :class:`~slmprofile.router.SlmRouter` and the
    benchmark, :func:`~slmprofile.cluster.sampled.discover_task_types_sampled`)."""

    format: str | None = None
    mapping: str | Mapping[str, str] | None = None
    strict: bool = False
    outcomes: str | Path | Iterable[str | Path] | None = None
    outcomes_key: str = "id"
    redact: bool = True
    embed: bool = True
    cluster: bool = True
    suitability: bool = True
    suitability_settings: Mapping[str, Any] = field(default_factory=dict)
    shadow: ShadowSettings | None = None
    savings: bool = True
    savings_options: Any = None
    router: bool = True
    router_settings: Mapping[str, Any] = field(default_factory=dict)
    bench: bool = True
    html_report: bool = True
    #: ``None``: bounded memory and task types from a sample when the logs hold more than ``auto_stream_calls``
    #: calls (estimated before reading them); ``True`` / ``False`` force one path.
    stream: bool | None = None
    auto_stream_calls: int = AUTO_STREAM_CALLS
    sampled_settings: Mapping[str, Any] = field(default_factory=dict)

    _parameter_constraints = {
        **{name: [bool] for name in ("strict", "redact", "embed", "cluster", "suitability", "savings", "router",
                                     "bench", "html_report")},
        "stream": [None, bool],
        "auto_stream_calls": [Rule(lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
                                   "a positive number of calls")],
        "outcomes_key": [Rule(lambda v: isinstance(v, str) and bool(v), "a column name")],
        "shadow": [None, ShadowSettings],
        **{name: [Rule(lambda v: isinstance(v, Mapping), "a mapping")]
           for name in ("suitability_settings", "router_settings", "sampled_settings")},
    }

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RunSettings:
        """Settings from :func:`run`'s keywords; ``shadow_model`` / ``shadow_base_url`` / ``shadow_max_usd`` /
        ``shadow_price`` make :attr:`shadow`, ``None`` stands for an empty mapping."""
        options = dict(options)
        shadow = {k[len("shadow_"):]: options.pop(k) for k in list(options)
                  if k in ("shadow_model", "shadow_base_url", "shadow_max_usd", "shadow_price")}
        if shadow.get("model"):
            options["shadow"] = ShadowSettings(**shadow)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"run() got unknown settings {unknown}; known: {sorted(known)}")
        for name in ("suitability_settings", "router_settings", "sampled_settings"):
            if options.get(name, ...) is None:
                options[name] = {}
        return cls(**options)

    def check(self) -> RunSettings:
        check_params(self)
        return self

    def choose_path(self, paths: list[str]) -> dict[str, Any]:
        """Whether the run streams (bounded memory, task types from a sample), and why: forced by ``self.stream``,
        else chosen from the calls the logs hold, estimated before reading them (``run.json``'s ``mode``)."""
        if self.stream is not None:
            return {"stream": self.stream, "chosen": "forced",
                    "reason": "stream=True" if self.stream else "stream=False"}
        from .ingest.sources import estimate_rows

        calls = estimate_rows(paths)
        stream = calls > self.auto_stream_calls
        verb = "bounded memory, task types fit on a sample" if stream else "everything in memory"
        return {"stream": stream, "chosen": "auto", "estimated_calls": calls, "threshold_calls": self.auto_stream_calls,
                "reason": f"about {calls:,} calls {'>' if stream else '<='} {self.auto_stream_calls:,}: {verb}"}

    def recorded(self) -> dict[str, Any]:
        """The settings as ``run.json`` records them."""
        outcomes = self.outcomes
        out: dict[str, Any] = {
            "format": self.format,
            "mapping": self.mapping if isinstance(self.mapping, (str, type(None))) else dict(self.mapping),
            "strict": self.strict, "redact": self.redact, "embed": self.embed,
            "outcomes": None if outcomes is None else [str(o) for o in
                                                        ([outcomes] if isinstance(outcomes, (str, Path))
                                                         else outcomes)]}
        if self.stream:
            out.update(stream=True, sampled=dict(self.sampled_settings))
        return out
