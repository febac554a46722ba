"""`thumbflow put/get/ls` against moto_server: byte-exact round trips, awkward keys,
content types from magic bytes, endpoint/credential resolution and clear errors."""
import contextlib
import hashlib
import http.server
import json
import os
import tempfile
import threading
import unittest
import urllib.parse

import harness

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
GIF = b"GIF89a" + b"\x01" * 20
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x02" * 20
AVIF = b"\x00\x00\x00\x1cftypavif" + b"\x00" * 20
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'
OTHER = b"just some text"


def verify_sigv4(handler, secret="testing"):
    """Whether the request's SigV4 signature holds for its raw target (path and query exactly
    as received, never normalised, as S3 verifies them)."""
    import hmac
    auth = handler.headers["Authorization"]
    fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
    scope = fields["Credential"].split("/", 1)[1]
    signed = fields["SignedHeaders"].split(";")
    path, _, query = handler.path.partition("?")
    query = "&".join(sorted(query.split("&"))) if query else ""
    canonical = "\n".join(
        [handler.command, path, query] +
        [f"{h}:{' '.join(handler.headers[h].split())}" for h in signed] +
        ["", ";".join(signed), handler.headers["x-amz-content-sha256"]])
    amz_date = handler.headers["x-amz-date"]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["Signature"])


@contextlib.contextmanager
def stand_in_s3(handler):
    """An HTTP server on 127.0.0.1 answering with `handler` (a BaseHTTPRequestHandler);
    yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def sha(b):
    return hashlib.sha256(b).hexdigest()


class S3ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._moto = harness.moto_server()
        cls.endpoint, cls.env = cls._moto.__enter__()
        cls.s3 = harness.boto3_client("s3", cls.endpoint)
        cls.s3.create_bucket(Bucket="images")
        cls.s3.create_bucket(Bucket="other")
        cls.tmp = tempfile.mkdtemp(prefix="tf-s3-client-")

    @classmethod
    def tearDownClass(cls):
        cls._moto.__exit__(None, None, None)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def run_tf(self, args, env=None, **kw):
        full = dict(self.env)
        full.update(env or {})
        return harness.run_thumbflow(args, env=full, **kw)

    def test_put_prints_json_and_sets_content_type(self):
        files = {"a.png": (PNG, "image/png"), "b.jpg": (JPEG, "image/jpeg"),
                 "c.gif": (GIF, "image/gif"), "d.webp": (WEBP, "image/webp"),
                 "e.avif": (AVIF, "image/avif"), "f.svg": (SVG, "image/svg+xml"),
                 "g.txt": (OTHER, "application/octet-stream")}
        paths = [self.write(n, d) for n, (d, _) in files.items()]
        r = self.run_tf(["put", "--prefix", "ct/"] + paths)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual(len(lines), len(files))
        for line, (name, (data, ctype)) in zip(lines, files.items()):
            self.assertEqual(line["key"], "ct/" + name)
            self.assertEqual(line["bucket"], "images")
            self.assertEqual(line["bytes"], len(data))
            self.assertEqual(line["etag"], '"%s"' % hashlib.md5(data).hexdigest())
            head = self.s3.head_object(Bucket="images", Key="ct/" + name)
            self.assertEqual(head["ContentType"], ctype, name)

    def test_awkward_keys_round_trip_byte_exact(self):
        data = os.urandom(200_000)
        path = self.write("blob.bin", data)
        keys = ["uploads/with space.jpg", "uploads/plus+sign.jpg", "uploads/100%.jpg",
                "uploads/ünï/日本.jpg", "uploads/a/b/c.jpg"]
        for key in keys:
            r = self.run_tf(["put", "--key", key, path])
            self.assertEqual(r.returncode, 0, r.stderr)
            body = self.s3.get_object(Bucket="images", Key=key)["Body"].read()
            self.assertEqual(sha(body), sha(data), key)
            out = os.path.join(self.tmp, "out.bin")
            r = self.run_tf(["get", key, "-o", out])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(sha(f.read()), sha(data), key)
        r = self.run_tf(["ls", "uploads/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = r.stdout.splitlines()
        for key in keys:
            self.assertIn(key, listed)

    # Keys libcurl would rewrite unless told to send the path as is (dot segments), and keys
    # whose text looks like encoding or carries reserved characters: each is stored, read
    # and listed under exactly its own bytes.
    LITERAL_KEYS = ["dir/./x/../y.jpg", "dir/../z.jpg", "./lead.jpg", "a//b///c.jpg",
                    "tail/.", "tail2/..", "enc/%2F..%2Fx.jpg", "enc/%25%32%46.jpg",
                    "sp ace/ and +plus.jpg", "res/!$&'()*+,;=:@[]{}^`|~\"<>.jpg",
                    "q/what?x=1&y=2#frag.jpg"]

    def test_keys_are_sent_literally(self):
        data = os.urandom(5000)
        path = self.write("literal.bin", data)
        for key in self.LITERAL_KEYS:
            r = self.run_tf(["put", "--bucket", "other", "--key", key, path])
            self.assertEqual(r.returncode, 0, (key, r.stderr))
            self.assertEqual(json.loads(r.stdout)["key"], key)
        stored = [o["Key"] for o in
                  self.s3.list_objects_v2(Bucket="other", Prefix="")["Contents"]]
        for key in self.LITERAL_KEYS:
            self.assertIn(key, stored)
        # Nothing landed under a squashed name (dir/./x/../y.jpg -> dir/y.jpg).
        for squashed in ("dir/y.jpg", "z.jpg", "lead.jpg", "tail/", "enc/x.jpg"):
            self.assertNotIn(squashed, stored)
        for key in self.LITERAL_KEYS:
            out = os.path.join(self.tmp, "literal.out")
            r = self.run_tf(["get", "--bucket", "other", key, "-o", out])
            self.assertEqual(r.returncode, 0, (key, r.stderr))
            with open(out, "rb") as f:
                self.assertEqual(f.read(), data, key)
        r = self.run_tf(["ls", "--bucket", "other"])
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = r.stdout.splitlines()
        for key in self.LITERAL_KEYS:
            self.assertIn(key, listed)

    def test_the_path_on_the_wire_is_the_signed_path(self):
        # A stand-in S3 that records each request's raw target and answers 200; the
        # canonical URI in the signature must be exactly that target.
        seen = []

        class Record(http.server.BaseHTTPRequestHandler):
            def answer(self):
                seen.append((self.command, self.path, verify_sigv4(self)))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(200)
                self.send_header("ETag", '"0"')
                self.send_header("Content-Length", "1")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(b"x")

            do_PUT = do_GET = do_HEAD = answer

            def log_message(self, *args):
                pass

        with stand_in_s3(Record) as url:
            path = self.write("wire.bin", b"x")
            out = os.path.join(self.tmp, "wire.out")
            for key in ["dir/./x/../y.jpg", "a//b.jpg", "enc/%2F.jpg", "sp ace.jpg"]:
                for args in (["put", "--key", key, path], ["get", key, "-o", out]):
                    del seen[:]
                    r = self.run_tf(args + ["--endpoint", url])
                    self.assertEqual(r.returncode, 0, (key, r.stderr))
                    quoted = "/images/" + urllib.parse.quote(key, safe="/~")
                    self.assertEqual([(p, ok) for _, p, ok in seen], [(quoted, True)], key)

    def test_get_to_stdout_and_objects_put_by_boto3(self):
        payload = bytes(range(256)) * 10
        self.s3.put_object(Bucket="other", Key="x/y z.bin", Body=payload)
        r = harness.subprocess.run([harness.BIN, "get", "--bucket", "other", "x/y z.bin"],
                                   env={**os.environ, **self.env}, capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, payload)

    def test_ls_paginates_and_filters(self):
        for i in range(30):
            self.s3.put_object(Bucket="other", Key=f"many/{i:04d}", Body=b"x")
        r = self.run_tf(["ls", "--bucket", "other", "many/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [f"many/{i:04d}" for i in range(30)])

    def test_endpoint_flag_overrides_environment(self):
        env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
        r = self.run_tf(["ls", "--endpoint", self.endpoint], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_tf(["ls"], env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("http://127.0.0.1:1", r.stderr)

    def test_missing_key_and_bucket_fail_clearly(self):
        r = self.run_tf(["get", "does/not/exist.jpg"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("NoSuchKey", r.stderr)
        r = self.run_tf(["ls", "--bucket", "no-such-bucket"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("NoSuchBucket", r.stderr)

    def test_usage_errors_exit_2(self):
        a = self.write("u1.png", PNG)
        b = self.write("u2.png", PNG)
        self.assertEqual(self.run_tf(["put", "--key", "k", a, b]).returncode, 2)
        self.assertEqual(self.run_tf(["get"]).returncode, 2)
        r = self.run_tf(["ls", "--endpoint", "ftp://nope"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--endpoint", r.stderr)

    def test_config_file_and_credentials_chain(self):
        # Endpoint from [aws] config; credentials from a shared credentials file with a profile.
        creds = self.write("credentials", b"[dev]\naws_access_key_id = testing\n"
                                          b"aws_secret_access_key = testing\n")
        config = self.write("tf.toml", ('[aws]\nendpoint_url = "%s"\nprofile = "dev"\n'
                                        % self.endpoint).encode())
        env = {k: v for k, v in self.env.items()}
        env.pop("AWS_ENDPOINT_URL")
        env["AWS_SHARED_CREDENTIALS_FILE"] = creds
        run_env = {k: v for k, v in os.environ.items()
                   if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")}
        run_env.update(env)
        run_env.pop("AWS_ACCESS_KEY_ID")
        run_env.pop("AWS_SECRET_ACCESS_KEY")
        r = harness.subprocess.run([harness.BIN, "ls", "--config", config], env=run_env,
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_access_denied_names_request_id(self):
        # A stand-in S3 on 127.0.0.1 that refuses everything the way S3 does.
        class Deny(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code>"
                        b"<Message>Access Denied</Message><RequestId>REQ-42</RequestId></Error>")
                self.send_response(403)
                self.send_header("x-amz-request-id", "REQ-42")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        with stand_in_s3(Deny) as url:
            r = self.run_tf(["get", "--endpoint", url, "secret.jpg"])
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("access denied", r.stderr)
            self.assertIn("request id REQ-42", r.stderr)

if __name__ == "__main__":
    unittest.main()
