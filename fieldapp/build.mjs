// Builds the field app into dist/, which fieldsync serves at /app:
// one minified bundle (esbuild; PouchDB included, nothing from a CDN), the
// static shell, PNG icons drawn here, and a service worker that caches exactly
// these files under a version derived from their content. Prints the app
// shell's size, raw and gzipped (target: under 500 KB gzipped).
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';

import * as esbuild from 'esbuild';

import checkpointFix from './tools/pouchdb_checkpoint.cjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, 'dist');
const STATIC = join(HERE, 'static');
const SHELL_LIMIT = 500 * 1024;

rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });

// PouchDB goes into the bundle with its checkpointer fixed (tools/pouchdb_checkpoint.cjs).
const fixed = [];
const pouchdbCheckpoint = {
  name: 'pouchdb-checkpoint',
  setup(build) {
    build.onLoad({ filter: /[\\/]pouchdb-browser[\\/]lib[\\/]index(\.es)?\.js$/ }, (args) => {
      fixed.push(args.path);
      return { contents: checkpointFix.fixCheckpointer(readFileSync(args.path, 'utf8'), args.path), loader: 'js' };
    });
  },
};

await esbuild.build({
  plugins: [pouchdbCheckpoint],
  entryPoints: [join(HERE, 'src', 'main.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome80', 'firefox78', 'safari14'],
  outfile: join(DIST, 'app.js'),
  legalComments: 'none',
  logLevel: 'warning',
});

if (fixed.length !== 1) throw new Error(`PouchDB's checkpointer fixed in ${fixed.length} files, not 1: ${fixed}`);

for (const name of ['app.css', 'icon.svg', 'manifest.webmanifest']) copyFileSync(join(STATIC, name), join(DIST, name));
writeFileSync(join(DIST, 'icon-192.png'), icon(192));
writeFileSync(join(DIST, 'icon-512.png'), icon(512));

// The version is the content of everything else, so a new build replaces the cached shell.
const hash = createHash('sha256');
for (const name of readdirSync(DIST).sort()) hash.update(name).update(readFileSync(join(DIST, name)));
hash.update(readFileSync(join(STATIC, 'index.html'))).update(readFileSync(join(STATIC, 'sw.js')));
const version = hash.digest('hex').slice(0, 12);

writeFileSync(join(DIST, 'index.html'), readFileSync(join(STATIC, 'index.html'), 'utf8').replaceAll('__VERSION__', version));
const shell = ['./', 'app.js?v=' + version, 'app.css?v=' + version, 'manifest.webmanifest', 'icon.svg', 'icon-192.png', 'icon-512.png'];
writeFileSync(join(DIST, 'sw.js'), readFileSync(join(STATIC, 'sw.js'), 'utf8')
  .replaceAll('__VERSION__', version).replace('__SHELL__', JSON.stringify(shell)));
writeFileSync(join(DIST, 'version.json'), JSON.stringify({ version, shell }) + '\n');

let raw = 0;
let gzipped = 0;
const rows = [];
for (const name of readdirSync(DIST).sort()) {
  const bytes = readFileSync(join(DIST, name));
  const size = statSync(join(DIST, name)).size;
  const gz = gzipSync(bytes, { level: 6 }).length;
  raw += size;
  gzipped += gz;
  rows.push(`  ${name.padEnd(22)} ${String(size).padStart(8)} B  ${String(gz).padStart(8)} B gzipped`);
}
console.log(`fieldapp ${version} built in dist/:\n${rows.join('\n')}`);
console.log(`app shell: ${(raw / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped (target < ${SHELL_LIMIT / 1024} KB)`);
if (gzipped > SHELL_LIMIT) {
  console.error('the app shell is over its size budget');
  process.exit(1);
}

// --- a PNG icon: a white ger with an orange door on the app's green ----------------------

function icon(size) {
  const pixels = Buffer.alloc(size * size * 4);
  const s = size / 64;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / s;
      const v = (y + 0.5) / s;
      let color = [11, 110, 105, 255];
      const dome = v <= 40 && ((u - 32) / 22) ** 2 + ((v - 40) / 13) ** 2 <= 1;
      const wall = u >= 12 && u <= 52 && v >= 40 && v <= 52;
      if (dome || wall) color = [255, 255, 255, 255];
      if (u >= 28 && u <= 36 && v >= 42 && v <= 52) color = [232, 163, 61, 255];
      if ((u - 32) ** 2 + (v - 22) ** 2 <= 9) color = [232, 163, 61, 255];
      pixels.set(color, (y * size + x) * 4);
    }
  }
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
