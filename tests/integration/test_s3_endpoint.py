"""The embedded S3 endpoint (`thumbflow serve --workers 0`) driven by real clients: the aws
CLI (v1, botocore 1.43: aws-chunked bodies with CRC32 trailers), boto3 and raw requests.
"""
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

import harness

ACCESS_KEY = "TFTESTACCESSKEY0001"
SECRET_KEY = "tf-test-secret-key-0123456789abcdefghij"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class ServeFixture:
    """A `thumbflow serve` on a free port with its own data folder and client config."""

    def __init__(self, data_dir=None, extra_args=(), name="serve"):
        self.tmp = tempfile.mkdtemp(prefix="tf-s3-")
        self.data = data_dir or os.path.join(self.tmp, "data")
        self.port = harness.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {"THUMBFLOW_ACCESS_KEY_ID": ACCESS_KEY, "THUMBFLOW_SECRET_ACCESS_KEY": SECRET_KEY}
        self.peer = harness.Peer([harness.BIN, "serve", "--data", self.data, "--listen",
                                  f"127.0.0.1:{self.port}", "--workers", "0", *extra_args],
                                 env=env, log_dir=self.tmp, name=name)
        self.peer.wait_http(self.endpoint + "/healthz", timeout=30)
        creds = os.path.join(self.tmp, "aws-credentials")
        with open(creds, "w") as f:
            f.write(f"[default]\naws_access_key_id = {ACCESS_KEY}\n"
                    f"aws_secret_access_key = {SECRET_KEY}\n")
        config = os.path.join(self.tmp, "aws-config")
        with open(config, "w") as f:
            f.write("[default]\nregion = us-east-1\n")
        self.env = {"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": creds,
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                    "AWS_ENDPOINT_URL": ""}

    def client(self, secret=SECRET_KEY, **config):
        return harness.boto3_client("s3", self.endpoint, ACCESS_KEY, secret,
                                    signature_version="s3v4", **config)

    def aws(self, *args, check=True):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update({k: v for k, v in self.env.items() if v})
        proc = subprocess.run(["aws", "--endpoint-url", self.endpoint, *args], env=env,
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}\n--- server log ---\n"
                                 f"{self.peer.log()[-4000:]}")
        return proc

    def queue(self, *args):
        proc = harness.run_thumbflow(["queue", *args, "--data", self.data], timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"queue {args} failed: {proc.stderr}")
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def stop(self):
        return self.peer.stop()

    def stop_cleanly(self):
        """Stops serve; a failure (with its log) unless it exited 0."""
        code = self.stop()
        if code != 0:
            raise AssertionError(f"serve exited with {code}:\n{self.peer.log()}")


class S3EndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.s = ServeFixture()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def test_aws_cli_cp_ls_rm_sync(self):
        s = self.s
        src = os.path.join(s.tmp, "cli-src")
        os.makedirs(os.path.join(src, "sub"), exist_ok=True)
        files = {"a.txt": b"hello\n", "sub/b.bin": os.urandom(200_000), "sub/c d.txt": b"x" * 10}
        for name, data in files.items():
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
        s.aws("s3", "cp", os.path.join(src, "a.txt"), "s3://images/cli/a.txt")
        listing = s.aws("s3", "ls", "s3://images/cli/").stdout
        self.assertIn("a.txt", listing)
        s.aws("s3", "sync", src, "s3://images/sync/")
        listing = s.aws("s3", "ls", "--recursive", "s3://images/sync/").stdout
        for name in files:
            self.assertIn("sync/" + name, listing)
        out = os.path.join(s.tmp, "cli-out")
        s.aws("s3", "sync", "s3://images/sync/", out)
        for name, data in files.items():
            with open(os.path.join(out, name), "rb") as f:
                self.assertEqual(sha256(f.read()), sha256(data), name)
        s.aws("s3", "rm", "s3://images/cli/a.txt")
        self.assertNotIn("a.txt", s.aws("s3", "ls", "s3://images/cli/", check=False).stdout)

    def test_aws_cli_multipart_cp_of_large_file(self):
        s = self.s
        data = os.urandom(9 * 1024 * 1024 + 12345)
        path = os.path.join(s.tmp, "big.bin")
        with open(path, "wb") as f:
            f.write(data)
        s.aws("s3", "cp", path, "s3://images/big/big.bin")
        head = json.loads(s.aws("s3api", "head-object", "--bucket", "images",
                                "--key", "big/big.bin").stdout)
        self.assertEqual(head["ContentLength"], len(data))
        self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-2"$')
        back = os.path.join(s.tmp, "big.back")
        s.aws("s3", "cp", "s3://images/big/big.bin", back)
        with open(back, "rb") as f:
            self.assertEqual(sha256(f.read()), sha256(data))

    def test_s3api_put_get_head_copy_delete_objects(self):
        s = self.s
        body = os.path.join(s.tmp, "api.bin")
        data = os.urandom(50_000)
        with open(body, "wb") as f:
            f.write(data)
        put = json.loads(s.aws("s3api", "put-object", "--bucket", "images", "--key", "api/one.bin",
                               "--body", body, "--content-type", "image/png",
                               "--metadata", "origin=test").stdout)
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        head = json.loads(s.aws("s3api", "head-object", "--bucket", "images",
                                "--key", "api/one.bin").stdout)
        self.assertEqual(head["ContentType"], "image/png")
        self.assertEqual(head["Metadata"], {"origin": "test"})
        out = os.path.join(s.tmp, "api.out")
        s.aws("s3api", "get-object", "--bucket", "images", "--key", "api/one.bin", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data)
        s.aws("s3api", "copy-object", "--bucket", "images", "--key", "api/copy of one.bin",
              "--copy-source", "images/" + urllib.parse.quote("api/one.bin"))
        head = json.loads(s.aws("s3api", "head-object", "--bucket", "images",
                                "--key", "api/copy of one.bin").stdout)
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["Metadata"], {"origin": "test"})
        deleted = json.loads(s.aws(
            "s3api", "delete-objects", "--bucket", "images", "--delete",
            json.dumps({"Objects": [{"Key": "api/one.bin"}, {"Key": "api/copy of one.bin"},
                                    {"Key": "api/never-existed"}]})).stdout)
        self.assertEqual(sorted(d["Key"] for d in deleted["Deleted"]),
                         ["api/copy of one.bin", "api/never-existed", "api/one.bin"])
        proc = s.aws("s3api", "head-object", "--bucket", "images", "--key", "api/one.bin",
                     check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("404", proc.stderr)

    def test_s3api_list_objects_v2_pagination(self):
        s = self.s
        c = s.client()
        keys = [f"page/k{i:03d}" for i in range(23)] + ["page/dir/x", "page/dir/y"]
        for k in keys:
            c.put_object(Bucket="images", Key=k, Body=k.encode())
        out = json.loads(s.aws("s3api", "list-objects-v2", "--bucket", "images",
                               "--prefix", "page/", "--page-size", "5").stdout)
        self.assertEqual(sorted(o["Key"] for o in out["Contents"]), sorted(keys))
        # Manual pages with a delimiter: common prefixes appear once.
        seen, prefixes, token = [], [], None
        while True:
            kw = {"Bucket": "images", "Prefix": "page/", "Delimiter": "/", "MaxKeys": 4}
            if token:
                kw["ContinuationToken"] = token
            page = c.list_objects_v2(**kw)
            seen += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            if not page["IsTruncated"]:
                break
            token = page["NextContinuationToken"]
        self.assertEqual(seen, sorted(k for k in keys if "/dir/" not in k))
        self.assertEqual(prefixes, ["page/dir/"])
        after = c.list_objects_v2(Bucket="images", Prefix="page/", StartAfter="page/k020")
        self.assertEqual([o["Key"] for o in after["Contents"]],
                         ["page/k021", "page/k022"])

    def test_s3api_multipart_create_upload_complete_and_list_parts(self):
        s = self.s
        part1 = os.urandom(5 * 1024 * 1024)
        part2 = os.urandom(1000)
        p1 = os.path.join(s.tmp, "p1")
        p2 = os.path.join(s.tmp, "p2")
        for path, d in ((p1, part1), (p2, part2)):
            with open(path, "wb") as f:
                f.write(d)
        create = json.loads(s.aws("s3api", "create-multipart-upload", "--bucket", "images",
                                  "--key", "mpu/obj.bin").stdout)
        uid = create["UploadId"]
        e1 = json.loads(s.aws("s3api", "upload-part", "--bucket", "images", "--key", "mpu/obj.bin",
                              "--part-number", "1", "--upload-id", uid, "--body", p1).stdout)["ETag"]
        e2 = json.loads(s.aws("s3api", "upload-part", "--bucket", "images", "--key", "mpu/obj.bin",
                              "--part-number", "2", "--upload-id", uid, "--body", p2).stdout)["ETag"]
        parts = json.loads(s.aws("s3api", "list-parts", "--bucket", "images", "--key",
                                 "mpu/obj.bin", "--upload-id", uid).stdout)["Parts"]
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in parts],
                         [(1, e1, len(part1)), (2, e2, len(part2))])
        done = json.loads(s.aws(
            "s3api", "complete-multipart-upload", "--bucket", "images", "--key", "mpu/obj.bin",
            "--upload-id", uid, "--multipart-upload",
            json.dumps({"Parts": [{"PartNumber": 1, "ETag": e1},
                                  {"PartNumber": 2, "ETag": e2}]})).stdout)
        digests = hashlib.md5(bytes.fromhex(e1.strip('"')) + bytes.fromhex(e2.strip('"')))
        self.assertEqual(done["ETag"], '"%s-2"' % digests.hexdigest())
        got = s.client().get_object(Bucket="images", Key="mpu/obj.bin")["Body"].read()
        self.assertEqual(sha256(got), sha256(part1 + part2))
        # Abort of another upload; the id is gone afterwards.
        uid2 = s.client().create_multipart_upload(Bucket="images", Key="mpu/x")["UploadId"]
        s.client().abort_multipart_upload(Bucket="images", Key="mpu/x", UploadId=uid2)
        import botocore.exceptions
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            s.client().list_parts(Bucket="images", Key="mpu/x", UploadId=uid2)
        self.assertEqual(ctx.exception.response["Error"]["Code"], "NoSuchUpload")

    def test_boto3_round_trip_awkward_keys(self):
        c = self.s.client()
        keys = ["rt/with space.jpg", "rt/plus+sign.png", "rt/per%cent%20.txt",
                "rt/ünïcødé/日本語.gif", "rt/deep/a/b/c/d.bin", "rt/q?x=1&y#z"]
        for i, key in enumerate(keys):
            data = os.urandom(1000 + i)
            c.put_object(Bucket="images", Key=key, Body=data)
            got = c.get_object(Bucket="images", Key=key)["Body"].read()
            self.assertEqual(sha256(got), sha256(data), key)
        listed = [o["Key"] for o in c.list_objects_v2(Bucket="images", Prefix="rt/")["Contents"]]
        self.assertEqual(sorted(listed), sorted(keys))
        virtual = self.s.client(s3={"addressing_style": "path"})
        self.assertEqual(len(virtual.list_objects_v2(Bucket="images", Prefix="rt/")["Contents"]),
                         len(keys))

    def test_ranges_and_conditions(self):
        import botocore.exceptions
        c = self.s.client()
        data = bytes(range(256)) * 4
        etag = c.put_object(Bucket="images", Key="cond/r.bin", Body=data)["ETag"]
        r = c.get_object(Bucket="images", Key="cond/r.bin", Range="bytes=10-19")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(r["ContentRange"], f"bytes 10-19/{len(data)}")
        self.assertEqual(r["Body"].read(), data[10:20])
        self.assertEqual(c.get_object(Bucket="images", Key="cond/r.bin",
                                      Range="bytes=-5")["Body"].read(), data[-5:])
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.get_object(Bucket="images", Key="cond/r.bin", Range="bytes=5000-")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidRange")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.get_object(Bucket="images", Key="cond/r.bin", IfNoneMatch=etag)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.get_object(Bucket="images", Key="cond/r.bin", IfMatch='"0000"')
        self.assertEqual(ctx.exception.response["Error"]["Code"], "PreconditionFailed")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.get_object(Bucket="images", Key="cond/missing")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "NoSuchKey")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.get_object(Bucket="no-such-bucket", Key="x")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "NoSuchBucket")

    def test_buckets(self):
        import botocore.exceptions
        c = self.s.client()
        c.create_bucket(Bucket="extra-bucket")
        names = [b["Name"] for b in c.list_buckets()["Buckets"]]
        self.assertIn("images", names)
        self.assertIn("extra-bucket", names)
        c.head_bucket(Bucket="extra-bucket")
        c.put_object(Bucket="extra-bucket", Key="k", Body=b"1")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.delete_bucket(Bucket="extra-bucket")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "BucketNotEmpty")
        c.delete_object(Bucket="extra-bucket", Key="k")
        c.delete_bucket(Bucket="extra-bucket")
        self.assertNotIn("extra-bucket", [b["Name"] for b in c.list_buckets()["Buckets"]])

    def test_wrong_secret_is_refused_and_stores_nothing(self):
        import botocore.exceptions
        bad = self.s.client(secret="not-the-secret")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            bad.put_object(Bucket="images", Key="auth/bad.txt", Body=b"nope")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "SignatureDoesNotMatch")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        listed = self.s.client().list_objects_v2(Bucket="images", Prefix="auth/")
        self.assertEqual(listed["KeyCount"], 0)
        import requests
        r = requests.get(self.s.endpoint + "/images/auth/bad.txt", timeout=10)
        self.assertEqual(r.status_code, 403)
        self.assertIn("<Code>AccessDenied</Code>", r.text)
        self.assertIn("<RequestId>", r.text)

    def test_content_md5_mismatch_is_bad_digest(self):
        import requests
        c = self.s.client()
        url = c.generate_presigned_url("put_object", Params={"Bucket": "images",
                                                             "Key": "md5/x.bin"})
        r = requests.put(url, data=b"payload",
                         headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, timeout=10)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("<Code>BadDigest</Code>", r.text)
        self.assertEqual(c.list_objects_v2(Bucket="images", Prefix="md5/")["KeyCount"], 0)

    def test_a_wrong_flexible_checksum_is_bad_digest_and_stores_nothing(self):
        # As S3 answers it: 400 BadDigest "The SHA256 you specified did not match the
        # calculated checksum."; a right one is accepted and echoed.
        import base64
        import botocore.exceptions
        c = self.s.client()
        wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.put_object(Bucket="images", Key="cksum/x.bin", Body=b"payload",
                         ChecksumSHA256=wrong)
        error = ctx.exception.response["Error"]
        self.assertEqual((error["Code"], error["Message"]),
                         ("BadDigest", "The SHA256 you specified did not match the calculated "
                                       "checksum."))
        self.assertEqual(c.list_objects_v2(Bucket="images", Prefix="cksum/")["KeyCount"], 0)
        right = base64.b64encode(hashlib.sha256(b"payload").digest()).decode()
        put = c.put_object(Bucket="images", Key="cksum/x.bin", Body=b"payload",
                           ChecksumSHA256=right)
        self.assertEqual(put["ChecksumSHA256"], right)

    def test_presigned_get_works(self):
        import requests
        c = self.s.client()
        c.put_object(Bucket="images", Key="pre/a b.txt", Body=b"presigned")
        url = c.generate_presigned_url("get_object", Params={"Bucket": "images",
                                                             "Key": "pre/a b.txt"},
                                       ExpiresIn=300)
        r = requests.get(url, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.content, b"presigned")

    def test_upload_under_uploads_queues_exactly_one_event(self):
        s = self.s
        before = s.queue("stats")
        c = s.client()
        c.put_object(Bucket="images", Key="elsewhere/photo.jpg", Body=b"\xff\xd8\xff" + b"0" * 100)
        after_elsewhere = s.queue("stats")
        self.assertEqual(after_elsewhere["visible"], before["visible"])
        c.put_object(Bucket="images", Key="uploads/event test/ü+1.jpg", Body=b"\xff\xd8\xff")
        messages = s.queue("receive", "--max", "10")
        records = []
        for m in messages:
            for rec in json.loads(m["body"]).get("Records", []):
                records.append(urllib.parse.unquote_plus(rec["s3"]["object"]["key"]))
        self.assertEqual(records.count("uploads/event test/ü+1.jpg"), 1, messages)
        for m in messages:
            s.queue("delete", m["receipt"])

    def test_metrics_and_health(self):
        import requests
        self.s.client().list_buckets()
        r = requests.get(self.s.endpoint + "/metrics", timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertIn('thumbflow_s3_requests_total{operation="ListBuckets",status="200"}', r.text)
        self.assertIn("thumbflow_s3_request_duration_seconds_bucket", r.text)
        self.assertEqual(requests.get(self.s.endpoint + "/readyz", timeout=10).status_code, 200)

    def test_second_serve_on_the_same_data_folder_is_refused(self):
        proc = harness.run_thumbflow(["serve", "--data", self.s.data, "--listen",
                                      "127.0.0.1:0", "--workers", "0"], timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("in use by another thumbflow serve", proc.stderr)
        self.assertIn(f"pid {self.s.peer.pid}", proc.stderr)
        # The refused process touched nothing: the running one still serves and stores.
        c = self.s.client()
        c.put_object(Bucket="images", Key="lock/after.txt", Body=b"still here")
        body = c.get_object(Bucket="images", Key="lock/after.txt")["Body"].read()
        self.assertEqual(body, b"still here")

    def test_not_implemented_is_an_s3_error(self):
        import botocore.exceptions
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.s.client().get_bucket_website(Bucket="images")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "NotImplemented")


class S3ClockTest(unittest.TestCase):
    """Signature time checks against a server whose clock runs 20 minutes ahead."""

    def test_expiry_and_skew(self):
        import requests
        import botocore.exceptions
        ahead = ServeFixture(extra_args=["--clock-offset-seconds", "1200"], name="serve-ahead")
        try:
            c = ahead.client()
            with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                c.put_object(Bucket="images", Key="k", Body=b"x")
            self.assertEqual(ctx.exception.response["Error"]["Code"], "RequestTimeTooSkewed")
            long_url = c.generate_presigned_url("put_object", Params={"Bucket": "images",
                                                                      "Key": "p.txt"},
                                                ExpiresIn=3600)
            self.assertEqual(requests.put(long_url, data=b"ok", timeout=10).status_code, 200)
            short = c.generate_presigned_url("get_object", Params={"Bucket": "images",
                                                                   "Key": "p.txt"},
                                             ExpiresIn=600)
            r = requests.get(short, timeout=10)
            self.assertEqual(r.status_code, 403, r.text)
            self.assertIn("AccessDenied", r.text)
            ok = c.generate_presigned_url("get_object", Params={"Bucket": "images",
                                                                "Key": "p.txt"},
                                          ExpiresIn=3600)
            self.assertEqual(requests.get(ok, timeout=10).content, b"ok")
        finally:
            ahead.stop()


class S3CrashTest(unittest.TestCase):
    """SIGKILL during a burst of uploads: acknowledged objects survive with their events."""

    def test_sigkill_during_burst(self):
        s = ServeFixture(name="serve-crash")
        acked = {}
        lock = threading.Lock()
        stop = threading.Event()

        def uploader(worker):
            c = s.client(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5)
            i = 0
            while not stop.is_set():
                key = f"uploads/crash/w{worker}-{i}.jpg"
                data = os.urandom(20_000 + worker * 100 + i)
                try:
                    c.put_object(Bucket="images", Key=key, Body=data)
                except Exception:
                    return
                with lock:
                    acked[key] = sha256(data)
                i += 1

        threads = [threading.Thread(target=uploader, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        while True:
            with lock:
                if len(acked) >= 60:
                    break
        s.peer.kill()
        stop.set()
        for t in threads:
            t.join()
        restarted = ServeFixture(data_dir=s.data, name="serve-restart")
        try:
            c = restarted.client()
            listed = {}
            for page in c.get_paginator("list_objects_v2").paginate(Bucket="images",
                                                                     Prefix="uploads/crash/"):
                for o in page.get("Contents", []):
                    listed[o["Key"]] = o["Size"]
            for key, digest in acked.items():
                self.assertIn(key, listed)
                got = c.get_object(Bucket="images", Key=key)["Body"].read()
                self.assertEqual(sha256(got), digest, key)
            # Nothing half-written: every visible object is whole (its size is the one its
            # writer chose, 20000 + worker*100 + i).
            for key, size in listed.items():
                worker, i = key.rsplit("/", 1)[1][1:-4].split("-")
                self.assertEqual(size, 20_000 + int(worker) * 100 + int(i), key)
            # Every visible object has its event queued (exactly one per object).
            events = []
            while True:
                batch = restarted.queue("receive", "--max", "10", "--visibility", "600")
                if not batch:
                    break
                for m in batch:
                    for rec in json.loads(m["body"]).get("Records", []):
                        events.append(urllib.parse.unquote_plus(rec["s3"]["object"]["key"]))
            self.assertEqual(sorted(events), sorted(listed))
        finally:
            restarted.stop()


if __name__ == "__main__":
    unittest.main()
