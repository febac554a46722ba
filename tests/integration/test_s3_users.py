"""Several users on one embedded S3 endpoint (issue 12 item 6): `thumbflow serve` with
[[server.users]] beside its first key pair, driven by boto3 and the aws CLI v1 as three users.

What S3 answers was taken from the S3 API reference: BucketAlreadyExists for a name another
account holds; BucketAlreadyOwnedByYou for one's own, except in us-east-1 where S3 answers
200 for legacy compatibility; AccessDenied for another account's bucket; InvalidBucketName
for the bucket naming rules.
"""
import json
import os
import unittest

import harness
from test_s3_endpoint import ACCESS_KEY, SECRET_KEY, ServeFixture
from test_s3_exact import client_error

USERS = {
    "alice": ("AKALICE0000000000001", "alice-secret-0123456789abcdefghijklmnop"),
    "bob": ("AKBOB00000000000002", "bob-secret-0123456789abcdefghijklmnopqr"),
}

USERS_TOML = "".join(
    f'[[server.users]]\nname = "{name}"\naccess_key_id = "{key}"\n'
    f'secret_access_key = "{secret}"\n\n' for name, (key, secret) in USERS.items())


def write_config(folder, text):
    path = os.path.join(folder, "thumbflow.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


class UsersServe(ServeFixture):
    """A serve whose config adds alice and bob to the first user (the fixture's key)."""

    def __init__(self, region="us-east-1", data_dir=None, public=("images/public/",),
                 config_text=None, name="serve-users"):
        """`config_text`, when given, is the whole config instead (its region: `region`)."""
        import tempfile
        folder = tempfile.mkdtemp(prefix="tf-users-cfg-")
        prefixes = ", ".join(f'"{p}"' for p in public)
        config = write_config(folder, config_text or f'[server]\nregion = "{region}"\n'
                              f"public_read_prefixes = [{prefixes}]\n\n" + USERS_TOML)
        self.region = region
        super().__init__(data_dir=data_dir, extra_args=("--config", config), name=name)

    def client_as(self, user, **config):
        key, secret = USERS[user] if user in USERS else (ACCESS_KEY, SECRET_KEY)
        return harness.boto3_client("s3", self.endpoint, key, secret, region=self.region,
                                    signature_version="s3v4", retries={"max_attempts": 1},
                                    **config)

    def aws_as(self, user, *args, check=True):
        key, secret = USERS[user]
        saved = dict(self.env)
        creds = os.path.join(self.tmp, f"aws-credentials-{user}")
        with open(creds, "w") as f:
            f.write(f"[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = creds
        try:
            return self.aws(*args, check=check)
        finally:
            self.env = saved


def bucket_names(client):
    listed = client.list_buckets()
    return [b["Name"] for b in listed["Buckets"]], listed["Owner"]


class S3UsersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.s = UsersServe()
        cls.first = cls.s.client_as("thumbflow")
        cls.alice = cls.s.client_as("alice")
        cls.bob = cls.s.client_as("bob")
        cls.alice.create_bucket(Bucket="alice-photos")
        cls.bob.create_bucket(Bucket="bob-photos")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def test_each_user_lists_only_its_own_buckets_with_its_owner(self):
        names, owner = bucket_names(self.first)
        self.assertIn("images", names)
        self.assertNotIn("alice-photos", names)
        self.assertNotIn("bob-photos", names)
        self.assertEqual(owner, {"ID": "thumbflow", "DisplayName": "thumbflow"})
        self.assertEqual(bucket_names(self.alice),
                         (["alice-photos"], {"ID": "alice", "DisplayName": "alice"}))
        self.assertEqual(bucket_names(self.bob)[0], ["bob-photos"])
        listing = self.s.aws_as("alice", "s3", "ls").stdout
        self.assertIn("alice-photos", listing)
        self.assertNotIn("images", listing)
        self.assertNotIn("bob-photos", listing)

    def test_another_users_bucket_is_access_denied_and_unchanged(self):
        self.alice.put_object(Bucket="alice-photos", Key="mine.txt", Body=b"alice's")
        calls = {
            "GetObject": lambda: self.bob.get_object(Bucket="alice-photos", Key="mine.txt"),
            "PutObject": lambda: self.bob.put_object(Bucket="alice-photos", Key="mine.txt",
                                                     Body=b"bob's"),
            "DeleteObject": lambda: self.bob.delete_object(Bucket="alice-photos", Key="mine.txt"),
            "DeleteObjects": lambda: self.bob.delete_objects(
                Bucket="alice-photos", Delete={"Objects": [{"Key": "mine.txt"}]}),
            "ListObjectsV2": lambda: self.bob.list_objects_v2(Bucket="alice-photos"),
            "DeleteBucket": lambda: self.first.delete_bucket(Bucket="alice-photos"),
            "GetBucketAcl": lambda: self.first.get_bucket_acl(Bucket="alice-photos"),
            "CreateMultipartUpload": lambda: self.bob.create_multipart_upload(
                Bucket="alice-photos", Key="mp"),
            "GetObject images": lambda: self.alice.get_object(Bucket="images", Key="x"),
        }
        for name, call in calls.items():
            status, code, _ = client_error(self, call)
            self.assertEqual((status, code), (403, "AccessDenied"), name)
        status, _, _ = client_error(self, self.bob.head_bucket, Bucket="alice-photos")
        self.assertEqual(status, 403)
        body = self.alice.get_object(Bucket="alice-photos", Key="mine.txt")["Body"].read()
        self.assertEqual(body, b"alice's")
        proc = self.s.aws_as("bob", "s3", "cp", "s3://alice-photos/mine.txt", "-", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("403", proc.stderr)
        proc = self.s.aws_as("bob", "s3", "ls", "s3://alice-photos/", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("AccessDenied", proc.stderr)

    def test_expected_bucket_owner_guards_requests_and_copy_sources(self):
        """x-amz-expected-bucket-owner (and -source- for a copy's source): a bucket owned by
        another account than the one expected is 403 AccessDenied and nothing changes."""
        self.alice.put_object(Bucket="alice-photos", Key="owned.txt", Body=b"v1",
                              ExpectedBucketOwner="alice")
        self.assertEqual(self.alice.get_object(Bucket="alice-photos", Key="owned.txt",
                                               ExpectedBucketOwner="alice")["Body"].read(), b"v1")
        calls = {
            "PutObject": lambda: self.alice.put_object(Bucket="alice-photos", Key="owned.txt",
                                                       Body=b"v2", ExpectedBucketOwner="bob"),
            "GetObject": lambda: self.alice.get_object(Bucket="alice-photos", Key="owned.txt",
                                                       ExpectedBucketOwner="alice-x"),
            "ListObjectsV2": lambda: self.alice.list_objects_v2(Bucket="alice-photos",
                                                                ExpectedBucketOwner="bob"),
            "DeleteObject": lambda: self.alice.delete_object(Bucket="alice-photos",
                                                             Key="owned.txt",
                                                             ExpectedBucketOwner="bob"),
            "CopyObject source": lambda: self.alice.copy_object(
                Bucket="alice-photos", Key="copy.txt",
                CopySource={"Bucket": "alice-photos", "Key": "owned.txt"},
                ExpectedSourceBucketOwner="bob"),
        }
        for name, call in calls.items():
            status, code, _ = client_error(self, call)
            self.assertEqual((status, code), (403, "AccessDenied"), name)
        self.assertEqual(self.alice.get_object(Bucket="alice-photos",
                                               Key="owned.txt")["Body"].read(), b"v1")
        status, _, _ = client_error(self, self.alice.head_object, Bucket="alice-photos",
                                    Key="copy.txt")
        self.assertEqual(status, 404)
        self.alice.copy_object(Bucket="alice-photos", Key="copy.txt",
                               CopySource={"Bucket": "alice-photos", "Key": "owned.txt"},
                               ExpectedBucketOwner="alice", ExpectedSourceBucketOwner="alice")
        self.alice.delete_object(Bucket="alice-photos", Key="copy.txt")

    def test_public_read_prefix_is_readable_by_every_user_and_copyable(self):
        self.first.put_object(Bucket="images", Key="public/shared.txt", Body=b"for all")
        self.first.put_object(Bucket="images", Key="private.txt", Body=b"mine")
        got = self.bob.get_object(Bucket="images", Key="public/shared.txt")
        self.assertEqual(got["Body"].read(), b"for all")
        self.bob.copy_object(Bucket="bob-photos", Key="copied.txt",
                             CopySource={"Bucket": "images", "Key": "public/shared.txt"})
        self.assertEqual(self.bob.get_object(Bucket="bob-photos", Key="copied.txt")["Body"].read(),
                         b"for all")
        status, code, _ = client_error(self, self.bob.copy_object, Bucket="bob-photos",
                                       Key="stolen.txt",
                                       CopySource={"Bucket": "images", "Key": "private.txt"})
        self.assertEqual((status, code), (403, "AccessDenied"))
        status, code, _ = client_error(self, self.bob.put_object, Bucket="images",
                                       Key="public/shared.txt", Body=b"defaced")
        self.assertEqual((status, code), (403, "AccessDenied"))

    def test_create_bucket_of_a_taken_name(self):
        for client, name in ((self.bob, "alice-photos"), (self.alice, "images")):
            status, code, _ = client_error(self, client.create_bucket, Bucket=name)
            self.assertEqual((status, code), (409, "BucketAlreadyExists"), name)
        # Its own again: 200 in us-east-1, as S3 answers there.
        self.alice.create_bucket(Bucket="alice-photos")
        proc = self.s.aws_as("bob", "s3", "mb", "s3://alice-photos", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("BucketAlreadyExists", proc.stderr)

    def test_acls_name_the_real_owner_with_full_control(self):
        self.alice.put_object(Bucket="alice-photos", Key="acl.txt", Body=b"x")
        for acl in (self.alice.get_bucket_acl(Bucket="alice-photos"),
                    self.alice.get_object_acl(Bucket="alice-photos", Key="acl.txt")):
            self.assertEqual(acl["Owner"], {"ID": "alice", "DisplayName": "alice"})
            self.assertEqual(acl["Grants"], [{"Grantee": {"ID": "alice", "DisplayName": "alice",
                                                          "Type": "CanonicalUser"},
                                              "Permission": "FULL_CONTROL"}])
        out = json.loads(self.s.aws_as("alice", "s3api", "get-bucket-acl", "--bucket",
                                       "alice-photos").stdout)
        self.assertEqual(out["Owner"]["ID"], "alice")
        listed = self.alice.list_objects(Bucket="alice-photos")["Contents"]
        self.assertEqual({o["Owner"]["ID"] for o in listed}, {"alice"})
        v2 = self.alice.list_objects_v2(Bucket="alice-photos", FetchOwner=True)["Contents"]
        self.assertEqual({o["Owner"]["DisplayName"] for o in v2}, {"alice"})
        self.assertNotIn("Owner", self.alice.list_objects_v2(Bucket="alice-photos")["Contents"][0])

    def test_bucket_names_are_validated_as_s3_does(self):
        for name in ("foo-.bar", "foo.-bar", "xn--bucket", "sthree-bucket", "bucket-s3alias",
                     "bucket--ol-s3", "192.168.5.4", "a..b"):
            status, code, _ = client_error(self, self.alice.create_bucket, Bucket=name)
            self.assertEqual((status, code), (400, "InvalidBucketName"), name)
        proc = self.s.aws_as("alice", "s3", "mb", "s3://foo-.bar", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("InvalidBucketName", proc.stderr)
        self.assertEqual(bucket_names(self.alice)[0], ["alice-photos"])


class S3UsersOwnershipPersistsTest(unittest.TestCase):
    """Owners are kept with the buckets: a restarted serve (same data folder) still knows
    them; outside us-east-1 one's own bucket again is BucketAlreadyOwnedByYou."""

    def test_owners_survive_a_restart_and_other_regions_answer_owned_by_you(self):
        harness.require_tool("aws")
        s = UsersServe()
        data = s.data
        s.client_as("alice").create_bucket(Bucket="kept-by-alice")
        s.stop_cleanly()
        s = UsersServe(region="eu-west-1", data_dir=data)
        try:
            alice, bob = s.client_as("alice"), s.client_as("bob")
            self.assertEqual(bucket_names(alice)[0], ["kept-by-alice"])
            status, code, _ = client_error(self, alice.create_bucket, Bucket="kept-by-alice",
                                           CreateBucketConfiguration={
                                               "LocationConstraint": "eu-west-1"})
            self.assertEqual((status, code), (409, "BucketAlreadyOwnedByYou"))
            status, code, _ = client_error(self, bob.create_bucket, Bucket="kept-by-alice",
                                           CreateBucketConfiguration={
                                               "LocationConstraint": "eu-west-1"})
            self.assertEqual((status, code), (409, "BucketAlreadyExists"))
            status, code, _ = client_error(self, bob.list_objects_v2, Bucket="kept-by-alice")
            self.assertEqual((status, code), (403, "AccessDenied"))
        finally:
            s.stop_cleanly()


class S3UsersConfigErrorsTest(unittest.TestCase):
    """A bad [[server.users]] entry stops serve before it listens, naming the field."""

    def run_serve(self, config_text, env=None):
        import tempfile
        folder = tempfile.mkdtemp(prefix="tf-users-bad-")
        config = write_config(folder, config_text)
        proc = harness.run_thumbflow(
            ["serve", "--data", os.path.join(folder, "data"), "--listen",
             f"127.0.0.1:{harness.free_port()}", "--workers", "0", "--config", config],
            env=env, timeout=60)
        self.assertNotEqual(proc.returncode, 0, proc.stderr)
        return proc.stderr

    def test_bad_entries_name_the_field(self):
        alice = ('[[server.users]]\nname = "alice"\naccess_key_id = "AK1"\n'
                 'secret_access_key = "s"\n')
        cases = {
            '[[server.users]]\nname = "alice"\naccess_key_id = "AK1"\n':
                "server.users[0].secret_access_key: is required",
            alice + '[[server.users]]\nname = "bob"\naccess_key_id = "AK1"\n'
                    'secret_access_key = "t"\n':
                "server.users[1].access_key_id: duplicate of server.users[0].access_key_id",
            alice + '[[server.users]]\nname = "alice"\naccess_key_id = "AK2"\n'
                    'secret_access_key = "t"\n':
                "server.users[1].name: duplicate of server.users[0].name",
        }
        for text, expected in cases.items():
            self.assertIn(expected, self.run_serve(text))
        # The first user's key from the environment is taken too.
        stderr = self.run_serve(alice, env={"THUMBFLOW_ACCESS_KEY_ID": "AK1",
                                            "THUMBFLOW_SECRET_ACCESS_KEY": "x"})
        self.assertIn("server.users[0].access_key_id: duplicate of the first user's access key",
                      stderr)


if __name__ == "__main__":
    unittest.main()
