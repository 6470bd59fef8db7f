#!/usr/bin/env python3
"""Captures the SDP a browser makes for a call into *.sdp files here.

    unshare -n sh -c 'ip link set lo up && ./capture.py chromium'
    unshare -n sh -c 'ip link set lo up && ./capture.py firefox'

Run inside a network namespace that has only loopback (as above), so that
nothing can leave the machine: the page needs no network, ICE has no
servers. Serves capture.html (and the webrtcbin-offer-*.sdp it answers)
on 127.0.0.1, starts the browser headless on it, and writes what the page
POSTs back: <browser>-offer.sdp, <browser>-answer.sdp (its answer to its
own offer), <browser>-offer-inactive-sendonly.sdp and
<browser>-answer-to-webrtcbin-offer-{vp8,h264}.sdp.
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
result = {}
done = threading.Event()


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=HERE, **kwargs)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        result.update(json.loads(body))
        self.send_response(204)
        self.end_headers()
        done.set()

    def log_message(self, *args):
        pass


def browser_command(browser, url, profile):
    if browser == "chromium":
        return ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={profile}", url]
    # Firefox: a fresh profile; nothing of its own to fetch.
    with open(os.path.join(profile, "user.js"), "w") as f:
        for pref, value in {
            "media.autoplay.default": 0,
            "app.update.enabled": False,
            "datareporting.policy.dataSubmissionEnabled": False,
            "toolkit.telemetry.enabled": False,
            "browser.safebrowsing.malware.enabled": False,
            "browser.safebrowsing.phishing.enabled": False,
            "network.captive-portal-service.enabled": False,
            "network.connectivity-service.enabled": False,
            "browser.shell.checkDefaultBrowser": False,
        }.items():
            f.write(f"user_pref({json.dumps(pref)}, {json.dumps(value)});\n")
    return ["firefox-esr", "-headless", "-no-remote", "-profile", profile, url]


def main():
    browser = sys.argv[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/capture.html"
    profile = tempfile.mkdtemp(prefix=f"sdp-{browser}-")
    proc = subprocess.Popen(browser_command(browser, url, profile), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        if not done.wait(120):
            sys.exit(f"{browser}: no result within 120 s")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    if "error" in result:
        sys.exit(f"{browser}: {result['error']}")
    print(f"{browser}: {result.pop('userAgent')}")
    for name, sdp in result.items():
        path = os.path.join(HERE, f"{browser}-{name}.sdp")
        with open(path, "w", newline="") as f:
            f.write(sdp)
        print(f"  {os.path.basename(path)}")


if __name__ == "__main__":
    main()
