"""The embedded S3 endpoint answering as S3 does where tools notice (issue 12 items 7, 11 and
12), driven by the aws CLI v1 and boto3 against a real `thumbflow serve --workers 0`.

What S3 answers was taken from the S3 API reference (error codes, element names).
"""
import json
import unittest

import harness
from test_s3_endpoint import ServeFixture

BUCKET = "images"


def client_error(test, call, *args, **kwargs):
    """The (HTTP status, S3 error code, message) of a call that must fail."""
    from botocore.exceptions import ClientError
    with test.assertRaises(ClientError) as cm:
        call(*args, **kwargs)
    response = cm.exception.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"].get("Message", ""))


class S3ExactTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.s = ServeFixture(name="serve-exact")
        cls.s3 = cls.s.client(retries={"max_attempts": 1})

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    # ---- item 12: small correctness points --------------------------------------------------

    def test_delete_objects_keeps_a_whitespace_key_as_sent(self):
        for key in (" ", "  two  "):
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"blank")
        out = json.loads(self.s.aws(
            "s3api", "delete-objects", "--bucket", BUCKET, "--delete",
            json.dumps({"Objects": [{"Key": " "}, {"Key": "  two  "}]})).stdout)
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), [" ", "  two  "], out)
        self.assertNotIn("Errors", out)
        for key in (" ", "  two  "):
            status, code, _ = client_error(self, self.s3.head_object, Bucket=BUCKET, Key=key)
            self.assertEqual(status, 404, key)

    def test_suffix_range_of_zero_bytes_is_invalid_range(self):
        self.s3.put_object(Bucket=BUCKET, Key="range/ten", Body=b"0123456789")
        status, code, _ = client_error(self, self.s3.get_object, Bucket=BUCKET, Key="range/ten",
                                       Range="bytes=-0")
        self.assertEqual((status, code), (416, "InvalidRange"))
        got = self.s3.get_object(Bucket=BUCKET, Key="range/ten", Range="bytes=-1")
        self.assertEqual(got["Body"].read(), b"9")

    # ---- item 11: what tools call routinely ---------------------------------------------------

    def test_unsupported_calls_are_refused_naming_the_s3_operation(self):
        proc = self.s.aws("s3api", "put-bucket-logging", "--bucket", BUCKET,
                          "--bucket-logging-status", "{}", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("An error occurred (NotImplemented) when calling the PutBucketLogging "
                      "operation: thumbflow does not implement PutBucketLogging "
                      "(PUT /images?logging)", proc.stderr)
        self.s3.put_object(Bucket=BUCKET, Key="refused/k", Body=b"kept")
        calls = {
            "GetBucketReplication": lambda: self.s3.get_bucket_replication(Bucket=BUCKET),
            "PutBucketLifecycleConfiguration":
                lambda: self.s3.put_bucket_lifecycle_configuration(
                    Bucket=BUCKET, LifecycleConfiguration={"Rules": [
                        {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""},
                         "Expiration": {"Days": 1}}]}),
            "GetBucketRequestPayment":
                lambda: self.s3.get_bucket_request_payment(Bucket=BUCKET),
            "GetBucketWebsite": lambda: self.s3.get_bucket_website(Bucket=BUCKET),
            "GetBucketLogging": lambda: self.s3.get_bucket_logging(Bucket=BUCKET),
            "GetBucketAccelerateConfiguration":
                lambda: self.s3.get_bucket_accelerate_configuration(Bucket=BUCKET),
        }
        for operation, call in calls.items():
            status, code, message = client_error(self, call)
            self.assertEqual((status, code), (501, "NotImplemented"), operation)
            self.assertTrue(message.startswith(f"thumbflow does not implement {operation} ("),
                            (operation, message))
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="refused/k")["Body"].read(),
                         b"kept")
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=BUCKET))

    def test_acls_are_the_owners_full_control(self):
        self.s3.put_object(Bucket=BUCKET, Key="acl/k", Body=b"x")
        for args in (["get-bucket-acl", "--bucket", BUCKET],
                     ["get-object-acl", "--bucket", BUCKET, "--key", "acl/k"]):
            acl = json.loads(self.s.aws("s3api", *args).stdout)
            self.assertEqual(acl["Owner"]["ID"], "thumbflow", acl)
            self.assertEqual(acl["Grants"], [{"Grantee": {"ID": "thumbflow",
                                                          "DisplayName": "thumbflow",
                                                          "Type": "CanonicalUser"},
                                              "Permission": "FULL_CONTROL"}], acl)
        status, code, _ = client_error(self, self.s3.get_object_acl, Bucket=BUCKET,
                                       Key="acl/absent")
        self.assertEqual((status, code), (404, "NoSuchKey"))

    def test_list_object_versions_lists_every_object_once_as_version_null(self):
        keys = ["ver/a", "ver/d/1", "ver/d/2", "ver/z"]
        for key in keys:
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        out = json.loads(self.s.aws("s3api", "list-object-versions", "--bucket", BUCKET,
                                    "--prefix", "ver/").stdout)
        self.assertEqual([v["Key"] for v in out["Versions"]], keys)
        for v in out["Versions"]:
            self.assertEqual((v["VersionId"], v["IsLatest"]), ("null", True), v)
            self.assertEqual(v["Size"], len(v["Key"]))
        self.assertNotIn("DeleteMarkers", out)
        # Paged by hand with a delimiter: the common prefix counts as one entry.
        page = self.s3.list_object_versions(Bucket=BUCKET, Prefix="ver/", Delimiter="/",
                                            MaxKeys=2)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual([v["Key"] for v in page["Versions"]], ["ver/a"])
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["ver/d/"])
        self.assertEqual(page["NextKeyMarker"], "ver/d/")
        page = self.s3.list_object_versions(Bucket=BUCKET, Prefix="ver/", Delimiter="/",
                                            MaxKeys=2, KeyMarker=page["NextKeyMarker"])
        self.assertFalse(page["IsTruncated"])
        self.assertEqual([v["Key"] for v in page["Versions"]], ["ver/z"])
        # What a tool does next with version "null": read it, delete it.
        got = self.s3.get_object(Bucket=BUCKET, Key="ver/z", VersionId="null")
        self.assertEqual(got["Body"].read(), b"ver/z")
        self.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [
            {"Key": "ver/a", "VersionId": "null"}]})
        self.s3.delete_object(Bucket=BUCKET, Key="ver/z", VersionId="null")
        out = self.s3.list_object_versions(Bucket=BUCKET, Prefix="ver/")
        self.assertEqual([v["Key"] for v in out["Versions"]], ["ver/d/1", "ver/d/2"])

    # ---- item 7: what SDK retries rely on ------------------------------------------------------

    def test_repeated_complete_multipart_upload_answers_the_same_etag(self):
        key = "mpu/retried"
        upload = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        part = self.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1,
                                   Body=b"only part")
        parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
        first = self.s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                                  MultipartUpload=parts)
        again = json.loads(self.s.aws(
            "s3api", "complete-multipart-upload", "--bucket", BUCKET, "--key", key,
            "--upload-id", upload, "--multipart-upload", json.dumps(parts)).stdout)
        self.assertEqual(again["ETag"], first["ETag"])
        self.assertEqual((again["Bucket"], again["Key"]), (BUCKET, key))
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), b"only part")
        # Still no upload to add parts to or list, and another key is not its retry.
        status, code, _ = client_error(self, self.s3.list_parts, Bucket=BUCKET, Key=key,
                                       UploadId=upload)
        self.assertEqual((status, code), (404, "NoSuchUpload"))
        status, code, _ = client_error(self, self.s3.complete_multipart_upload, Bucket=BUCKET,
                                       Key="mpu/other", UploadId=upload, MultipartUpload=parts)
        self.assertEqual((status, code), (404, "NoSuchUpload"))

    def test_list_multipart_uploads(self):
        ids = {}
        for key in ("lmu/a", "lmu/b", "lmu/c"):
            ids[key] = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        self.s3.abort_multipart_upload(Bucket=BUCKET, Key="lmu/c", UploadId=ids["lmu/c"])
        out = json.loads(self.s.aws("s3api", "list-multipart-uploads", "--bucket", BUCKET,
                                    "--prefix", "lmu/").stdout)
        self.assertEqual([(u["Key"], u["UploadId"]) for u in out["Uploads"]],
                         [("lmu/a", ids["lmu/a"]), ("lmu/b", ids["lmu/b"])], out)
        self.assertEqual(out["Uploads"][0]["Initiator"]["ID"], "thumbflow")
        page = self.s3.list_multipart_uploads(Bucket=BUCKET, Prefix="lmu/", MaxUploads=1)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual(page["NextKeyMarker"], "lmu/a")
        page = self.s3.list_multipart_uploads(Bucket=BUCKET, Prefix="lmu/", MaxUploads=1,
                                              KeyMarker=page["NextKeyMarker"],
                                              UploadIdMarker=page["NextUploadIdMarker"])
        self.assertEqual([u["Key"] for u in page["Uploads"]], ["lmu/b"])
        self.assertFalse(page["IsTruncated"])
        for key in ("lmu/a", "lmu/b"):
            self.s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=ids[key])
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=BUCKET, Prefix="lmu/"))


if __name__ == "__main__":
    unittest.main()
