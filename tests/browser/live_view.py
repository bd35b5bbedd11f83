#!/usr/bin/env python3
"""Browser test of the web view, in real headless Chromium driven by chromedriver (W3C
WebDriver over HTTP; Python standard library only).

    python3 tests/browser/live_view.py [DIGITD_BINARY]   (default: target/debug/digitd)

Starts `digitd run` on the looping sample clip with the web view on a free loopback port,
opens its page and checks that (1) the live MJPEG picture is shown and changes, and (2) the
reading the page shows is the clip's known reading (assets/sample/readings.json), for at
least two different pages of the clip. Needs /usr/bin/chromium and /usr/bin/chromedriver
(Debian: chromium, chromium-driver). Set BROWSER_SCREENSHOT=FILE to keep a screenshot.
Exits non-zero with a reason on any failure.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

# Hash of the live <img> as drawn into a canvas now, or null before the first frame.
FRAME_HASH_JS = """
const img = document.getElementById('live');
if (!img || !img.complete || img.naturalWidth === 0) return null;
const c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight;
const g = c.getContext('2d');
g.drawImage(img, 0, 0);
const d = g.getImageData(0, 0, c.width, c.height).data;
let h = 0;
for (let i = 0; i < d.length; i += 13) h = (h * 31 + d[i]) >>> 0;
return [c.width, c.height, h];
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def wait_for(what: str, limit: float, probe):
    deadline = time.time() + limit
    last = None
    while time.time() < deadline:
        try:
            last = probe()
            if last:
                return last
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            last = e
        time.sleep(0.2)
    raise SystemExit(f"FAIL: {what} within {limit:.0f} s (last: {last!r})")


def main() -> int:
    binary = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "target/debug/digitd").resolve()
    known = {r["text"] for r in json.loads((REPO / "assets/sample/readings.json").read_text())}
    web_port, driver_port = free_port(), free_port()
    work = Path(tempfile.mkdtemp(prefix="digitd-browser-"))
    base = f"http://127.0.0.1:{web_port}"
    procs = []
    try:
        procs.append(subprocess.Popen([str(binary), "run", "--loop", "--fps", "10", "--display", "none",
                                       "--web", f"127.0.0.1:{web_port}"], cwd=work,
                                      stdout=subprocess.DEVNULL, stderr=open(work / "digitd.log", "w")))
        wait_for("digitd's web view answering", 30, lambda: http("GET", f"{base}/api/status")["frames"] > 0)
        procs.append(subprocess.Popen([CHROMEDRIVER, f"--port={driver_port}"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        driver = f"http://127.0.0.1:{driver_port}"
        wait_for("chromedriver ready", 30, lambda: http("GET", f"{driver}/status")["value"]["ready"])
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]}}}}
        session = http("POST", f"{driver}/session", caps, timeout=60)["value"]["sessionId"]
        s = f"{driver}/session/{session}"
        try:
            http("POST", f"{s}/url", {"url": base + "/"})

            def run_js(script):
                return http("POST", f"{s}/execute/sync", {"script": script, "args": []})["value"]

            # (1) The live picture is there and changes.
            hashes = set()

            def picture_changes():
                h = run_js(FRAME_HASH_JS)
                if h:
                    hashes.add(tuple(h))
                return len(hashes) >= 3
            wait_for("three different live frames in the page", 30, picture_changes)
            size = next(iter(hashes))[:2]
            print(f"live view: {len(hashes)} different frames of {size[0]}x{size[1]} seen in the browser")

            # (2) The reading shown is the clip's known one, page after page.
            shown = []

            def readings_shown():
                text = run_js("return document.getElementById('reading').textContent;")
                if text and (not shown or shown[-1] != text):
                    shown.append(text)
                    if text not in known:
                        raise SystemExit(f"FAIL: the page shows {text!r}, not one of the clip's readings {sorted(known)}")
                return len(set(shown)) >= 2
            wait_for("two of the clip's readings shown on the page", 60, readings_shown)
            state = run_js("return document.getElementById('state').textContent;")
            print(f"readings shown on the page: {shown} (all known), state {state!r}")
            if os.environ.get("BROWSER_SCREENSHOT"):
                png = base64.b64decode(http("GET", f"{s}/screenshot")["value"])
                Path(os.environ["BROWSER_SCREENSHOT"]).write_bytes(png)
        finally:
            http("DELETE", s)
        if procs[0].poll() is not None:
            raise SystemExit(f"FAIL: digitd exited with {procs[0].returncode}")
        print("browser test passed")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
