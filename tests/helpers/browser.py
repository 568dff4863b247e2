#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Load a page in Debian's headless Chromium, driven over the DevTools
protocol (python3-websocket), and say what a user would have seen.

  browser.py URL OUT.png [EXPR] [--user U:P] [--ca CA.pem]

Prints one JSON object: "console" (every console error, uncaught exception
and error log entry: a script the Content-Security-Policy refused is one),
"dialogs" (alert/confirm/prompt that opened; each is dismissed), "requests"
(every URL the page asked for beyond itself), "value" (EXPR evaluated in
the page once it has drawn itself: document.body.dataset.rendered), "shot"
(the screenshot: size, pixels not white, and which of the colours asked in
COLOURS it holds).  Exit 0 when the page loaded, 1 otherwise.
"""
import base64
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import websocket  # python3-websocket

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium") or "chromium-headless-shell"


class Tab:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.n = 0
        self.events = []
        self.session = None

    def call(self, method, params=None, session=True):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            r = json.loads(self.ws.recv())
            if r.get("id") == self.n:
                if "error" in r:
                    raise RuntimeError(f"{method}: {r['error']}")
                return r.get("result", {})
            self.event(r)

    def event(self, r):
        self.events.append(r)
        # a dialog blocks the page until answered: dismiss it (and count it)
        if r.get("method") == "Page.javascriptDialogOpening":
            self.n += 1
            self.ws.send(json.dumps({"id": self.n, "method": "Page.handleJavaScriptDialog",
                                     "params": {"accept": False}, "sessionId": self.session}))

    def wait(self, method, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if any(e.get("method") == method for e in self.events):
                return True
            self.ws.settimeout(max(0.1, end - time.time()))
            try:
                self.event(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break
        return False


def png_pixels(data):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + ln
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, None, []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        prev = prev or bytearray(stride)
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


COLOURS = {"anon": (0x4e, 0x79, 0xa7), "file": (0x59, 0xa1, 0x4f), "shmem": (0xf2, 0x8e, 0x2b),
           "dmabuf": (0xe1, 0x57, 0x59)}


def shot_facts(png):
    """Its size, its pixels not white, its colours, and the kinds whose
    colour covers over 2,000 pixels (more than the legend's swatches)."""
    w, h, bpp, rows = png_pixels(png)
    seen, notwhite = {}, 0
    for row in rows:
        for x in range(0, w * bpp, bpp):
            px = tuple(row[x:x + 3])
            if px != (255, 255, 255):
                notwhite += 1
                seen[px] = seen.get(px, 0) + 1
    return {"width": w, "height": h, "not_white": notwhite, "colours": len(seen),
            "kinds": sorted(k for k, c in COLOURS.items() if seen.get(c, 0) > 2000)}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(re.match(r"--([a-z]+)=(.*)", a).groups() for a in sys.argv[1:] if a.startswith("--"))
    url, out = args[0], args[1]
    expr = args[2] if len(args) > 2 else "document.body.dataset.rendered"
    prof = tempfile.mkdtemp(prefix="memlens-chromium-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
           f"--user-data-dir={prof}", "--window-size=1280,1000", "--hide-scrollbars"]
    if "ca" not in opts:
        cmd.append("--ignore-certificate-errors")
    # its own process group: Debian's chromium-headless-shell is a script
    # that starts the browser, which starts its zygotes and renderers
    proc = subprocess.Popen(cmd + ["about:blank"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    res = {"console": [], "dialogs": [], "requests": [], "value": None, "shot": None, "error": None}
    try:
        ws_url = None
        end = time.time() + 60
        while time.time() < end and not ws_url:
            line = proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            ws_url = m and m.group(1)
        if not ws_url:
            raise RuntimeError("chromium did not start its DevTools endpoint")
        tab = Tab(ws_url)
        target = tab.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        tab.session = tab.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for dom in ("Page", "Runtime", "Log", "Network"):
            tab.call(dom + ".enable")
        if "user" in opts:
            auth = base64.b64encode(opts["user"].encode()).decode()
            tab.call("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Basic " + auth}})
        t0 = time.time()
        nav = tab.call("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise RuntimeError("navigate: " + nav["errorText"])
        if not tab.wait("Page.loadEventFired", 60):
            raise RuntimeError("the page did not finish loading in 60 s")
        res["load_s"] = round(time.time() - t0, 3)
        tab.wait("never", 0.5)  # late console messages and dialogs
        v = tab.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        res["value"] = v.get("result", {}).get("value")
        shot = base64.b64decode(tab.call("Page.captureScreenshot", {"format": "png"})["data"])
        with open(out, "wb") as f:
            f.write(shot)
        res["shot"] = shot_facts(shot)
        for e in tab.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                res["console"].append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                res["console"].append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                res["console"].append(p["entry"].get("text", ""))
            elif m == "Page.javascriptDialogOpening":
                res["dialogs"].append(p.get("type", "") + ": " + p.get("message", ""))
            elif m == "Network.requestWillBeSent":
                u = p.get("request", {}).get("url", "")
                if u != url:
                    res["requests"].append(u)
    except Exception as e:  # said in the JSON, the exit code says it too
        res["error"] = str(e)
    finally:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()
        # the group's last members go with it; wait until none is left
        for _ in range(100):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(prof, ignore_errors=True)
    print(json.dumps(res))
    return 0 if res["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
