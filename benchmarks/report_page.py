"""Size and load time of the `lalm-bench report` page, opened from disk in headless chromium.

    uv run python benchmarks/report_page.py PATH... [--repeat 3] [--audio none] [--json out.json]

PATH: what `lalm-bench report` takes (for the closing note of issue 17: the `accuracy` and `similarity`
JSON made from the full MMAU-Pro prediction files in ../shared/data/mmau_pro_predictions). The page is
built once (the build time is printed), then opened --repeat times in a fresh browser each: the load time
is navigationStart → loadEventEnd (parsing the HTML and the JSON, the first page of items drawn), and
the time to apply a search over every item is measured too. Needs chromium and chromedriver.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--audio", default="none")
    ap.add_argument("--search", default="the")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from lalm_bench.io import OutputOptions
    from lalm_bench.report.command import report_command
    from lalm_bench.report.config import ReportConfig

    out = Path(tempfile.mkdtemp()) / "report.html"
    t0 = time.perf_counter()
    result = report_command(ReportConfig(paths=tuple(args.paths), audio=args.audio), OutputOptions(out, quiet=True))
    build = time.perf_counter() - t0
    size = out.stat().st_size
    rows = sum(len(v["rows"]) for v in result.data["items"].values())
    loads, searches = [], []
    for _ in range(args.repeat):
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        try:
            driver.get(out.as_uri())
            loads.append(
                driver.execute_script("return performance.timing.loadEventEnd - performance.timing.navigationStart")
            )
            searches.append(
                driver.execute_script(
                    "const q = document.getElementById('f-q'); const t = performance.now(); q.value = arguments[0]; "
                    "q.dispatchEvent(new Event('input')); return performance.now() - t;",
                    args.search,
                )
            )
        finally:
            driver.quit()
    doc = {
        "items": rows,
        "bytes": size,
        "build_s": round(build, 2),
        "load_ms": loads,
        "load_ms_median": statistics.median(loads),
        "search_ms_median": round(statistics.median(searches), 1),
    }
    print(json.dumps(doc, indent=1))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
