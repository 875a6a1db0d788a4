"""Option groups: each shared set of flags is declared once and arrives in a command as one object.

A group binds a library dataclass (its fields give the names, types and defaults) to the flags
and help texts of the command line. A command asks for groups by parameter::

    @app.command()
    @with_groups(embedding=EMBEDDING.but(model="BAAI/bge-m3"), output=OUTPUT_FILE)
    def clotho_refs(split: ..., embedding: EmbeddingOptions, output: OutputOptions) -> None: ...

and receives the dataclass instances; the flags appear in their own panel of ``--help``. Old
spellings stay accepted as hidden aliases (``aliases``), so a released command keeps working.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from lalm_bench.datasets.benchmark import BenchmarkColumns
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions, SamplingOptions
from lalm_bench.manifest import DEFAULT_SEED
from lalm_bench.rubrics.common.clips import ClipSelection

_SEP = "__"


@dataclass(frozen=True)
class Flag:
    """How one dataclass field appears on the command line."""

    decls: tuple[str, ...]
    help: str
    aliases: tuple[str, ...] = ()  # old spellings, hidden from --help
    negate: bool = False  # an on/off flag that sets the field to False (``--no-embedding-cache``)
    cli_type: Any = None  # the type typer parses, when it is not the field's (then ``convert`` maps it)
    convert: Callable[[Any], Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # min=, max=, ...

    def option(self, **extra: Any) -> Any:
        """The flag as a plain ``typer.Option`` (old spellings visible), for a command outside any group."""
        return typer.Option(*self.decls, *self.aliases, help=self.help, **{**self.extra, **extra})

    def but(self, help: str | None = None, **changes: Any) -> Flag:
        """The same flag with another help text (or other fields)."""
        return dataclasses.replace(self, help=self.help if help is None else help, **changes)


class Group:
    """A dataclass and the flags of (some of) its fields, shown in one ``--help`` panel."""

    def __init__(self, cls: type, flags: dict[str, Flag], panel: str, defaults: dict[str, Any] | None = None):
        self.cls, self.flags, self.panel = cls, flags, panel
        self.defaults = dict(defaults or {})
        self._hints = typing.get_type_hints(cls)
        self._fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(flags) - set(self._fields)
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")

    def but(self, *, drop: tuple[str, ...] = (), flags: dict[str, Flag] | None = None, **defaults: Any) -> Group:
        """The same group with other defaults, without the fields in ``drop``, or with replaced flags."""
        merged = {k: v for k, v in {**self.flags, **(flags or {})}.items() if k not in drop}
        return Group(self.cls, merged, self.panel, {**self.defaults, **defaults})

    def default(self, name: str) -> Any:
        if name in self.defaults:
            return self.defaults[name]
        f = self._fields[name]
        if f.default is not dataclasses.MISSING:
            return f.default
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        return None

    def parameters(self, prefix: str) -> list[inspect.Parameter]:
        params = []
        for name, flag in self.flags.items():
            default = self.default(name)
            cli_type = flag.cli_type or self._hints[name]
            opts: dict[str, Any] = {"help": flag.help, "rich_help_panel": self.panel, **flag.extra}
            if flag.negate:
                cli_type, default = bool, not default
            elif flag.convert is not None:
                default = None
            params.append(_param(f"{prefix}{_SEP}{name}", cli_type, typer.Option(*flag.decls, **opts), default))
            for i, alias in enumerate(flag.aliases):
                alias_type = bool if flag.negate and "/" not in alias else cli_type | None  # type: ignore[operator]
                hidden = typer.Option(alias, hidden=True)
                params.append(
                    _param(f"{prefix}{_SEP}{name}{_SEP}{i}", alias_type, hidden, False if alias_type is bool else None)
                )
        return params

    def build(self, prefix: str, kwargs: dict[str, Any]) -> Any:
        """Pop this group's parameters from ``kwargs`` and return the dataclass instance."""
        values: dict[str, Any] = {}
        for name, flag in self.flags.items():
            value = kwargs.pop(f"{prefix}{_SEP}{name}")
            if flag.negate:
                value = not value
            given = [kwargs.pop(f"{prefix}{_SEP}{name}{_SEP}{i}") for i in range(len(flag.aliases))]
            for alias, old in zip(flag.aliases, given, strict=True):
                if old is None or (old is False and flag.negate and "/" not in alias):
                    continue
                old = (not old) if (flag.negate and "/" not in alias) else old
                if flag.convert is None and value != self.default(name) and value != old:
                    raise InputError(f"{flag.decls[0]} and {alias.split('/')[0]} (its old spelling) disagree; give one")
                value = old if flag.convert is None else value or old
            if flag.convert is not None:
                value = flag.convert(value)
            values[name] = value
        for name in self._fields:
            if name not in values and name in self.defaults:
                values[name] = self.defaults[name]
        return self.cls(**values)


def _param(name: str, annotation: Any, info: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[annotation, info], default=default
    )


def with_groups(**groups: Group) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Replace the command's parameters named like ``groups`` by the groups' flags (see the module doc)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(fn).parameters.values()
            if p.name not in groups
        ]
        params = own + [p for name, g in groups.items() for p in g.parameters(name)]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            for name, g in groups.items():
                kwargs[name] = g.build(name, kwargs)
            return fn(**kwargs)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__  # typer must see the new signature, not fn's
        return command

    return decorate


def parse_key_values(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON is used as such, else as a string."""
    import json

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--llm-option {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _choice(flag: str, value: str | None, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in choices:
        raise InputError(f"{flag} {value!r}: use one of {', '.join(choices)}")
    return value


# ---- flags several groups or commands share ----------------------------------------------------

QUIET = Flag(("--quiet", "-q"), "No progress bars or summary table.")
EMBEDDING_CACHE_DIR = Flag(
    ("--embedding-cache-dir",),
    "Embedding cache folder (default: $LALM_BENCH_CACHE_DIR, else the user cache dir).",
    aliases=("--cache-dir",),
)
LLM_CACHE = Flag(("--llm-cache",), "LLM response cache file (default: $LALM_BENCH_LLM_CACHE, else the user cache dir).")

QuietOpt = Annotated[bool, QUIET.option()]
EmbeddingCacheDirOpt = Annotated[Path | None, EMBEDDING_CACHE_DIR.option()]
LLMCacheOpt = Annotated[Path | None, LLM_CACHE.option()]

# ---- the groups ---------------------------------------------------------------------------------

EMBEDDING = Group(
    EmbeddingOptions,
    {
        "model": Flag(
            ("--model",),
            "Sentence-embedding model: hub repo id, local folder, py:<package> (a model shipped in a Python "
            "package) or mock:hash (a tiny deterministic test embedder).",
        ),
        "model_revision": Flag(("--model-revision",), "Hub revision (branch, tag or commit) of --model."),
        "device": Flag(
            ("--device",), "auto, cpu, cuda, cuda:N, mps, or several GPUs (cuda:0,cuda:1): one process per GPU."
        ),
        "batch_size": Flag(("--batch-size",), "Texts per encoder batch.", extra={"min": 1}),
        "max_seq_length": Flag(("--max-seq-length",), "Token limit of the encoder (default: the model's own)."),
        "backend": Flag(("--backend",), "torch, openvino (CPU; the openvino extra) or onnx."),
        "precision": Flag(
            ("--precision",),
            "exact (fp32, the default; also spelled fp32) or fast: the model's OpenVINO export run without "
            "torch (the openvino extra; bf16 on CPUs with bf16 units, else fp32), not exact, said so in the "
            "manifest and judged against the exact statistics in benchmarks/precision.py. With --backend "
            "openvino also bf16.",
        ),
        "cache_dir": EMBEDDING_CACHE_DIR,
        "use_cache": Flag(
            ("--no-embedding-cache",),
            "Neither read nor write the embedding cache.",
            aliases=("--no-cache",),
            negate=True,
        ),
    },
    panel="Embedding model",
)

LLM = Group(
    LLMOptions,
    {
        "base_urls": Flag(
            ("--base-url",),
            "OpenAI-compatible server (default: $OPENAI_BASE_URL). Repeat it to spread requests over several "
            "servers, where the command supports that.",
            cli_type=list[str],
            convert=lambda v: tuple(v or ()),
        ),
        "api_key_env": Flag(("--api-key-env",), "Environment variable holding the API key (never logged)."),
        "concurrency": Flag(("--concurrency",), "Requests in flight at most (per server).", extra={"min": 1}),
        "timeout": Flag(("--timeout",), "Request timeout in seconds.", extra={"min": 0.1}),
        "max_retries": Flag(
            ("--max-retries",), "Retries on 429, 5xx, timeouts and dropped connections.", extra={"min": 0}
        ),
        "cache_path": LLM_CACHE,
        "use_cache": Flag(
            ("--no-llm-cache",),
            "Neither read nor write the LLM response cache.",
            aliases=("--cache/--no-cache",),
            negate=True,
        ),
        "provider_options": Flag(
            ("--llm-option",),
            "Provider option KEY=VALUE (VALUE read as JSON if it parses), e.g. structured_output=vllm; repeatable.",
            cli_type=list[str],
            convert=parse_key_values,
        ),
        "audio_format": Flag(
            ("--audio-format",),
            "How audio goes into a chat request: input_audio (base64 part, OpenAI's spec; vLLM) or audio_url (a "
            "data: URL; vLLM, SGLang).",
            cli_type=str | None,
            convert=lambda v: _choice("--audio-format", v, ("input_audio", "audio_url"), "input_audio"),
        ),
        "audio_encoding": Flag(
            ("--audio-encoding",),
            "Audio bytes sent: wav, or flac (lossless, smaller; vLLM and SGLang decode it, OpenAI's input_audio "
            "takes wav and mp3 only).",
            cli_type=str | None,
            convert=lambda v: _choice("--audio-encoding", v, ("wav", "flac"), "wav"),
        ),
    },
    panel="LLM server",
)

SAMPLING = Group(
    SamplingOptions,
    {
        "temperature": Flag(("--temperature",), "Sampling temperature (0: deterministic).", extra={"min": 0.0}),
        "top_p": Flag(("--top-p",), "Nucleus sampling.", extra={"min": 0.0, "max": 1.0}),
        "max_tokens": Flag(("--max-tokens",), "Most tokens per reply.", extra={"min": 1}),
    },
    panel="Sampling",
)

OUTPUT_FILE = Group(
    OutputOptions,
    {
        "path": Flag(("--output", "-o"), "Result file."),
        "plot": Flag(("--plot",), "Also write a PNG figure here."),
        "overwrite": Flag(("--overwrite",), "Replace existing outputs."),
        "quiet": Flag(("--quiet", "-q"), "No progress bars or summary table."),
    },
    panel="Output",
)

#: ``-o/--output`` names a folder here; ``--output-dir`` (its released spelling) stays as a hidden alias.
OUTPUT_DIR = OUTPUT_FILE.but(
    flags={"path": Flag(("--output", "-o"), "Folder for the output files.", aliases=("--output-dir",))}
)

CLIPS = Group(
    ClipSelection,
    {
        "split": Flag(("--split",), "Clotho split: development, validation or evaluation."),
        "csv": Flag(("--csv",), "Clotho captions CSV (default: the cached woongvy/clotho-v2.1 snapshot)."),
        "audio_dir": Flag(("--audio-dir",), "Folder of the split's audio files (default: <csv folder>/<split>)."),
        "dataset_revision": Flag(
            ("--dataset-revision",),
            "Dataset snapshot in the hub cache (commit, branch or tag).",
            aliases=("--revision",),
        ),
        "start": Flag(("--start",), "Skip the first K clips.", extra={"min": 0}),
        "limit": Flag(("--limit",), "At most N clips.", extra={"min": 1}),
    },
    panel="Clips",
)

BENCHMARK_COLUMNS = Group(
    BenchmarkColumns,
    {
        "id": Flag(("--id-column",), "Column with the item id (unique)."),
        "audio": Flag(("--audio-column",), "Column with the audio path or list of paths."),
        "question": Flag(("--question-column",), "Column with the question."),
        "choices": Flag(
            ("--choices-column",), "Column with the list of choices.", extra={"show_default": "choices, if present"}
        ),
        "category": Flag(
            ("--category-column",), "Column with the item's category.", extra={"show_default": "category, if present"}
        ),
        "answer": Flag(
            ("--answer-column",), "Column with the reference answer.", extra={"show_default": "answer, if present"}
        ),
    },
    panel="Benchmark columns",
)

BootstrapOpt = Annotated[
    int,
    typer.Option(
        "--bootstrap", min=0, help="Bootstrap resamples for 95% CIs (0: no CIs).", rich_help_panel="Statistics"
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed",
        min=0,
        help=f"Seed of every random choice of the run (every command's default is {DEFAULT_SEED}).",
    ),
]
KeepUnarrivedOpt = Annotated[
    bool,
    typer.Option(
        "--keep-unarrived",
        help="Keep the items whose audio predict flagged as dropped or cut (column audio_arrival); by default "
        "they are counted per condition and left out of the statistics.",
        rich_help_panel="Statistics",
    ),
]
AudioTokensPerSecondOpt = Annotated[
    float | None,
    typer.Option(
        "--audio-tokens-per-second",
        help="Audio tokens the model's encoder makes per second of audio, for the per-item check that the audio "
        "arrived (column audio_arrival).",
        show_default="from the model name: Qwen2-Audio/Qwen2.5-Omni 25, Qwen3-Omni 13, Gemma 3n 188 per clip, "
        "Voxtral 12.5 (docs/predict.md)",
    ),
]
DeterminismCheckOpt = Annotated[
    int | None,
    typer.Option(
        "--determinism-check",
        min=0,
        help="At temperature 0, ask K items of this call once more and warn when an answer differs (0: off).",
        show_default="3 when the call answered at least 30 items under a condition, else none",
    ),
]
__all__ = [
    "BENCHMARK_COLUMNS",
    "CLIPS",
    "DEFAULT_SEED",
    "EMBEDDING",
    "EMBEDDING_CACHE_DIR",
    "LLM",
    "LLM_CACHE",
    "OUTPUT_DIR",
    "OUTPUT_FILE",
    "QUIET",
    "SAMPLING",
    "AudioTokensPerSecondOpt",
    "BootstrapOpt",
    "DeterminismCheckOpt",
    "EmbeddingCacheDirOpt",
    "Flag",
    "Group",
    "KeepUnarrivedOpt",
    "LLMCacheOpt",
    "QuietOpt",
    "SeedOpt",
    "parse_key_values",
    "with_groups",
]
