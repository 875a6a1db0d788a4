"""The rubric prompts. Change ``PROMPT_VERSION`` whenever a prompt changes: it is recorded with every
run and mixed into the response-cache key, so old cached replies are never reused for new prompts."""

from __future__ import annotations

import json
from collections.abc import Sequence

from lalm_bench.rubrics.common.records import Criterion, RubricItem

PROMPT_VERSION = "2026-11-29.1"

BASELINE_PROMPT = (
    "Listen to the audio clip and describe the sound in one or two sentences: "
    "what is making the sound, what is happening, and the setting if you can tell. "
    "Write a plain caption, no preamble."
)

EXTRACTOR_SYSTEM = (
    "You write evaluation rubrics for audio captions. A rubric is a list of criteria; each criterion "
    "is a self-contained statement about the audio that a grader can check with yes or no by reading "
    "a caption, without seeing anything else."
)

EXTRACTOR_TEMPLATE = """Two captions describe the same audio clip.
{audio_note}
BETTER caption (written by a person; treat it as the better response):
{reference}

BASELINE caption (written by a model):
{baseline}

CURRENT RUBRIC (criteria already collected; do not repeat them or restate them in other words):
{rubric}

Task: list only the NEW criteria that the BETTER caption satisfies and the BASELINE caption misses \
or gets wrong, and that the current rubric does not already cover.
Rules for each criterion:
- self-contained: understandable without the captions (name the sound source or event, e.g. \
"The caption mentions that a dog is barking", not "It mentions the animal");
- checkable with yes or no from a caption alone;
- about the audio content (sources, actions, sequence, acoustic qualities, setting), not about \
style, length or grammar;
- weight: an integer from 1 (minor detail) to 5 (essential to describe this sound);
- quote: the exact words of the BETTER caption that support the criterion, copied verbatim.
If there is nothing new, return an empty list.

Reply with JSON only, in this form:
{{"criteria": [{{"criterion": "...", "weight": 3, "quote": "..."}}]}}"""

MERGE_SYSTEM = (
    "You maintain an evaluation rubric for audio captions. You merge duplicate criteria; you never "
    "invent criteria and you never drop one."
)

MERGE_TEMPLATE = """Below are rubric criteria, each with an id. Items starting with R are the current \
rubric, items starting with N were just proposed.

{items}

Task: merge criteria that check the same thing into one item; keep every other item as it is.
Rules:
- every id must appear in the "sources" of exactly one output item;
- an output item that merges several ids lists all of them in "sources";
- keep the wording faithful to the source criteria (for a merged item, use or lightly combine the \
wording of its sources); never add a criterion that is not in the input;
- do not output weights: the weight of an output item is computed from its sources.

Reply with JSON only, in this form:
{{"rubric": [{{"criterion": "...", "sources": ["R1", "N2"]}}]}}"""


def format_rubric(rubric: Sequence[RubricItem]) -> str:
    if not rubric:
        return "(empty)"
    return "\n".join(f"- {item.criterion} (weight {item.weight})" for item in rubric)


def extractor_prompt(reference: str, baseline: str, rubric: Sequence[RubricItem], with_audio: bool) -> str:
    audio_note = "The audio clip is attached; use it to check the captions.\n" if with_audio else ""
    return EXTRACTOR_TEMPLATE.format(
        audio_note=audio_note,
        reference=json.dumps(reference, ensure_ascii=False),
        baseline=json.dumps(baseline, ensure_ascii=False),
        rubric=format_rubric(rubric),
    )


def merge_ids(rubric: Sequence[RubricItem], new: Sequence[Criterion]) -> dict[str, tuple[str, int]]:
    """Ids shown to the merge model: ``R1..Rn`` for the rubric, ``N1..Nm`` for new criteria."""
    ids = {f"R{i}": (c.criterion, c.weight) for i, c in enumerate(rubric, 1)}
    ids.update({f"N{i}": (c.criterion, c.weight) for i, c in enumerate(new, 1)})
    return ids


def merge_prompt(rubric: Sequence[RubricItem], new: Sequence[Criterion]) -> str:
    items = "\n".join(f"{k}: {text}" for k, (text, _w) in merge_ids(rubric, new).items())
    return MERGE_TEMPLATE.format(items=items)
