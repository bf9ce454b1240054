#!/usr/bin/env python3
"""scripts/bench's cashier-app figures: pos-kiosk's resident memory idle
(before any page) and after LOADS page loads, and the page's load time in a
headless Chromium (Navigation Timing: DOMContentLoaded, load, and the
`state-rendered` mark app.js sets when posd's state is first on screen).
Prints one JSON line."""
import argparse
import json
import os
import statistics
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", required=True, type=int)
    ap.add_argument("--loads", type=int, default=30)
    a = ap.parse_args()
    idle = rss_kib(a.pid)
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--window-size=480,800", f"--user-data-dir={os.environ.get('HOME', '/tmp')}/chromium-bench"]:
        o.add_argument(arg)
    d = webdriver.Chrome(options=o, service=Service("/usr/bin/chromedriver"))
    dcl, load, shown = [], [], []
    try:
        d.get(a.url)  # the first load warms Chromium itself, not the kiosk: not counted
        for _ in range(a.loads):
            d.get(a.url + "?" + str(time.monotonic_ns()))
            for _ in range(400):
                t = d.execute_script("""
                  const n = performance.getEntriesByType('navigation')[0];
                  const m = performance.getEntriesByName('state-rendered')[0];
                  return n && m && n.loadEventEnd > 0 ? [n.domContentLoadedEventEnd, n.loadEventEnd, m.startTime] : null;""")
                if t:
                    break
                time.sleep(0.01)
            if not t:
                raise SystemExit("the page never showed posd's state")
            dcl.append(t[0]); load.append(t[1]); shown.append(t[2])
        after = rss_kib(a.pid)
    finally:
        d.quit()
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(len(xs) * p))]
    print(json.dumps({"loads": a.loads, "idle_rss_kib": idle, "rss_after_loads_kib": after,
                      "dcl_ms_median": statistics.median(dcl), "load_ms_median": statistics.median(load),
                      "shown_ms_median": statistics.median(shown), "shown_ms_p95": q(shown, 0.95)}))


if __name__ == "__main__":
    main()
