// A plain @grpc/grpc-js client (no xDS) for the `local connect --expose` tests: one bidi call to ADDRESS
// (`node bidi-client.mjs localhost:PORT one two ...`) with metadata `baggage: tenant=acme`; each message is sent once
// the previous one came back. Prints one JSON line: {headers, echoes, code, details, trailers}.
import * as grpc from '@grpc/grpc-js';

const [address, ...messages] = process.argv.slice(2);
const client = new grpc.Client(address, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
metadata.set('baggage', 'tenant=acme');
const call = client.makeBidiStreamRequest(
  '/echo.Echo/Bidi', (text) => Buffer.from(text, 'utf8'), (bytes) => bytes.toString('utf8'), metadata, { deadline: Date.now() + 30000 });

let headers = {};
const echoes = [];
const waiting = [];
call.on('metadata', (received) => { headers = received.getMap(); });
call.on('data', (echo) => { echoes.push(echo); waiting.shift()?.(); });
call.on('error', () => { /* the status event reports it */ });
call.on('status', (status) => {
  console.log(JSON.stringify({ headers, echoes, code: status.code, details: status.details, trailers: status.metadata.getMap() }));
  client.close();
  // A call that failed leaves the sender waiting: end it.
  waiting.splice(0).forEach((resume) => resume());
});

for (const message of messages) {
  await new Promise((resume) => { waiting.push(resume); call.write(message); });
}
call.end();
