"""The dashboard in a real browser (headless Chromium driven by Selenium): log in with the
token `serve` prints, upload photos and a broken file through the page's file input, watch
the thumbnails appear and the broken file reach the DLQ with its reason, redrive it; a key
that looks like markup stays text; without a session the page and its API answer 401; a
cross-origin POST from another page of the same browser is refused.

Screenshots of each view go to <build>/test-output/dashboard/ (or $THUMBFLOW_TEST_OUTPUT).
"""
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
import unittest
import urllib.request

import harness

HOSTILE_NAME = "<img src=x onerror=alert(1)>.jpg"
PHOTOS = ["jpeg/progressive.jpg", "png/palette_256.png", "jpeg/subsampling_420.jpg"]
SIZES = ("small", "medium", "large")


def output_dir():
    path = os.environ.get("THUMBFLOW_TEST_OUTPUT") or os.path.join(
        os.path.dirname(harness.BIN), "..", "..", "test-output", "dashboard")
    path = os.path.abspath(path)
    os.makedirs(path, exist_ok=True)
    return path


def request(url, method="GET", headers=None, body=None):
    """(status, headers, body) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tf-dashboard-")
        cls.driver = harness.chromium(f"{cls.tmp}/chromium")
        cls.data = os.path.join(cls.tmp, "data")
        cls.port = harness.free_port()
        cls.base = f"http://127.0.0.1:{cls.port}"
        cls.serve = harness.Peer([harness.BIN, "serve", "--data", cls.data, "--listen",
                                  f"127.0.0.1:{cls.port}", "--workers", "2"],
                                 log_dir=cls.tmp, name="serve")
        cls.serve.wait_http(cls.base + "/healthz")
        cls.url = harness.wait_for(
            lambda: (re.search(r"dashboard: (http://\S+/ui/\?token=[0-9a-f]+)", cls.serve.log())
                     or [None, None])[1], timeout=30, what="the dashboard URL in serve's log")
        cls.files = cls.make_files()
        cls.shots = output_dir()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "driver", None):
            cls.driver.quit()
        if getattr(cls, "serve", None):
            code = cls.serve.stop()
            if code != 0:
                raise AssertionError(f"serve exited with {code}:\n{cls.serve.log()[-4000:]}")

    @classmethod
    def make_files(cls):
        folder = os.path.join(cls.tmp, "files")
        os.makedirs(folder)
        files = []
        for source in PHOTOS:
            dest = os.path.join(folder, os.path.basename(source))
            shutil.copy(os.path.join(harness.CORPUS, source), dest)
            files.append(dest)
        broken = os.path.join(folder, "broken.jpg")
        with open(broken, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 this is not really a JPEG" * 10)
        hostile = os.path.join(folder, HOSTILE_NAME)
        shutil.copy(broken, hostile)
        return {"photos": files, "broken": broken, "hostile": hostile}

    # ---- helpers ----
    def wait(self, predicate, what, timeout=120):
        try:
            return harness.wait_for(predicate, timeout=timeout, what=what)
        except AssertionError:
            self.shot("failure")
            raise AssertionError(f"timed out waiting for {what}\n--- serve log ---\n"
                                 f"{self.serve.log()[-3000:]}")

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(self.shots, f"{name}.png"))

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def no_alert(self):
        from selenium.common.exceptions import NoAlertPresentException
        try:
            text = self.driver.switch_to.alert.text
        except NoAlertPresentException:
            return
        raise AssertionError(f"an alert fired: {text}")

    def upload(self, paths, folder=""):
        from selenium.webdriver.common.by import By
        box = self.driver.find_element(By.ID, "folder")
        box.clear()
        if folder:
            box.send_keys(folder)
        self.driver.find_element(By.ID, "file-input").send_keys("\n".join(paths))

    def uploads(self):
        """The grid as the page shows it: key -> (outcome, loaded thumbnail sizes)."""
        return self.js("""
            const out = {};
            for (const card of document.querySelectorAll('#uploads article')) {
              const key = card.querySelector('.key').textContent;
              const sizes = [...card.querySelectorAll('.thumbs figure')]
                .filter(f => f.querySelector('img').naturalWidth > 0)
                .map(f => f.querySelector('figcaption').textContent);
              out[key] = [card.querySelector('.badge').textContent, sizes];
            }
            return out;""")

    def dead_letters(self):
        """DLQ rows as the page shows them: [(key text, reason, receives)]."""
        return self.js("""
            return [...document.querySelectorAll('#dlq tbody tr')].map(r => [
              r.cells[0].textContent, r.cells[1].textContent, r.cells[2].textContent]);""")

    def metric(self, name, labels):
        status, _, body = request(self.base + "/metrics")
        self.assertEqual(status, 200)
        for line in body.decode().splitlines():
            if line.startswith(name + "{" + labels + "}"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    # ---- the tests, in order: they share one serve and one browser ----
    def test_1_without_a_session_everything_is_401(self):
        status, headers, body = request(self.base + "/ui/")
        self.assertEqual(status, 401)
        self.assertIn(b"login.js", body)
        self.assertIn("script-src 'self'", headers.get("Content-Security-Policy", ""))
        for path in ("/ui/api/overview", "/ui/api/uploads", "/ui/api/dlq",
                     "/ui/api/object?bucket=images&key=uploads%2Fa.jpg"):
            self.assertEqual(request(self.base + path)[0], 401, path)
        status, _, _ = request(self.base + "/ui/api/dlq/purge", "POST",
                               {"Origin": self.base, "Content-Type": "application/json"},
                               b'{"confirm":true}')
        self.assertEqual(status, 401)
        status, headers, _ = request(self.base + "/", headers={"Accept": "text/html"})
        self.assertEqual((status, headers.get("Location")), (302, "/ui/"))
        # The S3 API on the same port keeps its rules: an unsigned ListBuckets is refused.
        status, _, body = request(self.base + "/")
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.driver.get(self.base + "/ui/")
        self.assertTrue(self.js("return !!document.getElementById('token-form')"))
        self.shot("login")

    def test_2_log_in_with_the_printed_token(self):
        self.driver.get(self.url)
        self.wait(lambda: self.js("return document.getElementById('live').textContent") == "live",
                  "the page to go live")
        self.assertEqual(self.driver.current_url, self.base + "/ui/")  # token gone from the URL
        cookie = self.driver.get_cookie("thumbflow_session")
        self.assertTrue(cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie)
        self.assertEqual(self.js("return document.cookie"), "")  # not readable by script
        # The token was for one use.
        self.assertEqual(request(self.url)[0], 401)
        self.shot("overview-empty")

    def test_3_uploads_become_thumbnails_and_the_broken_file_a_dead_letter(self):
        self.upload(self.files["photos"] + [self.files["broken"]], folder="dash")
        keys = ["uploads/dash/" + os.path.basename(p) for p in self.files["photos"]]
        self.wait(lambda: all(self.uploads().get(k, ("", []))[0] == "ok" and
                              sorted(self.uploads()[k][1]) == sorted(SIZES) for k in keys),
                  "three thumbnail sets shown in the page")
        self.wait(lambda: any(row[0] == "uploads/dash/broken.jpg" for row in self.dead_letters()),
                  "the broken file in the DLQ table")
        row = next(r for r in self.dead_letters() if r[0] == "uploads/dash/broken.jpg")
        self.assertIn(row[1], ("not-an-image", "truncated", "corrupt"))
        self.assertEqual(self.uploads()["uploads/dash/broken.jpg"][0], "dead-letter")
        # Every progress bar reached the end and says so.
        statuses = self.js("return [...document.querySelectorAll('#upload-list li')]"
                           ".map(li => li.lastChild.textContent.trim())")
        self.assertEqual(statuses, ["uploaded"] * 4)
        self.wait(lambda: self.js("return document.getElementById('q-dlq').textContent") == "1",
                  "the DLQ depth in the overview")
        self.shot("overview")
        self.js("document.querySelector('#uploads').scrollIntoView()")
        self.shot("uploads")

    def test_4_redrive_from_the_page(self):
        from selenium.webdriver.common.by import By
        before = self.metric("thumbflow_pipeline_records_total", 'outcome="permanent"')
        self.assertGreaterEqual(before, 1)
        self.js("document.querySelector('#dlq').scrollIntoView()")
        self.shot("dead-letters")
        self.driver.find_element(By.CSS_SELECTOR, "#dlq tbody tr button.redrive").click()
        self.wait(lambda: "1 redriven" in self.js(
            "return document.getElementById('dlq-message').textContent"), "the redrive reply")
        # Redriven, it is processed again (and, still broken, dead-lettered again).
        self.wait(lambda: self.metric("thumbflow_pipeline_records_total",
                                      'outcome="permanent"') >= before + 1,
                  "the redriven message to be processed again")

    def test_5_a_hostile_key_is_text(self):
        self.upload([self.files["hostile"]])
        key = "uploads/" + HOSTILE_NAME
        self.wait(lambda: any(row[0] == key for row in self.dead_letters()),
                  "the hostile key in the DLQ table")
        self.wait(lambda: key in self.uploads(), "the hostile key in the grid")
        self.no_alert()
        self.assertEqual(self.js("return document.querySelectorAll('img[src=\"x\"]').length"), 0)
        self.assertEqual(self.js("return document.querySelectorAll('#uploads img:not([src^=\"/ui/\"])').length"), 0)
        self.assertIn(HOSTILE_NAME, self.driver.find_element("id", "uploads").text)
        self.shot("hostile-key")

    def test_6_a_cross_origin_post_is_refused(self):
        depth = int(self.js("return document.getElementById('q-dlq').textContent"))
        self.assertGreaterEqual(depth, 1)
        # Another origin on the same host (same site, so the Strict cookie goes along): only
        # the Origin check stands between it and the DLQ.
        page_dir = os.path.join(self.tmp, "other-site")
        os.makedirs(page_dir)
        with open(os.path.join(page_dir, "index.html"), "w") as f:
            f.write(f"""<!doctype html><script>
              fetch("{self.base}/ui/api/dlq/purge", {{method: "POST", mode: "no-cors",
                credentials: "include", body: '{{"confirm":true}}'}})
                .then(() => document.title = "sent", e => document.title = "error " + e);
            </script>""")

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=page_dir, **kw)

            def log_message(self, *args):
                pass
        other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        threading.Thread(target=other.serve_forever, daemon=True).start()
        try:
            refused_before = self.metric_refusals()
            self.driver.get(f"http://127.0.0.1:{other.server_address[1]}/index.html")
            self.wait(lambda: self.driver.title in ("sent",) or self.driver.title.startswith("error"),
                      "the other site's POST")
        finally:
            other.shutdown()
            other.server_close()
        self.wait(lambda: self.metric_refusals() > refused_before, "the refusal to be counted")
        self.driver.get(self.base + "/ui/")
        self.wait(lambda: self.js("return document.getElementById('live').textContent") == "live",
                  "the page to go live again")
        self.assertEqual(int(self.js("return document.getElementById('q-dlq').textContent")), depth)

    def metric_refusals(self):
        return self.metric("thumbflow_dashboard_refused_total", 'why="cross-origin"')


if __name__ == "__main__":
    unittest.main()
