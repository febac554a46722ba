"""What uploaders' tools reach for on the embedded S3 endpoint (issue 12 items 7 to 10),
driven by the aws CLI v1 and boto3 against a real `thumbflow serve --workers 0`.

What S3 answers was taken from the S3 API reference (operations, error codes, element names).
"""
import datetime
import hashlib
import os
import time
import unittest

import harness
from test_s3_endpoint import ServeFixture
from test_s3_exact import client_error

BUCKET = "images"
MiB = 1 << 20


class S3UploadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.s = ServeFixture(name="serve-uploads")
        cls.s3 = cls.s.client(retries={"max_attempts": 1})

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def test_uploads_in_progress_and_cors_rules_survive_a_restart(self):
        # They were kept in the staging folder, which serve empties at every start: a
        # restart lost every multipart upload in progress (the SDK's next UploadPart got
        # NoSuchUpload) and every bucket's CORS rules.
        first = ServeFixture(name="serve-uploads-before")
        try:
            s3 = first.client(retries={"max_attempts": 1})
            rules = [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://app.example"]}]
            s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": rules})
            upload = s3.create_multipart_upload(Bucket=BUCKET, Key="restart/big")["UploadId"]
            part1 = os.urandom(5 * MiB)
            etag1 = s3.upload_part(Bucket=BUCKET, Key="restart/big", UploadId=upload,
                                   PartNumber=1, Body=part1)["ETag"]
        finally:
            first.stop_cleanly()
        second = ServeFixture(data_dir=first.data, name="serve-uploads-after")
        try:
            s3 = second.client(retries={"max_attempts": 1})
            self.assertEqual(s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"],
                             ["https://app.example"])
            self.assertEqual([u["UploadId"] for u in
                              s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])],
                             [upload])
            parts = s3.list_parts(Bucket=BUCKET, Key="restart/big", UploadId=upload)["Parts"]
            self.assertEqual([(p["PartNumber"], p["ETag"]) for p in parts], [(1, etag1)])
            etag2 = s3.upload_part(Bucket=BUCKET, Key="restart/big", UploadId=upload,
                                   PartNumber=2, Body=b"tail")["ETag"]
            s3.complete_multipart_upload(
                Bucket=BUCKET, Key="restart/big", UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1},
                                           {"PartNumber": 2, "ETag": etag2}]})
            body = s3.get_object(Bucket=BUCKET, Key="restart/big")["Body"].read()
            self.assertEqual(body, part1 + b"tail")
        finally:
            second.stop_cleanly()

    def test_abandoned_uploads_are_aborted_after_their_max_age(self):
        # They persist in DATA/multipart/uploads across restarts and were never removed.
        config = os.path.join(self.s.tmp, "max-age.toml")
        with open(config, "w") as f:
            f.write("[server]\nmultipart_upload_max_age_s = 2\n")
        first = ServeFixture(extra_args=("--config", config), name="serve-uploads-age")
        try:
            s3 = first.client(retries={"max_attempts": 1})
            old = s3.create_multipart_upload(Bucket=BUCKET, Key="age/old")["UploadId"]
            s3.upload_part(Bucket=BUCKET, Key="age/old", UploadId=old, PartNumber=1, Body=b"x")
            # Older than its max age; the next upload created sweeps it (a tenth of the age
            # has passed since the sweep at start).
            time.sleep(2.5)
            young = s3.create_multipart_upload(Bucket=BUCKET, Key="age/young")["UploadId"]
            listed = [u["UploadId"] for u in
                      s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
            self.assertEqual(listed, [young])
            status, code, _ = client_error(self, s3.upload_part, Bucket=BUCKET, Key="age/old",
                                           UploadId=old, PartNumber=2, Body=b"y")
            self.assertEqual((status, code), (404, "NoSuchUpload"))
            self.assertFalse(os.path.exists(os.path.join(first.data, "multipart", "uploads", old)))
        finally:
            first.stop_cleanly()
        # Abandoned while serve was down: gone at the next start.
        time.sleep(2.5)
        second = ServeFixture(data_dir=first.data, extra_args=("--config", config),
                              name="serve-uploads-age-after")
        try:
            s3 = second.client(retries={"max_attempts": 1})
            self.assertEqual(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
        finally:
            second.stop_cleanly()

    # ---- item 7: UploadPartCopy, ListParts ----------------------------------------------------

    def test_aws_cli_copies_an_object_over_8_mb_with_upload_part_copy(self):
        data = os.urandom(20 * MiB + 12345)
        self.s3.put_object(Bucket=BUCKET, Key="copy/big", Body=data)
        # Above its multipart_threshold (8 MB) the CLI copies with UploadPartCopy.
        self.s.aws("s3", "cp", f"s3://{BUCKET}/copy/big", f"s3://{BUCKET}/copy/copied")
        got = self.s3.get_object(Bucket=BUCKET, Key="copy/copied")
        body = got["Body"].read()
        self.assertEqual(len(body), len(data))
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())
        # A multipart ETag: the copy was made of parts, not one CopyObject.
        self.assertRegex(got["ETag"], r'^"[0-9a-f]{32}-\d+"$')

    def test_boto3_upload_part_copy_with_ranges_and_list_parts(self):
        data = os.urandom(12 * MiB)
        self.s3.put_object(Bucket=BUCKET, Key="copy/source", Body=data)
        upload = self.s3.create_multipart_upload(Bucket=BUCKET, Key="copy/ranged")
        uid = upload["UploadId"]
        ranges = [(0, 5 * MiB - 1), (5 * MiB, 11 * MiB - 1), (11 * MiB, 12 * MiB - 1)]
        parts = []
        for number, (first, last) in enumerate(ranges, start=1):
            out = self.s3.upload_part_copy(Bucket=BUCKET, Key="copy/ranged", UploadId=uid,
                                           PartNumber=number,
                                           CopySource={"Bucket": BUCKET, "Key": "copy/source"},
                                           CopySourceRange=f"bytes={first}-{last}")
            expected = '"' + hashlib.md5(data[first:last + 1]).hexdigest() + '"'
            self.assertEqual(out["CopyPartResult"]["ETag"], expected)
            parts.append({"PartNumber": number, "ETag": out["CopyPartResult"]["ETag"]})
        listed = self.s3.list_parts(Bucket=BUCKET, Key="copy/ranged", UploadId=uid)
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]],
                         [(p["PartNumber"], p["ETag"], last - first + 1)
                          for p, (first, last) in zip(parts, ranges)])
        page = self.s3.list_parts(Bucket=BUCKET, Key="copy/ranged", UploadId=uid, MaxParts=2)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual(page["NextPartNumberMarker"], 2)
        self.s3.complete_multipart_upload(Bucket=BUCKET, Key="copy/ranged", UploadId=uid,
                                          MultipartUpload={"Parts": parts})
        body = self.s3.get_object(Bucket=BUCKET, Key="copy/ranged")["Body"].read()
        self.assertEqual(body, data)

    def test_upload_part_copy_refuses_bad_ranges_and_failed_conditions(self):
        self.s3.put_object(Bucket=BUCKET, Key="copy/small", Body=b"0123456789")
        uid = self.s3.create_multipart_upload(Bucket=BUCKET, Key="copy/refused")["UploadId"]
        src = {"Bucket": BUCKET, "Key": "copy/small"}
        call = dict(Bucket=BUCKET, Key="copy/refused", UploadId=uid, PartNumber=1,
                    CopySource=src)
        status, code, _ = client_error(self, self.s3.upload_part_copy, **call,
                                       CopySourceRange="bytes=5-2")
        self.assertEqual((status, code), (400, "InvalidArgument"))
        status, code, message = client_error(self, self.s3.upload_part_copy, **call,
                                             CopySourceRange="bytes=0-10")
        self.assertEqual((status, code), (400, "InvalidArgument"))
        self.assertIn("size: 10", message)
        status, code, _ = client_error(self, self.s3.upload_part_copy, **call,
                                       CopySourceIfMatch='"not-the-etag"')
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        status, code, _ = client_error(self, self.s3.upload_part_copy, **{**call, "UploadId": "0" * 32})
        self.assertEqual((status, code), (404, "NoSuchUpload"))
        self.assertNotIn("Parts", self.s3.list_parts(Bucket=BUCKET, Key="copy/refused",
                                                     UploadId=uid))
        self.s3.abort_multipart_upload(Bucket=BUCKET, Key="copy/refused", UploadId=uid)


    # ---- item 8: standard headers, non-ASCII metadata, 304 ------------------------------------

    HEADERS = {"CacheControl": "max-age=3600", "ContentDisposition": 'attachment; filename="r.txt"',
               "ContentEncoding": "gzip", "ContentLanguage": "de-DE"}
    EXPIRES = datetime.datetime(2094, 12, 1, 16, 0, tzinfo=datetime.timezone.utc)

    def assert_headers(self, got, what):
        for name, value in self.HEADERS.items():
            self.assertEqual(got.get(name), value, f"{what}: {name}")
        self.assertEqual(got.get("Expires"), self.EXPIRES, what)

    def test_standard_headers_are_stored_and_returned(self):
        self.s3.put_object(Bucket=BUCKET, Key="hdr/put", Body=b"x", Expires=self.EXPIRES,
                           **self.HEADERS)
        self.assert_headers(self.s3.head_object(Bucket=BUCKET, Key="hdr/put"), "PUT then HEAD")
        self.assert_headers(self.s3.get_object(Bucket=BUCKET, Key="hdr/put"), "PUT then GET")
        over = self.s3.get_object(Bucket=BUCKET, Key="hdr/put", ResponseCacheControl="no-cache",
                                  ResponseContentLanguage="en",
                                  ResponseContentDisposition="inline")
        self.assertEqual((over["CacheControl"], over["ContentLanguage"],
                          over["ContentDisposition"]), ("no-cache", "en", "inline"))

        uid = self.s3.create_multipart_upload(Bucket=BUCKET, Key="hdr/mp", Expires=self.EXPIRES,
                                              **self.HEADERS)["UploadId"]
        part = self.s3.upload_part(Bucket=BUCKET, Key="hdr/mp", UploadId=uid, PartNumber=1,
                                   Body=b"part")
        self.s3.complete_multipart_upload(
            Bucket=BUCKET, Key="hdr/mp", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assert_headers(self.s3.head_object(Bucket=BUCKET, Key="hdr/mp"), "multipart")

        self.s3.copy_object(Bucket=BUCKET, Key="hdr/copied",
                            CopySource={"Bucket": BUCKET, "Key": "hdr/put"})
        self.assert_headers(self.s3.head_object(Bucket=BUCKET, Key="hdr/copied"), "COPY")
        self.s3.copy_object(Bucket=BUCKET, Key="hdr/replaced", MetadataDirective="REPLACE",
                            CacheControl="no-store",
                            CopySource={"Bucket": BUCKET, "Key": "hdr/put"})
        replaced = self.s3.head_object(Bucket=BUCKET, Key="hdr/replaced")
        self.assertEqual(replaced["CacheControl"], "no-store")
        self.assertNotIn("ContentLanguage", replaced)
        self.assertNotIn("Expires", replaced)

    def test_non_ascii_metadata_round_trips_through_boto3(self):
        # boto3 refuses non-ASCII Metadata before sending; set on the request as sent, it goes
        # out as UTF-8 bytes (what s3-tests' unicode metadata test does).
        values = {"meta1": "Hello World\u00e9", "meta2": "\u00e0 la fran\u00e7aise"}

        def set_metadata(params, **kwargs):
            for name, value in values.items():
                params["headers"]["x-amz-meta-" + name] = value

        client = self.s.client(retries={"max_attempts": 1})
        client.meta.events.register("before-call.s3.PutObject", set_metadata)
        client.put_object(Bucket=BUCKET, Key="meta/unicode", Body=b"x")
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="meta/unicode")["Metadata"], values)
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="meta/unicode")["Metadata"], values)

    def test_not_modified_carries_the_etag(self):
        put = self.s3.put_object(Bucket=BUCKET, Key="cond/304", Body=b"cached",
                                 CacheControl="max-age=9")
        from botocore.exceptions import ClientError
        for call in (self.s3.get_object, self.s3.head_object):
            with self.assertRaises(ClientError) as cm:
                call(Bucket=BUCKET, Key="cond/304", IfNoneMatch=put["ETag"])
            meta = cm.exception.response["ResponseMetadata"]
            self.assertEqual(meta["HTTPStatusCode"], 304)
            self.assertEqual(meta["HTTPHeaders"].get("etag"), put["ETag"])
            self.assertIn("last-modified", meta["HTTPHeaders"])
            self.assertEqual(meta["HTTPHeaders"].get("cache-control"), "max-age=9")

    # ---- item 9: conditional writes -----------------------------------------------------------

    def test_conditional_put_and_complete_multipart_upload(self):
        first = self.s3.put_object(Bucket=BUCKET, Key="cw/put", Body=b"one", IfNoneMatch="*")
        status, code, _ = client_error(self, self.s3.put_object, Bucket=BUCKET, Key="cw/put",
                                       Body=b"two", IfNoneMatch="*")
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        status, code, _ = client_error(self, self.s3.put_object, Bucket=BUCKET, Key="cw/put",
                                       Body=b"two", IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        status, code, _ = client_error(self, self.s3.put_object, Bucket=BUCKET, Key="cw/absent",
                                       Body=b"two", IfMatch=first["ETag"])
        self.assertEqual((status, code), (404, "NoSuchKey"))
        second = self.s3.put_object(Bucket=BUCKET, Key="cw/put", Body=b"two", IfMatch=first["ETag"])
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cw/put")["Body"].read(), b"two")

        uid = self.s3.create_multipart_upload(Bucket=BUCKET, Key="cw/put")["UploadId"]
        part = self.s3.upload_part(Bucket=BUCKET, Key="cw/put", UploadId=uid, PartNumber=1,
                                   Body=b"three")
        parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
        status, code, _ = client_error(self, self.s3.complete_multipart_upload, Bucket=BUCKET,
                                       Key="cw/put", UploadId=uid, MultipartUpload=parts,
                                       IfNoneMatch="*")
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        status, code, _ = client_error(self, self.s3.complete_multipart_upload, Bucket=BUCKET,
                                       Key="cw/put", UploadId=uid, MultipartUpload=parts,
                                       IfMatch=first["ETag"])
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cw/put")["Body"].read(), b"two")
        # The failed completions left the upload: it completes with the right condition.
        self.s3.complete_multipart_upload(Bucket=BUCKET, Key="cw/put", UploadId=uid,
                                          MultipartUpload=parts, IfMatch=second["ETag"])
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cw/put")["Body"].read(), b"three")

    def test_if_none_match_etag_on_writes(self):
        """If-None-Match with ETags (not "*"): the write fails while the object has one of them,
        and goes on when it has another or there is none."""
        first = self.s3.put_object(Bucket=BUCKET, Key="cw/inm", Body=b"one")
        status, code, _ = client_error(self, self.s3.put_object, Bucket=BUCKET, Key="cw/inm",
                                       Body=b"two", IfNoneMatch=first["ETag"])
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        status, code, _ = client_error(self, self.s3.put_object, Bucket=BUCKET, Key="cw/inm",
                                       Body=b"two", IfNoneMatch='"0123", ' + first["ETag"])
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cw/inm")["Body"].read(), b"one")
        self.s3.put_object(Bucket=BUCKET, Key="cw/inm", Body=b"two", IfNoneMatch='"0123"')
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cw/inm")["Body"].read(), b"two")
        self.s3.put_object(Bucket=BUCKET, Key="cw/inm-new", Body=b"new", IfNoneMatch=first["ETag"])
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cw/inm-new")["Body"].read(),
                         b"new")
        # CompleteMultipartUpload takes it the same way.
        uid = self.s3.create_multipart_upload(Bucket=BUCKET, Key="cw/inm")["UploadId"]
        part = self.s3.upload_part(Bucket=BUCKET, Key="cw/inm", UploadId=uid, PartNumber=1,
                                   Body=b"three")
        parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
        current = self.s3.head_object(Bucket=BUCKET, Key="cw/inm")["ETag"]
        status, code, _ = client_error(self, self.s3.complete_multipart_upload, Bucket=BUCKET,
                                       Key="cw/inm", UploadId=uid, MultipartUpload=parts,
                                       IfNoneMatch=current)
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        self.s3.complete_multipart_upload(Bucket=BUCKET, Key="cw/inm", UploadId=uid,
                                          MultipartUpload=parts, IfNoneMatch=first["ETag"])
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cw/inm")["Body"].read(), b"three")

    def test_conditional_copy_object(self):
        src = self.s3.put_object(Bucket=BUCKET, Key="cc/src", Body=b"source",
                                 ContentType="image/png", Metadata={"from": "src"},
                                 Tagging="kind=source")
        old = self.s3.put_object(Bucket=BUCKET, Key="cc/dst", Body=b"old")
        copy = dict(Bucket=BUCKET, Key="cc/dst", CopySource={"Bucket": BUCKET, "Key": "cc/src"})
        status, code, _ = client_error(self, self.s3.copy_object, **copy, IfNoneMatch="*")
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        status, code, _ = client_error(self, self.s3.copy_object, **copy,
                                       IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        status, code, _ = client_error(self, self.s3.copy_object, Bucket=BUCKET, Key="cc/absent",
                                       CopySource=copy["CopySource"], IfMatch=old["ETag"])
        self.assertEqual((status, code), (404, "NoSuchKey"))
        status, code, _ = client_error(self, self.s3.copy_object, **copy, IfNoneMatch=old["ETag"])
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="cc/dst")["Body"].read(), b"old")

        # A condition that holds: the copy keeps the source's type, metadata and tags.
        out = self.s3.copy_object(**copy, IfMatch=old["ETag"])
        self.assertEqual(out["CopyObjectResult"]["ETag"], src["ETag"])
        got = self.s3.get_object(Bucket=BUCKET, Key="cc/dst")
        self.assertEqual((got["Body"].read(), got["ContentType"], got["Metadata"]),
                         (b"source", "image/png", {"from": "src"}))
        tags = self.s3.get_object_tagging(Bucket=BUCKET, Key="cc/dst")["TagSet"]
        self.assertEqual(tags, [{"Key": "kind", "Value": "source"}])
        self.s3.copy_object(Bucket=BUCKET, Key="cc/new", CopySource=copy["CopySource"],
                            IfNoneMatch="*", MetadataDirective="REPLACE", ContentType="text/plain")
        got = self.s3.get_object(Bucket=BUCKET, Key="cc/new")
        self.assertEqual((got["Body"].read(), got["ContentType"], got["Metadata"]),
                         (b"source", "text/plain", {}))

    def test_conditional_delete_and_delete_objects(self):
        put = self.s3.put_object(Bucket=BUCKET, Key="cd/one", Body=b"1")
        status, code, _ = client_error(self, self.s3.delete_object, Bucket=BUCKET, Key="cd/one",
                                       IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        self.s3.head_object(Bucket=BUCKET, Key="cd/one")
        self.s3.delete_object(Bucket=BUCKET, Key="cd/one", IfMatch=put["ETag"])
        status, code, _ = client_error(self, self.s3.head_object, Bucket=BUCKET, Key="cd/one")
        self.assertEqual(status, 404)

        a = self.s3.put_object(Bucket=BUCKET, Key="cd/a", Body=b"a")
        self.s3.put_object(Bucket=BUCKET, Key="cd/b", Body=b"b")
        out = self.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [
            {"Key": "cd/a", "ETag": a["ETag"]},
            {"Key": "cd/b", "ETag": '"0123456789abcdef0123456789abcdef"'}]})
        self.assertEqual([d["Key"] for d in out.get("Deleted", [])], ["cd/a"])
        self.assertEqual([(e["Key"], e["Code"]) for e in out["Errors"]],
                         [("cd/b", "PreconditionFailed")])
        self.s3.head_object(Bucket=BUCKET, Key="cd/b")

    def test_conditional_delete_of_a_missing_key_and_on_size_and_time(self):
        """S3's DeleteObject conditions: a missing object answers 204 whatever the condition;
        x-amz-if-match-size and x-amz-if-match-last-modified-time (and DeleteObjects' <Size>
        and <LastModifiedTime>) hold against the object."""
        for condition in ({"IfMatch": "*"}, {"IfMatch": '"0123"'}, {"IfMatchSize": 9},
                          {"IfMatchLastModifiedTime": datetime.datetime(2015, 1, 1)}):
            out = self.s3.delete_object(Bucket=BUCKET, Key="cd/missing", **condition)
            self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204, condition)
        self.s3.put_object(Bucket=BUCKET, Key="cd/sized", Body=b"12345")
        head = self.s3.head_object(Bucket=BUCKET, Key="cd/sized")
        for condition in ({"IfMatchSize": 4},
                          {"IfMatchLastModifiedTime": head["LastModified"] -
                           datetime.timedelta(seconds=1)}):
            status, code, _ = client_error(self, self.s3.delete_object, Bucket=BUCKET,
                                           Key="cd/sized", **condition)
            self.assertEqual((status, code), (412, "PreconditionFailed"), condition)
            self.s3.head_object(Bucket=BUCKET, Key="cd/sized")
        status, code, _ = client_error(self, self.s3.delete_object, Bucket=BUCKET, Key="cd/sized",
                                       IfMatch=head["ETag"], IfMatchSize=4)
        self.assertEqual((status, code), (412, "PreconditionFailed"))
        self.s3.delete_object(Bucket=BUCKET, Key="cd/sized", IfMatch=head["ETag"], IfMatchSize=5,
                              IfMatchLastModifiedTime=head["LastModified"])
        self.assertEqual(client_error(self, self.s3.head_object, Bucket=BUCKET,
                                      Key="cd/sized")[0], 404)

        for key in ("cd/s1", "cd/s2", "cd/t1", "cd/t2"):
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"123")
        modified = self.s3.head_object(Bucket=BUCKET, Key="cd/t1")["LastModified"]
        out = self.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [
            {"Key": "cd/s1", "Size": 3}, {"Key": "cd/s2", "Size": 4},
            {"Key": "cd/t1", "LastModifiedTime": modified},
            {"Key": "cd/t2", "LastModifiedTime": datetime.datetime(2015, 1, 1)},
            {"Key": "cd/none", "Size": 1}]})
        self.assertEqual(sorted(d["Key"] for d in out.get("Deleted", [])),
                         ["cd/none", "cd/s1", "cd/t1"])
        self.assertEqual(sorted((e["Key"], e["Code"]) for e in out["Errors"]),
                         [("cd/s2", "PreconditionFailed"), ("cd/t2", "PreconditionFailed")])
        self.s3.head_object(Bucket=BUCKET, Key="cd/s2")
        self.s3.head_object(Bucket=BUCKET, Key="cd/t2")

    def test_concurrent_create_only_puts_have_one_winner(self):
        import concurrent.futures
        from botocore.exceptions import ClientError
        writers = 8
        clients = [self.s.client(retries={"max_attempts": 1}) for _ in range(writers)]
        bodies = [os.urandom(256 * 1024) for _ in range(writers)]

        def put(i):
            try:
                clients[i].put_object(Bucket=BUCKET, Key="cw/race", Body=bodies[i], IfNoneMatch="*")
                return i, 200, ""
            except ClientError as e:
                return (i, e.response["ResponseMetadata"]["HTTPStatusCode"],
                        e.response["Error"]["Code"])

        with concurrent.futures.ThreadPoolExecutor(writers) as pool:
            results = list(pool.map(put, range(writers)))
        winners = [i for i, status, _ in results if status == 200]
        self.assertEqual(len(winners), 1, results)
        for i, status, code in results:
            if i not in winners:
                self.assertIn((status, code), [(412, "PreconditionFailed"),
                                               (409, "ConditionalRequestConflict")], results)
        stored = self.s3.get_object(Bucket=BUCKET, Key="cw/race")["Body"].read()
        self.assertEqual(stored, bodies[winners[0]])

    # ---- item 10: presigned POST, CORS --------------------------------------------------------

    def post_form(self, post, data, filename="photo.png", **kwargs):
        import requests
        return requests.post(post["url"], data=post["fields"],
                             files={"file": (filename, data)}, timeout=60, **kwargs)

    @staticmethod
    def error_code(response):
        import xml.etree.ElementTree as ET
        return ET.fromstring(response.content).findtext("Code")

    def test_presigned_post_uploads_with_its_policy(self):
        data = os.urandom(300_000)
        post = self.s3.generate_presigned_post(
            BUCKET, "forms/${filename}",
            Fields={"Content-Type": "image/png", "x-amz-meta-owner": "me",
                    "success_action_status": "201"},
            Conditions=[{"Content-Type": "image/png"}, {"x-amz-meta-owner": "me"},
                        {"success_action_status": "201"}, ["content-length-range", 1, 1 << 20]],
            ExpiresIn=300)
        r = self.post_form(post, data)
        self.assertEqual(r.status_code, 201, r.text)
        import xml.etree.ElementTree as ET
        doc = ET.fromstring(r.content)
        self.assertEqual((doc.tag, doc.findtext("Bucket"), doc.findtext("Key")),
                         ("PostResponse", BUCKET, "forms/photo.png"))
        got = self.s3.get_object(Bucket=BUCKET, Key="forms/photo.png")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ContentType"], "image/png")
        self.assertEqual(got["Metadata"], {"owner": "me"})
        self.assertEqual(got["ETag"], doc.findtext("ETag"))

        # The `tagging` field tags the object, as x-amz-tagging does a PUT.
        tagging = ("<Tagging><TagSet><Tag><Key>kind</Key><Value>photo</Value></Tag>"
                   "<Tag><Key>from</Key><Value>form</Value></Tag></TagSet></Tagging>")
        tagged = self.s3.generate_presigned_post(
            BUCKET, "forms/tagged.bin", Fields={"tagging": tagging},
            Conditions=[{"tagging": tagging}], ExpiresIn=300)
        r = self.post_form(tagged, b"tagged bytes")
        self.assertEqual(r.status_code, 204, r.text)
        tags = self.s3.get_object_tagging(Bucket=BUCKET, Key="forms/tagged.bin")["TagSet"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags),
                         [("from", "form"), ("kind", "photo")])

        plain = self.s3.generate_presigned_post(BUCKET, "forms/plain.bin", ExpiresIn=300)
        r = self.post_form(plain, b"plain bytes")
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="forms/plain.bin")["Body"].read(),
                         b"plain bytes")

        redirect = self.s3.generate_presigned_post(
            BUCKET, "forms/redirected.bin",
            Fields={"success_action_redirect": "http://app.example/done"},
            Conditions=[{"success_action_redirect": "http://app.example/done"}], ExpiresIn=300)
        r = self.post_form(redirect, b"r", allow_redirects=False)
        self.assertEqual(r.status_code, 303, r.text)
        self.assertTrue(r.headers["Location"].startswith(
            "http://app.example/done?bucket=images&key=forms%2Fredirected.bin&etag="),
            r.headers["Location"])

    def test_presigned_post_refusals(self):
        def refused(post, data=b"data", **changes):
            post = {"url": post["url"], "fields": {**post["fields"], **changes}}
            r = self.post_form(post, data)
            return r.status_code, self.error_code(r), r.text

        small = self.s3.generate_presigned_post(
            BUCKET, "forms/limited", Conditions=[["content-length-range", 5, 10]], ExpiresIn=300)
        self.assertEqual(refused(small, b"x" * 11)[:2], (400, "EntityTooLarge"))
        self.assertEqual(refused(small, b"x" * 4)[:2], (400, "EntityTooSmall"))
        expired = self.s3.generate_presigned_post(BUCKET, "forms/late", ExpiresIn=-60)
        status, code, text = refused(expired)
        self.assertEqual((status, code), (403, "AccessDenied"))
        self.assertIn("Policy expired", text)
        fixed = self.s3.generate_presigned_post(BUCKET, "forms/fixed", ExpiresIn=300)
        status, code, text = refused(fixed, key="forms/other")
        self.assertEqual((status, code), (403, "AccessDenied"))
        self.assertIn("Policy Condition failed", text)
        status, code, text = refused(fixed, **{"x-amz-meta-extra": "1"})
        self.assertEqual((status, code), (403, "AccessDenied"))
        self.assertIn("Extra input fields: x-amz-meta-extra", text)
        self.assertEqual(refused(fixed, **{"x-amz-signature": "0" * 64})[:2],
                         (403, "SignatureDoesNotMatch"))
        # Fields the store cannot honour are refused, never ignored, even when the policy
        # covers them; an ACL (test_s3_acl) and the STANDARD class are honoured.
        for field, value in (("x-amz-storage-class", "GLACIER"),
                             ("x-amz-checksum-sha256",
                              "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")):
            covered = self.s3.generate_presigned_post(
                BUCKET, "forms/unsupported", Fields={field: value},
                Conditions=[{field: value}], ExpiresIn=300)
            status, code, text = refused(covered)
            self.assertEqual((status, code), (501, "NotImplemented"), field)
            self.assertIn(field, text)
        # A `tagging` field that is not a valid <Tagging> document stores nothing.
        for value, code in (("<Tagging><TagSet>", "MalformedXML"),
                            ("<Tagging><TagSet><Tag><Key>aws:x</Key><Value>1</Value></Tag>"
                             "</TagSet></Tagging>", "InvalidTag")):
            tagged = self.s3.generate_presigned_post(
                BUCKET, "forms/unsupported", Fields={"tagging": value},
                Conditions=[{"tagging": value}], ExpiresIn=300)
            self.assertEqual(refused(tagged)[:2], (400, code), value)
        honoured = self.s3.generate_presigned_post(
            BUCKET, "forms/honoured", Fields={"acl": "private", "x-amz-storage-class": "STANDARD"},
            Conditions=[{"acl": "private"}, {"x-amz-storage-class": "STANDARD"}], ExpiresIn=300)
        self.assertEqual(self.post_form(honoured, b"kept").status_code, 204)
        self.s3.delete_object(Bucket=BUCKET, Key="forms/honoured")
        prefixed = self.s3.generate_presigned_post(
            BUCKET, "forms/${filename}", ExpiresIn=300)
        self.assertEqual(refused(prefixed, key="elsewhere/x")[:2], (403, "AccessDenied"))
        import requests
        r = requests.post(fixed["url"], data=b"not a form", timeout=60,
                          headers={"Content-Type": "application/octet-stream"})
        self.assertEqual((r.status_code, self.error_code(r)), (412, "PreconditionFailed"))
        for key in ("forms/limited", "forms/late", "forms/fixed", "forms/other", "elsewhere/x",
                    "forms/unsupported"):
            status, _, _ = client_error(self, self.s3.head_object, Bucket=BUCKET, Key=key)
            self.assertEqual(status, 404, key)

    def test_cors_configuration_preflight_and_actual_responses(self):
        import requests
        bucket = "cors-test"
        self.s3.create_bucket(Bucket=bucket)
        url = f"{self.s.endpoint}/{bucket}/thing"
        preflight = {"Origin": "http://app.example", "Access-Control-Request-Method": "PUT",
                     "Access-Control-Request-Headers": "content-type, x-amz-meta-a"}
        r = requests.options(url, headers=preflight, timeout=30)
        self.assertEqual((r.status_code, self.error_code(r)), (403, "AccessForbidden"))
        self.assertIn("CORS is not enabled for this bucket", r.text)

        status, code, message = client_error(self, self.s3.put_bucket_cors, Bucket=bucket,
                                             CORSConfiguration={"CORSRules": [{
                                                 "AllowedMethods": ["PATCH"],
                                                 "AllowedOrigins": ["*"]}]})
        self.assertEqual((status, code), (400, "InvalidRequest"))
        self.assertIn("Unsupported method is PATCH", message)
        rules = [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["http://*.example"],
                  "AllowedHeaders": ["content-type", "x-amz-meta-*"], "ExposeHeaders": ["ETag"],
                  "MaxAgeSeconds": 600}]
        self.s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
        self.assertEqual(self.s3.get_bucket_cors(Bucket=bucket)["CORSRules"], rules)

        r = requests.options(url, headers=preflight, timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "http://app.example")
        self.assertEqual(r.headers["Access-Control-Allow-Methods"], "GET, PUT")
        self.assertEqual(r.headers["Access-Control-Allow-Headers"], "content-type, x-amz-meta-a")
        self.assertEqual(r.headers["Access-Control-Expose-Headers"], "ETag")
        self.assertEqual(r.headers["Access-Control-Max-Age"], "600")
        self.assertIn("Origin", r.headers["Vary"])
        for denied in ({**preflight, "Origin": "http://app.other"},
                       {**preflight, "Access-Control-Request-Method": "DELETE"},
                       {**preflight, "Access-Control-Request-Headers": "x-secret"}):
            r = requests.options(url, headers=denied, timeout=30)
            self.assertEqual((r.status_code, self.error_code(r)), (403, "AccessForbidden"))
            self.assertIn("This CORS request is not allowed", r.text)

        self.s3.put_object(Bucket=bucket, Key="thing", Body=b"t")
        presigned = self.s3.generate_presigned_url("get_object",
                                                   Params={"Bucket": bucket, "Key": "thing"})
        r = requests.get(presigned, headers={"Origin": "http://app.example"}, timeout=30)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "http://app.example")
        self.assertEqual(r.headers["Access-Control-Expose-Headers"], "ETag")
        r = requests.get(presigned, headers={"Origin": "http://app.other"}, timeout=30)
        self.assertNotIn("Access-Control-Allow-Origin", r.headers)

        self.s3.delete_bucket_cors(Bucket=bucket)
        status, code, _ = client_error(self, self.s3.get_bucket_cors, Bucket=bucket)
        self.assertEqual((status, code), (404, "NoSuchCORSConfiguration"))
        self.s3.delete_object(Bucket=bucket, Key="thing")
        self.s3.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    unittest.main()
