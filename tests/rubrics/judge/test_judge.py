"""`rubrics judge` end to end: the real openai client against a scripted judge on a real 127.0.0.1 server.

The scripted judge (:class:`lalm_bench.rubrics.common.fakes.JudgeLLM`) decides by each criterion's key word:
met when it is in the evidence and the caption, not_met when only in the evidence, cannot_assess when
the evidence lacks it. So every score below can be worked out by hand.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer, completion, error
from lalm_bench.manifest import DEFAULT_SEED
from lalm_bench.rubrics.common.fakes import JudgeLLM
from lalm_bench.rubrics.common.rubric_files import rubric_sha256
from lalm_bench.rubrics.judge.prompts import PROMPT_VERSION
from tests.rubrics.helpers import FAST_OPTIONS, MADE_UP, make_wav, read_jsonl

NAMES = list(MADE_UP)  # clip i: "Caption j of clip i: a <animal> barks near a <place>."
RUBRIC = [
    {"criterion": "The caption mentions that a dog barks.", "weight": 3},  # key: barks
    {"criterion": "The caption mentions a river.", "weight": 2},
    {"criterion": "The caption mentions a road.", "weight": 1},
    {"criterion": "The caption mentions a forest.", "weight": 4},
]
BASELINE = {
    NAMES[0]: "A dog barks near water.",  # (dog, river): barks met, river not_met -> 3/5
    NAMES[1]: "Cars on a road.",  # (fox, road): barks not_met, road met -> 1/4
    NAMES[2]: "Seals bark near a harbour.",  # (seal, harbour): barks not_met -> 0/3
    NAMES[3]: "A wolf barks in a forest.",  # (wolf, forest): barks and forest met -> 7/7
    NAMES[4]: "",  # (dog, road): an empty caption meets nothing -> 0/4
    "not a clotho clip.wav": "counted, not judged",
}
BASELINE_SKIP = [3 / 5, 1 / 4, 0.0, 1.0, 0.0]
BASELINE_FAIL = [3 / 10, 1 / 10, 0.0, 7 / 10, 0.0]
# every reference says "<animal> barks near a <place>": all applicable criteria met
REFERENCES_FAIL = [5 / 10, 4 / 10, 3 / 10, 7 / 10, 4 / 10]
_EVIDENCE = re.compile(r"EVIDENCE about the audio clip:[^\n]*\n(.*?)\n\n", re.S)
_CAPTION = re.compile(r"CAPTION to grade:\n([^\n]*)\n")


def parse(req) -> tuple[str, list[str], list[str]]:
    """Caption, evidence and criteria of a judge request."""
    text = req.messages[1]["content"]
    text = text if isinstance(text, str) else "\n".join(p.get("text", "") for p in text)
    evidence = [json.loads(x[2:]) for x in _EVIDENCE.search(text).group(1).splitlines() if x.startswith('- "')]
    criteria = re.findall(r"^C\d+: (.*)$", text.split("CRITERIA", 1)[1], re.M)
    return json.loads(_CAPTION.search(text).group(1)), evidence, criteria


@pytest.fixture
def judge_server():
    llm = JudgeLLM()
    with ScriptedOpenAIServer(llm) as srv:
        srv.llm = llm
        yield srv


@pytest.fixture
def setup(tmp_path, small_clotho, judge_server):
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps(RUBRIC), encoding="utf-8")
    captions = tmp_path / "baseline.csv"
    pd.DataFrame({"file_name": list(BASELINE), "model_output": list(BASELINE.values())}).to_csv(captions, index=False)
    out = tmp_path / "out"

    def args(*extra: object) -> list[object]:
        return [
            "rubrics", "judge", "--rubric", rubric, "--captions", captions, "--name", "baseline", "--references",
            "--csv", small_clotho, "--judge-model", "openai/judge", "--base-url", judge_server.base_url,
            "--output-dir", out, "--max-retries", "2", "--quiet", *FAST_OPTIONS, *extra,
        ]  # fmt: skip

    return args, out, judge_server


def one_error(err: str) -> str:
    """The one ``error:`` line of stderr (warnings may precede it); no traceback."""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err and err.endswith(errors[0] + "\n"), err
    return errors[0]


def summary(out) -> dict:
    return json.loads((out / "summary.json").read_text())


def systems(doc) -> dict:
    return {s["name"]: s for s in doc["systems"]}


def test_judge_scores_by_hand_with_the_human_level(setup, run_cli, tmp_path):
    args, out, server = setup
    code, _, err = run_cli(*args("--plot", out / "judge.png"))
    assert code == 0, err
    assert "1 of 6 captions name clips that are not in the evaluation split" in err
    doc = summary(out)
    assert doc["format"] == "lalm-bench/rubrics-judge/2" and doc["complete"] and doc["prompt_version"] == PROMPT_VERSION
    s = systems(doc)
    base, refs = s["baseline"], s["references"]
    assert base["score"]["mean"] == pytest.approx(sum(BASELINE_SKIP) / 5)
    assert base["score"]["ci_method"] == "cluster-t" and base["score"]["n_clusters"] == 5
    assert base["inputs"] == {
        "rows": 6, "not_in_dataset": 1, "not_in_dataset_examples": ["not a clotho clip.wav"],
        "outside_selection": 0, "judged_clips": 5, "empty_captions": 1,
    }  # fmt: skip
    assert refs["captions"] == 25 and refs["scored_captions"] == 25 and refs["score"]["mean"] == 1.0
    assert doc["human_level"]["score"]["mean"] == 1.0 and doc["human_level"]["captions"] == 25
    assert doc["human_ceiling"] == doc["human_level"]  # the old key, kept one format as an alias
    # applicability from the references: the criteria whose key word the clip's references hold
    assert doc["applicability"]["units"] == 20 and doc["applicability"]["decided_by"]["references"] == 20
    assert base["coverage"]["mean"] == 1.0 and refs["coverage"]["mean"] == 1.0
    (diff,) = doc["differences"]
    assert (diff["a"], diff["b"], diff["n"]) == ("baseline", "references", 5)
    assert diff["difference"] == pytest.approx(sum(BASELINE_SKIP) / 5 - 1.0)
    assert doc["clips"] == {"split": "evaluation", "selected": 6, "judged": 5, "excluded_references": {}}
    assert doc["rubric"]["sha256"] == rubric_sha256(RUBRIC) and doc["rubric"]["kind"] == "criteria"
    assert doc["run"]["units"] == doc["run"]["done"] == doc["run"]["calls"] == 30 and len(server.requests) == 30
    assert doc["run"]["judge_errors"] == {"call": 0, "invalid": 0, "audio": 0} and doc["agreement"] is None
    # per-criterion met rates: "river" is assessed for the baseline only on clip 0, where it is missed
    river = doc["criteria"][1]["systems"]["baseline"]
    assert river["assessed"] == 1 and river["met_rate"]["mean"] == 0.0 and river["cannot_assess_rate"] == 0.8
    # the tables: one row per caption, one per rating
    scores = pd.read_parquet(out / "scores.parquet")
    verdicts = pd.read_parquet(out / "verdicts.parquet")
    assert len(scores) == 30 and len(verdicts) == 30 * 4
    b = scores[scores["system"] == "baseline"].set_index("clip")
    assert [b.loc[n, "score"] for n in NAMES[:5]] == pytest.approx(BASELINE_SKIP)
    assert b.loc[NAMES[4], "caption"] == "" and b.loc[NAMES[0], "met_weight"] == 3
    v = verdicts[(verdicts["system"] == "baseline") & (verdicts["clip"] == NAMES[0])].set_index("criterion_index")
    assert list(v.verdict) == ["met", "not_met", "cannot_assess", "cannot_assess"]
    assert (v.verdict == v.majority).all() and v.reason.str.startswith("scripted").all()
    assert (out / "judge.png").read_bytes()[:4] == b"\x89PNG"
    # the log: one record per caption, the manifest identifies the run
    log = read_jsonl(out / "log.jsonl")
    assert len(log) == 30 and len({(r["system"], r["clip"], r["caption_index"]) for r in log}) == 30
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["settings"]["rubric_sha256"] == doc["rubric"]["sha256"]
    assert manifest["settings"]["prompt_version"] == PROMPT_VERSION and manifest["prompt_version"] == PROMPT_VERSION
    assert manifest["rubric"]["kind"] == "criteria" and "base_url" not in json.dumps(manifest["settings"])
    # the requests: strict schema naming the ids; deterministic; seeded
    body = server.requests[0].body
    assert body["temperature"] == 0 and body["seed"] == DEFAULT_SEED and body["max_tokens"] == 4096
    schema = body["response_format"]["json_schema"]
    assert schema["strict"] and schema["schema"]["required"] == ["C1", "C2", "C3", "C4"]
    assert schema["schema"]["additionalProperties"] is False
    # leave-one-out evidence, the same criterion order for every caption of a clip, shuffled across clips
    orders: dict[str, set] = {}
    for req in server.requests:
        caption, evidence, criteria = parse(req)
        clip = next(n for n in NAMES if caption in MADE_UP[n] or BASELINE.get(n) == caption)
        refs_of_clip = MADE_UP[clip]
        assert len(evidence) == 4 and set(evidence) <= set(refs_of_clip) and caption not in evidence
        orders.setdefault(clip, set()).add(tuple(criteria))
        assert sorted(criteria) == sorted(c["criterion"] for c in RUBRIC)
    assert all(len(o) == 1 for o in orders.values())
    assert len({next(iter(o)) for o in orders.values()}) > 1


def test_rerun_resumes_and_resummarises_without_a_call(setup, run_cli):
    args, out, server = setup
    assert run_cli(*args())[0] == 0
    n = len(server.requests)
    assert run_cli(*args())[0] == 0 and len(server.requests) == n
    code, _, err = run_cli(*args("--cannot-assess", "fail", "--table-format", "csv"))
    assert code == 0, err
    assert len(server.requests) == n  # the policy is a statistic, not a setting of the run
    s = systems(summary(out))
    assert s["baseline"]["score"]["mean"] == pytest.approx(sum(BASELINE_FAIL) / 5)
    assert s["references"]["score"]["mean"] == pytest.approx(sum(REFERENCES_FAIL) / 5)
    assert summary(out)["policy"]["cannot_assess"] == "fail"
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 30
    # other settings are refused; --overwrite redoes the run, served from the response cache
    code, _, err = run_cli(*args("--limit", "3"))
    assert code == 2 and "limit: None -> 3" in err and "--overwrite" in err and err.count("\n") == 1
    assert len(read_jsonl(out / "log.jsonl")) == 30
    code, _, err = run_cli(*args("--limit", "3", "--overwrite"))
    assert code == 0, err
    assert len(read_jsonl(out / "log.jsonl")) == 18 and len(server.requests) == n
    assert summary(out)["run"]["cache_hits"] == 18


def _missing_c2(k: int):
    reply = {"verdicts": [{"id": i, "reason": "r", "verdict": "met"} for i in ("C1", "C3", "C4")]}
    return completion(json.dumps(reply)) if k == 1 else None


def test_invalid_replies_and_server_errors_are_judge_errors(setup, run_cli):
    args, out, server = setup
    llm = server.llm
    dup = {"verdicts": [{"id": "C1", "reason": "r", "verdict": "met"}] * 4}
    llm.fail[BASELINE[NAMES[0]]] = _missing_c2  # invalid once: the repair retry succeeds
    llm.fail[BASELINE[NAMES[1]]] = lambda k: completion(json.dumps(dup))  # invalid twice: judge error
    llm.fail[BASELINE[NAMES[3]]] = lambda k: error(500, f"busy {k}") if k <= 2 else None  # retried, then fine
    ref = MADE_UP[NAMES[2]][3]
    llm.fail[ref] = lambda k: error(503)  # fails after the retries: judge error
    code, _, err = run_cli(*args())
    assert code == 0, err
    log = {(r["system"], r["clip"], r["caption_index"]): r for r in read_jsonl(out / "log.jsonl")}
    repaired = log[("baseline", NAMES[0], 0)]
    assert repaired["status"] == "ok" and len(repaired["replies"][0]["raw_attempts"]) == 2
    invalid = log[("baseline", NAMES[1], 0)]
    assert invalid["status"] == "error" and invalid["error_kind"] == "invalid" and "repair" in invalid["error"]
    assert invalid["verdicts"] == ["error"] * 4 and llm.counts[BASELINE[NAMES[1]]] == 2
    retried = log[("baseline", NAMES[3], 0)]
    assert retried["status"] == "ok" and retried["replies"][0]["attempts"] == 3
    failed = log[("references", NAMES[2], 4)]
    assert failed["error_kind"] == "call" and "503" in failed["error"] and llm.counts[ref] == 3
    doc = summary(out)
    s = systems(doc)
    assert s["baseline"]["unscored"]["judge_error"] == 1 and s["baseline"]["scored_captions"] == 4
    kept = [x for i, x in enumerate(BASELINE_SKIP) if i != 1]
    assert s["baseline"]["score"]["mean"] == pytest.approx(sum(kept) / 4)  # excluded, never a 0
    assert s["baseline"]["verdicts"]["error"] == 4 and s["baseline"]["verdicts"]["cannot_assess"] == 9
    assert s["references"]["unscored"]["judge_error"] == 1 and s["references"]["score"]["mean"] == 1.0
    assert doc["run"]["judge_errors"] == {"call": 1, "invalid": 1, "audio": 0}
    assert doc["run"]["repairs"] == 2 and doc["run"]["retries"] == 4
    verdicts = pd.read_parquet(out / "verdicts.parquet")
    errors = verdicts[verdicts.verdict == "error"]
    assert len(errors) == 8 and errors.error.notna().all() and errors.reason.isna().all()
    # failed calls are not cached: once the faults are gone, --overwrite asks again only for them
    llm.fail.clear()
    n = len(server.requests)
    assert run_cli(*args("--overwrite"))[0] == 0
    assert len(server.requests) - n == 2
    assert summary(out)["run"]["judge_errors"] == {"call": 0, "invalid": 0, "audio": 0}


def test_every_caption_failing_exits_3_with_the_summary_written(setup, run_cli):
    args, out, server = setup
    server.responder = lambda req: error(500)
    code, _, err = run_cli(*args("--max-retries", "0", "--limit", "2"))
    assert code == 3 and "judge error" in one_error(err)
    doc = summary(out)
    assert doc["run"]["judge_errors"]["call"] == 12
    assert all(s["score"]["mean"] is None and s["scored_captions"] == 0 for s in doc["systems"])


def test_a_fatal_error_stops_and_the_rerun_resumes(setup, run_cli):
    args, out, server = setup
    ref = MADE_UP[NAMES[1]][0]
    server.llm.fail[ref] = lambda k: error(401, "bad key")
    code, _, err = run_cli(*args("--concurrency", "1"))
    assert code == 2 and "refused the API key" in one_error(err) and "rerun to resume" in err
    assert not (out / "summary.json").exists()
    done = read_jsonl(out / "log.jsonl")
    assert 0 < len(done) < 30
    server.llm.fail.clear()
    before = server.llm.counts.copy()
    assert run_cli(*args("--concurrency", "1"))[0] == 0
    assert len(read_jsonl(out / "log.jsonl")) == 30
    for r in done:  # nothing logged before is asked again
        assert server.llm.counts[r["caption"]] == before[r["caption"]]


def test_per_criterion_mode_gives_the_same_verdicts(setup, run_cli):
    args, out, server = setup
    assert run_cli(*args("--per-criterion", "--limit", "2"))[0] == 0
    assert len(server.requests) == 12 * 4
    assert all(len(parse(r)[2]) == 1 for r in server.requests)
    assert all(r.body["response_format"]["json_schema"]["schema"]["required"] == ["C1"] for r in server.requests)
    s = systems(summary(out))
    assert s["baseline"]["score"]["mean"] == pytest.approx(sum(BASELINE_SKIP[:2]) / 2)
    rec = read_jsonl(out / "log.jsonl")[0]
    assert len(rec["replies"]) == 4 and rec["status"] == "ok"


def test_samples_and_two_judges_report_agreement(setup, run_cli):
    args, out, server = setup
    server.llm.flip = 0.3
    code, _, err = run_cli(
        *args("--judge-model", "openai/judge-2", "--samples", "3", "--temperature", "0.8", "--limit", "3")
    )
    assert code == 0, err
    assert len(server.requests) == (3 + 15) * 2 * 3
    assert {r.body["seed"] for r in server.requests} == {DEFAULT_SEED, DEFAULT_SEED + 1, DEFAULT_SEED + 2}
    assert {r.body["model"] for r in server.requests} == {"judge", "judge-2"}
    doc = summary(out)
    ag = doc["agreement"]
    assert len(ag["raters"]) == 6 and ag["overall"]["units_complete"] == 18 * 4
    assert 0 < ag["overall"]["krippendorff_alpha"]["value"] < 1 and ag["overall"]["fleiss_kappa"]["value"] < 1
    assert ag["between_judges"]["raters"] == ["openai/judge", "openai/judge-2"]
    assert set(systems(doc)["baseline"]["by_judge"]) == {"openai/judge", "openai/judge-2"}
    # the criterion order is shuffled per clip and sample, the same for every caption and judge
    verdicts = pd.read_parquet(out / "verdicts.parquet")
    assert len(verdicts) == 18 * 6 * 4
    shown = verdicts.groupby(["clip", "sample", "criterion_index"])["position"].nunique()
    assert (shown == 1).all()  # every caption and judge of a clip and sample saw the same order
    per_sample = verdicts.groupby(["clip", "sample", "criterion_index"])["position"].first().unstack("criterion_index")
    assert per_sample.groupby(level=0).apply(lambda d: len({tuple(r) for r in d.to_numpy()})).max() > 1


def test_judge_with_audio(setup, run_cli, tmp_path):
    args, out, server = setup
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    wavs = {name: make_wav(seconds=0.05 + i / 100) for i, name in enumerate(NAMES[:2])}
    for name, data in wavs.items():
        (audio_dir / name).write_bytes(data)
    code, _, err = run_cli(*args("--judge-with-audio", "--audio-dir", audio_dir, "--limit", "3"))
    assert code == 0, err
    import base64

    sent = {r.audio_parts[0]["data"] for r in server.requests}
    assert sent == {base64.b64encode(d).decode() for d in wavs.values()}
    assert "the attached audio and 4 reference captions" in server.requests[0].messages[1]["content"][1]["text"]
    log = read_jsonl(out / "log.jsonl")
    missing = [r for r in log if r["clip"] == NAMES[2]]
    assert len(missing) == 6 and all(r["error_kind"] == "audio" and "not found" in r["error"] for r in missing)
    assert summary(out)["run"]["judge_errors"]["audio"] == 6 and len(server.requests) == 12


def _run_folder(path, sources: dict[str, int]):
    from lalm_bench.rubrics.common.records import Criterion, RubricItem, RunRecord

    path.mkdir(parents=True)
    lines = []
    for pos, (clip, k) in enumerate(sources.items()):
        rec = RunRecord(
            run="run_0", position=pos, clip=clip, split="evaluation", status="ok", reference_index=k,
            reference=MADE_UP[clip][k - 1], baseline_source="file",
            new_criteria=[Criterion(criterion="c", weight=1, quote="barks")],
            final_criteria=[RubricItem(criterion=c["criterion"], weight=c["weight"]) for c in RUBRIC],
        )  # fmt: skip
        lines.append(rec.model_dump_json())
    (path / "log.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_references_a_rubric_was_built_from_are_not_judged(setup, run_cli, tmp_path):
    args, out, server = setup
    run = _run_folder(tmp_path / "deter" / "run_0", {NAMES[0]: 2, NAMES[1]: 5})
    argv = args("--limit", "3")
    argv[argv.index("--rubric") + 1] = run
    code, _, err = run_cli(*argv)
    assert code == 0, err
    doc = summary(out)
    assert doc["clips"]["excluded_references"] == {NAMES[0]: 2, NAMES[1]: 5}
    assert doc["rubric"]["kind"] == "run_folder" and doc["rubric"]["sha256"] == rubric_sha256(RUBRIC)
    refs = systems(doc)["references"]
    assert refs["captions"] == 13 and refs["inputs"]["excluded_rubric_sources"] == 2
    judged = {parse(r)[0] for r in server.requests}
    assert MADE_UP[NAMES[0]][1] not in judged and MADE_UP[NAMES[1]][4] not in judged
    assert MADE_UP[NAMES[0]][0] in judged and MADE_UP[NAMES[2]][1] in judged


def test_any_schema_valid_reply_judges_every_criterion(tmp_path, small_clotho, run_cli):
    """``mock/schema`` answers the smallest instance of the schema: with one required property per id,
    even that judges every criterion (each "met", the first label)."""
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps(RUBRIC))
    code, _, err = run_cli(
        "rubrics", "judge", "--rubric", rubric, "--references", "--csv", small_clotho, "--limit", "2",
        "--judge-model", "mock/schema", "--output-dir", tmp_path / "out", "--quiet", "--plot", tmp_path / "p.png",
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    refs = systems(summary(tmp_path / "out"))["references"]
    assert refs["unscored"]["judge_error"] == 0 and refs["scored_captions"] == 10 and refs["score"]["mean"] == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a, p: a.__setitem__(a.index("--rubric") + 1, p / "empty.json"), "the rubric is empty"),
        (lambda a, p: a.__setitem__(a.index("--rubric") + 1, p / "failed"), "no successful record"),
        (lambda a, p: a.__setitem__(a.index("--captions") + 1, p / "nocol.csv"), "missing column(s) model_output"),
        (lambda a, p: a.__setitem__(a.index("--captions") + 1, p / "elsewhere.csv"), "no file_name matches"),
        (lambda a, p: a.__setitem__(a.index("--name") + 1, "references"), "taken by --references"),
        (lambda a, p: a.extend(["--name", "x"]), "2 --name for 1 --captions"),
        (lambda a, p: a.extend(["--base-url", "http://127.0.0.1:9/v1"]), "2 --base-url for 1 --judge-model"),
        (lambda a, p: a.extend(["--judge-model", "openai/judge"]), "given twice"),
        (lambda a, p: a.extend(["--cannot-assess", "zero"]), "expected skip or fail"),
        (lambda a, p: a.extend(["--table-format", "xlsx"]), "expected parquet or csv"),
        (lambda a, p: a.extend(["--judge-with-audio", "--audio-dir", p / "nowhere"]), "audio folder"),
        (lambda a, p: a.extend(["--judge-model", "nope"]), "provider/model"),
        (lambda a, p: a.extend(["--plot", p / "taken.png"]), "output exists"),
        (lambda a, p: a.extend(["--plot", p / "baseline.csv"]), "is one of the inputs"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_nothing_written(setup, run_cli, tmp_path, change, message):
    args, out, server = setup
    (tmp_path / "empty.json").write_text("[]")
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "log.jsonl").write_text(
        json.dumps({"run": "r", "position": 0, "clip": "a", "split": "evaluation", "status": "failed",
                    "reference_index": 1, "reference": "x", "baseline_source": "file"}) + "\n"
    )  # fmt: skip
    pd.DataFrame({"file_name": NAMES, "caption": NAMES}).to_csv(tmp_path / "nocol.csv", index=False)
    pd.DataFrame({"file_name": ["x.wav"], "model_output": ["y"]}).to_csv(tmp_path / "elsewhere.csv", index=False)
    (tmp_path / "taken.png").write_bytes(b"not ours")
    argv = args()
    change(argv, tmp_path)
    code, _, err = run_cli(*argv)
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not server.requests
    assert (tmp_path / "taken.png").read_bytes() == b"not ours"


def test_a_folder_with_other_files_is_not_taken_over(setup, run_cli):
    args, out, server = setup
    out.mkdir()
    (out / "summary.json").write_text("{}")
    code, _, err = run_cli(*args())
    assert code == 2 and "output exists" in err and "--overwrite" in err
    assert (out / "summary.json").read_text() == "{}" and not server.requests
