"""Browser uploads in a real browser (headless Chromium through Selenium): a web app on
another origin uploads straight to `thumbflow serve` with a presigned POST that boto3 made,
as an HTML form (success_action_redirect back to the app) and with fetch() under the bucket's
CORS rules. The browser enforces CORS, so what the page can read is what S3 would let it
read; an origin the rules do not name cannot read the reply.
"""
import http.server
import json
import os
import tempfile
import threading
import unittest
import urllib.parse
import uuid

import harness
from test_s3_endpoint import ServeFixture

BUCKET = "images"

# The app's page. The presigned POST comes in the fragment (#<json>), so the app server only
# serves files. `mode` = "form" submits a real <form>; "fetch" posts FormData and prints
# the status, the ETag header (exposed by the CORS rules) and the body, or "blocked".
APP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>app</title></head><body>
<form id="form" method="post" enctype="multipart/form-data"></form>
<pre id="result">pending</pre>
<script>
const post = JSON.parse(decodeURIComponent(location.hash.slice(1)));
async function png() {
  return new Blob([await (await fetch("/photo.png")).arrayBuffer()], {type: "image/png"});
}
async function viaForm() {
  const form = document.getElementById("form");
  form.action = post.url;
  for (const [name, value] of Object.entries(post.fields)) {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    form.appendChild(input);
  }
  const file = document.createElement("input");
  file.type = "file"; file.name = "file";
  const transfer = new DataTransfer();
  transfer.items.add(new File([await png()], "photo.png", {type: "image/png"}));
  file.files = transfer.files;
  form.appendChild(file);
  form.submit();
}
async function viaFetch() {
  const data = new FormData();
  for (const [name, value] of Object.entries(post.fields)) data.append(name, value);
  data.append("file", await png(), "photo.png");
  const out = document.getElementById("result");
  try {
    const r = await fetch(post.url, {method: "POST", body: data});
    out.textContent = JSON.stringify(
        {status: r.status, etag: r.headers.get("ETag"), body: await r.text()});
  } catch (e) {
    out.textContent = JSON.stringify({blocked: String(e)});
  }
}
(post.mode === "form" ? viaForm : viaFetch)();
</script></body></html>
"""

# Where success_action_redirect lands: prints the query S3 appends (bucket, key, etag).
DONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>done</title></head>
<body><pre id="result"></pre><script>
document.getElementById("result").textContent =
    JSON.stringify(Object.fromEntries(new URLSearchParams(location.search)));
</script></body></html>
"""


class AppServer:
    """The web app's origin: a static file server on its own port of 127.0.0.1."""

    def __init__(self, folder):
        handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=folder, **kw)
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class BrowserUploadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.tmp = tempfile.mkdtemp(prefix="tf-browser-upload-")
        cls.driver = harness.chromium(os.path.join(cls.tmp, "chromium"), window="800,600")
        site = os.path.join(cls.tmp, "site")
        os.makedirs(site)
        for name, text in (("app.html", APP_PAGE), ("done.html", DONE_PAGE)):
            with open(os.path.join(site, name), "w") as f:
                f.write(text)
        with open(os.path.join(harness.CORPUS, "png", "palette_256.png"), "rb") as f:
            cls.photo = f.read()
        with open(os.path.join(site, "photo.png"), "wb") as f:
            f.write(cls.photo)
        cls.app = AppServer(site)
        cls.other_app = AppServer(site)  # an origin the CORS rules do not name
        cls.s = ServeFixture(name="serve-browser")
        cls.s3 = cls.s.client(retries={"max_attempts": 1})
        cls.s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": [cls.app.origin], "AllowedMethods": ["POST", "GET"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]})

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.app.stop()
        cls.other_app.stop()
        cls.s.stop_cleanly()

    def open_app(self, origin, post, mode):
        post = {"url": post["url"], "fields": post["fields"], "mode": mode}
        # A query of its own per visit: a URL that differs only in its fragment would not load
        # the page again.
        self.driver.get(f"{origin}/app.html?visit={uuid.uuid4().hex}#" +
                        urllib.parse.quote(json.dumps(post)))

    def result(self, page_title):
        from selenium.webdriver.common.by import By

        def read():
            if self.driver.title != page_title:
                return None
            text = self.driver.find_element(By.ID, "result").text
            return None if text in ("", "pending") else json.loads(text)
        return harness.wait_for(read, timeout=60, what=f"the result on the {page_title} page")

    def event_names(self, key):
        """Event names of the queued notifications for `key` (serve runs no workers; the
        messages received here stay invisible for a minute)."""
        names = []
        while True:
            messages = self.s.queue("receive", "--max", "10", "--visibility", "60") or []
            if not messages:
                return names
            for message in messages:
                for record in json.loads(message["body"]).get("Records", []):
                    if urllib.parse.unquote_plus(record["s3"]["object"]["key"]) == key:
                        names.append(record["eventName"])

    def test_html_form_upload_redirects_back_to_the_app(self):
        done = f"{self.app.origin}/done.html"
        post = self.s3.generate_presigned_post(
            BUCKET, "uploads/browser/${filename}",
            Fields={"Content-Type": "image/png", "success_action_redirect": done},
            Conditions=[{"Content-Type": "image/png"}, {"success_action_redirect": done},
                        ["starts-with", "$key", "uploads/browser/"],
                        ["content-length-range", 1, 1 << 20]],
            ExpiresIn=300)
        self.open_app(self.app.origin, post, "form")
        got = self.result("done")
        self.assertEqual((got["bucket"], got["key"]), (BUCKET, "uploads/browser/photo.png"))
        stored = self.s3.get_object(Bucket=BUCKET, Key="uploads/browser/photo.png")
        self.assertEqual(stored["Body"].read(), self.photo)
        self.assertEqual(stored["ContentType"], "image/png")
        self.assertEqual(got["etag"], stored["ETag"])
        # The notification names the call, as S3 does for a form upload.
        self.assertEqual(self.event_names("uploads/browser/photo.png"), ["ObjectCreated:Post"])

    def test_fetch_upload_reads_the_reply_under_the_cors_rules(self):
        post = self.s3.generate_presigned_post(
            BUCKET, "uploads/fetched.png",
            Fields={"Content-Type": "image/png", "success_action_status": "201"},
            Conditions=[{"Content-Type": "image/png"}, {"success_action_status": "201"}],
            ExpiresIn=300)
        self.open_app(self.app.origin, post, "fetch")
        got = self.result("app")
        self.assertEqual(got.get("status"), 201, got)
        self.assertIn("<Key>uploads/fetched.png</Key>", got["body"])
        stored = self.s3.head_object(Bucket=BUCKET, Key="uploads/fetched.png")
        self.assertEqual(got["etag"], stored["ETag"])  # readable: ExposeHeaders names it

    def test_an_origin_the_rules_do_not_name_cannot_read_the_reply(self):
        post = self.s3.generate_presigned_post(BUCKET, "uploads/elsewhere.png", ExpiresIn=300)
        self.open_app(self.other_app.origin, post, "fetch")
        got = self.result("app")
        self.assertIn("blocked", got)
        self.assertNotIn("status", got)

    def test_a_tampered_form_stores_nothing_and_the_app_reads_the_refusal(self):
        post = self.s3.generate_presigned_post(
            BUCKET, "uploads/tampered.png", Conditions=[["content-length-range", 1, 10]],
            ExpiresIn=300)
        self.open_app(self.app.origin, post, "fetch")  # the photo is over 10 bytes
        got = self.result("app")
        self.assertEqual(got.get("status"), 400, got)
        self.assertIn("<Code>EntityTooLarge</Code>", got["body"])
        with self.assertRaises(self.s3.exceptions.ClientError):
            self.s3.head_object(Bucket=BUCKET, Key="uploads/tampered.png")


if __name__ == "__main__":
    unittest.main()
