/**
 * A stand-in for the Forewarn API (its shapes: GET /api/openapi.json) that serves dashboard/dist and
 * feeds /api/events with synthetic predictions: `machines` machines × `rate` readings/s.
 * For benchmarks and local development only; it stores nothing.
 *
 * Usage: node bench/fake-api.mjs [--port 8010] [--machines 50] [--rate 10]
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DIST = resolve(HERE, '../dist');
export const FAKE_TOKEN = 'bench-token';
const THRESHOLD = 0.41;
// History kept per machine for the history, log and export routes: 3,000 readings, fewer for
// a big fleet so the fake's own memory stays bounded (2,000 machines x 150 over a 10-minute run).
const KEEP_READINGS = 300_000;
const keepPerMachine = (machines) => Math.min(3000, Math.max(100, Math.floor(KEEP_READINGS / machines)));
const REPLAY_EVENTS = 10_000;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };

const ROOT = resolve(HERE, '../..');
// The profiles the fake's machines follow: the built-in ones and this example, as the API lists
// them (GET /api/profiles), printed by the contract's own tooling; no field is named here.
const EXTRA_PROFILES = [join(ROOT, 'docs/profiles/centrifugal-pump.yaml')];

/** GET /api/profiles of the real API: `python -m contract profiles` (FOREWARN_PYTHON, else the repo's .venv). */
export function loadProfiles(python = process.env.FOREWARN_PYTHON ?? join(ROOT, '.venv/bin/python')) {
  const files = EXTRA_PROFILES.filter((file) => existsSync(file));
  const text = execFileSync(python, ['-m', 'contract', 'profiles', ...files], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(text).profiles;
}

function makeMachine(i, profiles) {
  // most machines follow the first profile, every fifth the next one (a mixed fleet)
  const profile = profiles[i % 5 === 4 && profiles.length > 1 ? 1 : 0];
  const state = {};
  for (const field of profile.fields) {
    if (field.kind === 'category') state[field.name] = field.values[i % field.values.length];
    else if (field.kind === 'sensor' || field.kind === 'counter') state[field.name] = start(field, i);
  }
  return {
    id: `m${String(i + 1).padStart(2, '0')}`,
    profile: profile.id,
    fields: profile.fields,
    state,
    seq: 0,
    risk: i % 10 === 0 ? 0.8 : i % 7 === 0 ? 0.45 : 0.05, // a few machines sit near or over the threshold
    online: true,
    history: [],
  };
}

/** A starting value inside the field's bounds: a sensor in the lower middle, a counter near its start. */
function start(field, i) {
  const low = field.min ?? 0;
  const high = field.max ?? low + 100;
  const span = high - low;
  return field.kind === 'counter' ? low + ((i * 37) % 200) * span * 1e-4 : low + span * (0.3 + 0.02 * (i % 5));
}

function walk(value, step, low, high) {
  return Math.min(high, Math.max(low, value + (Math.random() - 0.5) * step));
}

/** The machine's next values, following its profile's fields (numbers walk, counters grow). */
function nextValues(m) {
  const values = {};
  for (const field of m.fields) {
    const low = field.min ?? -Infinity;
    const high = field.max ?? Infinity;
    if (field.kind === 'sensor') m.state[field.name] = walk(m.state[field.name], ((field.max ?? 100) - (field.min ?? 0)) * 0.002, low, high);
    else if (field.kind === 'counter') m.state[field.name] = Math.min(high, m.state[field.name] + ((field.max ?? 100) - (field.min ?? 0)) * 1e-6);
    else if (field.kind !== 'category') continue;
    const value = m.state[field.name];
    values[field.name] = typeof value === 'number' ? Number(value.toFixed(field.decimals ?? 2)) : value;
  }
  return values;
}

function predict(m, now) {
  m.seq += 1;
  const p = Math.min(0.999, Math.max(0, m.risk + (Math.random() - 0.5) * 0.2));
  const status = p >= 0.75 ? 'failure' : p >= THRESHOLD ? 'predictive' : 'normal';
  const ts = new Date(now).toISOString();
  // Prediction version 2 (machine profiles): the reading's values nested, per the machine's profile
  return {
    reading_id: `${m.id}-${String(m.seq).padStart(6, '0')}`, machine_id: m.id, profile: m.profile, ts, scored_at: ts, status,
    failure_probability: Number(p.toFixed(3)), predicted_mode: status === 'normal' ? null : 'HDF',
    model_version: 'fake0000', threshold: THRESHOLD, values: nextValues(m), failure: null, failure_description: null,
    explanation: null, schema_version: 2,
  };
}

function numericFields(m) {
  return m.fields.filter((f) => f.kind === 'sensor' || f.kind === 'counter').map((f) => f.name);
}

function explanationFor(p, m) {
  const [first, second, third] = numericFields(m);
  const counter = m.fields.find((f) => f.kind === 'counter');
  const used = counter ? p.values[counter.name] : null;
  const limit = counter ? (counter.min ?? 0) + ((counter.max ?? 100) - (counter.min ?? 0)) * 0.02 : null;
  return {
    base_value: 0.034,
    contributions: [
      { feature: first, value: p.values[first] ?? null, contribution: 0.21 },
      { feature: second, value: p.values[second] ?? null, contribution: 0.12 },
      { feature: third, value: p.values[third] ?? null, contribution: -0.04 },
    ].filter((c) => c.feature !== undefined),
    rest: 0.011,
    conditions: [{ mode: 'HDF', holds: false, text: 'a condition near its limit', margin: 0.4 }],
    // like inference_worker/early_warning.py: only near the counter's failure region
    ...(counter && used >= limit * 0.9 && {
      early_warning: {
        mode: 'TWF',
        counter: counter.name,
        remaining: Number((limit - used).toFixed(1)),
        unit: counter.unit ?? '',
        text: `${counter.label ?? counter.name} ${used}: about ${Math.max(0, limit - used).toFixed(1)} left before the failure region`,
      },
    }),
  };
}

/** A drift report shaped like api/routes/drift.py; a few machines drift moderately or badly. */
function driftFor(api, machineId, limit) {
  const machines = machineId ? api.machines.filter((m) => m.id === machineId) : api.machines;
  const window = Math.min(limit, machines.reduce((n, m) => n + m.history.length, 0));
  const base = { model_version: 'fake0000', machine_id: machineId, window, reason: window ? null : 'no readings yet', features: [] };
  if (!window) return base;
  const index = machineId ? api.machines.findIndex((m) => m.id === machineId) : 0;
  const features = numericFields(machines[0] ?? api.machines[0]).map((feature, i) => {
    const psi = Number((0.02 + ((index * 7 + i * 13) % 10 === 0 ? 0.3 : (index + i) % 6 === 0 ? 0.15 : 0.03 * (i % 3))).toFixed(4));
    return { feature, psi, level: psi >= 0.25 ? 'significant' : psi >= 0.1 ? 'moderate' : 'stable' };
  });
  return { ...base, features };
}

function downsample(points, limit) {
  if (points.length <= limit) return { points, downsampled: false };
  const size = Math.ceil(points.length / limit);
  const out = [];
  for (let i = 0; i < points.length; i += size) out.push(points[Math.min(points.length - 1, i + size - 1)]);
  return { points: out, downsampled: true };
}

function historyPoint(p) {
  const values = Object.fromEntries(Object.entries(p.values).filter(([, v]) => typeof v === 'number'));
  return { ts: p.ts, values, failure_probability: p.failure_probability, status: p.status };
}

class FakeApi {
  constructor({ machines = 50, rate = 10, profiles = loadProfiles() } = {}) {
    this.profiles = profiles;
    this.machines = Array.from({ length: machines }, (_, i) => makeMachine(i, profiles));
    this.rate = rate;
    this.keep = keepPerMachine(machines);
    this.events = []; // recent {id, event, data} for Last-Event-ID replay
    this.nextId = 1;
    this.clients = new Set();
    this.alerts = new Map();
    this.sent = 0;
  }

  emit(event, data) {
    const entry = { id: this.nextId++, event, data: JSON.stringify(data) };
    this.events.push(entry);
    if (this.events.length > REPLAY_EVENTS) this.events.splice(0, this.events.length - REPLAY_EVENTS);
    const frame = `id: ${entry.id}\nevent: ${event}\ndata: ${entry.data}\n\n`;
    for (const res of this.clients) res.write(frame);
    this.sent += this.clients.size;
  }

  /** Emit the readings due in one tick, spreading machines evenly over the second. */
  tick(dtMs) {
    const due = (this.machines.length * this.rate * dtMs) / 1000 + (this.carry ?? 0);
    const count = Math.floor(due);
    this.carry = due - count;
    const now = Date.now();
    for (let k = 0; k < count; k += 1) {
      this.cursor = ((this.cursor ?? -1) + 1) % this.machines.length;
      const m = this.machines[this.cursor];
      const p = predict(m, now);
      m.history.push(p);
      if (m.history.length > this.keep) m.history.splice(0, m.history.length - this.keep);
      this.emit('prediction', p);
      this.updateAlert(m, p);
    }
  }

  updateAlert(m, p) {
    const id = `${m.id}-detected`;
    const open = this.alerts.get(id);
    if (p.status === 'failure' && (!open || open.state === 'cleared')) {
      const alert = { alert_id: `${id}-${p.reading_id}`, machine_id: m.id, kind: 'detected', severity: 'critical', state: 'open',
        opened_at: p.ts, reading_id: p.reading_id, failure_probability: p.failure_probability, predicted_mode: 'HDF',
        message: `${m.id} crossed the failure line`, cleared_at: null, profile: m.profile, schema_version: 1, acked_by: null, acked_at: null };
      this.alerts.set(id, alert);
      this.emit('alert', alert);
    } else if (open && open.state === 'open' && p.status === 'normal') {
      Object.assign(open, { state: 'cleared', cleared_at: p.ts });
      this.emit('alert', open);
    }
  }

  summary(m) {
    const latest = m.history.at(-1) ?? null;
    const open_alerts = [...this.alerts.values()].filter((a) => a.machine_id === m.id && a.state === 'open');
    return { machine_id: m.id, profile: m.profile, online: m.online, status: latest?.status ?? null, last_seen: latest?.ts ?? null, latest,
      open_alerts, counts: { readings: m.seq, predictive: 0, failure: 0 }, threshold: THRESHOLD };
  }

  logItems(q) {
    const since = q.get('since') ? Date.parse(q.get('since')) : -Infinity;
    const until = q.get('until') ? Date.parse(q.get('until')) : Infinity;
    const all = this.machines.filter((m) => !q.get('machine') || m.id === q.get('machine')).flatMap((m) => m.history);
    return all
      .filter((p) => (!q.get('status') || p.status === q.get('status')) && Date.parse(p.ts) >= since && Date.parse(p.ts) <= until)
      .sort((a, b) => b.ts.localeCompare(a.ts) || b.reading_id.localeCompare(a.reading_id));
  }
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function serveEvents(api, req, res, q) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  res.write(': connected\n\n');
  const last = Number(req.headers['last-event-id'] ?? q.get('last_event_id') ?? NaN);
  if (Number.isFinite(last)) {
    for (const e of api.events) if (e.id > last) res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${e.data}\n\n`);
  }
  api.clients.add(res);
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(keepalive);
    api.clients.delete(res);
  });
}

function route(api, req, res, url) {
  const q = url.searchParams;
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // ['api', ...]
  const machine = api.machines.find((m) => m.id === parts[2]);
  if (url.pathname === '/api/health') return json(res, 200, { status: 'ok', broker_connected: true, database: true, ingest_lag_s: 0, version: 'fake' });
  if (url.pathname === '/api/events') return serveEvents(api, req, res, q);
  if (url.pathname === '/api/profiles') return json(res, 200, { profiles: api.profiles });
  if (url.pathname === '/api/machines') {
    const machines = api.machines.map((m) => api.summary(m));
    const count = (s) => machines.filter((m) => m.online && m.status === s).length;
    return json(res, 200, { machines, counts: { normal: count('normal'), predictive: count('predictive'), failure: count('failure'), offline: 0, online: machines.length } });
  }
  if (parts[1] === 'machines' && parts.length === 3) return machine ? json(res, 200, api.summary(machine)) : json(res, 404, { error: `unknown machine ${parts[2]}`, field: null });
  if (parts[1] === 'machines' && parts[3] === 'history') {
    if (!machine) return json(res, 404, { error: `unknown machine ${parts[2]}`, field: null });
    const since = q.get('since') ? Date.parse(q.get('since')) : -Infinity;
    const { points, downsampled } = downsample(machine.history.filter((p) => Date.parse(p.ts) >= since).map(historyPoint), Number(q.get('limit') ?? 1000));
    return json(res, 200, { machine_id: machine.id, threshold: THRESHOLD, downsampled, points });
  }
  if (url.pathname === '/api/log') {
    const items = api.logItems(q);
    const start = Number(q.get('cursor') ?? 0);
    const limit = Number(q.get('limit') ?? 50);
    const page = items.slice(start, start + limit);
    return json(res, 200, { items: page, next_cursor: start + limit < items.length ? String(start + limit) : null });
  }
  if (parts[1] === 'readings') {
    const p = machine?.history.find((h) => h.reading_id === parts[3]);
    return p ? json(res, 200, { ...p, explanation: explanationFor(p, machine) }) : json(res, 404, { error: 'unknown reading', field: null });
  }
  if (url.pathname === '/api/alerts') {
    const state = q.get('state') ?? 'all';
    const alerts = [...api.alerts.values()].filter((a) => (state === 'all' || a.state === state) && (!q.get('machine') || a.machine_id === q.get('machine')));
    return json(res, 200, { alerts });
  }
  if (parts[1] === 'alerts' && parts[3] === 'ack' && req.method === 'POST') {
    if (req.headers.authorization !== `Bearer ${FAKE_TOKEN}`) return json(res, 401, { error: 'missing or wrong token', field: null });
    const alert = [...api.alerts.values()].find((a) => a.alert_id === parts[2]);
    if (!alert) return json(res, 404, { error: 'unknown alert', field: null });
    Object.assign(alert, { acked_by: 'bench', acked_at: new Date().toISOString() });
    api.emit('alert', alert);
    return json(res, 200, alert);
  }
  if (url.pathname === '/api/drift') return json(res, 200, driftFor(api, q.get('machine'), Number(q.get('limit') ?? 1000)));
  if (url.pathname === '/api/export.csv') {
    res.writeHead(200, { 'Content-Type': 'text/csv' });
    res.end(['machine_id,reading_id,ts,status,failure_probability', ...api.logItems(q).map((p) => `${p.machine_id},${p.reading_id},${p.ts},${p.status},${p.failure_probability}`)].join('\n'));
    return undefined;
  }
  return json(res, 404, { error: `no route ${url.pathname}`, field: null });
}

function serveStatic(res, dist, pathname) {
  const file = normalize(join(dist, pathname === '/' ? 'index.html' : pathname));
  if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}

/** Start the fake API; resolves to {url, api, close}. */
export function startFakeApi({ port = 0, machines = 50, rate = 10, tickMs = 20, dist = DIST } = {}) {
  if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist} has no index.html: run \`npm run build\` first`);
  const api = new FakeApi({ machines, rate });
  for (let i = 0; i < 5 * rate; i += 1) api.tick(1000 / rate); // some history before the page opens
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    api.tick(now - last);
    last = now;
  }, tickMs);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/api/')) route(api, req, res, url);
    else serveStatic(res, dist, url.pathname);
  });
  return new Promise((done) => {
    server.listen(port, '127.0.0.1', () => {
      const close = () => {
        clearInterval(timer);
        for (const res of api.clients) res.end();
        server.close();
      };
      done({ url: `http://127.0.0.1:${server.address().port}/`, api, close });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  try {
    const { url } = await startFakeApi({ port: arg('port', 8010), machines: arg('machines', 50), rate: arg('rate', 10) });
    console.log(`fake Forewarn API and dashboard on ${url} (ack token: ${FAKE_TOKEN}); Ctrl+C stops`);
  } catch (err) {
    console.error(`fake-api: ${err.message}`);
    process.exit(1);
  }
}
