"""The report in a real browser (Debian's chromium driven by selenium through chromedriver), opened from disk.

No console error, no network request, every figure drawn, answers holding markup and script shown as text,
filters that change the row count as the data says, a deep link that scrolls to its item, and an embedded
player whose samples, decoded by the browser, are the samples of the control that was sent. Screenshots
go to the test's tmp folder (their paths are printed). Skips when chromium or chromedriver is absent
(``.ci/run`` installs them)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.report.helpers import MARKUP

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM or not DRIVER:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--autoplay-policy=no-user-gesture-required"):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory) -> tuple[Path, dict]:
    from lalm_bench.io import OutputOptions
    from lalm_bench.report.command import report_command
    from lalm_bench.report.config import ReportConfig

    out = tmp_path_factory.mktemp("page") / "report.html"
    result = report_command(
        ReportConfig(paths=(runs["listener"], runs["deaf"]), audio="embed", audio_items=6),
        OutputOptions(out, quiet=True),
    )
    return out, result.data


def _errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _control_sent(runs: dict, key: str) -> tuple[np.ndarray, int]:
    """The samples predict sent for a player's item and condition, rebuilt independently of the page."""
    import pandas as pd

    from lalm_bench.audio.conditions import build_condition_audio

    label, item, cond, _ = key.split("|")
    folder = runs[label.split("/")[1]]
    row = pd.read_parquet(folder / f"preds_{cond}.parquet").set_index("id").loc[item]
    sources = [p["source"] for p in json.loads(row["audio_sent"])]
    parts, _ = build_condition_audio(
        cond, sources, root=runs["bench"].parent / "audio", seed=int(row["seed"]), item_id=item
    )
    assert parts[0].sha256 == row["audio_sha256"]
    samples, rate = sf.read(io.BytesIO(parts[0].data), dtype="int16", always_2d=True)
    return samples, rate


def _linked_row_top(driver, item: str) -> float | None:
    """The top of the highlighted row of ``item`` in the viewport, once the page has drawn it (≤ 10 s)."""
    from selenium.webdriver.support.ui import WebDriverWait

    script = (
        "const r = [...document.querySelectorAll('#items tr')].find(x => x.dataset.id === arguments[0]); "
        "return r && r.classList.contains('hl') ? r.getBoundingClientRect().top : null"
    )
    try:
        return WebDriverWait(driver, 10).until(lambda d: d.execute_script(script, item))
    except Exception:
        return driver.execute_script(script, item)


def _count(driver) -> int:
    return int(driver.find_element("id", "count").get_attribute("data-count"))


def _shot(driver, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")


def test_the_page_in_chromium(browser, page, runs):
    from selenium.webdriver.support.ui import Select

    path, data = page
    d = browser
    d.get(path.as_uri())
    shots = path.parent

    # no console error, no request but the page itself
    assert _errors(d) == []
    urls = _requests(d)
    # the page itself, and data: URLs (Chromium's media controls draw their icons from some)
    assert urls and all(u == path.as_uri() or u.startswith("data:") for u in urls), urls
    assert d.execute_script("return performance.getEntriesByType('resource').length") == 0
    _shot(d, shots, "01-verdicts")

    # every figure is drawn
    boxes = d.execute_script(
        "return [...document.querySelectorAll('svg.fig')]"
        ".map(s => { const b = s.getBBox(); return [b.width, b.height]; })"
    )
    assert len(boxes) >= 6 and all(w > 0 and h > 0 for w, h in boxes), boxes
    d.execute_script("document.getElementById('figures').scrollIntoView()")
    _shot(d, shots, "02-figures")

    # the listener's items; markup and script are text
    rows = data["items"]["openai/listener"]["rows"]
    assert _count(d) == len(rows)
    assert d.execute_script("return window.__pwned === undefined")
    items = d.find_element("id", "items")
    assert not items.find_elements("css selector", "img, script, b, a[href^='javascript:']")
    row0 = d.find_element("css selector", "tr[data-id='t000']")
    assert MARKUP.split("\u202e")[0] in row0.text  # everything before the bidi control, verbatim
    assert "\u27e6U+202E\u27e7evil" in row0.text  # the bidi override is shown, not applied
    assert "<script>window.__pwned = 4</script>" in row0.text  # the question too
    long_row = d.find_element("css selector", "tr[data-id='t001']")
    assert "more characters are not in the page" in long_row.text
    button = long_row.find_element("css selector", "button.more")
    before = len(long_row.text)
    button.click()
    assert len(long_row.text) > before + 10_000
    d.execute_script("document.getElementById('browser').scrollIntoView()")
    _shot(d, shots, "03-items")

    # filters change the row count as the data says
    def expect(n: int) -> None:
        assert _count(d) == n

    d.find_element("id", "f-flip").click()
    expect(sum(1 for r in rows if r["flip"]))
    d.find_element("id", "f-flip").click()
    acc = data["models"]["openai/listener"]["summary"]["accuracy"]
    label = next(k for k, n in acc["reliance"]["counts"].items() if n)
    Select(d.find_element("id", "f-rel")).select_by_value(label)
    expect(acc["reliance"]["counts"][label])
    Select(d.find_element("id", "f-rel")).select_by_value("")
    Select(d.find_element("id", "f-cat")).select_by_value("pitch-a")
    expect(acc["by_category"]["pitch-a"]["count"])
    Select(d.find_element("id", "f-cat")).select_by_value("")
    d.find_element("id", "f-ref").click()
    expect(sum(1 for r in rows if r["ref"]))
    assert sum(1 for r in rows if r["ref"]) >= 30  # "I cannot hear any audio" without audio
    d.find_element("id", "f-ref").click()
    d.find_element("id", "f-q").send_keys("LONG")
    expect(1)
    d.find_element("id", "f-q").clear()
    d.execute_script("document.getElementById('f-q').dispatchEvent(new Event('input'))")
    Select(d.find_element("id", "f-model")).select_by_value("openai/deaf")
    d.find_element("id", "f-same").click()
    expect(len(data["items"]["openai/deaf"]["rows"]))  # the deaf model answers alike everywhere
    d.find_element("id", "f-same").click()
    Select(d.find_element("id", "f-model")).select_by_value("openai/listener")
    d.find_element("id", "f-q").send_keys("Item 5:")  # a filter that hides the linked item: the link clears it
    expect(1)

    # a deep link scrolls to its item (in the page, then on a fresh load)
    target = rows[30]["id"]
    d.execute_script("location.hash = arguments[0]", "#item=" + target)
    top = _linked_row_top(d, target)
    assert top is not None and 0 <= top < d.execute_script("return window.innerHeight")
    assert _count(d) == len(rows)
    d.get("about:blank")
    d.get(path.as_uri() + "#item=" + target)
    top = _linked_row_top(d, target)
    assert top is not None and 0 <= top < d.execute_script("return window.innerHeight")
    _shot(d, shots, "04-deep-link")

    # an embedded player: playable, and its samples are those of the control that was sent
    key = next(k for k, p in data["audio"].items() if "|noise|" in k and p.get("src"))
    item = key.split("|")[1]
    d.get(path.as_uri() + "#item=" + item)
    state = d.execute_async_script(
        """
        const [key, done] = arguments;
        const a = [...document.querySelectorAll('audio')].find(x => x.dataset.key === key);
        if (!a) { done({error: 'no player'}); return; }
        const can = a.canPlayType('audio/flac');
        a.preload = 'auto';
        a.addEventListener('loadedmetadata', () => {
          const b64 = a.src.split(',')[1], bin = atob(b64), bytes = new Uint8Array(bin.length);
          for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
          const ctx = new OfflineAudioContext(1, 1, 16000);
          ctx.decodeAudioData(bytes.buffer).then(buf => done({
            can: can, duration: a.duration, rate: buf.sampleRate, channels: buf.numberOfChannels,
            samples: Array.from(buf.getChannelData(0)),
          }), e => done({error: String(e)}));
        });
        a.addEventListener('error', () => done({error: 'media error ' + (a.error && a.error.code)}));
        a.load();
        """,
        key,
    )
    assert "error" not in state, state
    assert state["can"] in ("probably", "maybe")
    sent, rate = _control_sent(runs, key)
    assert state["rate"] == rate == 16000 and state["duration"] == pytest.approx(sent.shape[0] / rate, abs=0.01)
    decoded = np.asarray(state["samples"], dtype=np.float64)
    assert decoded.shape[0] == sent.shape[0]
    # within one 16-bit step: Chromium maps int16 to float with 1/32767 for positive samples, 1/32768 below
    assert np.max(np.abs(decoded - sent[:, 0] / 32768.0)) < 1 / 32768
    assert np.array_equal(np.where(decoded > 0, np.rint(decoded * 32767), np.rint(decoded * 32768)), sent[:, 0])
    _shot(d, shots, "05-player")
    assert _errors(d) == []


def test_the_demo_page_in_chromium(browser, run_cli, tmp_path):
    """``lalm-bench demo`` writes its page through the report: it opens clean, every figure is drawn, the
    listener is the model that listens, filters and a deep link work, and its players are verified."""
    res = run_cli("demo", "-o", tmp_path / "demo")
    assert res.exit_code == 0, res.stderr
    path = tmp_path / "demo" / "report.html"
    d = browser
    _requests(d), _errors(d)  # drain what the browser logged before this page
    d.get(path.as_uri())
    assert _errors(d) == []
    urls = _requests(d)
    assert urls and all(u == path.as_uri() or u.startswith("data:") for u in urls), urls
    boxes = d.execute_script(
        "return [...document.querySelectorAll('svg.fig')]"
        ".map(s => { const b = s.getBBox(); return [b.width, b.height]; })"
    )
    assert boxes and all(w > 0 and h > 0 for w, h in boxes)
    data = d.execute_script("return window.REPORT.data")
    verdicts = {m: v["verdict"]["conclusion"] for m, v in data["models"].items()}
    assert verdicts == {"mock/listener": "listens", "mock/deaf": "not-listening"}
    players = data["audio"]
    assert players and all(p["status"] == "verified" for p in players.values())
    rows = data["items"]["mock/listener"]["rows"]
    d.find_element("id", "f-flip").click()
    assert _count(d) == sum(1 for r in rows if r["flip"]) > 0
    target = rows[-1]["id"]
    d.execute_script("location.hash = arguments[0]", "#item=" + target)
    top = _linked_row_top(d, target)
    assert top is not None and 0 <= top < d.execute_script("return window.innerHeight")
    _shot(d, tmp_path, "demo-deep-link")
    d.get(path.as_uri())
    _shot(d, tmp_path, "demo-verdicts")
    assert _errors(d) == []
