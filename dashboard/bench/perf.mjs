#!/usr/bin/env node
/**
 * Measure how smooth the dashboard stays under live load, in Debian's Chromium.
 *
 * Usage:
 *   node bench/perf.mjs                          # fake API: 50 machines x 10 readings/s
 *   node bench/perf.mjs --url http://127.0.0.1:8000/ --seconds 30   # a running stack
 *   node bench/perf.mjs --machines 2000 --rate 1 --views overview --seconds 600 --memory-every 30
 *   options: --seconds N (20)  --warmup N (3)  --machines N (50)  --rate HZ (10)
 *            --views overview,machine,log  --screenshots DIR  --json  --chromium PATH
 *            --cpu-throttle N (1: none; 4 emulates a CPU four times slower, like a small PC)
 *            --dist DIR: the fake API serves this build instead of dist/ (to compare two builds)
 *            --memory-every S (0: off): every S seconds of the measurement, collect garbage and
 *            read the JS heap and the DOM size, to show whether memory stays flat
 *            --trace: also record a DevTools trace of the window and count the main thread's
 *            tasks by their own CPU time, not only by wall time (on a loaded machine the OS
 *            preempts the browser: a task's wall time then says more about the machine)
 *
 * For each view it opens the page, waits for live data, then counts for N seconds:
 * PerformanceObserver 'longtask' entries (main-thread tasks over 50 ms), frames drawn
 * (requestAnimationFrame), the slowest frame gap, and live events the page applied.
 * The overview also reports its first render: from navigation start to the first frame
 * painted with machines (the page marks it: `forewarn:overview-first-render`).
 * With --url, something else must feed the stack (e.g. publishers); the fake API feeds itself.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startFakeApi } from './fake-api.mjs';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

const DEFAULTS = { url: null, seconds: 20, warmup: 3, machines: 50, rate: 10, views: 'overview,machine,log',
  screenshots: null, json: false, trace: false, chromium: '/usr/bin/chromium', 'cpu-throttle': 1, 'memory-every': 0, dist: null };
const FIRST_RENDER_MARK = 'forewarn:overview-first-render';

function parseArgs(argv) {
  const options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i += 1) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in DEFAULTS)) throw new Error(`unknown option ${argv[i]} (see the usage at the top of bench/perf.mjs)`);
    if (key === 'json' || key === 'trace') {
      options[key] = true;
      continue;
    }
    const value = argv[(i += 1)];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    const numeric = typeof DEFAULTS[key] === 'number';
    const least = key === 'memory-every' ? 0 : Number.MIN_VALUE;
    if (numeric && !(Number(value) >= least)) throw new Error(`--${key} must be a positive number, got ${value}`);
    options[key] = numeric ? Number(value) : value;
  }
  return options;
}

/** Runs in the page before its scripts: collects long tasks and frame times. */
function probe() {
  const p = { longTasks: [], frames: 0, maxGap: 0, last: 0, since: performance.now() };
  window.__perf = p;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) p.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const frame = (t) => {
    if (p.last) p.maxGap = Math.max(p.maxGap, t - p.last);
    p.last = t;
    p.frames += 1;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  p.reset = () => {
    Object.assign(p, { longTasks: [], frames: 0, maxGap: 0, last: 0, since: performance.now() });
  };
}

function readFigures() {
  const p = window.__perf;
  const elapsed = (performance.now() - p.since) / 1000;
  const durations = p.longTasks.map((t) => t.duration);
  return {
    elapsed,
    longTasks: durations.length,
    longTaskMaxMs: durations.length ? Math.max(...durations) : 0,
    longTaskTotalMs: durations.reduce((a, b) => a + b, 0),
    fps: p.frames / elapsed,
    maxFrameGapMs: p.maxGap,
    applied: window.__forewarn?.stats().applied ?? null,
    heapMB: performance.memory ? performance.memory.usedJSHeapSize / 2 ** 20 : null,
    domNodes: document.getElementsByTagName('*').length,
  };
}

async function waitForLive(page, view) {
  await page.waitForSelector('[data-testid="connection-state"][data-state="live"]', { timeout: 15_000 });
  const selector = { overview: '[data-testid^="machine-card-"]', machine: '[data-testid="chart-probability"]', log: '[data-testid="log-row"]' }[view];
  await page.waitForSelector(selector, { timeout: 15_000 });
}

async function firstMachine(page) {
  const id = await page.evaluate(() => document.querySelector('[data-testid^="machine-card-"]')?.getAttribute('data-testid'));
  return id ? id.replace('machine-card-', '') : null;
}

/** Milliseconds from navigation start to the overview's first frame with machines (null if never marked). */
async function firstRender(page) {
  await page.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, FIRST_RENDER_MARK, { timeout: 15_000 })
    .catch(() => null);
  return page.evaluate((mark) => performance.getEntriesByName(mark)[0]?.startTime ?? null, FIRST_RENDER_MARK);
}

/** The JS heap after a full garbage collection (what the page really keeps), and the DOM's size. */
async function retained(cdp, page) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
  return { heapMB: usedSize / 2 ** 20, domNodes };
}

/** Least-squares growth of `values` over the samples' span, per 10 minutes. */
function growthPer10Min(samples, key) {
  if (samples.length < 3) return null;
  const xs = samples.map((s) => s.t);
  const ys = samples.map((s) => s[key]);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
  return sxx ? (sxy / sxx) * 600 : null;
}

/** Wait `seconds`, sampling retained memory every `every` seconds (0: just wait). */
async function watchMemory(cdp, page, seconds, every) {
  if (!every) {
    await page.waitForTimeout(seconds * 1000);
    return null;
  }
  const samples = [];
  const started = Date.now();
  for (;;) {
    const t = (Date.now() - started) / 1000;
    samples.push({ t, ...(await retained(cdp, page)) });
    const next = (samples.length) * every;
    if (next > seconds) break;
    await page.waitForTimeout(Math.max(0, started + next * 1000 - Date.now()));
  }
  const rest = started + seconds * 1000 - Date.now();
  if (rest > 0) await page.waitForTimeout(rest);
  samples.push({ t: (Date.now() - started) / 1000, ...(await retained(cdp, page)) });
  const heaps = samples.map((s) => s.heapMB);
  return {
    samples,
    heapStartMB: heaps[0],
    heapEndMB: heaps.at(-1),
    heapMaxMB: Math.max(...heaps),
    heapGrowthMBPer10Min: growthPer10Min(samples, 'heapMB'),
    domNodesMax: Math.max(...samples.map((s) => s.domNodes)),
  };
}

/** Main-thread tasks of a DevTools trace: how many took over 50 ms of wall time and of their own CPU time. */
function tasksOfTrace(buffer) {
  const { traceEvents } = JSON.parse(buffer.toString());
  const main = new Set(traceEvents.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
    .map((e) => `${e.pid}:${e.tid}`));
  const tasks = traceEvents.filter((e) => e.name === 'RunTask' && e.ph === 'X' && main.has(`${e.pid}:${e.tid}`));
  const wall = tasks.map((t) => t.dur / 1000);
  const cpu = tasks.map((t) => (t.tdur ?? t.dur) / 1000);
  return {
    tasks: tasks.length,
    over50msWall: wall.filter((d) => d > 50).length,
    over50msCpu: cpu.filter((d) => d > 50).length,
    maxWallMs: Math.max(0, ...wall),
    maxCpuMs: Math.max(0, ...cpu),
  };
}

async function measureView(page, cdp, base, view, options) {
  let hash = { overview: '#/', log: '#/log', machine: null }[view];
  if (view === 'machine') {
    await page.goto(`${base}#/`);
    await waitForLive(page, 'overview');
    hash = `#/machine/${encodeURIComponent(await firstMachine(page))}`;
  }
  await page.goto(`${base}${hash}`);
  await waitForLive(page, view);
  const firstRenderMs = view === 'overview' ? await firstRender(page) : null;
  await page.waitForTimeout(options.warmup * 1000);
  const before = await page.evaluate(() => window.__forewarn?.stats().applied ?? 0);
  await page.evaluate(() => window.__perf.reset());
  if (options.trace) await page.context().browser().startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  const memory = await watchMemory(cdp, page, options.seconds, options['memory-every']);
  const figures = await page.evaluate(readFigures);
  const trace = options.trace ? tasksOfTrace(await page.context().browser().stopTracing()) : null;
  if (options.screenshots) await page.screenshot({ path: join(options.screenshots, `perf-${view}.png`), fullPage: false });
  const eventsPerSecond = figures.applied === null ? null : (figures.applied - before) / figures.elapsed;
  return { view, ...figures, eventsPerSecond, firstRenderMs, memory, trace };
}

function report(results, options, target) {
  if (options.json) {
    console.log(JSON.stringify({ target, seconds: options.seconds, cpuThrottle: options['cpu-throttle'], results }, null, 2));
    return;
  }
  const throttle = options['cpu-throttle'] > 1 ? `; CPU throttled ${options['cpu-throttle']}x` : '';
  console.log(`target: ${target}; ${options.seconds} s per view after ${options.warmup} s warm-up${throttle}`);
  console.log('view      long tasks  max ms  total ms   fps   max frame gap ms  events/s applied  heap MB  DOM nodes  first render ms');
  for (const r of results) {
    const cells = [r.view.padEnd(9), String(r.longTasks).padStart(10), r.longTaskMaxMs.toFixed(0).padStart(7),
      r.longTaskTotalMs.toFixed(0).padStart(9), r.fps.toFixed(1).padStart(5), r.maxFrameGapMs.toFixed(0).padStart(17),
      (r.eventsPerSecond ?? NaN).toFixed(0).padStart(17), (r.heapMB ?? NaN).toFixed(1).padStart(8), String(r.domNodes).padStart(10),
      (r.firstRenderMs === null ? '-' : r.firstRenderMs.toFixed(0)).padStart(16)];
    console.log(cells.join(' '));
  }
  for (const r of results.filter((x) => x.trace)) {
    const t = r.trace;
    console.log(`${r.view}: trace: ${t.tasks} main-thread tasks; over 50 ms: ${t.over50msWall} by wall time (max `
      + `${t.maxWallMs.toFixed(0)} ms), ${t.over50msCpu} by their own CPU time (max ${t.maxCpuMs.toFixed(0)} ms)`);
  }
  for (const r of results.filter((x) => x.memory)) {
    const m = r.memory;
    const growth = m.heapGrowthMBPer10Min === null ? '-' : m.heapGrowthMBPer10Min.toFixed(2);
    console.log(`${r.view}: heap after GC ${m.heapStartMB.toFixed(1)} -> ${m.heapEndMB.toFixed(1)} MB (max ${m.heapMaxMB.toFixed(1)}), `
      + `trend ${growth} MB per 10 min over ${m.samples.length} samples; DOM nodes max ${m.domNodesMax}`);
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const served = options.dist ? { dist: resolve(options.dist) } : {};
  const fake = options.url ? null : await startFakeApi({ machines: options.machines, rate: options.rate, ...served });
  const base = (options.url ?? fake.url).replace(/#.*$/, '');
  const target = options.url ? base : `fake API ${base} (${options.machines} machines x ${options.rate}/s)`;
  if (options.screenshots) mkdirSync(resolve(options.screenshots), { recursive: true });
  const browser = await chromium.launch({ executablePath: options.chromium, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.addInitScript(probe);
    const cdp = await page.context().newCDPSession(page);
    if (options['cpu-throttle'] > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: options['cpu-throttle'] });
    const results = [];
    for (const view of options.views.split(',')) results.push(await measureView(page, cdp, base, view.trim(), options));
    report(results, options, target);
  } finally {
    await browser.close();
    fake?.close();
  }
}

main().catch((err) => {
  console.error(`perf: ${err.message.split('\n')[0]}`);
  process.exit(1);
});
