"""``lalm-bench report`` end to end: check, read, render, write the page (and its audio files) together."""

from __future__ import annotations

from pathlib import Path

from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, OutputSet, check_outputs
from lalm_bench.report.config import AUDIO_MODES, FORMATS, ReportConfig
from lalm_bench.report.run import ReportResult, run_report

SUFFIXES = {"html": (".html", ".htm"), "md": (".md", ".markdown"), "tex": (".tex",), "csv": (".csv",)}


def parse_labels(specs: list[str] | None) -> dict[str, Path]:
    """``NAME=PATH`` pairs of ``--label`` (a name given twice is refused)."""
    out: dict[str, Path] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not name or not path.strip():
            raise InputError(f"--label {spec!r}: expected NAME=PATH, e.g. qwen-omni=runs/qwen/")
        if name in out:
            raise InputError(f"--label {name} is given twice")
        out[name] = Path(path.strip())
    return out


def check_config(config: ReportConfig, output: Path) -> None:
    if config.audio not in AUDIO_MODES:
        raise InputError(f"--audio {config.audio!r}: expected one of {', '.join(AUDIO_MODES)}")
    if config.format not in FORMATS:
        raise InputError(f"--format {config.format!r}: expected one of {', '.join(FORMATS)}")
    if config.audio_items < 0:
        raise InputError(f"--audio-items must be >= 0, got {config.audio_items}")
    if output.suffix.lower() not in SUFFIXES[config.format]:
        raise InputError(f"--output {output}: a --format {config.format} file ends with {SUFFIXES[config.format][0]}")
    if not config.paths:
        raise InputError("give at least one PATH: an output file or folder of predict, accuracy, similarity, …")


def render(result: ReportResult, fmt: str) -> str:
    """The page (html) or the headline tables (md, tex, csv)."""
    if fmt == "html":
        from lalm_bench.report.render import render_html

        return render_html(result)
    from lalm_bench.report import tables

    return {"md": tables.to_markdown, "tex": tables.to_latex, "csv": tables.to_csv}[fmt](result.tables)


def report_command(config: ReportConfig, output: OutputOptions) -> ReportResult:
    """Validate, read every input, write the page (and with ``--audio link`` its audio files) all or nothing."""
    path = Path(output.path)
    check_config(config, path)
    inputs = [Path(p) for p in config.paths if Path(p).is_file()]
    check_outputs({"--output": path}, inputs=inputs, overwrite=output.overwrite)
    html_audio = config.audio if config.format == "html" else "none"
    from dataclasses import replace

    result = run_report(replace(config, audio=html_audio), report_path=path, progress=not output.quiet)
    text = render(result, config.format)
    extra = {path.parent / rel: data for rel, data in result.audio_files.items()}
    if extra:
        check_outputs({f"audio file {p.name}": p for p in extra}, overwrite=True)
    with OutputSet() as out:
        with out.open(path) as fh:
            fh.write(text)
        for p, data in extra.items():
            with out.open(p, "wb") as fh:
                fh.write(data)
    if not output.quiet:
        from lalm_bench.report.report import print_summary

        size = len(text.encode("utf-8"))
        written = [f"{path} ({size / 1e6:.2f} MB)"] + ([f"{len(extra)} audio files beside it"] if extra else [])
        print_summary(result.data, written)
    return result
