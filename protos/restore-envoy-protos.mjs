#!/usr/bin/env node
// Copies the Envoy API protos that src/XdsControlPlane.Envoy compiles out of the npm package
// @grpc/grpc-js-xds (installed by `npm ci` next to this file) into a build folder.
//
// * Only the transitive import closure of the roots in envoy-roots.txt is copied.
// * google/protobuf/*.proto are not copied: Grpc.Tools ships them with protoc.
// * That package's validate/validate.proto predates protoc-gen-validate's `ignore_empty` string
//   rule (field 26 of validate.StringRules) that newer Envoy protos use. The copy gets exactly
//   that one optional field added; no other file is changed.
// * Files are rewritten only when their content changes, so protoc and the C# compiler see
//   unchanged timestamps and an up-to-date build does no work.
//
// Usage: node restore-envoy-protos.mjs --deps DIR --roots FILE --out DIR --list FILE

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    deps: { type: 'string' },
    roots: { type: 'string' },
    out: { type: 'string' },
    list: { type: 'string' },
  },
});
for (const name of ['deps', 'roots', 'out', 'list']) {
  if (!args[name]) fail(`missing --${name}`);
}

const includeRoots = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(args.deps, d));
for (const root of includeRoots) {
  if (!existsSync(root)) fail(`include root ${root} does not exist; did 'npm ci' run in protos/?`);
}

const compilerProvided = (path) => path.startsWith('google/protobuf/');
const importPattern = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

const roots = readFileSync(args.roots, 'utf8')
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim())
  .filter((line) => line.length > 0);

/** @type {Map<string, string>} relative proto path -> absolute source path */
const closure = new Map();
const pending = roots.map((path) => ({ path, from: args.roots }));
while (pending.length > 0) {
  const { path, from } = pending.pop();
  if (closure.has(path) || compilerProvided(path)) continue;
  const source = includeRoots.map((root) => join(root, path)).find((candidate) => existsSync(candidate));
  if (!source) fail(`${path} (imported by ${from}) is not in any include root`);
  closure.set(path, source);
  const text = readFileSync(source, 'utf8');
  for (const match of text.matchAll(importPattern)) pending.push({ path: match[1], from: path });
}

const sorted = [...closure.keys()].sort();
for (const path of sorted) {
  let text = readFileSync(closure.get(path), 'utf8');
  if (path === 'validate/validate.proto') text = addStringIgnoreEmpty(text);
  writeIfChanged(join(args.out, path), text);
}
removeStale(args.out, new Set(sorted.map((p) => join(args.out, p))));
writeIfChanged(args.list, sorted.join('\n') + '\n');
console.log(`restore-envoy-protos: ${sorted.length} protos from ${roots.length} roots -> ${args.out}`);

/**
 * Adds `optional bool ignore_empty = 26;` to message StringRules unless it is already there.
 * Fails loudly when the file does not have the expected shape rather than guessing.
 */
function addStringIgnoreEmpty(text) {
  const start = text.search(/^message StringRules \{/m);
  if (start < 0) fail('validate/validate.proto: message StringRules not found');
  const closing = /\r?\n\}\r?\n/g;
  closing.lastIndex = start;
  const end = closing.exec(text)?.index ?? -1;
  if (end < 0) fail('validate/validate.proto: end of message StringRules not found');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const body = text.slice(start, end);
  if (/\bignore_empty\b/.test(body)) return text;
  if (/=\s*26\s*;/.test(body)) fail('validate/validate.proto: StringRules already uses field 26 for something else');
  const field = [
    '',
    '',
    '    // Added by XdsControlPlane (protos/restore-envoy-protos.mjs), as in upstream',
    '    // protoc-gen-validate: apply the rules of this field only when it is not empty.',
    '    optional bool ignore_empty = 26;',
  ].join(eol);
  return text.slice(0, end) + field + text.slice(end);
}

function writeIfChanged(file, text) {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

function removeStale(dir, keep) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = join(entry.parentPath ?? entry.path, entry.name);
    if (entry.isFile() && full.endsWith('.proto') && !keep.has(full)) rmSync(full);
  }
}

function fail(message) {
  console.error(`restore-envoy-protos: error: ${message}`);
  process.exit(1);
}
