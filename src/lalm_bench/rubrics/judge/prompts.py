"""The judge prompt. Change ``PROMPT_VERSION`` whenever it changes: it is recorded with every run and
mixed into the response-cache key, so cached verdicts of an older prompt are never reused.

The three verdicts, as the judge is told:

* ``met``: what the criterion describes is in the clip (by the evidence) and the caption says it;
* ``not_met``: what the criterion describes is in the clip, and the caption leaves it out or gets it wrong;
* ``cannot_assess``: the evidence does not show that what the criterion describes is in this clip (a
  rubric grown over many clips holds criteria about other clips' sounds), or it is unclear.

So ``met`` and ``not_met`` are the criteria that apply to the clip, and the score (met weight over
assessed weight) asks how much of what applies the caption covers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

PROMPT_VERSION = "2026-12-07.1"

SYSTEM = (
    "You grade captions of audio clips against a rubric. For each criterion you decide whether the "
    "caption satisfies it, using the evidence about the clip. You reply with JSON only."
)

TEMPLATE = """EVIDENCE about the audio clip: {evidence_note}
{evidence}

CAPTION to grade:
{caption}

CRITERIA (id: criterion):
{criteria}

For each criterion give one verdict:
- "met": what the criterion describes is in this clip (according to the evidence) and the caption \
says it, in any words. When a criterion gives examples ("such as ..."), the caption need not name all of them.
- "not_met": what the criterion describes is in this clip (according to the evidence), and the caption \
leaves it out or gets it wrong.
- "cannot_assess": the evidence does not show that what the criterion describes is in this clip (the \
criterion is about other sounds), or the evidence is unclear or contradictory.
Judge what the caption says about the sound, not its style or length. Before each verdict give a \
one-sentence reason.

Reply with JSON only: one object with exactly one entry per criterion id ({ids}), in this form:
{{"C1": {{"reason": "...", "verdict": "met"}}, "C2": {{"reason": "...", "verdict": "not_met"}}}}"""


def evidence_note(n_references: int, with_audio: bool) -> str:
    refs = f"{n_references} reference caption{'s' if n_references != 1 else ''} written by people"
    if with_audio:
        return f"the attached audio and {refs}." if n_references else "the attached audio."
    return f"{refs}." if n_references else "none (no reference captions and no audio)."


def judge_prompt(caption: str, evidence: Sequence[str], criteria: Sequence[str], *, with_audio: bool) -> str:
    """The user message: evidence (reference captions as JSON strings), the caption, criteria ``C1..Cn``."""
    ids = [f"C{i}" for i in range(1, len(criteria) + 1)]
    return TEMPLATE.format(
        evidence_note=evidence_note(len(evidence), with_audio),
        evidence="\n".join(f"- {json.dumps(e, ensure_ascii=False)}" for e in evidence) or "-",
        caption=json.dumps(caption, ensure_ascii=False),
        criteria="\n".join(f"{i}: {' '.join(c.split())}" for i, c in zip(ids, criteria, strict=True)),
        ids=", ".join(ids),
    )
