"""S3 object versioning on the embedded endpoint (issue 12), driven by boto3 and the aws CLI v1
against a real `thumbflow serve`.

- PutBucketVersioning / GetBucketVersioning; version ids on PUT, CopyObject and
  CompleteMultipartUpload; GET / HEAD / DELETE with versionId; delete markers (404 with
  x-amz-delete-marker, 405 for the marker by id); Suspended (the "null" version replaced);
  ListObjectVersions with versions and markers, paged; DeleteObjects with VersionId;
  CopyObject from a version; the aws CLI's list-object-versions and delete-object;
- the thumbnail workers read a versioned bucket's sources by key and write their thumbnails;
- a data folder survives a restart with every version.

What S3 answers was taken from the S3 API reference (headers, error codes, element names).
"""
import json
import os
import tempfile
import unittest

import harness
from test_pipeline_embedded import Serve, wait_drained
from test_s3_exact import client_error
from test_s3_endpoint import ServeFixture

ENABLED = {"Status": "Enabled"}
SUSPENDED = {"Status": "Suspended"}


def versions(s3, bucket, prefix=""):
    """[(key, version id, is latest, "marker" | body size)] as ListObjectVersions lists them."""
    out = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    entries = [(v["Key"], v["VersionId"], v["IsLatest"], v["Size"], v["LastModified"])
               for v in out.get("Versions", [])]
    entries += [(m["Key"], m["VersionId"], m["IsLatest"], "marker", m["LastModified"])
                for m in out.get("DeleteMarkers", [])]
    # The listing interleaves both kinds newest first per key; boto3 splits them. The latest
    # first, then by time (versions made within one millisecond keep the listing's order).
    entries.sort(key=lambda e: (e[0], not e[2], -e[4].timestamp()))
    return [e[:4] for e in entries]


class S3VersioningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.s = ServeFixture(name="serve-versioning")
        cls.s3 = cls.s.client(retries={"max_attempts": 1})

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def bucket(self, name, status=None):
        self.s3.create_bucket(Bucket=name)
        if status:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=status)
        return name

    def test_versions_and_delete_markers(self):
        b = self.bucket("ver-basic")
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=b))
        plain = self.s3.put_object(Bucket=b, Key="k", Body=b"plain")
        self.assertNotIn("VersionId", plain)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED)
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=b, Key="k", Body=b"two!")["VersionId"]
        self.assertNotEqual(v1, v2)
        got = self.s3.get_object(Bucket=b, Key="k")
        self.assertEqual((got["Body"].read(), got["VersionId"]), (b"two!", v2))
        for version, body in ((v1, b"one"), ("null", b"plain")):
            self.assertEqual(self.s3.get_object(Bucket=b, Key="k", VersionId=version)["Body"]
                             .read(), body)
            self.assertEqual(self.s3.head_object(Bucket=b, Key="k", VersionId=version)
                             ["ContentLength"], len(body))
        self.assertEqual(versions(self.s3, b), [("k", v2, True, 4), ("k", v1, False, 3),
                                                ("k", "null", False, 5)])

        deleted = self.s3.delete_object(Bucket=b, Key="k")
        self.assertTrue(deleted["DeleteMarker"])
        marker = deleted["VersionId"]
        status, code, _ = client_error(self, self.s3.get_object, Bucket=b, Key="k")
        self.assertEqual((status, code), (404, "NoSuchKey"))
        from botocore.exceptions import ClientError
        try:
            self.s3.get_object(Bucket=b, Key="k")
        except ClientError as e:
            headers = e.response["ResponseMetadata"]["HTTPHeaders"]
            self.assertEqual(headers.get("x-amz-delete-marker"), "true")
            self.assertEqual(headers.get("x-amz-version-id"), marker)
        status, code, _ = client_error(self, self.s3.get_object, Bucket=b, Key="k",
                                       VersionId=marker)
        self.assertEqual((status, code), (405, "MethodNotAllowed"))
        self.assertEqual(self.s3.list_objects_v2(Bucket=b).get("KeyCount"), 0)
        self.assertEqual(versions(self.s3, b)[0], ("k", marker, True, "marker"))
        status, code, _ = client_error(self, self.s3.delete_bucket, Bucket=b)
        self.assertEqual((status, code), (409, "BucketNotEmpty"))

        # Removing the marker by id: the newest version is the latest again.
        gone = self.s3.delete_object(Bucket=b, Key="k", VersionId=marker)
        self.assertTrue(gone["DeleteMarker"])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"two!")
        self.s3.delete_object(Bucket=b, Key="k", VersionId=v2)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"one")
        status, code, _ = client_error(self, self.s3.get_object, Bucket=b, Key="k",
                                       VersionId=v2)
        self.assertEqual((status, code), (404, "NoSuchVersion"))

        # Every version removed: the bucket can go.
        for version in (v1, "null"):
            self.s3.delete_object(Bucket=b, Key="k", VersionId=version)
        self.assertEqual(versions(self.s3, b), [])
        self.s3.delete_bucket(Bucket=b)

    def test_suspended_versioning_replaces_the_null_version(self):
        b = self.bucket("ver-suspended", ENABLED)
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=SUSPENDED)
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Suspended")
        for body in (b"null 1", b"null 22"):
            # As S3 answers: no version id for a write to a suspended bucket.
            self.assertNotIn("VersionId", self.s3.put_object(Bucket=b, Key="k", Body=body))
        self.assertEqual(self.s3.head_object(Bucket=b, Key="k")["VersionId"], "null")
        self.assertEqual(versions(self.s3, b), [("k", "null", True, 7), ("k", v1, False, 3)])
        deleted = self.s3.delete_object(Bucket=b, Key="k")
        self.assertEqual((deleted["DeleteMarker"], deleted["VersionId"]), (True, "null"))
        self.assertEqual(versions(self.s3, b), [("k", "null", True, "marker"),
                                                ("k", v1, False, 3)])
        self.s3.delete_object(Bucket=b, Key="k", VersionId="null")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"one")

    def test_copy_multipart_and_batch_delete_carry_versions(self):
        b = self.bucket("ver-copy", ENABLED)
        v1 = self.s3.put_object(Bucket=b, Key="src", Body=b"first")["VersionId"]
        self.s3.put_object(Bucket=b, Key="src", Body=b"second")
        copied = self.s3.copy_object(Bucket=b, Key="dst",
                                     CopySource={"Bucket": b, "Key": "src", "VersionId": v1})
        self.assertEqual(copied["CopySourceVersionId"], v1)
        self.assertTrue(copied["VersionId"])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="dst")["Body"].read(), b"first")

        upload = self.s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        part = self.s3.upload_part(Bucket=b, Key="mp", UploadId=upload, PartNumber=1,
                                   Body=b"p" * 100)
        done = self.s3.complete_multipart_upload(
            Bucket=b, Key="mp", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(self.s3.head_object(Bucket=b, Key="mp")["VersionId"], done["VersionId"])

        out = self.s3.delete_objects(Bucket=b, Delete={"Objects": [
            {"Key": "src", "VersionId": v1}, {"Key": "mp"}]})
        by_key = {d["Key"]: d for d in out["Deleted"]}
        self.assertEqual(by_key["src"]["VersionId"], v1)
        self.assertTrue(by_key["mp"]["DeleteMarker"])
        self.assertTrue(by_key["mp"]["DeleteMarkerVersionId"])
        self.assertEqual([v[1] for v in versions(self.s3, b, "src")],
                         [self.s3.head_object(Bucket=b, Key="src")["VersionId"]])

    def test_list_object_versions_pages_with_the_aws_cli(self):
        b = self.bucket("ver-pages", ENABLED)
        expected = []
        for key in ("a", "d/1", "d/2", "z"):
            ids = [self.s3.put_object(Bucket=b, Key=key, Body=key.encode())["VersionId"]
                   for _ in range(3)]
            expected += [(key, i) for i in reversed(ids)]
        # The CLI follows NextKeyMarker / NextVersionIdMarker itself, two entries a page.
        out = json.loads(self.s.aws("s3api", "list-object-versions", "--bucket", b,
                                    "--page-size", "2").stdout)
        self.assertEqual([(v["Key"], v["VersionId"]) for v in out["Versions"]], expected)
        self.assertEqual([v["IsLatest"] for v in out["Versions"]],
                         [True, False, False] * 4)
        page = self.s3.list_object_versions(Bucket=b, Delimiter="/", MaxKeys=4)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["d/"])
        self.assertEqual(page["NextKeyMarker"], "d/")
        # The CLI's delete-object of a version, and its delete marker.
        self.s.aws("s3api", "delete-object", "--bucket", b, "--key", "a", "--version-id",
                   expected[0][1])
        marker = json.loads(self.s.aws("s3api", "delete-object", "--bucket", b, "--key",
                                       "a").stdout)
        self.assertTrue(marker["DeleteMarker"])
        status, code, _ = client_error(self, self.s3.list_object_versions, Bucket=b,
                                       KeyMarker="a", VersionIdMarker="no-such-version")
        self.assertEqual((status, code), (400, "InvalidArgument"))


    def test_a_form_upload_answers_its_version_id_as_put_does(self):
        import requests
        b = self.bucket("ver-post", ENABLED)

        def post(key, fields=None, bucket=b):
            form = self.s3.generate_presigned_post(
                bucket, key, Fields=fields or {},
                Conditions=[{k: v} for k, v in (fields or {}).items()], ExpiresIn=300)
            return requests.post(form["url"], data=form["fields"], allow_redirects=False,
                                 files={"file": ("f.txt", key.encode())}, timeout=30)

        seen = []
        for key, fields, status in [
                ("plain", None, 204),
                ("created", {"success_action_status": "201"}, 201),
                ("redirected", {"success_action_redirect": "http://127.0.0.1:9/done"}, 303)]:
            answer = post(key, fields)
            self.assertEqual(answer.status_code, status, answer.text)
            version = answer.headers.get("x-amz-version-id")
            self.assertTrue(version, answer.headers)
            self.assertEqual(self.s3.head_object(Bucket=b, Key=key)["VersionId"], version)
            seen.append(version)
        # A second upload of a key is a new version, the first one kept.
        again = post("plain").headers["x-amz-version-id"]
        self.assertNotIn(again, seen)
        self.assertEqual([v[1] for v in versions(self.s3, b, "plain")], [again, seen[0]])
        # As PUT: none for a suspended or an unversioned bucket.
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=SUSPENDED)
        self.assertNotIn("x-amz-version-id", post("plain").headers)
        plain = self.bucket("ver-post-plain")
        answer = post("k", bucket=plain)
        self.assertEqual(answer.status_code, 204, answer.text)
        self.assertNotIn("x-amz-version-id", answer.headers)

    def test_a_malformed_version_id_is_invalid_argument_an_unknown_one_no_such_version(self):
        b = self.bucket("ver-ids", ENABLED)
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        self.s3.put_object(Bucket=b, Key="plain-bucket-key", Body=b"x")
        unknown = "0" * 32  # the form of this server's ids, naming nothing
        from botocore.exceptions import ClientError
        tags = {"TagSet": [{"Key": "t", "Value": "v"}]}
        calls = [(self.s3.get_object, {}), (self.s3.delete_object, {}),
                 (self.s3.get_object_tagging, {}), (self.s3.get_object_acl, {}),
                 (self.s3.put_object_tagging, {"Tagging": tags}),
                 (self.s3.delete_object_tagging, {}),
                 (self.s3.put_object_acl, {"ACL": "private"})]
        for call, extra in calls:
            for bad, message in (("v1", "Invalid version id specified"),
                                 (v1.upper(), "Invalid version id specified"),
                                 (v1 + "0", "Invalid version id specified"),
                                 ("", "Version id cannot be the empty string")):
                with self.assertRaises(ClientError) as cm:
                    call(Bucket=b, Key="k", VersionId=bad, **extra)
                error = cm.exception.response["Error"]
                self.assertEqual((cm.exception.response["ResponseMetadata"]["HTTPStatusCode"],
                                  error["Code"], error["Message"], error.get("ArgumentName"),
                                  error.get("ArgumentValue") or ""),  # <X/>: absent
                                 (400, "InvalidArgument", message, "versionId", bad), call)
        status, _, _ = client_error(self, self.s3.head_object, Bucket=b, Key="k",
                                    VersionId="v1")
        self.assertEqual(status, 400)
        # An unversioned bucket too: S3 checks the form first.
        plain = self.bucket("ver-ids-plain")
        self.s3.put_object(Bucket=plain, Key="k", Body=b"x")
        status, code, _ = client_error(self, self.s3.get_object, Bucket=plain, Key="k",
                                       VersionId="abc")
        self.assertEqual((status, code), (400, "InvalidArgument"))
        self.assertEqual(self.s3.get_object(Bucket=plain, Key="k", VersionId="null")["Body"]
                         .read(), b"x")
        # Well-formed but unknown: 404 NoSuchVersion.
        for call in (self.s3.get_object, self.s3.get_object_tagging):
            status, code, _ = client_error(self, call, Bucket=b, Key="k", VersionId=unknown)
            self.assertEqual((status, code), (404, "NoSuchVersion"), call)
        status, _, _ = client_error(self, self.s3.head_object, Bucket=b, Key="k",
                                    VersionId=unknown)
        self.assertEqual(status, 404)
        # A copy source's version id, and DeleteObjects entries (which S3 answers with a
        # NoSuchVersion entry; a well-formed unknown one is deleted: nothing to delete).
        status, code, text = client_error(self, self.s3.copy_object, Bucket=b, Key="copy",
                                          CopySource={"Bucket": b, "Key": "k",
                                                      "VersionId": "abc"})
        self.assertEqual((status, code, text),
                         (400, "InvalidArgument", "Invalid version id specified"))
        status, code, _ = client_error(self, self.s3.copy_object, Bucket=b, Key="copy",
                                       CopySource={"Bucket": b, "Key": "k",
                                                   "VersionId": unknown})
        self.assertEqual((status, code), (404, "NoSuchVersion"))
        out = self.s3.delete_objects(Bucket=b, Delete={"Objects": [
            {"Key": "k", "VersionId": "abc"}, {"Key": "k", "VersionId": unknown}]})
        self.assertEqual([(e["Key"], e["VersionId"], e["Code"]) for e in out["Errors"]],
                         [("k", "abc", "NoSuchVersion")])
        self.assertEqual([(d["Key"], d["VersionId"]) for d in out["Deleted"]], [("k", unknown)])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(),
                         b"one")
        # The aws CLI sees the same answer.
        proc = self.s.aws("s3api", "get-object", "--bucket", b, "--key", "k", "--version-id",
                          "not-a-version", os.path.join(self.s.tmp, "out"), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("(InvalidArgument) when calling the GetObject operation: Invalid version "
                      "id specified", proc.stderr)

class VersionedPipelineTest(unittest.TestCase):
    """Workers read a versioned bucket's sources by key; versions survive a restart."""

    def test_thumbnails_of_a_versioned_bucket_and_a_restart(self):
        harness.require_tool("aws")
        tmp = tempfile.mkdtemp(prefix="tf-versioned-")
        data = os.path.join(tmp, "data")
        serve = Serve(tmp, data, workers=1)
        self.addCleanup(serve.peer.stop)
        s3 = serve.client()
        s3.put_bucket_versioning(Bucket="images", VersioningConfiguration=ENABLED)
        photo = os.path.join(harness.CORPUS, "jpeg", "progressive.jpg")
        serve.aws("s3", "cp", photo, "s3://images/uploads/v.jpg")
        first = s3.head_object(Bucket="images", Key="uploads/v.jpg")["VersionId"]
        stats = wait_drained(serve, 0, 120)
        self.assertEqual((stats["visible"], stats["in_flight"], stats["dlq"]), (0, 0, 0),
                         f"{stats}\n{serve.peer.log()[-3000:]}")
        for size in ("small", "medium", "large"):
            head = s3.head_object(Bucket="images", Key=f"thumbnails/{size}/v.jpg")
            self.assertTrue(head["VersionId"], size)
        s3.put_object(Bucket="images", Key="uploads/v.jpg", Body=b"not an image")
        stats = wait_drained(serve, 1, 120)
        self.assertEqual(stats["dlq"], 1, f"{stats}\n{serve.peer.log()[-3000:]}")
        self.assertEqual(serve.peer.stop(), 0, serve.peer.log()[-3000:])

        serve = Serve(tmp, data, workers=0, name="serve-again")
        self.addCleanup(serve.peer.stop)
        s3 = serve.client()
        self.assertEqual(s3.get_bucket_versioning(Bucket="images")["Status"], "Enabled")
        with open(photo, "rb") as f:
            self.assertEqual(s3.get_object(Bucket="images", Key="uploads/v.jpg",
                                           VersionId=first)["Body"].read(), f.read())
        self.assertEqual(len(versions(s3, "images", "uploads/")), 2)
        self.assertEqual(serve.peer.stop(), 0, serve.peer.log()[-3000:])


if __name__ == "__main__":
    unittest.main()
