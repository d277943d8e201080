// Integration-test harness: an independent xDS client (@grpc/grpc-js-xds) driven by the .NET tests over
// stdin/stdout, one JSON object per line.
//
// Start-up: starts one Echo backend per name in HARNESS_BACKENDS (comma separated) on 127.0.0.1, prints
//   {"event":"backends","ports":{"baseline":40001,"fork":40002}}
// Commands (stdin):
//   {"cmd":"call","target":"xds:///echo.shop:8080","count":20,"metadata":{"x-routing-key":"feature-x"},"method":"Say"}
//     -> {"event":"results","backends":{"fork":20},"errors":{}}
//   {"cmd":"call", ..., "durationMs":5000} instead of "count": calls one after another for that long
//   {"cmd":"exit"}
// The xDS bootstrap comes from GRPC_XDS_BOOTSTRAP_CONFIG, set by the test.

import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import * as protoLoader from '@grpc/proto-loader';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const definition = protoLoader.loadSync(fileURLToPath(new URL('./echo.proto', import.meta.url)), { keepCase: true });
const Echo = grpc.loadPackageDefinition(definition).xdscp.test.Echo;
const callDeadlineMs = 5000;
const clients = new Map();

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function startBackend(name) {
  const server = new grpc.Server();
  const answer = (_call, callback) => callback(null, { backend: name });
  server.addService(Echo.service, { Say: answer, Shout: answer });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))));
}

function clientFor(target) {
  if (!clients.has(target)) clients.set(target, new Echo(target, grpc.credentials.createInsecure()));
  return clients.get(target);
}

function callOnce(client, method, metadata) {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata ?? {})) md.set(key, value);
  return new Promise((resolve) =>
    client[method]({ text: 'hi' }, md, { deadline: Date.now() + callDeadlineMs }, (error, reply) =>
      resolve(error ? { error: `${grpc.status[error.code]}: ${error.details}` } : { backend: reply.backend })));
}

async function call({ target, count, durationMs, metadata, method }) {
  const client = clientFor(target);
  const backends = {};
  const errors = {};
  const end = Date.now() + (durationMs ?? 0);
  for (let i = 0; durationMs === undefined ? i < count : Date.now() < end; i++) {
    const result = await callOnce(client, method ?? 'Say', metadata);
    const bucket = result.error ? errors : backends;
    const key = result.error ?? result.backend;
    bucket[key] = (bucket[key] ?? 0) + 1;
  }
  emit({ event: 'results', backends, errors });
}

xds.register();
const names = (process.env.HARNESS_BACKENDS ?? 'baseline,fork').split(',');
const ports = {};
for (const name of names) ports[name] = await startBackend(name);
emit({ event: 'backends', ports });

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  if (command.cmd === 'call') await call(command);
  else if (command.cmd === 'exit') break;
  else emit({ event: 'error', message: `unknown command ${command.cmd}` });
}

for (const client of clients.values()) client.close();
process.exit(0);
