"""How long a slider move takes in the browser, from the key that ends it to the new audio in the
player: the studio served on localhost, Debian's Chromium driven by Playwright (as a person
would: type a value into the slider's box and leave it, which is the slider's release).

    python bench/browser_roundtrip.py [--moves 20] [--clip speech_en.wav]

Prints the median, 90th percentile and worst round trip of a transpose move (the harmonic part
re-rendered) and of a formant move (both parts), and writes bench/results/browser_roundtrip.json.
Goal (issue 20): under 0.35 s on the project's 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
AUDIO_URL = "() => document.querySelector('#voice-output a.download-link')?.href ?? null"
GOAL_S = 0.35


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_up(port: int, timeout_s: float = 120.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the studio did not start on port {port}")


def moves(page, elem_id: str, values) -> list[float]:
    """Seconds from leaving the slider's box to the player holding the new render, per value."""
    out = []
    for value in values:
        before = page.evaluate(AUDIO_URL)
        box = page.locator(f"{elem_id} input[type=number]")
        box.fill(str(value))
        started = time.perf_counter()
        box.press("Tab")
        page.wait_for_function(f"() => ({AUDIO_URL})() !== {before!r}", polling=5)
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--clip", default="speech_en.wav")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = serve(port)
    try:
        wait_up(port)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"http://127.0.0.1:{port}")
            page.get_by_role("button", name=args.clip, exact=True).click()
            page.wait_for_function("() => document.querySelector('#voice-upload a.download-link')")
            page.click("#voice-analyze")
            page.wait_for_function("() => document.querySelector('#voice-status')?.innerText.includes('Analyzed')")
            moves(page, "#voice-transpose", [1, 0])  # warm up
            transpose = moves(page, "#voice-transpose", [(k % 5) + 1 for k in range(args.moves)])
            formant = moves(page, "#voice-formant-shift", [round(1.02 + 0.02 * (k % 10), 2) for k in range(args.moves)])
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows, results = [], {}
    for name, seconds in (("transpose move (harmonic part)", transpose), ("formant move (both parts)", formant)):
        s = np.asarray(seconds)
        stats = {"median_s": float(np.median(s)), "p90_s": float(np.percentile(s, 90)), "max_s": float(s.max()),
                 "n": len(s), "under_goal": bool(s.max() < GOAL_S)}
        results[name] = stats
        rows.append([name, stats["median_s"], stats["p90_s"], stats["max_s"], stats["n"]])
    print(common.format_table(["move", "median s", "p90 s", "max s", "moves"], rows))
    print(f"goal: every move under {GOAL_S} s -> {'met' if all(r['under_goal'] for r in results.values()) else 'NOT met'}")
    path = common.write_results("browser_roundtrip", {"clip": args.clip, "moves": results, "goal_s": GOAL_S})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
