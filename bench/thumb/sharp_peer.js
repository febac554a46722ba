// Peers (a) and (b) of bench/thumb/run.sh. Usage:
//   node sharp_peer.js ref|once CONCURRENCY OUTDIR FILE...
// ref:  the reference Lambda: one sharp pipeline per size, the three under Promise.all,
//       resize(w, null, {fit: 'contain', withoutEnlargement: true}), input's format.
// once: sharp used well: decode once (shrink-on-load) to the largest size, keep it as raw
//       pixels, derive the smaller sizes from that, encode each in the input's format.
// CONCURRENCY images are in flight at once. sharp's own defaults otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const sharp = require('sharp');

const [mode, concurrencyArg, outDir, ...files] = require.main === module ? process.argv.slice(2) : [];
const concurrency = Number(concurrencyArg);
const sizes = [['small', 50], ['medium', 150], ['large', 300]];

function write(size, file, data) {
  const dir = path.join(outDir, size);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, path.basename(file)), data);
}

async function reference(file) {
  const input = fs.readFileSync(file);
  const outputs = await Promise.all(sizes.map(([, w]) =>
    sharp(input).resize(w, null, { fit: 'contain', withoutEnlargement: true }).toBuffer()));
  sizes.forEach(([name], i) => write(name, file, outputs[i]));
}

// Decode once to the largest width as raw pixels, derive every size from them, encode each
// in `format`; resolves to the encoded outputs in the order of `sizes`. Also used by
// sharp_bench.mjs.
async function decodeOnceBuffers(input, format) {
  const largest = sizes[sizes.length - 1][1];
  const { data, info } = await sharp(input)
    .resize(largest, null, { withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
  return Promise.all(sizes.map(([, w]) => {
    let p = sharp(data, raw);
    if (w < info.width) p = p.resize(w, null);
    return p.toFormat(format).toBuffer();
  }));
}

async function decodeOnce(file) {
  const input = fs.readFileSync(file);
  const format = (await sharp(input).metadata()).format;
  const outputs = await decodeOnceBuffers(input, format);
  sizes.forEach(([name], i) => write(name, file, outputs[i]));
}

async function main() {
  const work = mode === 'ref' ? reference : decodeOnce;
  let next = 0;
  async function lane() {
    while (next < files.length) await work(files[next++]);
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
}

module.exports = { sizes, decodeOnceBuffers };
if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
