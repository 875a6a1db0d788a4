"""The page: one self-contained HTML file (inline CSS, JS, SVG; data as JSON in a ``<script type="application/json">``).

Everything from a model or a dataset is untrusted. Server-side it is escaped (:func:`esc`, which also shows
bidi controls as visible marks); in the JSON ``<``, ``>``, ``&`` and the line separators are ``\\u`` escapes, so
nothing in it can close the script element; the page's script inserts it with ``textContent`` only. A
Content-Security-Policy forbids every network request; players use ``data:`` URIs or relative files.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from lalm_bench.io import to_strict_json
from lalm_bench.report.run import ReportResult

BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def esc(text: Any) -> str:
    """HTML-escaped text with bidi controls shown as ``⟦U+202E⟧`` (never applied)."""
    s = BIDI.sub(lambda m: f"⟦U+{ord(m.group()):04X}⟧", str(text))
    return escape(s, quote=True)


def json_for_script(obj: Any) -> str:
    """Strict JSON that is inert inside ``<script type="application/json">``."""
    text = json.dumps(to_strict_json(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )  # fmt: skip


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _ci(ci: Any, pts: bool = False) -> str:
    if not ci:
        return "no CI"
    if pts:
        return f"{100 * ci[0]:+.1f} to {100 * ci[1]:+.1f}"
    return f"{100 * ci[0]:.1f}% to {100 * ci[1]:.1f}%"


def _verdicts(data: dict[str, Any]) -> str:
    out = []
    for label, m in data["models"].items():
        v = m["verdict"]
        ev = "".join(f"<li>{esc(e)}</li>" for e in v["evidence"])
        cav = "".join(f"<li>{esc(c)}</li>" for c in v["caveats"])
        warn = "".join(f"<li>{esc(w)}</li>" for w in m.get("warnings", []))
        out.append(
            f'<div class="card verdict v-{esc(v["conclusion"])}"><h3>{esc(label)}</h3>'
            f'<p class="line">{esc(v["line"])}</p>'
            f"<details><summary>the numbers behind it</summary><ul>{ev}</ul></details>"
            + (f'<p class="cav-h">What not to conclude:</p><ul class="cav">{cav}</ul>' if cav else "")
            + (f'<ul class="warn">{warn}</ul>' if warn else "")
            + "</div>"
        )
    return "".join(out)


def _gap(gap: dict[str, Any]) -> str:
    if gap.get("gap") is None:
        return "–"
    ci = gap.get("ci95")
    return f"{gap['gap']:+.3f} (" + (f"{ci[0]:+.3f} to {ci[1]:+.3f}" if ci else "no CI") + ")"


def _leaderboard(data: dict[str, Any]) -> str:
    rows = []
    for label, m in data["models"].items():
        n = m["verdict"]["numbers"]
        acc = n.get("accuracy") or {}
        controls = [c for c in n if c not in ("accuracy", "identical", "listening_gap")]
        worst = min(
            controls, key=lambda c: n[c].get("difference") if n[c].get("difference") is not None else 9, default=None
        )
        kept = (n.get(worst) or {}).get("kept") or {} if worst else {}
        gap = n.get("listening_gap") or {}
        rows.append(
            "<tr>"
            f"<td>{esc(label)}</td><td>{esc(m['verdict']['conclusion'])}</td>"
            f"<td>{_pct(acc.get('audio'))} ({_ci(acc.get('audio_ci95'))})</td>"
            + (
                f"<td>{esc(worst)}: {100 * n[worst]['difference']:+.1f} pts ({_ci(n[worst].get('ci95'), True)})</td>"
                if worst and n[worst].get("difference") is not None
                else "<td>–</td>"
            )
            + f"<td>{_pct(kept.get('raw'))} ({_ci(kept.get('raw_ci95'))})</td>"
            f"<td>{_pct(kept.get('chance_corrected'))} ({_ci(kept.get('chance_corrected_ci95'))})</td>"
            + f"<td>{_gap(gap)}</td>"
            + "</tr>"
        )
    return (
        '<table class="tbl" id="leaderboard"><thead><tr><th>model</th><th>verdict</th><th>accuracy with audio</th>'
        "<th>largest drop under a control (paired 95% CI)</th><th>score kept without audio</th>"
        "<th>kept, chance-corrected</th><th>listening gap</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _tables(result: ReportResult) -> str:
    from lalm_bench.report.tables import display

    out = []
    for title, head, body in display(result.tables):
        out.append(
            f'<h3>{esc(title)}</h3><table class="tbl"><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in body)
            + "</tbody></table>"
        )
    return "".join(out) or "<p>No accuracy or similarity results among the inputs.</p>"


def _kv_table(rows: list[dict[str, Any]], columns: list[str] | None = None, limit: int = 200) -> str:
    if not rows:
        return "<p>none</p>"
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_short(r.get(c)))}</td>" for c in columns) + "</tr>" for r in rows[:limit]
    )
    more = f"<p>{len(rows) - limit} more rows not shown.</p>" if len(rows) > limit else ""
    return (
        '<div class="scroll"><table class="tbl"><thead><tr>'
        + "".join(f"<th>{esc(c)}</th>" for c in columns)
        + f"</tr></thead><tbody>{body}</tbody></table></div>{more}"
    )


def _short(v: Any, n: int = 400) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        v = json.dumps(to_strict_json(v), ensure_ascii=False)
    s = "" if v is None else str(v)
    return s if len(s) <= n else s[:n] + f"… ({len(s) - n} more characters)"


def _panels(data: dict[str, Any]) -> str:
    p = data["panels"]
    out = []
    for j in p["judge"]:
        rows = []
        for sy in j.get("systems") or []:
            if not isinstance(sy, dict):
                continue
            sc: dict[str, Any] = sy["score"] if isinstance(sy.get("score"), dict) else {}
            rows.append({
                "system": sy.get("name"), "kind": sy.get("kind"), "score": sc.get("mean"), "95% CI": sc.get("ci95"),
                "CI method": sc.get("ci_method"), "scored captions": sy.get("scored_captions"),
                "captions": sy.get("captions"),
            })  # fmt: skip
        crit_rows = []
        for c in j.get("criteria") or []:
            if not isinstance(c, dict):
                continue
            row = {"criterion": c.get("criterion"), "weight": c.get("weight")}
            for name, v in (c.get("systems") or {}).items():
                rate = (v or {}).get("met_rate") or {}
                row[f"met rate: {name}"] = rate.get("mean")
            crit_rows.append(row)
        hc = j.get("human_level") or {}  # judge format 2; format 1 named it human_ceiling
        hs = hc.get("score") or {}
        out.append(
            f"<h3>rubrics judge: {esc(j['file'])}</h3>"
            + (
                f"<p>human level (the references judged alike): {esc(_short(hs.get('mean')))} "
                f"(95% CI {esc(_short(hs.get('ci95')))})</p>"
                if hs
                else "<p>no human level (run judge with --references)</p>"
            )
            + _kv_table(rows)
            + "<details><summary>met rate per criterion</summary>"
            + _kv_table(crit_rows, limit=200)
            + "</details><details><summary>verdicts and reasons</summary>"
            + _kv_table(j.get("verdicts") or [], limit=300)
            + "</details>"
        )
    for c in p["compare"]:
        f1 = c.get("f1_matrix") or {}
        labels = f1.get("labels") or []
        values = f1.get("values") or []
        rows = [
            {
                "": a,
                **{b: (values[i][k] if i < len(values) and k < len(values[i]) else None) for k, b in enumerate(labels)},
            }
            for i, a in enumerate(labels)
        ]
        out.append(
            f"<h3>rubrics compare: {esc(c['file'])}</h3><p>F1 matrix</p>" + _kv_table(rows)
            + f"<p>criteria in every run (survivors): {esc(c.get('n_survivors'))}</p>"
            + "<details><summary>survivors</summary>" + _kv_table(c.get("survivors") or [], limit=100) + "</details>"
            + f"<p>growth: {esc(_short(c.get('growth'), 600))}</p>"
        )  # fmt: skip
    for r in p["clotho_refs"]:
        out.append(
            f"<h3>clotho-refs: {esc(r['file'])}</h3>"
            + "<details><summary>summary</summary><pre>"
            + esc(_short(r["summary"], 20000))
            + "</pre></details>"
            + "<p>flagged clips with their captions</p>"
            + _kv_table(r.get("flagged") or [], limit=200)
        )
    return "".join(out)


def _json_text(obj: Any) -> str:
    return esc(json.dumps(to_strict_json(obj), indent=1, ensure_ascii=False))


def _provenance(data: dict[str, Any]) -> str:
    out = [f"<p>report: {esc(data['manifest'].get('tool'))} {esc(data['manifest'].get('tool_version'))}, "
           f"{esc(data['manifest'].get('created_utc'))} UTC</p>"]  # fmt: skip
    for label, m in data["models"].items():
        pv = m["provenance"]
        model = m["summary"].get("model") or {}
        out.append(f"<h3>{esc(label)}</h3>")
        if model:
            out.append(f"<p>model: {esc(_short(model, 600))}</p>")
        if pv.get("prompt"):
            out.append(
                "<details><summary>prompt template</summary><pre>"
                + esc(_short(pv["prompt"], 20000))
                + "</pre></details>"
            )
        if pv.get("seeds"):
            out.append(f"<p>seeds: {esc(_short(pv['seeds'], 800))}</p>")
        if pv.get("canary"):
            out.append(
                "<details><summary>server canary</summary><pre>"
                + esc(json.dumps(to_strict_json(pv["canary"]), indent=1, ensure_ascii=False))
                + "</pre></details>"
            )
        if pv.get("warnings"):
            out.append('<ul class="warn">' + "".join(f"<li>{esc(w)}</li>" for w in pv["warnings"]) + "</ul>")
        for name, man in pv.get("manifests", {}).items():
            ins = man.get("inputs") if isinstance(man, dict) else None
            hashes = "".join(
                f"<li>{esc(i.get('path'))}: sha256 {esc(i.get('sha256'))}</li>"
                for i in ins or []
                if isinstance(i, dict)
            )
            out.append(
                f"<details><summary>manifest: {esc(name)} ({esc((man or {}).get('created_utc'))})</summary>"
                f"<ul>{hashes}</ul><pre>{_json_text(man)}</pre></details>"
            )
    notes = data.get("audio_notes") or []
    if notes:
        out.append('<ul class="warn">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    out.append("<details><summary>this report's manifest</summary><pre>"
               + _json_text(data["manifest"]) + "</pre></details>")  # fmt: skip
    return "".join(out)


def _asset(name: str) -> str:
    """The page's stylesheet or script (package data beside this module)."""
    from importlib.resources import files

    return files("lalm_bench.report").joinpath("assets").joinpath(name).read_text(encoding="utf-8")


CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
    "media-src data: file: 'self'; base-uri 'none'; form-action 'none'"
)


def render_html(result: ReportResult) -> str:
    """The page as one string."""
    data = result.data
    figs = "".join(f["svg"] for f in result.figures) or "<p>No figures: no accuracy or similarity results.</p>"
    several = len(data["models"]) > 1
    from string import Template

    page = Template(_asset("page.html"))
    return page.substitute(
        csp=CSP,
        title=esc(result.title),
        css=_asset("page.css"),
        version=esc(data["manifest"].get("tool_version")),
        created=esc(data["manifest"].get("created_utc")),
        n_models=len(data["models"]),
        verdicts=_verdicts(data),
        board_title="Listening leaderboard" if several else "In one row",
        leaderboard=_leaderboard(data),
        figures=figs,
        tables=_tables(result),
        panels=_panels(data) or "<p>No rubrics judge, rubrics compare or clotho-refs outputs among the inputs.</p>",
        provenance=_provenance(data),
        data=json_for_script(data),
        js=_asset("page.js"),
    )
