// The sharp side of thumb_bench (issue 14), timed the same way:
//
//   node sharp_bench.mjs --corpus DIR --concurrency N [--repeat R] [--warmup W] [--out DIR]
//
// sharp used at its best: every file is read into memory first; per image, decode once
// (shrink-on-load) to the largest width (300, never enlarged) as raw pixels in memory, then
// encode that and derive the smaller sizes (150, 50) from the raw pixels, each in the input's
// format (sniffed from the first bytes), with sharp's own defaults for everything else
// (including sharp.concurrency(), libvips threads per image). N images in flight: N async
// lanes taking the next image in turn. W untimed passes, then R timed ones; nothing is
// written to disk (--out DIR writes the thumbnails of one more, untimed, pass as
// DIR/{size}/{name}).
//
// Prints one JSON line with the fields of thumb_bench: images, thumbs, wall_s, images_per_s,
// peak_rss_mib (the process's peak resident memory, corpus included), bytes (per format, one
// pass), classes (per image class: images, ms_per_image, images_per_s = N * 1000 /
// ms_per_image).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import sharp from 'sharp';

// The decode-once recipe itself is sharp_peer.js's, so both benchmarks time the same thing.
const { sizes, decodeOnceBuffers: decodeOnce } = createRequire(import.meta.url)('./sharp_peer.js');
const args = { concurrency: 0, repeat: 3, warmup: 1 };
for (let i = 2; i < process.argv.length; i += 2) {
  const [flag, value] = [process.argv[i], process.argv[i + 1]];
  if (value === undefined) usage();
  if (flag === '--corpus') args.corpus = value;
  else if (flag === '--out') args.out = value;
  else if (['--concurrency', '--repeat', '--warmup'].includes(flag)) args[flag.slice(2)] = Number(value);
  else usage();
}
if (!args.corpus || !(args.concurrency >= 1) || !(args.repeat >= 1) || !(args.warmup >= 0)) usage();

function usage() {
  console.error('usage: node sharp_bench.mjs --corpus DIR --concurrency N [--repeat R] [--warmup W] [--out DIR]');
  process.exit(2);
}

function sniff(bytes) {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  if (bytes[0] === 0x89 && bytes.toString('latin1', 1, 4) === 'PNG') return 'png';
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return null;
}

const files = fs.readdirSync(args.corpus).filter((f) => !f.startsWith('.') && !/\.(md|tsv)$/.test(f)).sort();
const sources = [];
for (const name of files) {
  const bytes = fs.readFileSync(path.join(args.corpus, name));
  const format = sniff(bytes);
  if (!format) { console.error(`sharp_bench: ${name}: not JPEG, PNG or WebP`); process.exit(1); }
  const meta = await sharp(bytes).metadata();  // untimed: for the class only
  const mp = (meta.width * meta.height) / 1e6;
  const klass = format !== 'jpeg' ? format : mp >= 18 ? 'jpeg_24mp' : mp >= 6 ? 'jpeg_12mp' : 'jpeg_2mp';
  sources.push({ name, bytes, format, klass, seconds: 0 });
}

async function pass(onDone) {
  let next = 0;
  async function lane() {
    while (next < sources.length) {
      const source = sources[next++];
      const start = performance.now();
      const outputs = await decodeOnce(source.bytes, source.format);
      onDone(source, outputs, (performance.now() - start) / 1000);
    }
  }
  await Promise.all(Array.from({ length: args.concurrency }, lane));
}

for (let i = 0; i < args.warmup; ++i) await pass(() => {});
let thumbs = 0;
const start = performance.now();
for (let i = 0; i < args.repeat; ++i) {
  await pass((source, outputs, seconds) => { source.seconds += seconds; thumbs += outputs.length; });
}
const wall = (performance.now() - start) / 1000;

const bytes = {};
await pass((source, outputs) => {
  outputs.forEach((out, i) => {
    bytes[source.format] = (bytes[source.format] || 0) + out.length;
    if (!args.out) return;
    const dir = path.join(args.out, sizes[i][0]);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, source.name), out);
  });
});

const classes = {};
for (const s of sources) {
  const c = (classes[s.klass] ||= { images: 0, seconds: 0 });
  c.images += 1;
  c.seconds += s.seconds;
}
const perClass = {};
for (const [name, c] of Object.entries(classes).sort()) {
  const ms = (c.seconds * 1000) / (c.images * args.repeat);
  perClass[name] = { images: c.images, ms_per_image: ms, images_per_s: (args.concurrency * 1000) / ms };
}
console.log(JSON.stringify({
  tool: 'sharp',
  version: `${sharp.versions.sharp} (libvips ${sharp.versions.vips})`,
  concurrency: args.concurrency,
  vips_threads: sharp.concurrency(),
  repeat: args.repeat,
  warmup: args.warmup,
  images: sources.length * args.repeat,
  thumbs,
  wall_s: wall,
  images_per_s: (sources.length * args.repeat) / wall,
  peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  bytes,
  classes: perClass,
}));
