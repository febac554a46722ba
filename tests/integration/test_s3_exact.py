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
        code = cls.s.stop()
        if code != 0:
            raise AssertionError(f"serve exited with {code}:\n{cls.s.peer.log()}")

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


if __name__ == "__main__":
    unittest.main()
