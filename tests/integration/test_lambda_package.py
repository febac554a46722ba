"""scripts/package-lambda: thumbflow-lambda.zip holds a runnable, self-contained bundle."""
import glob
import os
import subprocess
import tempfile
import unittest
import zipfile

import harness
from lambda_emulator import RuntimeApiEmulator

SCRIPT = os.path.join(harness.ROOT, "scripts", "package-lambda")


class LambdaPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("zip")
        harness.require_tool("unzip")
        cls.tmp = tempfile.TemporaryDirectory()
        cls.zip_path = os.path.join(cls.tmp.name, "out", "thumbflow-lambda.zip")
        r = subprocess.run([SCRIPT, harness.BIN, cls.zip_path], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.bundle = os.path.join(cls.tmp.name, "task")
        subprocess.run(["unzip", "-q", cls.zip_path, "-d", cls.bundle], check=True)
        loaders = glob.glob(os.path.join(cls.bundle, "lib", "ld-linux*"))
        assert len(loaders) == 1, loaders
        cls.loader = loaders[0]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_bundled(self, *args):
        lib = os.path.join(self.bundle, "lib")
        return subprocess.run([self.loader, "--library-path", lib] + list(args),
                              capture_output=True, text=True, timeout=60)

    def test_zip_lists_bootstrap_binary_and_libraries(self):
        with zipfile.ZipFile(self.zip_path) as z:
            names = set(z.namelist())
            bootstrap_mode = z.getinfo("bootstrap").external_attr >> 16
        self.assertIn("bootstrap", names)
        self.assertIn("thumbflow", names)
        self.assertTrue(bootstrap_mode & 0o111, "bootstrap must be executable")
        libs = {n.split("/", 1)[1] for n in names if n.startswith("lib/")}
        for lib in ("libc.so.6", "libstdc++.so.6", "libvips.so.42", "libcurl.so.4"):
            if lib == "libvips.so.42" and "libvips" not in self.needed():
                continue
            self.assertIn(lib, libs)

    def needed(self):
        return subprocess.run(["ldd", harness.BIN], capture_output=True, text=True).stdout

    def test_every_library_resolves_inside_the_bundle(self):
        r = self.run_bundled("--list", os.path.join(self.bundle, "thumbflow"))
        self.assertEqual(r.returncode, 0, r.stderr)
        lib = os.path.join(self.bundle, "lib")
        for line in r.stdout.splitlines():
            if "=>" not in line or "linux-vdso" in line:
                continue
            path = line.split("=>", 1)[1].strip().split(" (")[0]
            self.assertTrue(os.path.realpath(path).startswith(os.path.realpath(lib)), line)

    def test_bundled_binary_runs(self):
        r = self.run_bundled("--argv0", "thumbflow", os.path.join(self.bundle, "thumbflow"),
                             "--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("thumbflow", r.stdout)

    def test_bootstrap_runs_the_lambda_runtime(self):
        # A broken config makes the runtime report an init error and exit: enough to show
        # that `bootstrap` starts thumbflow in Lambda mode with the bundled libraries.
        with RuntimeApiEmulator() as emulator:
            env = dict(os.environ)
            env.update({"AWS_LAMBDA_RUNTIME_API": emulator.address,
                        "THUMBFLOW_CONFIG": "[lambda]\nno_such_field = 1\n",
                        "LD_LIBRARY_PATH": "/nonexistent"})
            r = subprocess.run([os.path.join(self.bundle, "bootstrap")], env=env,
                               capture_output=True, text=True, timeout=60, cwd="/")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual([e[0] for e in emulator.init_errors], ["Runtime.ConfigError"],
                             r.stderr)


if __name__ == "__main__":
    unittest.main()
