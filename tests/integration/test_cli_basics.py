"""What a new user meets first on the command line: `thumbflow help`, the defaults that
`--help` shows, the lines `serve` prints (they must work when pasted into a shell), where the
config comes from (--config, THUMBFLOW_CONFIG, the default paths) for every command, and a
mistyped --data that must not look like an empty queue."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import harness


def clean_env(**extra):
    """The process environment without AWS_* or THUMBFLOW_*, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "THUMBFLOW_")) and k != "XDG_CONFIG_HOME"}
    env.update(extra)
    return env


def tf(args, env=None, timeout=60):
    return subprocess.run([harness.BIN, *args], env=env or clean_env(), capture_output=True,
                          text=True, timeout=timeout)


class HelpTest(unittest.TestCase):
    def test_help_is_the_help_flag(self):
        self.assertEqual(tf(["help"]).stdout, tf(["--help"]).stdout)
        self.assertEqual(tf(["help"]).returncode, 0)
        self.assertIn("serve", tf(["help"]).stdout)
        serve_help = tf(["help", "serve"])
        self.assertEqual(serve_help.returncode, 0)
        self.assertEqual(serve_help.stdout, tf(["serve", "--help"]).stdout)
        self.assertIn("--listen TEXT=127.0.0.1:9000", serve_help.stdout)
        self.assertEqual(tf(["help", "dlq", "list"]).stdout, tf(["dlq", "list", "--help"]).stdout)
        self.assertIn("THUMBFLOW_CONFIG", tf(["help"]).stdout)


class DataFolderTest(unittest.TestCase):
    def test_reading_commands_refuse_a_missing_data_folder_and_create_nothing(self):
        missing = os.path.join(tempfile.mkdtemp(), "typo")
        for args in (["dlq", "list"], ["dlq", "redrive", "--all"], ["dlq", "purge"], ["queue", "stats"],
                     ["queue", "receive"]):
            proc = tf([*args, "--data", missing])
            self.assertEqual(proc.returncode, 1, (args, proc.stderr))
            self.assertIn("no thumbflow data in " + missing, proc.stderr)
            self.assertEqual(proc.stdout, "")
            self.assertFalse(os.path.exists(missing), args)
        # Sending creates the folder; then the others work on it.
        self.assertEqual(tf(["queue", "send", "hello", "--data", missing]).returncode, 0)
        self.assertEqual(tf(["dlq", "list", "--data", missing]).stdout.strip(), "[]")


class ServeTest(unittest.TestCase):
    def start(self, args, env):
        tmp = tempfile.mkdtemp(prefix="tf-cli-")
        port = harness.free_port()
        peer = harness.Peer([harness.BIN, "serve", "--data", os.path.join(tmp, "data"),
                             "--listen", f"127.0.0.1:{port}", *args], env=env, log_dir=tmp)
        # Peer adds `env` over os.environ: blank the variables a developer may have set.
        self.addCleanup(peer.stop)
        peer.wait_http(f"http://127.0.0.1:{port}/healthz")
        harness.wait_for(lambda: "dashboard:" in peer.log(), timeout=30, what="serve's start lines")
        return peer, port, tmp

    def test_the_printed_exports_work_for_the_aws_cli(self):
        harness.require_tool("aws")
        env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
               "THUMBFLOW_CONFIG": "", "THUMBFLOW_ACCESS_KEY_ID": "",
               "THUMBFLOW_SECRET_ACCESS_KEY": "", "XDG_CONFIG_HOME": tempfile.mkdtemp()}
        peer, port, tmp = self.start(["--workers", "1"], env)
        log = peer.log()
        self.assertIn("1 worker)", log)
        self.assertNotIn("1 workers", log)
        exports = re.findall(r"^  export (.*)$", log, re.M)
        self.assertEqual(len(exports), 2, log)
        self.assertEqual(exports[0], f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}")
        aws_env = {k: v for k, v in clean_env().items()}
        aws_env.update({"AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
                        "HOME": tmp})
        for line in exports:
            for word in shlex.split(line):
                name, value = word.split("=", 1)
                aws_env[name] = value
        self.assertTrue(os.path.isabs(aws_env["AWS_SHARED_CREDENTIALS_FILE"]))
        # No --endpoint-url: the exported AWS_ENDPOINT_URL alone points the CLI here.
        proc = subprocess.run(["aws", "s3", "ls"], env=aws_env, capture_output=True, text=True,
                              timeout=120, cwd=tmp)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("images", proc.stdout)

    def test_config_comes_from_the_environment_or_the_default_path(self):
        # THUMBFLOW_CONFIG as a document.
        peer, _, _ = self.start(["--workers", "0"], {"THUMBFLOW_CONFIG": '[storage]\ndefault_bucket = "fromenv"\n'})
        self.assertIn("bucket fromenv", peer.log())
        self.assertIn("config: THUMBFLOW_CONFIG", peer.log())
        # The default path under XDG_CONFIG_HOME, when THUMBFLOW_CONFIG is not set.
        xdg = tempfile.mkdtemp()
        os.makedirs(os.path.join(xdg, "thumbflow"))
        path = os.path.join(xdg, "thumbflow", "config.toml")
        with open(path, "w") as f:
            f.write('[storage]\ndefault_bucket = "fromfile"\n')
        peer, _, _ = self.start(["--workers", "0"], {"THUMBFLOW_CONFIG": "", "XDG_CONFIG_HOME": xdg})
        self.assertIn("bucket fromfile", peer.log())
        self.assertIn("config: " + path, peer.log())
        # --config wins over both.
        explicit = os.path.join(xdg, "explicit.toml")
        with open(explicit, "w") as f:
            f.write('[storage]\ndefault_bucket = "explicit"\n')
        peer, _, _ = self.start(["--workers", "0", "--config", explicit],
                                {"THUMBFLOW_CONFIG": '[storage]\ndefault_bucket = "fromenv"\n',
                                 "XDG_CONFIG_HOME": xdg})
        self.assertIn("bucket explicit", peer.log())

    def test_every_command_reads_thumbflow_config(self):
        data = tempfile.mkdtemp()
        env = clean_env(THUMBFLOW_CONFIG='[queue]\nname = "fromenv"\n')
        self.assertEqual(tf(["queue", "send", "x", "--data", data], env).returncode, 0)
        # The message went to the queue named by THUMBFLOW_CONFIG, not the default one.
        stats_default = tf(["queue", "stats", "--data", data])
        stats_env = tf(["queue", "stats", "--data", data], env)
        self.assertIn('"visible":0', stats_default.stdout.replace(" ", ""))
        self.assertIn('"visible":1', stats_env.stdout.replace(" ", ""))
        # A bad document names its field and is a usage error, for every command.
        bad = clean_env(THUMBFLOW_CONFIG='[queue]\nvisibility_timeout_s = "soon"\n')
        for args in (["queue", "stats", "--data", data], ["status", "--data", data],
                     ["thumb", os.path.join(harness.CORPUS, "png", "palette_256.png"),
                      "--out", data]):
            proc = tf(args, bad)
            self.assertEqual(proc.returncode, 2, (args, proc.stderr))
            self.assertIn("visibility_timeout_s", proc.stderr, args)


if __name__ == "__main__":
    unittest.main()
