"""Judge arithmetic by hand: caption scores under both cannot-assess policies, majority votes, system
scores clustered by clip, paired differences, rater agreement; and loading rubrics in every form."""

from __future__ import annotations

import json

import pytest

from lalm_bench import stats
from lalm_bench.errors import InputError
from lalm_bench.rubrics.common.rubric_files import load_rubric, load_rubrics, rubric_sha256
from lalm_bench.rubrics.judge.ratings import majority
from lalm_bench.rubrics.judge.schema import JudgeRecord, reply_model
from lalm_bench.rubrics.judge.scoring import caption_score, summarize

W = [3, 2, 1, 4]


def test_caption_score_by_hand_skip_and_fail():
    v = ["met", "not_met", "cannot_assess", "met"]
    skip = caption_score(v, W, "skip")
    assert (skip["met_weight"], skip["assessed_weight"]) == (7, 9)
    assert skip["score"] == pytest.approx(7 / 9)
    fail = caption_score(v, W, "fail")
    assert (fail["met_weight"], fail["assessed_weight"]) == (7, 10)
    assert fail["score"] == pytest.approx(0.7)
    assert skip["met"] == 2 and skip["not_met"] == 1 and skip["cannot_assess"] == 1 and skip["error"] == 0


def test_nothing_assessed_and_judge_errors_are_never_a_zero():
    all_ca = ["cannot_assess"] * 4
    skip = caption_score(all_ca, W, "skip")
    assert skip["score"] is None and skip["unscored"] == "nothing_assessed"
    fail = caption_score(all_ca, W, "fail")
    assert fail["score"] == 0.0 and fail["unscored"] is None  # fail: cannot_assess counts as not met
    err = caption_score(["met", "error", "met", "met"], W, "skip")
    assert err["score"] is None and err["unscored"] == "judge_error" and err["error"] == 1
    with pytest.raises(ValueError):
        caption_score(["met"], W, "skip")
    with pytest.raises(ValueError):
        caption_score(["met"] * 4, W, "zero")


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        (["met", "met", "not_met"], "met"),
        (["met", "not_met"], "not_met"),  # ties: met needs more votes than any other verdict
        (["met", "cannot_assess"], "cannot_assess"),
        (["cannot_assess", "not_met"], "not_met"),
        (["met", "not_met", "cannot_assess"], "not_met"),
        (["met", "error", "error"], "met"),  # raters without an answer do not vote
        (["error", "error"], "error"),
        ([], "error"),
    ],
)
def test_majority(votes, expected):
    assert majority(votes) == expected


def rec(system, clip, verdicts, *, k=0, judge="j", sample=0):
    return JudgeRecord(
        system=system,
        clip=clip,
        caption_index=k,
        caption=f"{system} {clip} {k}",
        judge=judge,
        sample=sample,
        order=list(range(len(verdicts))),
        evidence=[],
        status="error" if "error" in verdicts else "ok",
        verdicts=verdicts,
        reasons=[None] * len(verdicts),
    )


M, N, C, E = "met", "not_met", "cannot_assess", "error"


def test_summary_by_hand():
    records = [
        rec("a", "c1", [M, M, C, N]),  # every criterion applies (references): 5/10, coverage 9/10
        rec("a", "c2", [M, N, N, N]),  # only criterion 0 applies: 3/3
        rec("a", "c3", [N, N, M, M]),  # 5/10
        rec("a", "c4", [C, C, C, C]),  # no reference: its captions decide; nothing applies
        rec("b", "c1", [E, E, E, E]),  # judge error
        rec("b", "c2", [M, M, M, M]),  # 3/3 (three met verdicts on criteria that do not apply)
        rec("b", "c3", [N, M, C, M]),  # 6/10: cannot_assess on an applicable criterion is not met
        rec("r", "c1", [M, M, M, M], k=1),  # 1
        rec("r", "c1", [N, N, N, N], k=2),  # 0 -> clip c1: 0.5
        rec("r", "c2", [M, C, C, C], k=3),  # 1
        rec("r", "c3", [N, N, N, M], k=1),  # 4/10
    ]
    out = summarize(
        records, weights=W, systems=["a", "b", "r"], judges=["j"], policy="skip", bootstrap=200, seed=0,
        reference_system="r",
    )  # fmt: skip
    assert out.applicability is not None
    assert out.applicability["c2"].applies == (True, False, False, False)
    assert out.applicability["c4"].source == ("all_captions",) * 4 and not any(out.applicability["c4"].applies)
    s = {x["name"]: x for x in out.summary["systems"]}
    a = [5 / 10, 1.0, 5 / 10]
    assert s["a"]["score"]["mean"] == pytest.approx(sum(a) / 3)
    assert s["a"]["captions"] == 4 and s["a"]["scored_captions"] == 3
    assert s["a"]["unscored"] == {"judge_error": 0, "nothing_assessed": 1}
    ci = stats.describe(a, 200, 0, clusters=["c1", "c2", "c3"], bounds=(0.0, 1.0))
    assert s["a"]["score"] == ci and s["a"]["score"]["ci_method"] == "cluster-t"
    assert s["a"]["coverage"]["mean"] == pytest.approx((9 / 10 + 1 + 1) / 3)
    assert s["b"]["unscored"]["judge_error"] == 1 and s["b"]["scored_clips"] == 2
    assert s["b"]["score"]["mean"] == pytest.approx((1 + 6 / 10) / 2)
    assert s["b"]["verdicts"]["met_not_applicable"] == 3 and s["b"]["verdicts"]["cannot_assess_on_applicable"] == 1
    assert s["b"]["score"]["ci95"] is None and "too few" in s["b"]["score"]["ci_note"]
    r = [0.5, 1.0, 0.4]  # the clip's mean over its reference captions, then the mean over clips
    assert s["r"]["score"]["mean"] == pytest.approx(sum(r) / 3)
    assert s["b"]["verdicts"]["error"] == 4 and s["b"]["verdicts"]["error_rate"] == pytest.approx(4 / 12)
    # a: 5 met of the 9 verdicts on applicable criteria; 5 cannot_assess of 16 verdicts
    assert s["a"]["verdicts"]["met_rate"] == pytest.approx(5 / 9)
    assert s["a"]["verdicts"]["cannot_assess_rate"] == pytest.approx(5 / 16)
    diffs = {(d["a"], d["b"]): d for d in out.summary["differences"]}
    ab = diffs[("a", "b")]  # clips both scored: c2, c3 -- on the same criteria
    assert ab["n"] == 2 and ab["difference"] == pytest.approx(((1 - 1) + (5 / 10 - 6 / 10)) / 2)
    ar = diffs[("a", "r")]
    assert ar["n"] == 3 and ar["difference"] == pytest.approx(sum(x - y for x, y in zip(a, r, strict=True)) / 3)
    expected = stats.paired_difference(a, r, clusters=["c1", "c2", "c3"], n_resamples=200, seed=0)
    assert {k: ar[k] for k in expected} == expected
    # per-criterion met rate of criterion 0 for a: applies in c1 (met), c2 (met), c3 (not_met)
    c0 = out.summary["criteria"][0]
    assert c0["applicable_clips"] == 3 and out.summary["criteria"][1]["applicable_clips"] == 2
    assert c0["systems"]["a"]["assessed"] == 3 and c0["systems"]["a"]["met_rate"]["mean"] == pytest.approx(2 / 3)
    assert c0["systems"]["a"]["met_rate"]["ci_method"] == "cluster-wilson"
    appl = out.summary["applicability"]
    assert (appl["units"], appl["applicable"]) == (16, 9)
    assert appl["decided_by"] == {"references": 12, "all_captions": 4, "none": 0}
    assert out.summary["agreement"] is None  # one rater


def test_every_caption_of_a_clip_is_scored_on_the_same_criteria():
    """Per-caption applicability would score a on {0} (1.0) and b on {0, 1} (0.6): a gap made of coverage.
    Decided once per clip, both are scored on the criteria the references assess."""
    records = [
        rec("a", "c1", [M, C, C, C]),
        rec("b", "c1", [M, N, C, C]),
        rec("r", "c1", [M, M, C, C], k=1),
        rec("r", "c1", [M, N, C, C], k=2),
        rec("r", "c1", [M, C, M, C], k=3),
    ]
    out = summarize(
        records, weights=W, systems=["a", "b", "r"], judges=["j"], policy="skip", bootstrap=0, seed=0,
        reference_system="r",
    )  # fmt: skip
    assert out.applicability["c1"].applies == (True, True, False, False)  # criterion 2: 1 of 3 references
    scores = {g.system: sc for items in out.captions.values() for g, _, sc in items if g.caption_index == 0}
    assert scores["a"]["score"] == pytest.approx(3 / 5) and scores["a"]["coverage"] == pytest.approx(3 / 5)
    assert scores["b"]["score"] == pytest.approx(3 / 5) and scores["b"]["coverage"] == 1.0
    assert caption_score([M, C, C, C], W, "skip")["score"] == 1.0  # the old per-caption rule


@pytest.mark.parametrize(
    ("refs", "others", "applies", "source"),
    [
        ([[M], [N], [C]], [], True, "references"),  # 2 assessed of 3
        ([[M], [C]], [[M]], False, "references"),  # a tie does not apply; other captions do not vote
        ([[C], [C], [N]], [[M], [M]], False, "references"),
        ([[E], [M]], [], True, "references"),  # judge errors do not vote
        ([[E]], [[M], [N], [C]], True, "all_captions"),  # no reference verdict: every caption decides
        ([], [[C], [M]], False, "all_captions"),
        ([[E]], [[E]], False, "none"),
    ],
)
def test_applicability_rule(refs, others, applies, source):
    from lalm_bench.rubrics.judge.applicability import decide_clip

    out = decide_clip(refs, others, 1)
    assert out.applies == (applies,) and out.source == (source,)


def test_agreement_is_split_into_applicability_and_met_among_assessors():
    """Two raters who never disagree on met vs not met but often on whether a criterion can be assessed."""
    r0 = {"c1": [M, N, C, M], "c2": [N, M, M, C], "c3": [M, M, N, N], "c4": [C, N, M, M]}
    r1 = {"c1": [M, C, C, M], "c2": [C, M, C, C], "c3": [M, C, N, N], "c4": [C, N, C, M]}
    records = [rec("a", c, v, sample=0) for c, v in r0.items()] + [rec("a", c, v, sample=1) for c, v in r1.items()]
    out = summarize(records, weights=W, systems=["a"], judges=["j"], policy="skip", bootstrap=0, seed=0)
    ag = out.summary["agreement"]
    both = [(x, y) for c in r0 for x, y in zip(r0[c], r1[c], strict=True)]
    applicability = [[("cannot_assess" if v == C else "assessed") for v, _ in both],
                     [("cannot_assess" if v == C else "assessed") for _, v in both]]  # fmt: skip
    met = [[None if v == C else v for v, _ in both], [None if v == C else v for _, v in both]]
    assert ag["applicability"]["overall"]["krippendorff_alpha"] == stats.krippendorff_alpha(applicability)
    assert ag["met_not_met"]["overall"]["krippendorff_alpha"] == stats.krippendorff_alpha(met)
    assert ag["met_not_met"]["overall"]["krippendorff_alpha"]["value"] == pytest.approx(1.0)
    assert ag["applicability"]["overall"]["krippendorff_alpha"]["value"] < 0.5
    assert ag["overall"]["krippendorff_alpha"]["value"] < 1.0  # the mixed alpha hides the split
    assert ag["met_not_met"]["overall"]["units_complete"] == 8  # units both raters assessed
    assert len(ag["applicability"]["per_criterion"]) == 4


def test_summary_fail_policy_by_hand():
    records = [rec("a", "c1", [M, M, C, N]), rec("a", "c2", [C, C, C, C]), rec("a", "c3", [C, N, M, M])]
    out = summarize(records, weights=W, systems=["a"], judges=["j"], policy="fail", bootstrap=0, seed=0)
    s = out.summary["systems"][0]
    assert s["score"]["mean"] == pytest.approx((5 / 10 + 0 + 5 / 10) / 3)
    assert s["unscored"] == {"judge_error": 0, "nothing_assessed": 0}
    assert "ci95" not in s["score"]  # --bootstrap 0: no CI


def test_samples_are_aggregated_by_majority_and_agreement_is_reported():
    records = []
    truth = {"c1": [M, N, C, M], "c2": [N, N, M, C], "c3": [M, M, M, N], "c4": [C, N, N, M]}
    for clip, v in truth.items():
        records.append(rec("a", clip, v, sample=0))
        records.append(rec("a", clip, v, sample=1))
        flipped = [N if x == M else x for x in v] if clip == "c1" else v
        records.append(rec("a", clip, flipped, sample=2))
    out = summarize(records, weights=W, systems=["a"], judges=["j"], policy="skip", bootstrap=0, seed=0)
    scores = {g.clip: sc["score"] for g, _, sc in out.captions["a"]}
    assert scores["c1"] == pytest.approx(7 / 9)  # the majority (2 of 3) keeps c1's met verdicts
    ag = out.summary["agreement"]
    assert [(r["judge"], r["sample"]) for r in ag["raters"]] == [("j", 0), ("j", 1), ("j", 2)]
    matrix = [[v for clip in truth for v in next(x.verdicts for x in records if x.clip == clip and x.sample == s)]
              for s in range(3)]  # fmt: skip
    assert ag["overall"]["krippendorff_alpha"] == stats.krippendorff_alpha(matrix, "nominal")
    counts = [[[row[u] for row in matrix].count(lab) for lab in (M, N, C)] for u in range(16)]
    assert ag["overall"]["fleiss_kappa"] == stats.fleiss_kappa(counts)
    assert ag["overall"]["unanimous_share"] == pytest.approx(14 / 16)
    assert 0 < ag["overall"]["krippendorff_alpha"]["value"] < 1
    per = {p["index"]: p for p in ag["per_criterion"]}
    assert per[2]["unanimous_share"] == 1.0 and per[0]["unanimous_share"] == pytest.approx(3 / 4)


def test_two_judges_score_by_judge_and_between_judges():
    records = []
    for clip, (v1, v2) in {"c1": ([M, M, N, N], [M, N, N, N]), "c2": ([M, M, M, M], [M, M, M, N])}.items():
        for s in (0, 1):
            records.append(rec("a", clip, v1, judge="j1", sample=s))
            records.append(rec("a", clip, v2, judge="j2", sample=s))
    out = summarize(records, weights=W, systems=["a"], judges=["j1", "j2"], policy="skip", bootstrap=0, seed=0)
    by = out.summary["systems"][0]["by_judge"]
    assert by["j1"]["mean"] == pytest.approx((5 / 10 + 1) / 2)
    assert by["j2"]["mean"] == pytest.approx((3 / 10 + 6 / 10) / 2)
    between = out.summary["agreement"]["between_judges"]
    assert between["raters"] == ["j1", "j2"] and between["overall"]["unanimous_share"] == pytest.approx(6 / 8)


def test_reply_schema_for_one_criterion():
    model = reply_model(1)
    ok = model.model_validate({"C1": {"reason": "r", "verdict": "met"}})
    assert ok.by_id()["C1"].verdict == "met"
    with pytest.raises(ValueError, match="missing verdict"):
        model.model_validate({})
    with pytest.raises(ValueError, match="missing verdict"):
        model.model_validate({"verdicts": []})


def test_reply_schema_is_one_required_property_per_id():
    from lalm_bench.llm.structured import strict_json_schema

    schema = strict_json_schema(reply_model(3))
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == ["C1", "C2", "C3"] == list(schema["properties"])


def test_reply_schema_tolerates_case_and_spacing_not_other_ids():
    model = reply_model(2)
    ok = model.model_validate(
        {
            "verdicts": [
                {"id": " c2", "reason": "", "verdict": "Not Met"},
                {"id": "C1", "reason": "r", "verdict": "CANNOT-ASSESS"},
            ]
        }
    )
    assert [(k, v.verdict) for k, v in ok.by_id().items()] == [("C1", "cannot_assess"), ("C2", "not_met")]
    ok = model.model_validate({"c2 ": {"reason": "", "verdict": "met"}, "C1": {"reason": "r", "verdict": "met"}})
    assert list(ok.by_id()) == ["C1", "C2"]
    for bad in ({"id": "C3", "verdict": "met"}, {"id": "C1", "verdict": "yes"}):
        with pytest.raises(ValueError):
            model.model_validate({"verdicts": [{"reason": "r", **bad}, {"id": "C2", "reason": "r", "verdict": "met"}]})


# ---- loading rubrics --------------------------------------------------------------------------------
CRITERIA = [{"criterion": "mentions rain", "weight": 3}, {"criterion": "mentions a car", "weight": 1.0}]


def write(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def run_record(pos, clip, final, status="ok", ref=1, new=True):
    return {
        "run": "run_0", "position": pos, "clip": clip, "split": "evaluation", "status": status,
        "failed_step": None if status == "ok" else "extract", "reference_index": ref, "reference": "x",
        "baseline_source": "file",
        "new_criteria": [{"criterion": "c", "weight": 1, "quote": "x"}] if new and status == "ok" else [],
        "final_criteria": final,
    }  # fmt: skip


def write_run(folder, records):
    folder.mkdir(parents=True)
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


def test_load_every_form(tmp_path):
    listed = load_rubric(write(tmp_path / "list.json", CRITERIA))
    assert listed.kind == "criteria" and listed.size == 2 and listed.total_weight == 4
    assert listed.items[1]["weight"] == 1 and isinstance(listed.items[1]["weight"], int)
    assert listed.sha256 == rubric_sha256(CRITERIA)
    record = run_record(4, "clip e.wav", CRITERIA)
    collected = load_rubric(write(tmp_path / "run_0.json", record))
    wrapped = load_rubric(write(tmp_path / "wrapped.json", [record]))
    assert collected.kind == wrapped.kind == "record" and collected.sha256 == wrapped.sha256 == listed.sha256
    assert collected.record == {"run": "run_0", "position": 4, "clip": "clip e.wav", "status": "ok"}
    one, two = CRITERIA[:1], CRITERIA
    recs = [run_record(0, "a.wav", one, ref=2), run_record(1, "b.wav", one, status="failed"),
            run_record(2, "c.wav", two, ref=5), run_record(3, "d.wav", two, ref=3, new=False)]  # fmt: skip
    folder = load_rubric(write_run(tmp_path / "deter" / "run_0", recs))
    assert folder.kind == "run_folder" and folder.sha256 == listed.sha256
    assert folder.sizes == (1, 1, 2, 2) and folder.failed_clips == 1
    assert folder.sources == {"a.wav": 2, "c.wav": 5}  # the references the criteria were drawn from
    assert folder.sources_split == "evaluation" and folder.record["position"] == 3
    assert load_rubric(tmp_path / "deter" / "run_0" / "log.jsonl").sha256 == folder.sha256
    legacy = load_rubric(write(tmp_path / "results_0.json", recs))
    assert legacy.kind == "records" and legacy.sizes == (1, 1, 2, 2) and legacy.sha256 == listed.sha256
    labels = [r.label for r in load_rubrics([str(tmp_path / "list.json")] * 2)]
    assert labels == [str(tmp_path / "list.json"), f"{tmp_path / 'list.json'}#2"]


def test_the_last_successful_record_is_the_rubric(tmp_path):
    recs = [run_record(0, "a.wav", CRITERIA[:1]), run_record(1, "b.wav", CRITERIA[:1], status="failed")]
    r = load_rubric(write_run(tmp_path / "run", recs))
    assert r.size == 1 and r.record["position"] == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: write_run(p / "run", [run_record(0, "a", CRITERIA, status="failed")]), "no successful record"),
        (lambda p: write_run(p / "run", []), "no successful record (no records)"),
        (lambda p: write(p / "e.json", []), "empty list"),
        (lambda p: write(p / "e.json", {"final_criteria": []}), "the rubric is empty"),
        (lambda p: write(p / "e.json", {"rubric": CRITERIA}), "without final_criteria"),
        (lambda p: write(p / "e.json", [{"criterion": "x"}]), 'not an object with "criterion" and "weight"'),
        (lambda p: write(p / "e.json", [{"criterion": " ", "weight": 1}]), "non-empty string"),
        (lambda p: write(p / "e.json", [{"criterion": "x", "weight": -1}]), "the weight must be above 0"),
        (lambda p: write(p / "e.json", [{"criterion": "x", "weight": "3"}]), "must be a number"),
        (lambda p: write(p / "e.json", [1, 2]), "not a rubric"),
        (lambda p: (p / "e.json").write_text("{oops") and p / "e.json", "not valid JSON"),
        (lambda p: p / "missing.json", "rubric not found"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "a folder without log.jsonl"),
        (lambda p: write_run(p / "out" / "deter" / "run_0", [run_record(0, "a", CRITERIA)]).parents[1],
         "an output folder of rubrics generate"),
    ],
)  # fmt: skip
def test_bad_rubrics_are_one_line_errors(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_rubric(path)
    assert "\n" not in str(info.value)


def test_a_run_log_with_a_position_twice_is_refused(tmp_path):
    recs = [run_record(0, "a.wav", CRITERIA), run_record(0, "a.wav", CRITERIA)]
    with pytest.raises(InputError, match="same rubric record"):
        load_rubric(write_run(tmp_path / "run", recs))
