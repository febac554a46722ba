"""Object tagging on the embedded S3 endpoint (issue 12 item 11), driven by boto3 against a
real `thumbflow serve --workers 0`: Put/Get/DeleteObjectTagging, x-amz-tagging on PutObject,
CreateMultipartUpload and CopyObject (x-amz-tagging-directive), x-amz-tagging-count on GET
and HEAD, and S3's limits (keys of 128 and values of 256 characters, no key twice: 400
InvalidTag; more than 10 tags: 400 BadRequest, as AWS answers).
"""
import os
import unittest

import harness
from test_s3_endpoint import ServeFixture
from test_s3_exact import client_error

BUCKET = "images"


def tagset(pairs):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}


class S3TaggingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = ServeFixture(name="serve-tagging")
        cls.s3 = cls.s.client(retries={"max_attempts": 1})

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def tags(self, key):
        return self.s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]

    def test_tagging_on_put_is_stored_and_counted(self):
        self.s3.put_object(Bucket=BUCKET, Key="tag/put.txt", Body=b"x",
                           Tagging="colour=blue&note=two%20words&empty=")
        self.assertEqual(self.tags("tag/put.txt"), tagset(
            [("colour", "blue"), ("empty", ""), ("note", "two words")])["TagSet"])
        head = self.s3.head_object(Bucket=BUCKET, Key="tag/put.txt")
        self.assertEqual(head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"], "3")
        got = self.s3.get_object(Bucket=BUCKET, Key="tag/put.txt")
        self.assertEqual(got["TagCount"], 3)
        self.s3.put_object(Bucket=BUCKET, Key="tag/plain.txt", Body=b"x")
        self.assertNotIn("TagCount", self.s3.get_object(Bucket=BUCKET, Key="tag/plain.txt"))
        self.assertEqual(self.tags("tag/plain.txt"), [])

    def test_put_and_delete_object_tagging(self):
        self.s3.put_object(Bucket=BUCKET, Key="tag/api.txt", Body=b"bytes", Tagging="a=1")
        etag = self.s3.head_object(Bucket=BUCKET, Key="tag/api.txt")["ETag"]
        ten = [(str(i), str(i)) for i in range(10)]
        out = self.s3.put_object_tagging(Bucket=BUCKET, Key="tag/api.txt", Tagging=tagset(ten))
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.tags("tag/api.txt"), tagset(ten)["TagSet"])
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="tag/api.txt")["ETag"], etag)
        longest = [("k" * 127 + "é", "v" * 255 + "é")]
        self.s3.put_object_tagging(Bucket=BUCKET, Key="tag/api.txt", Tagging=tagset(longest))
        self.assertEqual(self.tags("tag/api.txt"), tagset(longest)["TagSet"])
        out = self.s3.delete_object_tagging(Bucket=BUCKET, Key="tag/api.txt")
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.tags("tag/api.txt"), [])
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="tag/api.txt")["Body"].read(),
                         b"bytes")
        status, code, _ = client_error(self, self.s3.get_object_tagging, Bucket=BUCKET,
                                       Key="tag/absent")
        self.assertEqual((status, code), (404, "NoSuchKey"))

    def test_limits_are_invalid_tag_and_change_nothing(self):
        self.s3.put_object(Bucket=BUCKET, Key="tag/limits.txt", Body=b"x", Tagging="keep=1")
        bad = {
            "11 tags": ([(str(i), "v") for i in range(11)], "BadRequest"),
            "key of 129": ([("k" * 129, "v")], "InvalidTag"),
            "value of 257": ([("k", "v" * 257)], "InvalidTag"),
            "aws: prefix": ([("aws:owner", "v")], "InvalidTag"),
        }
        for what, (pairs, expected) in bad.items():
            status, code, _ = client_error(self, self.s3.put_object_tagging, Bucket=BUCKET,
                                           Key="tag/limits.txt", Tagging=tagset(pairs))
            self.assertEqual((status, code), (400, expected), what)
        status, code, _ = client_error(self, self.s3.put_object, Bucket=BUCKET,
                                       Key="tag/eleven.txt", Body=b"x",
                                       Tagging="&".join(f"k{i}=v" for i in range(11)))
        self.assertEqual((status, code), (400, "BadRequest"))
        self.assertEqual(self.tags("tag/limits.txt"), [{"Key": "keep", "Value": "1"}])
        status, code, _ = client_error(self, self.s3.put_object, Bucket=BUCKET,
                                       Key="tag/dup.txt", Body=b"x", Tagging="a=1&a=2")
        self.assertEqual((status, code), (400, "InvalidTag"))
        status, _, _ = client_error(self, self.s3.head_object, Bucket=BUCKET, Key="tag/dup.txt")
        self.assertEqual(status, 404)

    def test_copy_keeps_or_replaces_tags(self):
        self.s3.put_object(Bucket=BUCKET, Key="tag/src.txt", Body=b"x", Tagging="a=1",
                           Metadata={"m": "v"})
        source = {"Bucket": BUCKET, "Key": "tag/src.txt"}
        self.s3.copy_object(Bucket=BUCKET, Key="tag/copy.txt", CopySource=source)
        self.assertEqual(self.tags("tag/copy.txt"), [{"Key": "a", "Value": "1"}])
        self.s3.copy_object(Bucket=BUCKET, Key="tag/replaced.txt", CopySource=source,
                            TaggingDirective="REPLACE", Tagging="b=2")
        self.assertEqual(self.tags("tag/replaced.txt"), [{"Key": "b", "Value": "2"}])
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="tag/replaced.txt")["Metadata"],
                         {"m": "v"})

    def test_multipart_upload_keeps_its_tagging(self):
        part = os.urandom(5 * 1024 * 1024)
        up = self.s3.create_multipart_upload(Bucket=BUCKET, Key="tag/mp.bin",
                                             Tagging="Hello=World&foo=bar")
        etag = self.s3.upload_part(Bucket=BUCKET, Key="tag/mp.bin", UploadId=up["UploadId"],
                                   PartNumber=1, Body=part)["ETag"]
        self.s3.complete_multipart_upload(
            Bucket=BUCKET, Key="tag/mp.bin", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        self.assertEqual(self.tags("tag/mp.bin"), [{"Key": "Hello", "Value": "World"},
                                                   {"Key": "foo", "Value": "bar"}])


if __name__ == "__main__":
    unittest.main()
