// Builds ThVC's web assets with esbuild: `node frontend/build.mjs` (make install runs it).
//
//   src/thvc.css  -> KERN UX + its Fira Sans fonts + Uppy's CSS + ours, one stylesheet
//   src/thvc.js   -> htmx (window.htmx) and the small helpers every page uses
//   src/upload.js -> Uppy Dashboard + tus, for pages with an #uploader element
//
// Output: src/thvc/web/static/dist/<name>.<hash>.<ext> (fonts and icons too) and
// manifest.json, {logical name: file name}, which thvc.web.assets serves and names.
// Older builds' files stay a day for servers still running on them (see install()).
// Also frontend/build/axe.min.js for the browser tests (not served).
//
// Pages run under `Content-Security-Policy: default-src 'self'`, so the output may
// refer to nothing but its own files: no other host, and no data: URLs either (CSP
// blocks those as images). KERN and Uppy draw their icons with data: SVGs in CSS;
// the plugin below writes each one to a file that esbuild then emits like a font.
// The build fails if a url() in the CSS still points anywhere else.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const outdir = path.join(root, 'src/thvc/web/static/dist');
const buildDir = path.join(here, 'build');
const iconDir = path.join(buildDir, 'icons');

const ENTRIES = {
  'thvc.css': 'src/thvc.css',
  'thvc.js': 'src/thvc.js',
  'upload.js': 'src/upload.js',
};

// url("data:image/svg+xml,..."), url('data:image/svg+xml;charset=utf-8,...'),
// url(data:image/svg+xml;base64,...)
const DATA_SVG = /url\(\s*(["']?)data:image\/svg\+xml((?:;[\w=-]+)*),(.*?)\1\s*\)/gs;

function svgOf(params, payload) {
  if (params.split(';').includes('base64')) return Buffer.from(payload, 'base64');
  return Buffer.from(decodeURIComponent(payload), 'utf8');
}

/** Each data: SVG in a stylesheet becomes a file of its own (see the top). */
const dataUrlsToFiles = {
  name: 'thvc-data-urls-to-files',
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      if (!source.includes('data:')) return undefined;
      const dir = path.dirname(args.path);
      const contents = source.replace(DATA_SVG, (_all, _quote, params, payload) => {
        const svg = svgOf(params, payload);
        const name = `icon-${createHash('sha256').update(svg).digest('hex').slice(0, 16)}.svg`;
        const file = path.join(iconDir, name);
        if (!fs.existsSync(file)) {
          // named by content, written whole (another build may be reading the folder)
          const tmp = `${file}.${process.pid}.tmp`;
          fs.writeFileSync(tmp, svg);
          fs.renameSync(tmp, file);
        }
        let rel = path.relative(dir, file).split(path.sep).join('/');
        if (!rel.startsWith('.')) rel = `./${rel}`;
        return `url("${rel}")`;
      });
      return { contents, loader: 'css', resolveDir: dir };
    });
  },
};

/** Every url() left in the CSS must name one of our own files. */
function checkCss(file) {
  const css = fs.readFileSync(file, 'utf8');
  const bad = [];
  for (const m of css.matchAll(/url\(\s*(["']?)(.*?)\1\s*\)/g)) {
    const target = m[2];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//') || target.startsWith('/')) {
      bad.push(target.slice(0, 80));
    }
  }
  for (const m of css.matchAll(/@import\s+[^;]*/g)) bad.push(m[0].slice(0, 80));
  if (bad.length) {
    throw new Error(`${path.basename(file)} refers to something not ours:\n  ${bad.join('\n  ')}`);
  }
}

// Files no manifest has named for this long are removed (see install()).
const KEEP_MS = 24 * 3600 * 1000;

/**
 * Moves the new build into outdir without pulling the floor from under a server that is
 * running (or a test): it read the old manifest at its start and still names the old
 * files. So the new files join the old ones (a name is a hash of the content: same name,
 * same file), the manifest is replaced in one rename, and old files go only once no
 * manifest has named them for KEEP_MS. Restart the server after a build.
 */
function install(staging, manifest) {
  fs.mkdirSync(outdir, { recursive: true });
  const manifestPath = path.join(outdir, 'manifest.json');
  // The files the old manifest names were in use until now: their mtime says so.
  const now = new Date();
  try {
    for (const file of Object.values(JSON.parse(fs.readFileSync(manifestPath, 'utf8')))) {
      const p = path.join(outdir, path.basename(String(file)));
      if (fs.existsSync(p)) fs.utimesSync(p, now, now);
    }
  } catch {
    // no manifest yet, or a broken one: nothing to keep alive
  }
  for (const file of fs.readdirSync(staging)) {
    if (file === 'manifest.json') continue;
    const dest = path.join(outdir, file);
    if (!fs.existsSync(dest)) fs.renameSync(path.join(staging, file), dest);
  }
  const tmp = `${manifestPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(tmp, manifestPath);
  const current = new Set(Object.values(manifest));
  for (const file of fs.readdirSync(outdir)) {
    const p = path.join(outdir, file);
    if (file === 'manifest.json' || current.has(file)) continue;
    if (now - fs.statSync(p).mtime > KEEP_MS) fs.rmSync(p, { force: true });
  }
}

async function main() {
  fs.mkdirSync(iconDir, { recursive: true });
  const staging = `${outdir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });

  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: Object.values(ENTRIES),
    outdir: staging,
    outbase: 'src',
    entryNames: '[name].[hash]',
    assetNames: '[name].[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    loader: {
      '.woff2': 'file',
      '.woff': 'file',
      '.svg': 'file',
      '.png': 'file',
    },
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [dataUrlsToFiles],
  });

  // manifest: entries under their logical names, every other emitted file under the
  // path it came from (e.g. "@kern-ux/native/dist/fonts/fira-sans/FiraSans-Regular.woff2").
  const manifest = {};
  const byEntry = Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [v, k]));
  for (const [out, info] of Object.entries(result.metafile.outputs)) {
    const file = path.basename(out);
    let logical;
    if (info.entryPoint) {
      logical = byEntry[info.entryPoint];
    } else {
      const inputs = Object.keys(info.inputs);
      if (inputs.length !== 1) throw new Error(`unexpected output ${out}: ${inputs}`);
      logical = inputs[0]
        .replace(/^node_modules\//, '')
        .replace(/^build\/icons\//, 'icons/')
        .replace(/^src\//, '');
    }
    if (!logical) throw new Error(`no logical name for ${out}`);
    if (manifest[logical] && manifest[logical] !== file) {
      throw new Error(`two outputs for ${logical}: ${manifest[logical]}, ${file}`);
    }
    manifest[logical] = file;
    if (file.endsWith('.css')) checkCss(path.join(here, out));
  }
  for (const name of Object.keys(ENTRIES)) {
    if (!manifest[name]) throw new Error(`no output for ${name}`);
  }
  const sorted = Object.fromEntries(Object.keys(manifest).sort().map((k) => [k, manifest[k]]));

  install(staging, sorted);
  fs.rmSync(staging, { recursive: true, force: true });

  // For the browser tests only.
  fs.mkdirSync(buildDir, { recursive: true });
  fs.copyFileSync(
    path.join(here, 'node_modules/axe-core/axe.min.js'),
    path.join(buildDir, 'axe.min.js'),
  );

  const sizes = Object.keys(ENTRIES).map((k) => {
    const kib = fs.statSync(path.join(outdir, manifest[k])).size / 1024;
    return `${manifest[k]} (${kib.toFixed(0)} KiB)`;
  });
  console.log(`frontend: ${Object.keys(manifest).length} files in ${path.relative(root, outdir)}/: ${sizes.join(', ')}`);
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
