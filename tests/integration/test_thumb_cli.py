"""`thumbflow thumb`: JSON line shape, exit codes, the --out layout, appended extensions."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import CORPUS, run_thumbflow


def lines_of(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


class ThumbCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tf-thumb-")
        self.out = os.path.join(self.tmp, "out")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_all_ok_exits_0_with_one_line_per_input_in_order(self):
        inputs = [os.path.join(CORPUS, "jpeg/progressive.jpg"),
                  os.path.join(CORPUS, "png/rgba_vignette.png"),
                  os.path.join(CORPUS, "dims/small_40x30.jpg")]
        r = run_thumbflow(["thumb", "--out", self.out, "--jobs", "2"] + inputs)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = lines_of(r.stdout)
        self.assertEqual([l["input"] for l in lines], inputs)
        first = lines[0]
        self.assertEqual(list(first), ["input", "ok", "outputs"])  # the documented order
        self.assertTrue(first["ok"])
        self.assertEqual([o["size"] for o in first["outputs"]], ["small", "medium", "large"])
        for o in first["outputs"]:
            self.assertEqual(list(o), ["size", "path", "width", "height", "format", "bytes"])
            self.assertEqual(o["path"], os.path.join(self.out, o["size"], "progressive.jpg"))
            self.assertEqual(o["format"], "jpeg")
            self.assertEqual(os.path.getsize(o["path"]), o["bytes"])
        self.assertEqual([(o["width"], o["height"]) for o in first["outputs"]],
                         [(50, 31), (150, 94), (300, 188)])
        # Never enlarged: a 40x30 source stays 40x30 in every size.
        self.assertEqual({(o["width"], o["height"]) for o in lines[2]["outputs"]}, {(40, 30)})
        for size in ("small", "medium", "large"):
            self.assertEqual(sorted(os.listdir(os.path.join(self.out, size))),
                             ["progressive.jpg", "rgba_vignette.png", "small_40x30.jpg"])

    def test_input_is_echoed_exactly_as_given(self):
        # A relative, unnormalised path, run from the corpus folder.
        r = subprocess.run([harness.BIN, "thumb", "--out", self.out, "./png//gray_alpha.png"],
                           cwd=CORPUS, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines_of(r.stdout)[0]["input"], "./png//gray_alpha.png")

    def test_changed_format_appends_the_extension(self):
        inputs = [os.path.join(CORPUS, "heif/photo.heic"),
                  os.path.join(CORPUS, "svg/shapes_px.svg"),
                  os.path.join(CORPUS, "misc/png_named_jpg.jpg")]
        r = run_thumbflow(["thumb", "--out", self.out] + inputs)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = lines_of(r.stdout)
        small = {os.path.basename(l["outputs"][0]["path"]): l["outputs"][0]["format"]
                 for l in lines}
        self.assertEqual(small, {"photo.heic.jpg": "jpeg", "shapes_px.svg.png": "png",
                                 "png_named_jpg.jpg.png": "png"})
        for name in small:
            self.assertTrue(os.path.exists(os.path.join(self.out, "large", name)))

    def test_a_bad_input_fails_alone_and_exits_1(self):
        good = os.path.join(CORPUS, "webp/lossy.webp")
        inputs = [os.path.join(CORPUS, "reject/truncated_60pct.jpg"), good,
                  os.path.join(CORPUS, "reject/pdf_named.jpg"),
                  os.path.join(self.tmp, "missing.jpg")]
        r = run_thumbflow(["thumb", "--out", self.out, "--jobs", "3"] + inputs)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = lines_of(r.stdout)
        self.assertEqual(len(lines), 4)
        truncated, ok, pdf, missing = lines
        self.assertEqual(list(truncated), ["input", "ok", "error"])
        self.assertFalse(truncated["ok"])
        self.assertEqual(list(truncated["error"]), ["class", "reason", "message"])
        self.assertEqual(truncated["error"]["class"], "permanent")
        self.assertEqual(truncated["error"]["reason"], "truncated")
        self.assertTrue(ok["ok"])
        self.assertEqual(pdf["error"]["reason"], "unsupported-format")
        self.assertEqual(missing["error"]["reason"], "source-missing")
        self.assertTrue(os.path.exists(os.path.join(self.out, "small", "lossy.webp")))
        self.assertFalse(os.path.exists(os.path.join(self.out, "small", "truncated_60pct.jpg")))

    def test_config_sizes_and_format_are_used(self):
        config = os.path.join(self.tmp, "thumbflow.toml")
        with open(config, "w") as f:
            f.write('[thumbnails]\nformat = "webp"\n'
                    '[[thumbnails.sizes]]\nname = "sq"\nwidth = 64\nheight = 64\nfit = "cover"\n')
        r = run_thumbflow(["thumb", "--config", config, "--out", self.out,
                           os.path.join(CORPUS, "jpeg/progressive.jpg")])
        self.assertEqual(r.returncode, 0, r.stderr)
        (line,) = lines_of(r.stdout)
        (o,) = line["outputs"]
        self.assertEqual((o["size"], o["width"], o["height"], o["format"]), ("sq", 64, 64, "webp"))
        self.assertEqual(o["path"], os.path.join(self.out, "sq", "progressive.jpg.webp"))

    def test_usage_and_config_errors_exit_2_naming_the_problem(self):
        src = os.path.join(CORPUS, "jpeg/progressive.jpg")
        r = run_thumbflow(["thumb", src])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--out", r.stderr)
        r = run_thumbflow(["thumb", "--out", self.out, "--jobs", "0", src])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--jobs", r.stderr)
        r = run_thumbflow(["thumb", "--out", self.out])
        self.assertEqual(r.returncode, 2)
        self.assertIn("files", r.stderr)
        bad = os.path.join(self.tmp, "bad.toml")
        with open(bad, "w") as f:
            f.write('[[thumbnails.sizes]]\nname = "a"\nwidth = 10\nfit = "stretch"\n')
        r = run_thumbflow(["thumb", "--config", bad, "--out", self.out, src])
        self.assertEqual(r.returncode, 2)
        self.assertIn("thumbnails.sizes[0].fit", r.stderr)
        r = run_thumbflow(["thumb", "--config", os.path.join(self.tmp, "nope.toml"),
                           "--out", self.out, src])
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope.toml", r.stderr)
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
