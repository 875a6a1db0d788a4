"""Audio request shapes: ``input_audio`` or an ``audio_url`` data URL, WAV or FLAC, each checked by the
loopback server the way vLLM parses it; text-only messages go as plain strings."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
import soundfile

from lalm_bench.llm import AudioPart, Message, TextPart
from lalm_bench.llm.openai_provider import OpenAIChatModel
from lalm_bench.llm.openai_wire import audio_content_part, to_openai_content
from lalm_bench.llm.testserver import AudioPartError, ScriptedOpenAIServer, parse_audio_part
from tests.llm.helpers import make_wav, run


@pytest.mark.parametrize("audio_format", ["input_audio", "audio_url"])
@pytest.mark.parametrize("encoding", ["wav", "flac"])
def test_each_shape_reaches_the_server_with_the_same_samples(audio_format, encoding):
    wav = make_wav(seconds=0.3, rate=16000)
    original, _ = soundfile.read(io.BytesIO(wav), dtype="int16")
    with ScriptedOpenAIServer() as server:
        model = OpenAIChatModel(
            "m", base_url=server.base_url, cache=None, audio_format=audio_format, audio_encoding=encoding
        )
        msgs = [Message.text("system", "sys"), Message("user", (TextPart("Describe."), AudioPart(wav)))]
        assert run(model.chat(msgs)).text == "ok"
        run(model.aclose())
        (req,) = server.requests
    assert req.audio_shapes == [audio_format]
    assert req.messages[0]["content"] == "sys"  # text only: a plain string
    part = req.messages[1]["content"][1]
    if audio_format == "audio_url":
        assert part["audio_url"]["url"].startswith(f"data:audio/{encoding};base64,")
    else:
        assert part["input_audio"]["format"] == encoding and not part["input_audio"]["data"].startswith("data:")
    (sent,) = req.audio_bytes
    assert soundfile.info(io.BytesIO(sent)).format == encoding.upper()
    decoded, rate = soundfile.read(io.BytesIO(sent), dtype="int16")
    assert rate == 16000 and np.array_equal(decoded, original)  # FLAC is lossless
    assert model.describe()["audio_format"] == audio_format and model.describe()["audio_encoding"] == encoding


def test_text_parts_join_into_one_string_and_audio_keeps_its_order():
    assert to_openai_content(Message("user", (TextPart("a"), TextPart("b")))) == "a\nb"
    content = to_openai_content(Message("user", (TextPart("a"), AudioPart(make_wav()), TextPart("b"))))
    assert [p["type"] for p in content] == ["text", "input_audio", "text"]


@pytest.mark.parametrize(
    ("part", "why"),
    [
        ({"type": "input_audio", "input_audio": {"format": "wav"}}, "needs"),
        ({"type": "input_audio", "input_audio": {"data": "data:audio/wav;base64,AAAA", "format": "wav"}}, "base64"),
        ({"type": "audio_url", "audio_url": {"url": "data:audio/wav,AAAA"}}, "base64 data URLs"),
        ({"type": "audio_url", "audio_url": {"url": "data:image/png;base64,AAAA"}}, "not audio"),
        ({"type": "audio_url", "audio_url": {"url": "https://example.org/a.wav"}}, "data:"),
        ({"type": "input_audio", "input_audio": {"data": base64.b64encode(b"no").decode(), "format": "wav"}}, "decode"),
    ],
)  # fmt: skip
def test_the_server_refuses_what_vllm_refuses(part, why):
    with pytest.raises(AudioPartError, match=why):
        parse_audio_part(part)
    body = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]}
    with ScriptedOpenAIServer() as server:
        request = urllib.request.Request(
            server.base_url + "/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 400 and "invalid audio content part" in caught.value.read().decode()


def test_a_data_url_part_parses_to_data_and_format():
    part = audio_content_part(AudioPart(make_wav()), "audio_url", "flac")
    fields, raw = parse_audio_part(part)
    assert fields["format"] == "flac" and base64.b64decode(fields["data"]) == raw


def test_cli_flags_reach_the_wire_and_the_manifest(run_cli, tmp_path):
    from tests.predict.helpers import synthetic_benchmark

    bench = synthetic_benchmark(tmp_path, 2)
    with ScriptedOpenAIServer() as server:
        res = run_cli(
            "predict", "--benchmark", bench, "--audio-root", tmp_path / "audio", "--model", "openai/m",
            "--base-url", server.base_url, "--condition", "audio", "--audio-format", "audio_url",
            "--audio-encoding", "flac", "--output", tmp_path / "p.parquet", "-q", "--no-llm-cache",
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr
        assert {s for r in server.requests for s in r.audio_shapes} == {"audio_url"}
    manifest = next(tmp_path.rglob("*manifest*.json"), None)
    texts = [p.read_text() for p in tmp_path.rglob("*.json")]
    assert any('"audio_format": "audio_url"' in t and '"audio_encoding": "flac"' in t for t in texts), manifest
    bad = run_cli("predict", "--benchmark", bench, "--audio-root", tmp_path / "audio", "--model", "openai/m",
                  "--audio-format", "mp4", "--output", tmp_path / "q.parquet")  # fmt: skip
    assert bad.exit_code == 2 and bad.stderr.strip().startswith("error:") and "--audio-format" in bad.stderr


def test_a_cached_reply_is_not_reused_for_another_audio_shape(tmp_path):
    wav = make_wav(seconds=0.2, rate=16000)
    msgs = [Message("user", (TextPart("Describe."), AudioPart(wav)))]
    cache = tmp_path / "responses.sqlite"
    with ScriptedOpenAIServer() as server:
        for shape, encoding in [
            ("input_audio", "wav"),
            ("input_audio", "wav"),
            ("audio_url", "wav"),
            ("input_audio", "flac"),
        ]:
            model = OpenAIChatModel(
                "m", base_url=server.base_url, cache=str(cache), audio_format=shape, audio_encoding=encoding
            )
            run(model.chat(msgs))
            run(model.aclose())
        # the repeated default shape is served from the cache; each other shape reaches the server
        assert [r.audio_shapes for r in server.requests] == [["input_audio"], ["audio_url"], ["input_audio"]]
