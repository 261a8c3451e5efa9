"""Server time of the app's pages with 50 cached fields, and the app's cold start to first paint.

Run:  python benchmarks/app_rerun.py [--models 50]
Rerun times come from Streamlit's AppTest (the script's own run time, no browser); cold start is measured with a real
`streamlit run` and Debian's Chromium when it is installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from streamlit.testing.v1 import AppTest  # noqa: E402

from gifviz.app.settings import AppSettings  # noqa: E402
from gifviz.hub import Zoo  # noqa: E402
from gifviz.jobs import store_fields  # noqa: E402
from gifviz.refs import load_reference_folder  # noqa: E402
from gifviz.store import FieldStore  # noqa: E402

BUILTIN = ROOT / "assets" / "zoo" / "builtin" / "zoo.toml"


def page_times(query: dict[str, str], page: str, reruns: int = 3) -> tuple[float, float]:
    """(first run, median rerun) seconds of one page."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    start = time.perf_counter()
    app.switch_page(page).run()
    first = time.perf_counter() - start
    assert not app.exception, app.exception
    times = []
    for _ in range(reruns):
        start = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def cold_start(home: str) -> tuple[float, float | None]:
    """Seconds from `streamlit run` to health 'ok', and to the first painted page in Chromium (None without it)."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS, running_app

    started = time.perf_counter()
    with running_app({"GIFVIZ_HOME": home}) as base:
        healthy = time.perf_counter() - started
        if not Path(CHROMIUM).exists():
            return healthy, None
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(base)
            page.get_by_text("Model hub").first.wait_for(timeout=120_000)
            painted = time.perf_counter() - started
            browser.close()
    return healthy, painted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=50)
    args = parser.parse_args()
    settings = AppSettings()
    zoo = Zoo.open(BUILTIN)
    ids = list(zoo.ids[: args.models])
    with tempfile.TemporaryDirectory() as home:
        refs = load_reference_folder(zoo.manifest.references, zoo.space, settings.n_refs)
        store_fields(zoo, refs, settings.field_config(), ids, FieldStore(home))
        os.environ["GIFVIZ_HOME"] = home  # the store is the operator's setting: the address cannot choose it
        query = {"models": ",".join(ids)}
        print(f"{len(ids)} cached fields (N={settings.n_refs}, S={settings.steps}); AppTest server time")
        print()
        print("| page | first run | rerun (median of 3) |")
        print("|---|---|---|")
        for page in ("pages/distances.py", "pages/map.py", "pages/clusters.py"):
            first, rerun = page_times(query, page)
            print(f"| {Path(page).stem} | {first:.2f} s | {rerun:.2f} s |")
        healthy, painted = cold_start(home)
        print()
        paint = f"{painted:.1f} s" if painted is not None else "n/a (no Chromium)"
        print(f"cold start: server healthy after {healthy:.1f} s; hub page painted in Chromium after {paint}")


if __name__ == "__main__":
    main()
