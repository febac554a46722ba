"""What uploaders' tools reach for on the embedded S3 endpoint (issue 12 items 7 to 10),
driven by the aws CLI v1 and boto3 against a real `thumbflow serve --workers 0`.

What S3 answers was taken from the S3 API reference (operations, error codes, element names).
"""
import hashlib
import os
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


if __name__ == "__main__":
    unittest.main()
