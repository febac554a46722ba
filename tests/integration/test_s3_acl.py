"""S3 access control lists on the embedded endpoint: `thumbflow serve` with alice and bob in
[[server.users]] (each with an email address), driven by boto3 (signed as each user, and
unsigned: Config(signature_version=botocore.UNSIGNED)) and the aws CLI v1.

What S3 answers was taken from the S3 API reference (ACLs enabled, object ownership
"ObjectWriter"): canned ACLs and x-amz-grant-* headers become the grants GetBucketAcl /
GetObjectAcl return; READ on a bucket lists it, WRITE writes into it, READ on an object reads
it; AllUsers grants are what let an unsigned request through; an unknown grantee id is 400
InvalidArgument, an unknown email 400 UnresolvableGrantByEmailAddress, a bad document 400
MalformedACLError.
"""
import json
import os
import unittest

import harness
from test_s3_exact import client_error
from test_s3_users import USERS, UsersServe

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

CONFIG = '[server]\nregion = "us-east-1"\nemail = "first@example.com"\n\n' + "".join(
    f'[[server.users]]\nname = "{name}"\naccess_key_id = "{key}"\n'
    f'secret_access_key = "{secret}"\nemail = "{name}@example.com"\n\n'
    for name, (key, secret) in USERS.items())


class AclServe(UsersServe):
    """UsersServe (the "serve" fixture) with each user's email address in the config."""

    def __init__(self, data_dir=None):
        super().__init__(data_dir=data_dir, config_text=CONFIG, name="serve-acl")

    def unsigned(self):
        import botocore
        return harness.boto3_client("s3", self.endpoint, region=self.region,
                                    signature_version=botocore.UNSIGNED,
                                    retries={"max_attempts": 1})


def grants(acl):
    """The grants of a Get*Acl answer as (ID or URI, permission), in order."""
    return [(g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"])
            for g in acl["Grants"]]


class AclTestCase(unittest.TestCase):
    """An AclServe shared by the class, with clients as alice, bob and unsigned."""

    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.s = AclServe()
        cls.alice = cls.s.client_as("alice")
        cls.bob = cls.s.client_as("bob")
        cls.anon = cls.s.unsigned()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def denied(self, call, *args, **kwargs):
        status, code, _ = client_error(self, call, *args, **kwargs)
        self.assertEqual((status, code), (403, "AccessDenied"), call)


class S3AclTest(AclTestCase):
    def test_a_multipart_upload_is_listed_with_the_user_who_started_it(self):
        # ListMultipartUploads and ListParts name the upload's initiator as its Initiator and
        # Owner (the object's writer, with ObjectWriter ownership), not the caller.
        self.alice.create_bucket(Bucket="alice-shared-uploads")
        self.alice.put_bucket_acl(Bucket="alice-shared-uploads", ACL="public-read-write")
        mine = self.alice.create_multipart_upload(Bucket="alice-shared-uploads",
                                                  Key="a")["UploadId"]
        bobs = self.bob.create_multipart_upload(Bucket="alice-shared-uploads",
                                                Key="b")["UploadId"]
        for client in (self.alice, self.bob):
            uploads = client.list_multipart_uploads(Bucket="alice-shared-uploads")["Uploads"]
            self.assertEqual([(u["Key"], u["UploadId"], u["Initiator"]["ID"], u["Owner"]["ID"],
                               u["Owner"]["DisplayName"]) for u in uploads],
                             [("a", mine, "alice", "alice", "alice"),
                              ("b", bobs, "bob", "bob", "bob")])
            parts = client.list_parts(Bucket="alice-shared-uploads", Key="b", UploadId=bobs)
            self.assertEqual((parts["Initiator"]["ID"], parts["Owner"]["ID"]), ("bob", "bob"))

    def test_without_a_grant_anonymous_and_other_users_are_denied(self):
        self.alice.create_bucket(Bucket="alice-private")
        self.alice.put_object(Bucket="alice-private", Key="k", Body=b"alice's")
        for client in (self.anon, self.bob):
            self.denied(client.get_object, Bucket="alice-private", Key="k")
            self.denied(client.put_object, Bucket="alice-private", Key="k", Body=b"x")
            self.denied(client.list_objects_v2, Bucket="alice-private")
            self.denied(client.get_bucket_acl, Bucket="alice-private")
            self.denied(client.put_bucket_acl, Bucket="alice-private", ACL="public-read")
            self.denied(client.put_object_acl, Bucket="alice-private", Key="k", ACL="public-read")
        self.denied(self.anon.list_buckets)
        # A wrong signature is refused even where an unsigned request would pass.
        self.alice.put_object(Bucket="alice-private", Key="pub", Body=b"p", ACL="public-read")
        self.assertEqual(self.anon.get_object(Bucket="alice-private", Key="pub")["Body"].read(),
                         b"p")
        forged = self.s.client(secret="not-the-secret")
        status, code, _ = client_error(self, forged.get_object, Bucket="alice-private", Key="pub")
        self.assertEqual((status, code), (403, "SignatureDoesNotMatch"))
        self.assertEqual(self.alice.get_object(Bucket="alice-private", Key="k")["Body"].read(),
                         b"alice's")

    def test_canned_acls_with_the_aws_cli_and_unsigned_boto3(self):
        self.s.aws_as("alice", "s3api", "create-bucket", "--bucket", "alice-public",
                      "--acl", "public-read")
        acl = json.loads(self.s.aws_as("alice", "s3api", "get-bucket-acl", "--bucket",
                                       "alice-public").stdout)
        self.assertEqual(grants(acl), [(ALL_USERS, "READ"), ("alice", "FULL_CONTROL")])
        self.assertEqual(acl["Owner"], {"ID": "alice", "DisplayName": "alice"})
        path = os.path.join(self.s.tmp, "upload.txt")
        with open(path, "wb") as f:
            f.write(b"for everyone")
        self.s.aws_as("alice", "s3", "cp", path, "s3://alice-public/open.txt",
                      "--acl", "public-read")
        self.s.aws_as("alice", "s3", "cp", path, "s3://alice-public/closed.txt")
        # AllUsers READ on the bucket lists it; on the object reads it; nothing writes.
        listed = self.anon.list_objects_v2(Bucket="alice-public")
        self.assertEqual([o["Key"] for o in listed["Contents"]], ["closed.txt", "open.txt"])
        self.assertEqual(self.anon.get_object(Bucket="alice-public", Key="open.txt")["Body"].read(),
                         b"for everyone")
        self.assertEqual(self.anon.head_object(Bucket="alice-public", Key="open.txt")
                         ["ContentLength"], 12)
        self.denied(self.anon.get_object, Bucket="alice-public", Key="closed.txt")
        self.denied(self.anon.put_object, Bucket="alice-public", Key="open.txt", Body=b"defaced")
        self.denied(self.anon.delete_object, Bucket="alice-public", Key="open.txt")
        self.denied(self.bob.put_object, Bucket="alice-public", Key="bob.txt", Body=b"x")
        self.assertEqual(self.bob.get_object(Bucket="alice-public", Key="open.txt")["Body"].read(),
                         b"for everyone")
        # public-read-write: anonymous uploads (owned by the bucket's owner) and a form upload
        # without a policy.
        self.alice.put_bucket_acl(Bucket="alice-public", ACL="public-read-write")
        self.anon.put_object(Bucket="alice-public", Key="anon.txt", Body=b"anonymous")
        self.assertEqual(self.alice.get_object_acl(Bucket="alice-public", Key="anon.txt")["Owner"]
                         ["ID"], "alice")
        import requests
        posted = requests.post(f"{self.s.endpoint}/alice-public",
                               files={"key": (None, "form.txt"), "acl": (None, "public-read"),
                                      "file": ("form.txt", b"posted")}, timeout=30)
        self.assertEqual(posted.status_code, 204, posted.text)
        self.assertEqual(self.anon.get_object(Bucket="alice-public", Key="form.txt")["Body"].read(),
                         b"posted")
        # Writing objects is not owning the bucket.
        self.denied(self.anon.delete_bucket, Bucket="alice-public")
        self.denied(self.bob.delete_bucket, Bucket="alice-public")
        self.denied(self.anon.put_bucket_acl, Bucket="alice-public", ACL="private")

    def test_grants_by_id_email_and_document(self):
        self.alice.create_bucket(Bucket="alice-shared")
        self.alice.put_object(Bucket="alice-shared", Key="k", Body=b"shared")
        self.denied(self.bob.get_object, Bucket="alice-shared", Key="k")
        self.alice.put_object_acl(Bucket="alice-shared", Key="k", GrantRead='id="bob"',
                                  GrantFullControl='id="alice"')
        self.assertEqual(self.bob.get_object(Bucket="alice-shared", Key="k")["Body"].read(),
                         b"shared")
        self.assertEqual(grants(self.alice.get_object_acl(Bucket="alice-shared", Key="k")),
                         [("bob", "READ"), ("alice", "FULL_CONTROL")])
        # By email address, with the aws CLI.
        self.s.aws_as("alice", "s3api", "put-bucket-acl", "--bucket", "alice-shared",
                      "--grant-read", "emailAddress=bob@example.com",
                      "--grant-full-control", "id=alice")
        self.assertEqual([o["Key"] for o in
                          self.bob.list_objects_v2(Bucket="alice-shared")["Contents"]], ["k"])
        self.denied(self.bob.put_object, Bucket="alice-shared", Key="b", Body=b"x")
        # An AccessControlPolicy document: bob may write, AuthenticatedUsers read.
        policy = self.alice.get_bucket_acl(Bucket="alice-shared")
        policy = {"Owner": policy["Owner"], "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": "alice"}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": "bob"}, "Permission": "WRITE"},
            {"Grantee": {"Type": "Group", "URI": AUTHENTICATED}, "Permission": "READ"}]}
        self.alice.put_bucket_acl(Bucket="alice-shared", AccessControlPolicy=policy)
        self.bob.put_object(Bucket="alice-shared", Key="from-bob", Body=b"bob's")
        self.assertEqual(self.bob.get_object_acl(Bucket="alice-shared", Key="from-bob")["Owner"]
                         ["ID"], "bob")
        self.denied(self.anon.list_objects_v2, Bucket="alice-shared")
        # Grantees that do not exist and documents that do not parse.
        for kwargs, expected in (
                ({"GrantRead": 'id="carol"'}, (400, "InvalidArgument")),
                ({"GrantRead": 'emailAddress="carol@example.com"'},
                 (400, "UnresolvableGrantByEmailAddress")),
                ({"AccessControlPolicy": {"Owner": policy["Owner"], "Grants": [
                    {"Grantee": {"Type": "CanonicalUser", "ID": "carol"},
                     "Permission": "READ"}]}}, (400, "InvalidArgument")),
                ({"AccessControlPolicy": {"Owner": policy["Owner"], "Grants": [
                    {"Grantee": {"Type": "CanonicalUser", "ID": "bob"},
                     "Permission": "EVERYTHING"}]}}, (400, "MalformedACLError"))):
            status, code, _ = client_error(self, self.alice.put_bucket_acl,
                                           Bucket="alice-shared", **kwargs)
            self.assertEqual((status, code), expected, kwargs)
        proc = self.s.aws_as("alice", "s3api", "put-object-acl", "--bucket", "alice-shared",
                             "--key", "k", "--acl", "private", "--grant-read", "id=bob",
                             check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("InvalidRequest", proc.stderr)
        self.assertEqual(len(self.alice.get_bucket_acl(Bucket="alice-shared")["Grants"]), 3)

    def test_copies_get_their_own_acl(self):
        self.alice.create_bucket(Bucket="alice-copies")
        self.alice.put_object(Bucket="alice-copies", Key="src", Body=b"src", ACL="public-read")
        self.alice.copy_object(Bucket="alice-copies", Key="plain",
                               CopySource={"Bucket": "alice-copies", "Key": "src"})
        self.denied(self.anon.get_object, Bucket="alice-copies", Key="plain")
        self.s.aws_as("alice", "s3", "cp", "s3://alice-copies/src", "s3://alice-copies/open",
                      "--acl", "public-read")
        self.assertEqual(self.anon.get_object(Bucket="alice-copies", Key="open")["Body"].read(),
                         b"src")
        self.bob.create_bucket(Bucket="bob-copies")
        self.bob.copy_object(Bucket="bob-copies", Key="mine",
                             CopySource={"Bucket": "alice-copies", "Key": "src"})
        self.denied(self.bob.copy_object, Bucket="bob-copies", Key="not-mine",
                    CopySource={"Bucket": "alice-copies", "Key": "plain"})


class S3AclPersistsTest(unittest.TestCase):
    def test_grants_survive_a_restart(self):
        harness.require_tool("aws")
        s = AclServe()
        data = s.data
        alice = s.client_as("alice")
        alice.create_bucket(Bucket="kept-acl", ACL="public-read")
        alice.put_object(Bucket="kept-acl", Key="k", Body=b"v", GrantRead='id="bob"')
        s.stop_cleanly()
        s = AclServe(data_dir=data)
        try:
            self.assertEqual(s.client_as("bob").get_object(Bucket="kept-acl", Key="k")["Body"]
                             .read(), b"v")
            self.assertEqual(grants(s.client_as("alice").get_bucket_acl(Bucket="kept-acl")),
                             [(ALL_USERS, "READ"), ("alice", "FULL_CONTROL")])
            self.assertEqual(len(s.unsigned().list_objects_v2(Bucket="kept-acl")["Contents"]), 1)
        finally:
            s.stop_cleanly()


if __name__ == "__main__":
    unittest.main()
