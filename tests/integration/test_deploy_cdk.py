"""deploy/cdk: `cdk synth` works offline and cfn-lint passes on both synthesized templates.

The resource-by-resource assertions are deploy/cdk/test/*.test.ts (CTest deploy.cdk_assertions);
this test runs the app as a user does (`npx cdk synth`, cdk.json's app command, type-checked
by ts-node) with a placeholder for the Lambda zip, then lints what it wrote and checks that
the THUMBFLOW_CONFIG documents the stacks give thumbflow are configs thumbflow accepts.
deploy.cdk_npm_ci (npm ci from the lockfile) runs first as a CTest fixture.
"""
import json
import os
import subprocess
import tempfile
import unittest

import harness

CDK_DIR = os.path.join(harness.ROOT, "deploy", "cdk")
# CDK writes an explicit DependsOn next to the Ref/GetAtt it already has on a few resources
# (its bucket-notification handler, the VPC default-SG custom resource): redundant, harmless.
IGNORED_CHECKS = ["W3005"]


class DeployCdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("npx", "cfn-lint"):
            harness.require_tool(tool)
        if not os.path.isdir(os.path.join(CDK_DIR, "node_modules", "aws-cdk-lib")):
            raise AssertionError(f"{CDK_DIR}/node_modules is missing: run `npm ci` there "
                                 "(CTest runs deploy.cdk_npm_ci first)")
        cls.tmp = tempfile.mkdtemp(prefix="tf-cdk-")
        zip_path = os.path.join(cls.tmp, "thumbflow-lambda.zip")
        with open(zip_path, "wb") as f:
            f.write(b"placeholder: synth only hashes and copies the asset")
        cls.out = os.path.join(cls.tmp, "cdk.out")
        env = dict(os.environ, CDK_DISABLE_VERSION_CHECK="1", CDK_DISABLE_CLI_TELEMETRY="1")
        r = subprocess.run(["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices",
                            "-c", f"lambdaZip={zip_path}", "-c", "architecture=x86_64",
                            "-o", cls.out],
                           cwd=CDK_DIR, env=env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError(f"cdk synth failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        cls.templates = {}
        for stack in ("ThumbflowLambda", "ThumbflowWorkers"):
            path = os.path.join(cls.out, f"{stack}.template.json")
            with open(path) as f:
                cls.templates[stack] = (path, json.load(f))

    def lint(self, path):
        return subprocess.run(["cfn-lint", "--ignore-checks", *IGNORED_CHECKS, "--", path],
                              capture_output=True, text=True, timeout=300)

    def test_cfn_lint_passes_on_both_stacks(self):
        for stack, (path, _) in self.templates.items():
            r = self.lint(path)
            self.assertEqual(r.returncode, 0, f"{stack}:\n{r.stdout}{r.stderr}")

    def test_cfn_lint_sees_a_broken_template(self):
        # The check above is only worth something if cfn-lint reads these templates: a
        # queue without its required property must be reported.
        path, template = self.templates["ThumbflowLambda"]
        broken = json.loads(json.dumps(template))
        broken["Resources"]["BrokenSubscription"] = {"Type": "AWS::SNS::Subscription",
                                                     "Properties": {"Protocol": "email"}}
        broken_path = os.path.join(self.tmp, "broken.template.json")
        with open(broken_path, "w") as f:
            json.dump(broken, f)
        r = self.lint(broken_path)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("TopicArn", r.stdout)

    def test_the_zip_is_the_function_code_asset(self):
        with open(os.path.join(self.out, "ThumbflowLambda.assets.json")) as f:
            assets = json.load(f)["files"]
        packaged = [a["source"] for a in assets.values()
                    if a["source"].get("packaging") == "file"]
        self.assertTrue(any(a["path"].endswith(".zip") for a in packaged), assets)

    def test_configs_are_accepted_by_thumbflow(self):
        _, lam = self.templates["ThumbflowLambda"]
        [fn] = [r for r in lam["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
                and r["Properties"].get("Handler") == "bootstrap"]
        _, workers = self.templates["ThumbflowWorkers"]
        [task] = [r for r in workers["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
        [container] = task["Properties"]["ContainerDefinitions"]
        documents = {
            "lambda": fn["Properties"]["Environment"]["Variables"]["THUMBFLOW_CONFIG"],
            "worker": {e["Name"]: e["Value"] for e in container["Environment"]}["THUMBFLOW_CONFIG"],
        }
        for name, document in documents.items():
            self.assertIsInstance(document, str, name)
            # The config is read before the missing --queue-url is reported.
            r = harness.run_thumbflow(["worker"], env={"THUMBFLOW_CONFIG": document}, timeout=60)
            self.assertEqual(r.returncode, 2, f"{name}: {r.stderr}")
            self.assertIn("--queue-url is required", r.stderr, name)
        self.assertIn("timeout_s = 7\n", documents["lambda"])
        self.assertIn("grace_period = 25\n", documents["worker"])


if __name__ == "__main__":
    unittest.main()
