// A business's webhook receiver, as the README shows it, verifying with the official
// `standardwebhooks` npm package. The integration tests start it (node tests/receiver/receiver.mjs)
// and read what it received.
//
// RECEIVER_KEYS: JSON {name: "whsec_…"}; every delivery is verified with each key and the
// result kept per name. RECEIVER_ACCEPT: the name of the key that decides the answer (2xx when it
// verifies, 401 when not). Prints `listening <port>` once up.
//
//   POST /webhook        a delivery
//   GET  /received       [{webhook_id, webhook_timestamp, verified: {name: bool}, answered,
//                          received_at_ms, event}]
//   POST /control        {"fail_until_ms": <epoch ms>, "status": 500}: answer `status` until then
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, '.local', 'package.json'));
const { Webhook } = require('standardwebhooks');

const keys = Object.entries(JSON.parse(process.env.RECEIVER_KEYS ?? '{}'));
const accept = process.env.RECEIVER_ACCEPT ?? keys[0]?.[0];
const received = [];
let failUntil = 0;
let failStatus = 500;

function verified(body, headers) {
  const out = {};
  for (const [name, key] of keys) {
    try {
      new Webhook(key).verify(body, headers);
      out[name] = true;
    } catch {
      out[name] = false;
    }
  }
  return out;
}

function read(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

const server = createServer(async (req, res) => {
  const body = await read(req);
  if (req.method === 'POST' && req.url === '/webhook') {
    const check = verified(body, req.headers);
    const answered = Date.now() < failUntil ? failStatus : check[accept] ? 204 : 401;
    let event = null;
    try { event = JSON.parse(body); } catch { /* kept as null */ }
    received.push({
      webhook_id: req.headers['webhook-id'] ?? null,
      webhook_timestamp: req.headers['webhook-timestamp'] ?? null,
      verified: check,
      answered,
      received_at_ms: Date.now(),
      event,
    });
    res.writeHead(answered).end();
  } else if (req.method === 'GET' && req.url === '/received') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
  } else if (req.method === 'POST' && req.url === '/control') {
    const c = JSON.parse(body || '{}');
    failUntil = c.fail_until_ms ?? 0;
    failStatus = c.status ?? 500;
    res.writeHead(204).end();
  } else {
    res.writeHead(404).end();
  }
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
