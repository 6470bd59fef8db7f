// The web client as files: everything is listed in web/meson.build (the
// server serves exactly that list), imports resolve, nothing is inline or
// from another origin (the server's CSP is default-src 'self'), and every
// string key used exists in strings.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasString } from '../../web/js/strings.js';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory())
      out.push(...walk(p));
    else
      out.push(relative(web, p));
  }
  return out;
}

const listed = [...readFileSync(join(web, 'meson.build'), 'utf8').matchAll(/'([^']+)'/g)]
  .map((m) => m[1]);
const served = walk(web).filter((f) => f !== 'meson.build');
const html = readFileSync(join(web, 'index.html'), 'utf8');
const scripts = served.filter((f) => f.endsWith('.js'));

test('web_files lists every file of web/ and nothing else', () => {
  assert.deepEqual([...listed].sort(), [...served].sort());
});

test('every relative import and every page reference is a listed file', () => {
  for (const f of scripts) {
    const src = readFileSync(join(web, f), 'utf8');
    for (const m of src.matchAll(/^import .* from '([^']+)';$/gm)) {
      assert.ok(m[1].startsWith('./'), `${f}: import ${m[1]} is not relative`);
      assert.ok(listed.includes(normalize(join(dirname(f), m[1]))), `${f}: ${m[1]} not listed`);
    }
  }
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g))
    assert.ok(listed.includes(m[1]), `index.html: ${m[1]} not listed`);
});

test('no inline script or style, nothing from another origin', () => {
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'inline <script>');
  assert.doesNotMatch(html, /<style/i);
  assert.doesNotMatch(html, /\sstyle=/i);
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'inline event handler');
  assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//, 'another origin');
  for (const f of [...scripts, 'style.css']) {
    const src = readFileSync(join(web, f), 'utf8');
    assert.doesNotMatch(src, /\beval\(|new Function\(|\.innerHTML\s*=|setAttribute\('style'/, f);
    assert.doesNotMatch(src, /@import|url\(\s*['"]?https?:/, f);
  }
});

test('every string key in the page and the scripts exists', () => {
  const keys = new Set();
  for (const m of html.matchAll(/data-t(?:-aria|-placeholder)?="([^"]+)"/g))
    keys.add(m[1]);
  for (const f of scripts) {
    const src = readFileSync(join(web, f), 'utf8');
    for (const m of src.matchAll(/\b(?:t|notice)\('([a-zA-Z.]+)'/g))
      keys.add(m[1]);
  }
  assert.ok(keys.size > 40);
  for (const k of keys)
    assert.ok(hasString(k), `missing string ${k}`);
});
