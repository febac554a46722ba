"""Bucket configuration calls on the embedded S3 endpoint (issue 12): bucket tagging, bucket
encryption and the public access block, driven by boto3 (as the bucket's owner alice, as bob,
and unsigned) and the aws CLI v1 against a real `thumbflow serve` with [[server.users]].

What S3 answers was taken from the S3 API reference: PutBucketTagging answers 204, a bucket
without tags 404 NoSuchTagSet; a bucket takes 50 tags (a 51st is 400 BadRequest "Bucket tag
count cannot be greater than 50"), keys of 1 to 128 and values of 0 to 256 characters, no key
twice (400 InvalidTag). PutPublicAccessBlock answers 200, a bucket without one 404
NoSuchPublicAccessBlockConfiguration; BlockPublicAcls refuses public ACLs (AllUsers,
AuthenticatedUsers) with 403, IgnorePublicAcls stops them granting anything, BlockPublicPolicy
refuses a public policy with 403, RestrictPublicBuckets lets a public policy grant only the
bucket's own account. thumbflow stores objects unencrypted, so it never claims a default
encryption: GetBucketEncryption is 404 ServerSideEncryptionConfigurationNotFoundError (S3's
answer before 2023), PutBucketEncryption 501 NotImplemented, DeleteBucketEncryption 204.
"""
import json
import unittest

from test_s3_acl import AclServe, AclTestCase
from test_s3_exact import client_error
from test_s3_object_integrity import add_headers
from test_s3_policy import allow, policy

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def tagset(pairs):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}


def replace_body(client, event, body):
    """Sends `body` (signed, without the client's checksums) as every `event` call's body."""
    def hook(request, **_):
        request.data = body
        for name in list(request.headers.keys()):
            if name.lower() in ("content-md5", "content-length") or \
                    name.lower().startswith(("x-amz-checksum-", "x-amz-sdk-checksum")):
                del request.headers[name]
    client.meta.events.register(f"before-sign.s3.{event}", hook)


BLOCK_ALL_OFF = {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                 "BlockPublicPolicy": False, "RestrictPublicBuckets": False}


def block(**switches):
    return dict(BLOCK_ALL_OFF, **switches)


class S3BucketTaggingTest(AclTestCase):
    def test_put_get_delete_and_s3s_limits(self):
        b = "cfg-tags"
        self.alice.create_bucket(Bucket=b)
        status, code, _ = client_error(self, self.alice.get_bucket_tagging, Bucket=b)
        self.assertEqual((status, code), (404, "NoSuchTagSet"))
        fifty = [(f"key{i:02}", "v" * i) for i in range(50)]
        out = self.alice.put_bucket_tagging(Bucket=b, Tagging=tagset(fifty))
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.alice.get_bucket_tagging(Bucket=b)["TagSet"], tagset(fifty)["TagSet"])
        longest = [("k" * 127 + "é", "v" * 255 + "é"), ("empty", "")]
        self.alice.put_bucket_tagging(Bucket=b, Tagging=tagset(longest))
        self.assertEqual(self.alice.get_bucket_tagging(Bucket=b)["TagSet"],
                         sorted(tagset(longest)["TagSet"], key=lambda t: t["Key"]))
        bad = {
            "51 tags": ([(f"k{i}", "v") for i in range(51)], "BadRequest"),
            "key twice": ([("k", "1"), ("k", "2")], "InvalidTag"),
            "key of 129": ([("k" * 129, "v")], "InvalidTag"),
            "value of 257": ([("k", "v" * 257)], "InvalidTag"),
        }
        for what, (pairs, expected) in bad.items():
            status, code, message = client_error(self, self.alice.put_bucket_tagging, Bucket=b,
                                                 Tagging=tagset(pairs))
            self.assertEqual((status, code), (400, expected), what)
            if what == "51 tags":
                self.assertEqual(message, "Bucket tag count cannot be greater than 50")
        self.assertEqual(len(self.alice.get_bucket_tagging(Bucket=b)["TagSet"]), 2)
        # Only the owner reads or changes them.
        self.denied(self.bob.get_bucket_tagging, Bucket=b)
        self.denied(self.bob.put_bucket_tagging, Bucket=b, Tagging=tagset([("x", "y")]))
        self.denied(self.anon.delete_bucket_tagging, Bucket=b)
        out = self.alice.delete_bucket_tagging(Bucket=b)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        status, code, _ = client_error(self, self.alice.get_bucket_tagging, Bucket=b)
        self.assertEqual((status, code), (404, "NoSuchTagSet"))
        status, code, _ = client_error(self, self.alice.get_bucket_tagging, Bucket="cfg-absent")
        self.assertEqual((status, code), (404, "NoSuchBucket"))

    def test_a_body_that_does_not_match_its_content_md5_is_refused(self):
        b = "cfg-tags-md5"
        self.alice.create_bucket(Bucket=b)
        self.alice.put_bucket_tagging(Bucket=b, Tagging=tagset([("keep", "1")]))
        client = self.s.client_as("alice")
        body = b'<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>'
        replace_body(client, "PutBucketTagging", body)
        add_headers(client, "PutBucketTagging", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
        status, code, _ = client_error(self, client.put_bucket_tagging, Bucket=b,
                                       Tagging=tagset([("ignored", "x")]))
        self.assertEqual((status, code), (400, "BadDigest"))
        self.assertEqual(self.alice.get_bucket_tagging(Bucket=b)["TagSet"],
                         [{"Key": "keep", "Value": "1"}])

    def test_aws_cli_and_a_bucket_made_again_starts_without_tags(self):
        b = "cfg-tags-cli"
        self.alice.create_bucket(Bucket=b)
        self.s.aws_as("alice", "s3api", "put-bucket-tagging", "--bucket", b, "--tagging",
                      json.dumps(tagset([("team", "thumbs")])))
        got = json.loads(self.s.aws_as("alice", "s3api", "get-bucket-tagging", "--bucket",
                                       b).stdout)
        self.assertEqual(got["TagSet"], [{"Key": "team", "Value": "thumbs"}])
        self.alice.delete_bucket(Bucket=b)
        self.alice.create_bucket(Bucket=b)
        status, code, _ = client_error(self, self.alice.get_bucket_tagging, Bucket=b)
        self.assertEqual((status, code), (404, "NoSuchTagSet"))


class S3BucketEncryptionTest(AclTestCase):
    def test_no_default_encryption_is_ever_claimed(self):
        b = "cfg-sse"
        self.alice.create_bucket(Bucket=b)
        status, code, _ = client_error(self, self.alice.get_bucket_encryption, Bucket=b)
        self.assertEqual((status, code), (404, "ServerSideEncryptionConfigurationNotFoundError"))
        for algorithm in ("AES256", "aws:kms"):
            by_default = {"SSEAlgorithm": algorithm}
            status, code, message = client_error(
                self, self.alice.put_bucket_encryption, Bucket=b,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": by_default}]})
            self.assertEqual((status, code), (501, "NotImplemented"), algorithm)
            self.assertIn("thumbflow does not implement PutBucketEncryption", message)
            self.assertIn("unencrypted", message)
        status, code, _ = client_error(self, self.alice.get_bucket_encryption, Bucket=b)
        self.assertEqual((status, code), (404, "ServerSideEncryptionConfigurationNotFoundError"))
        out = self.alice.delete_bucket_encryption(Bucket=b)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        # A malformed document is MalformedXML first.
        client = self.s.client_as("alice")
        replace_body(client, "PutBucketEncryption", b"<ServerSideEncryptionConfiguration>")
        status, code, _ = client_error(
            self, client.put_bucket_encryption, Bucket=b,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        self.assertEqual((status, code), (400, "MalformedXML"))
        self.denied(self.bob.get_bucket_encryption, Bucket=b)
        proc = self.s.aws_as("alice", "s3api", "get-bucket-encryption", "--bucket", b,
                             check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("ServerSideEncryptionConfigurationNotFoundError", proc.stderr)


class S3PublicAccessBlockTest(AclTestCase):
    def test_put_get_delete(self):
        b = "cfg-pab"
        self.alice.create_bucket(Bucket=b)
        status, code, _ = client_error(self, self.alice.get_public_access_block, Bucket=b)
        self.assertEqual((status, code), (404, "NoSuchPublicAccessBlockConfiguration"))
        conf = block(BlockPublicAcls=True, RestrictPublicBuckets=True)
        out = self.alice.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=conf)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.alice.get_public_access_block(Bucket=b)
                         ["PublicAccessBlockConfiguration"], conf)
        cli = json.loads(self.s.aws_as("alice", "s3api", "get-public-access-block", "--bucket",
                                       b).stdout)
        self.assertEqual(cli["PublicAccessBlockConfiguration"], conf)
        self.denied(self.bob.get_public_access_block, Bucket=b)
        self.denied(self.bob.delete_public_access_block, Bucket=b)
        client = self.s.client_as("alice")
        replace_body(client, "PutPublicAccessBlock",
                     b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls>"
                     b"</PublicAccessBlockConfiguration>")
        status, code, _ = client_error(self, client.put_public_access_block, Bucket=b,
                                       PublicAccessBlockConfiguration=conf)
        self.assertEqual((status, code), (400, "MalformedXML"))
        out = self.alice.delete_public_access_block(Bucket=b)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        status, code, _ = client_error(self, self.alice.get_public_access_block, Bucket=b)
        self.assertEqual((status, code), (404, "NoSuchPublicAccessBlockConfiguration"))

    def test_block_public_acls_refuses_public_acls_on_every_write(self):
        b = "cfg-pab-acls"
        self.alice.create_bucket(Bucket=b)
        self.alice.put_object(Bucket=b, Key="src", Body=b"src")
        self.alice.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=block(
            BlockPublicAcls=True))
        for acl in ("public-read", "public-read-write", "authenticated-read"):
            self.denied(self.alice.put_bucket_acl, Bucket=b, ACL=acl)
            self.denied(self.alice.put_object, Bucket=b, Key=f"put-{acl}", Body=b"x", ACL=acl)
            self.denied(self.alice.copy_object, Bucket=b, Key=f"copy-{acl}", ACL=acl,
                        CopySource={"Bucket": b, "Key": "src"})
            self.denied(self.alice.create_multipart_upload, Bucket=b, Key=f"mp-{acl}", ACL=acl)
            self.denied(self.alice.put_object_acl, Bucket=b, Key="src", ACL=acl)
            status, _, _ = client_error(self, self.alice.head_object, Bucket=b, Key=f"put-{acl}")
            self.assertEqual(status, 404, acl)
        self.denied(self.alice.put_object, Bucket=b, Key="grant", Body=b"x",
                    GrantRead=f'uri="{ALL_USERS}"')
        self.assertEqual(self.alice.list_multipart_uploads(Bucket=b).get("Uploads", []), [])
        # A form upload's acl field too.
        import requests

        def post(key, acl):
            form = self.alice.generate_presigned_post(b, key, Fields={"acl": acl},
                                                      Conditions=[{"acl": acl}], ExpiresIn=300)
            return requests.post(form["url"], data=form["fields"],
                                 files={"file": ("f.txt", b"from a form")}, timeout=30)

        refused = post("form-public", "public-read")
        self.assertEqual(refused.status_code, 403, refused.text)
        self.assertIn("<Code>AccessDenied</Code>", refused.text)
        self.assertEqual(post("form-private", "private").status_code, 204)
        status, _, _ = client_error(self, self.alice.head_object, Bucket=b, Key="form-public")
        self.assertEqual(status, 404)
        self.alice.put_object(Bucket=b, Key="private", Body=b"x", ACL="private")
        self.alice.put_bucket_acl(Bucket=b, ACL="private")
        self.alice.put_object_acl(Bucket=b, Key="src", ACL="bucket-owner-full-control")
        # The block lifted, the same ACL is taken.
        self.alice.delete_public_access_block(Bucket=b)
        self.alice.put_object(Bucket=b, Key="public", Body=b"x", ACL="public-read")
        self.assertEqual(self.anon.get_object(Bucket=b, Key="public")["Body"].read(), b"x")

    def test_ignore_public_acls_stops_public_grants_from_granting(self):
        b = "cfg-pab-ignore"
        self.alice.create_bucket(Bucket=b, ACL="public-read")
        self.alice.put_object(Bucket=b, Key="k", Body=b"public", ACL="public-read")
        self.alice.put_object(Bucket=b, Key="auth", Body=b"auth", ACL="authenticated-read")
        self.anon.list_objects(Bucket=b)
        self.assertEqual(self.anon.get_object(Bucket=b, Key="k")["Body"].read(), b"public")
        self.assertEqual(self.bob.get_object(Bucket=b, Key="auth")["Body"].read(), b"auth")
        self.alice.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=block(
            IgnorePublicAcls=True))
        # Public ACLs may still be put (BlockPublicAcls is off) but grant nothing.
        self.alice.put_bucket_acl(Bucket=b, ACL="public-read")
        for client in (self.anon, self.bob):
            self.denied(client.list_objects, Bucket=b)
            self.denied(client.get_object, Bucket=b, Key="k")
        self.denied(self.bob.get_object, Bucket=b, Key="auth")
        self.assertEqual(self.alice.get_object(Bucket=b, Key="k")["Body"].read(), b"public")
        self.alice.delete_public_access_block(Bucket=b)
        self.assertEqual(self.anon.get_object(Bucket=b, Key="k")["Body"].read(), b"public")

    def test_block_public_policy_and_restrict_public_buckets(self):
        b = "cfg-pab-policy"
        self.alice.create_bucket(Bucket=b)
        self.alice.put_object(Bucket=b, Key="k", Body=b"bytes")
        public = policy(allow("*", "s3:GetObject", f"arn:aws:s3:::{b}/*"))
        to_bob = policy(allow({"AWS": "bob"}, "s3:GetObject", f"arn:aws:s3:::{b}/*"))
        self.alice.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=block(
            BlockPublicPolicy=True))
        self.denied(self.alice.put_bucket_policy, Bucket=b, Policy=public)
        status, code, _ = client_error(self, self.alice.get_bucket_policy, Bucket=b)
        self.assertEqual((status, code), (404, "NoSuchBucketPolicy"))
        self.alice.put_bucket_policy(Bucket=b, Policy=to_bob)  # names an account: not public
        self.assertEqual(self.bob.get_object(Bucket=b, Key="k")["Body"].read(), b"bytes")
        # A public policy put before the block: RestrictPublicBuckets keeps it to the owner.
        self.alice.delete_public_access_block(Bucket=b)
        self.alice.put_bucket_policy(Bucket=b, Policy=public)
        self.assertEqual(self.anon.get_object(Bucket=b, Key="k")["Body"].read(), b"bytes")
        self.alice.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=block(
            RestrictPublicBuckets=True))
        self.denied(self.anon.get_object, Bucket=b, Key="k")
        self.denied(self.bob.get_object, Bucket=b, Key="k")
        self.assertEqual(self.alice.get_object(Bucket=b, Key="k")["Body"].read(), b"bytes")


class S3BucketConfigRestartTest(unittest.TestCase):
    def test_tags_and_public_access_block_survive_a_restart(self):
        first = AclServe()
        try:
            alice = first.client_as("alice")
            alice.create_bucket(Bucket="cfg-kept", ACL="public-read")
            alice.put_object(Bucket="cfg-kept", Key="k", Body=b"x", ACL="public-read")
            alice.put_bucket_tagging(Bucket="cfg-kept", Tagging=tagset([("kept", "yes")]))
            alice.put_public_access_block(Bucket="cfg-kept", PublicAccessBlockConfiguration=block(
                IgnorePublicAcls=True, BlockPublicAcls=True))
        finally:
            first.stop_cleanly()
        second = AclServe(data_dir=first.data)
        try:
            alice = second.client_as("alice")
            self.assertEqual(alice.get_bucket_tagging(Bucket="cfg-kept")["TagSet"],
                             [{"Key": "kept", "Value": "yes"}])
            self.assertEqual(alice.get_public_access_block(Bucket="cfg-kept")
                             ["PublicAccessBlockConfiguration"],
                             block(IgnorePublicAcls=True, BlockPublicAcls=True))
            status, code, _ = client_error(self, second.unsigned().get_object, Bucket="cfg-kept",
                                           Key="k")
            self.assertEqual((status, code), (403, "AccessDenied"))
            status, code, _ = client_error(self, alice.put_object_acl, Bucket="cfg-kept", Key="k",
                                           ACL="public-read-write")
            self.assertEqual((status, code), (403, "AccessDenied"))
        finally:
            second.stop_cleanly()


if __name__ == "__main__":
    unittest.main()
