"""The AWS credential sources of thumbflow's chain (aws/credentials.h), each proven against
moto_server with IAM authentication switched on, so that moto checks every signature and
every permission: a request signed with the wrong keys fails.

  - web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): STS AssumeRoleWithWebIdentity
    (unsigned; moto lets exactly that first call through), then `thumbflow status
    --queue-url` signs its SQS calls with the role's temporary keys;
  - a profile with role_arn + source_profile: STS AssumeRole signed with the source profile's
    keys (an IAM user's), STS and SQS reached through --endpoint-url;
  - credential_process: a local script prints Version 1 JSON; with an Expiration inside the
    5-minute refresh window it is run again before the keys are used again (refresh), with a
    distant one once per command (cached); a failing process is an error naming it;
  - SSO: a cached token in ~/.aws/sso/cache/<sha1 of the session name>.json exchanged at a
    local HTTP server standing in for the SSO portal (AWS_ENDPOINT_URL_SSO), which checks the
    bearer token, account and role;
  - the negative control: moto refuses keys it does not know, so each test can fail.
"""
import hashlib
import http.server
import json
import os
import shutil
import stat
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request

import harness

ACCOUNT = "123456789012"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*", "Federated": "*"},
     "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}]})


class SsoPortal(http.server.BaseHTTPRequestHandler):
    """GET /federation/credentials?account_id=..&role_name=.. with x-amz-sso_bearer_token."""
    expected = {}
    answer = {}
    seen = []

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        token = self.headers.get("x-amz-sso_bearer_token")
        SsoPortal.seen.append((url.path, query, token))
        if (url.path != "/federation/credentials" or token != self.expected["token"] or
                query != {"account_id": self.expected["account"],
                          "role_name": self.expected["role"]}):
            body = json.dumps({"message": "Session token not found or invalid"}).encode()
            self.send_response(401)
        else:
            body = json.dumps({"roleCredentials": self.answer}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class CredentialSourcesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._moto = harness.moto_server()
        cls.endpoint, cls.moto_env = cls._moto.__enter__()
        iam = harness.boto3_client("iam", cls.endpoint)
        cls.role_arn = iam.create_role(RoleName="thumbflow-role",
                                       AssumeRolePolicyDocument=TRUST_ALL)["Role"]["Arn"]
        iam.put_role_policy(RoleName="thumbflow-role", PolicyName="all",
                            PolicyDocument=ALLOW_ALL)
        iam.create_user(UserName="operator")
        iam.put_user_policy(UserName="operator", PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        cls.user_key = (key["AccessKeyId"], key["SecretAccessKey"])
        sqs = harness.boto3_client("sqs", cls.endpoint)
        dlq_url = sqs.create_queue(QueueName="creds-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        cls.queue_url = sqs.create_queue(QueueName="creds", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": "3"})})["QueueUrl"]
        sqs.send_message(QueueUrl=dlq_url, MessageBody="dead")

    @classmethod
    def tearDownClass(cls):
        cls._moto.__exit__(None, None, None)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tf-creds-")
        # No credentials but what each test gives; HOME holds ~/.aws/sso/cache.
        self.env = {k: v for k, v in self.moto_env.items()
                    if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        self.env.update({"HOME": self.tmp,
                         "AWS_CONFIG_FILE": os.path.join(self.tmp, "config"),
                         "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.tmp, "credentials"),
                         "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                         "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
                         "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": ""})
        self.portal = None

    def tearDown(self):
        self.set_auth("inf")
        if self.portal:
            self.portal.shutdown()
            self.portal.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def set_auth(self, free_actions):
        """moto checks signatures and policies of every action after the next
        `free_actions` ("inf": never)."""
        req = urllib.request.Request(self.endpoint + "/moto-api/reset-auth",
                                     data=str(free_actions).encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

    def write(self, name, text, mode=None):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if mode:
            os.chmod(path, mode)
        return path

    def status(self, *extra, env=None):
        return harness.run_thumbflow(["status", "--queue-url", self.queue_url, *extra],
                                     env=env or self.env, timeout=120)

    def assert_status_ok(self, proc):
        self.assertEqual(proc.returncode, 0, f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        doc = json.loads(proc.stdout)
        self.assertEqual(doc["dlq"], 1, doc)

    def test_moto_refuses_unknown_keys(self):
        env = dict(self.env, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        self.set_auth(0)
        proc = self.status(env=env)
        self.assertEqual(proc.returncode, 1, proc.stdout)
        self.assertIn("access denied", proc.stderr)
        self.assertIn("HTTP 403", proc.stderr)
        # The IAM user's own keys pass.
        env = dict(self.env, AWS_ACCESS_KEY_ID=self.user_key[0],
                   AWS_SECRET_ACCESS_KEY=self.user_key[1])
        self.assert_status_ok(self.status(env=env))

    def test_web_identity(self):
        token = self.write("token", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl\n")
        env = dict(self.env, AWS_WEB_IDENTITY_TOKEN_FILE=token, AWS_ROLE_ARN=self.role_arn,
                   AWS_ROLE_SESSION_NAME="irsa-test")
        self.set_auth(1)  # AssumeRoleWithWebIdentity is unsigned; everything after is checked
        self.assert_status_ok(self.status(env=env))
        # Without the token file: an error naming the source, not a fall-through.
        os.remove(token)
        self.set_auth("inf")
        proc = self.status(env=env)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("web identity", proc.stderr)

    def test_role_with_source_profile(self):
        self.write("credentials", f"[base]\naws_access_key_id = {self.user_key[0]}\n"
                                  f"aws_secret_access_key = {self.user_key[1]}\n")
        self.write("config", f"[profile app]\nrole_arn = {self.role_arn}\nsource_profile = base\n"
                             "role_session_name = thumbflow-test\n")
        env = dict(self.env)
        del env["AWS_ENDPOINT_URL"]  # STS and SQS through --endpoint-url
        self.set_auth(0)
        self.assert_status_ok(self.status("--profile", "app", "--endpoint-url", self.endpoint,
                                          env=env))
        # Keys exported for another account do not displace the profile named on the command
        # line (moto would refuse these keys for AssumeRole).
        exported = dict(env, AWS_ACCESS_KEY_ID="AKIAEXPORTEDELSEWHERE", AWS_SECRET_ACCESS_KEY="x")
        self.assert_status_ok(self.status("--profile", "app", "--endpoint-url", self.endpoint,
                                          env=exported))
        # A source profile with keys moto does not know: AssumeRole is refused.
        self.write("credentials", "[base]\naws_access_key_id = AKIAUNKNOWN00000000\n"
                                  "aws_secret_access_key = wrong\n")
        proc = self.status("--profile", "app", "--endpoint-url", self.endpoint, env=env)
        self.assertEqual(proc.returncode, 1, proc.stdout)
        self.assertIn("AssumeRole", proc.stderr)

    def process_script(self, expiration):
        counter = os.path.join(self.tmp, "runs")
        return self.write("creds.sh", f"""#!/bin/sh
echo run >> {counter}
cat <<EOF
{{"Version": 1, "AccessKeyId": "{self.user_key[0]}", "SecretAccessKey": "{self.user_key[1]}",
 "Expiration": "$(date -u -d '{expiration}' +%Y-%m-%dT%H:%M:%SZ)"}}
EOF
""", mode=stat.S_IRWXU), counter

    def runs(self, counter):
        with open(counter) as f:
            return len(f.read().split())

    def test_credential_process_and_refresh(self):
        script, counter = self.process_script("+1 hour")
        self.write("config", f"[profile proc]\ncredential_process = {script} --arg\n"
                             "[profile broken]\ncredential_process = /bin/false\n")
        env = dict(self.env, AWS_PROFILE="proc")
        self.set_auth(0)
        self.assert_status_ok(self.status(env=env))
        # status makes 3 signed calls (the queue's attributes, the DLQ's URL, both depths):
        # one run serves them all while the keys are far from expiry.
        self.assertEqual(self.runs(counter), 1)
        # Expiring in 2 minutes, inside the 5-minute refresh window: fetched again before
        # every use, never used past the window.
        os.remove(counter)
        self.process_script("+2 minutes")
        self.assert_status_ok(self.status(env=env))
        self.assertGreaterEqual(self.runs(counter), 3)
        proc = self.status(env=dict(env, AWS_PROFILE="broken"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("credential_process /bin/false exited with status 1", proc.stderr)

    def start_portal(self):
        self.portal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SsoPortal)
        threading.Thread(target=self.portal.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.portal.server_address[1]}"

    def test_sso_cached_token(self):
        SsoPortal.expected = {"token": "sso-access-token", "account": ACCOUNT,
                              "role": "Deployer"}
        SsoPortal.answer = {"accessKeyId": self.user_key[0],
                            "secretAccessKey": self.user_key[1],
                            "expiration": 4_102_444_800_000}  # 2100-01-01
        SsoPortal.seen = []
        portal = self.start_portal()
        self.write("config", "[profile sso]\nsso_session = corp\n"
                             f"sso_account_id = {ACCOUNT}\nsso_role_name = Deployer\n"
                             "[sso-session corp]\n"
                             "sso_start_url = https://corp.awsapps.com/start\n"
                             "sso_region = eu-central-1\n")
        cache = f".aws/sso/cache/{hashlib.sha1(b'corp').hexdigest()}.json"
        self.write(cache, json.dumps({"accessToken": "sso-access-token",
                                      "expiresAt": "2099-01-01T00:00:00Z",
                                      "region": "eu-central-1",
                                      "startUrl": "https://corp.awsapps.com/start"}))
        env = dict(self.env, AWS_PROFILE="sso", AWS_ENDPOINT_URL_SSO=portal)
        self.set_auth(0)
        self.assert_status_ok(self.status(env=env))
        self.assertEqual(len(SsoPortal.seen), 1)
        # An expired token asks for a login instead of calling the portal.
        self.write(cache, json.dumps({"accessToken": "sso-access-token",
                                      "expiresAt": "2020-01-01T00:00:00Z"}))
        proc = self.status(env=env)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("aws sso login --profile sso", proc.stderr)
        self.assertEqual(len(SsoPortal.seen), 1)


if __name__ == "__main__":
    unittest.main()
