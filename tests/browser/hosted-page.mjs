// Browser test of the emulator's hosted page, driven by Playwright in Debian's Chromium:
// create through the API -> open verification_url -> click through -> decide -> fetch.
// Starts `kyc-local` itself on free ports, fails on any console error, and keeps a screenshot
// of every step in tests/screenshots/.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, '.local', 'package.json'));
const { chromium } = require('playwright-core');
const shots = join(root, 'tests', 'screenshots');
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

function startStack() {
  const bin = join(root, 'target', 'debug', 'kyc-local');
  const child = spawn(bin, [], {
    // DYNAMODB_ENDPOINT (the run's one DynamoDB Local under `make test`) passes through; the
    // table is this run's own.
    env: { ...process.env, TABLE_NAME: `kyc-browser-${process.pid}`, API_PORT: '0', EMULATOR_PORT: '0', DYNAMODB_PORT: '0', RECEIVER_PORT: '0', RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('kyc-local did not print its ready line in 60 s')), 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('ready ')) return;
      clearTimeout(timer);
      const url = (name) => line.match(new RegExp(`${name}=(\\S+)`))[1];
      resolve({ child, api: url('api'), emulator: url('emulator') });
    });
    child.on('exit', (code) => reject(new Error(`kyc-local exited with ${code}`)));
  });
}

async function api(stack, method, path, body) {
  const resp = await fetch(`${stack.api}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  return { status: resp.status, body: await resp.json() };
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function flow(stack, browser, name, customer, decide) {
  const created = await api(stack, 'POST', '/v1/verifications', {
    customer_id: customer,
    applicant: { first_name: 'Ada', last_name: 'Lovelace', country_code: 'GB' },
    return_url: 'https://example.com/kyc/done',
  });
  assert(created.status === 201, `${name}: create answered ${created.status}`);
  const page = await browser.newPage({ viewport: { width: 720, height: 900 } });
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  let step = 0;
  const shot = async (label) => page.screenshot({ path: join(shots, `${name}-${++step}-${label}.png`), fullPage: true });

  await page.goto(created.body.verification_url);
  await shot('consent');
  await page.click('#consent');
  await page.waitForSelector('#document');
  await shot('document');
  await page.click('#document');
  await page.waitForSelector('#selfie');
  await shot('selfie');
  await page.click('#selfie');
  await page.waitForSelector('#approve');
  await shot('outcome');
  const expected = await decide(page, shot);
  await page.waitForSelector('#result');
  await shot('finished');
  assert(errors.length === 0, `${name}: console errors: ${errors.join(' | ')}`);
  await page.close();

  const fetched = await api(stack, 'GET', `/v1/verifications/${created.body.id}`);
  assert(fetched.body.status === expected.status, `${name}: status ${fetched.body.status}, expected ${expected.status}`);
  if (expected.reason) {
    assert(fetched.body.decision.provider_reason === expected.reason, `${name}: reason ${fetched.body.decision.provider_reason}`);
  }
}

const tests = [
  ['approve', 'cus_browser_approve', async (page) => {
    await page.click('#approve');
    return { status: 'approved' };
  }],
  ['reject', 'cus_browser_reject', async (page) => {
    await page.selectOption('#reason', 'DocumentIsExpired');
    await page.click('#reject');
    return { status: 'rejected', reason: 'DocumentIsExpired' };
  }],
  ['review', 'cus_browser_review', async (page, shot) => {
    await page.click('#review');
    await page.waitForSelector('#operator_approve');
    await shot('manual-review');
    await page.click('#operator_approve');
    return { status: 'approved', reason: 'ManuallyIdentified' };
  }],
];

// Bond: documents required; the person follows the upload link and uploads an image.
async function bondUpload(stack, browser) {
  const created = await api(stack, 'POST', '/v1/verifications', {
    customer_id: 'cus_browser_bond',
    provider: 'bond',
    applicant: {
      first_name: 'Grace', last_name: 'Hopper', date_of_birth: '1986-12-09', email: 'grace@example.com',
      phone: '2025550147', phone_country_code: '1', ssn: '333-33-3333',
      address: { street: '1 Navy Way', city: 'Arlington', state: 'VA', zip_code: '22202', country: 'US' },
    },
  });
  assert(created.status === 201, `bond: create answered ${created.status}`);
  const poll = async (want) => {
    for (let i = 0; i < 100; i++) {
      const v = await api(stack, 'GET', `/v1/verifications/${created.body.id}`);
      if (want(v.body)) return v.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('bond: the verification did not get there');
  };
  const waiting = await poll((v) => v.required_actions.some((a) => a.upload_url));
  const page = await browser.newPage({ viewport: { width: 720, height: 600 } });
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(waiting.required_actions.find((a) => a.upload_url).upload_url);
  await page.screenshot({ path: join(shots, 'bond-1-upload.png'), fullPage: true });
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  await page.setInputFiles('#file', { name: 'id-card.png', mimeType: 'image/png', buffer: png });
  await page.click('#upload');
  await page.waitForSelector('#done');
  await page.screenshot({ path: join(shots, 'bond-2-uploaded.png'), fullPage: true });
  assert(errors.length === 0, `bond: console errors: ${errors.join(' | ')}`);
  await page.close();
  const done = await poll((v) => v.status === 'approved');
  assert(done.history.some((h) => h.status === 'in_review'), 'bond: under review before the decision');
}

// Veriff: the person starts and submits on Veriff's page; the tester decides there.
async function veriffFlow(stack, browser, name, customer, decide) {
  const created = await api(stack, 'POST', '/v1/verifications', {
    customer_id: customer, provider: 'veriff', applicant: { first_name: 'Ada', last_name: 'King' },
  });
  assert(created.status === 201, `${name}: create answered ${created.status}`);
  const page = await browser.newPage({ viewport: { width: 720, height: 900 } });
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  let step = 0;
  const shot = async (label) => page.screenshot({ path: join(shots, `${name}-${++step}-${label}.png`), fullPage: true });
  const poll = async (want) => {
    for (let i = 0; i < 100; i++) {
      const v = await api(stack, 'GET', `/v1/verifications/${created.body.id}`);
      if (want(v.body)) return v.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${name}: the verification did not get there`);
  };
  const startAndSubmit = async (label) => {
    await page.waitForSelector('#start');
    await shot(`${label}-start`);
    await page.click('#start');
    await page.waitForSelector('#submit');
    await page.click('#submit');
    await page.waitForSelector('#approve');
    await shot(`${label}-decide`);
  };
  await page.goto(created.body.verification_url);
  const expected = await decide(page, shot, startAndSubmit, poll);
  await page.waitForSelector('#result');
  await shot('finished');
  assert(errors.length === 0, `${name}: console errors: ${errors.join(' | ')}`);
  await page.close();
  const done = await poll((v) => v.status === expected.status);
  if (expected.reason) {
    assert(done.decision.provider_reason === expected.reason, `${name}: reason ${done.decision.provider_reason}`);
  }
}

const veriffTests = [
  ['veriff-approve', 'cus_browser_veriff_approve', async (page, shot, startAndSubmit) => {
    await startAndSubmit('first');
    await page.click('#approve');
    return { status: 'approved' };
  }],
  ['veriff-decline', 'cus_browser_veriff_decline', async (page, shot, startAndSubmit) => {
    await startAndSubmit('first');
    await page.selectOption('#decline-reason', '102');
    await page.click('#decline');
    return { status: 'rejected', reason: 'Suspected document tampering' };
  }],
  ['veriff-resubmit', 'cus_browser_veriff_resubmit', async (page, shot, startAndSubmit, poll) => {
    await startAndSubmit('first');
    await page.selectOption('#resubmit-reason', '204');
    await page.click('#resubmit');
    await page.waitForSelector('#reason');
    await shot('asked-to-resubmit');
    const asked = await poll((v) => v.status === 'action_required');
    assert(asked.required_actions[0].kind === 'resubmit', 'veriff-resubmit: a resubmit action');
    await startAndSubmit('second');
    await page.click('#approve');
    return { status: 'approved' };
  }],
];

const stack = await startStack();
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let passed = 0;
let failed = 0;
async function run(name, test) {
  try {
    await test();
    console.log(`ok    browser: ${name}`);
    passed++;
  } catch (e) {
    console.log(`FAIL  browser: ${name}: ${e.message}`);
    failed++;
  }
}
for (const [name, customer, decide] of tests) {
  await run(name, () => flow(stack, browser, name, customer, decide));
}
for (const [name, customer, decide] of veriffTests) {
  await run(name, () => veriffFlow(stack, browser, name, customer, decide));
}
await run('bond-upload', () => bondUpload(stack, browser));
await browser.close();
stack.child.kill('SIGINT');
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
