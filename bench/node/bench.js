// Node.js peers of Weft's benchmark suite.
//
//   node bench.js IMPL SCENARIO [N]
//
// IMPL: promise     -- Promise.all tree / async functions / setTimeout
//       effects     -- a hand-written effect runner over generator functions in
//                      the style of redux-saga (call/all/race/delay effects
//                      driven by .next()/.throw()/.return()), callbacks, no Promises
//       redux-saga  -- redux-saga itself (runSaga; npm, pinned in package-lock.json)
// SCENARIO: skynet | sleepers | race | saga
// Prints one line of key=value pairs, like the Weft programs.
'use strict';

const [impl, scenario, nArg] = process.argv.slice(2);
const DEFAULTS = { skynet: 1000000, sleepers: 1000000, race: 1000000, saga: 10000 };
const N = Number(nArg || process.env.BENCH_N || DEFAULTS[scenario]);
const STEPS = 100;

const nowNs = () => process.hrtime.bigint();
const rss = () => process.memoryUsage.rss();
const maxrssKb = () => process.resourceUsage().maxRSS;
function report(fields) {
  fields.maxrss_kb = maxrssKb();
  console.log(Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' '));
  if (String(fields.result) !== String(fields.expected)) process.exitCode = 1;
}
function skynetCount(n) { let w = 0; for (let s = n; s >= 1; s = Math.floor(s / 10)) w += n / s; return w; }
const sum = (xs) => { let s = 0; for (const x of xs) s += x; return s; };
class Declined extends Error {}

// ---------------------------------------------------------------------------
// A minimal effect runner (the redux-saga model without redux): a task drives
// a generator; yielded effects are plain objects; completion is a callback.
const call = (fn, ...args) => ({ type: 'call', fn, args });
const all = (effects) => ({ type: 'all', effects });
const race = (effects) => ({ type: 'race', effects });
const delay = (ms) => ({ type: 'delay', ms });
function isGen(x) { return x && typeof x.next === 'function' && typeof x.throw === 'function'; }

// runEffect(effect, cb) -> cancel function (or null); cb(err, value)
function runEffect(eff, cb) {
  switch (eff.type) {
    case 'call': {
      const r = eff.fn(...eff.args);
      if (isGen(r)) return runTask(r, cb);
      cb(null, r);
      return null;
    }
    case 'delay': {
      const t = setTimeout(() => cb(null, true), eff.ms);
      return () => clearTimeout(t);
    }
    case 'all': {
      const effs = eff.effects, n = effs.length, out = new Array(n);
      let left = n, done = false;
      const cancels = new Array(n);
      if (n === 0) { cb(null, out); return null; }
      for (let i = 0; i < n && !done; i++) {
        cancels[i] = runEffect(effs[i], (err, v) => {
          if (done) return;
          if (err) { done = true; cancelAll(cancels, i); cb(err); return; }
          out[i] = v;
          if (--left === 0) { done = true; cb(null, out); }
        });
      }
      return () => { if (!done) { done = true; cancelAll(cancels, -1); } };
    }
    case 'race': {
      const keys = Object.keys(eff.effects);
      const cancels = new Array(keys.length);
      let done = false;
      for (let i = 0; i < keys.length; i++) {   // every branch starts (as in redux-saga)
        const k = keys[i];
        cancels[i] = runEffect(eff.effects[k], (err, v) => {
          if (done) return;
          done = true;
          cancelAll(cancels, i);
          if (err) cb(err); else cb(null, { [k]: v });
        });
      }
      if (done) cancelAll(cancels, -1);   // a branch settled synchronously: cancel the ones started after it
      return () => { if (!done) { done = true; cancelAll(cancels, -1); } };
    }
  }
  throw new Error('unknown effect ' + eff.type);
}
function cancelAll(cancels, except) {
  for (let i = 0; i < cancels.length; i++) if (i !== except && cancels[i]) { const c = cancels[i]; cancels[i] = null; c(); }
}
// Drives a generator: returns a cancel function.
function runTask(gen, cb) {
  let cancelCurrent = null, finished = false, sync = true, pending = null;
  function step(err, val) {
    cancelCurrent = null;
    for (;;) {
      let r;
      try { r = err ? gen.throw(err) : gen.next(val); }
      catch (e) { finished = true; cb(e); return; }
      if (r.done) { finished = true; cb(null, r.value); return; }
      // run the effect; if it completes synchronously, loop instead of recursing
      let syncDone = false, sErr, sVal, inCall = true;
      const c = runEffect(r.value, (e, v) => {
        if (inCall) { syncDone = true; sErr = e; sVal = v; } else step(e, v);
      });
      inCall = false;
      if (!syncDone) { cancelCurrent = c; return; }
      err = sErr; val = sVal;
    }
  }
  step(null, undefined);
  return () => {
    if (finished) return;
    finished = true;
    if (cancelCurrent) cancelCurrent();
    gen.return();   // runs the generator's finally blocks
  };
}
const runRoot = (gen) => new Promise((res, rej) => runTask(gen, (e, v) => (e ? rej(e) : res(v))));

// ---------------------------------------------------------------------------
// Generator bodies shared by `effects` and `redux-saga` (only the effect
// constructors differ).
function makeGens(E) {
  function* skynet(num, size) {
    if (size === 1) return num;
    const step = size / 10, calls = new Array(10);
    for (let i = 0; i < 10; i++) calls[i] = E.call(skynet, num + i * step, step);
    return sum(yield E.all(calls));
  }
  function* sleeper(counter) { counter.n++; yield E.delay(300); }
  function* work(i) { return i + 1; }
  function* step(i) { return i; }
  let comps = 0;
  function* undo(i) { comps++; }
  function* saga(steps) {
    const stack = [];
    try {
      for (let i = 0; i < steps; i++) {
        const r = yield E.call(step, i);
        stack.push(r);
      }
      throw new Declined('step ' + steps + ' failed');
    } catch (e) {
      while (stack.length) yield E.call(undo, stack.pop());
      throw e;
    }
  }
  function* raceLoop(n, withTimer) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      if (withTimer) {
        const r = yield E.race({ v: E.call(work, i), t: E.delay(1000) });
        if (r.t !== undefined) throw new Error('timed out');
        acc += r.v;
      } else acc += yield E.call(work, i);
    }
    return acc;
  }
  function* sagaLoop(n) {
    let failed = 0;
    for (let k = 0; k < n; k++) {
      try { yield E.call(saga, STEPS); } catch (e) { if (e instanceof Declined) failed++; else throw e; }
    }
    return failed;
  }
  return { skynet, sleeper, raceLoop, sagaLoop, comps: () => comps };
}

// ---------------------------------------------------------------------------
async function runGens(E, run) {
  const g = makeGens(E);
  if (scenario === 'skynet') {
    const t0 = nowNs();
    const r = await run(g.skynet(0, N));
    const t1 = nowNs();
    report({ workflows: skynetCount(N), ns: t1 - t0, result: r, expected: N * (N - 1) / 2 });
  } else if (scenario === 'sleepers') {
    // all() over groups of 1,000 (redux-saga's all() overflows the stack on
    // an array of a million effects); 1,000 extra tasks for 1M sleepers
    const counter = { n: 0 };
    const group = function* (lo, hi) {
      const calls = new Array(hi - lo);
      for (let i = lo; i < hi; i++) calls[i - lo] = E.call(g.sleeper, counter);
      yield E.all(calls);
    };
    const groups = [];
    for (let lo = 0; lo < N; lo += 1000) groups.push(E.call(group, lo, Math.min(N, lo + 1000)));
    const root = function* () { yield E.all(groups); };
    if (global.gc) global.gc();
    const base = rss();
    const t0 = nowNs();
    const p = run(root());
    const t1 = nowNs();   // every sleeper has run to its delay
    const peak = rss();
    const parked = counter.n;
    await p;
    const t2 = nowNs();
    report({ workflows: N, parked, rss_base: base, rss_peak: peak, bytes_each: Math.round((peak - base) / N),
             ns: t1 - t0, total_ns: t2 - t0, result: parked, expected: N });
  } else if (scenario === 'race') {
    const w = Math.min(N, 10000);          // warm up both loops (JIT)
    await run(g.raceLoop(w, false)); await run(g.raceLoop(w, true));
    const t0 = nowNs();
    const a = await run(g.raceLoop(N, false));
    const t1 = nowNs();
    const b = await run(g.raceLoop(N, true));
    const t2 = nowNs();
    report({ ops: N, plain_ns: t1 - t0, race_ns: t2 - t1, ns: (t2 - t1) - (t1 - t0), result: b, expected: a });
  } else if (scenario === 'saga') {
    const t0 = nowNs();
    const failed = await run(g.sagaLoop(N));
    const t1 = nowNs();
    report({ sagas: N, ops: g.comps(), ns: t1 - t0, failed, result: g.comps(), expected: N * STEPS });
  }
}

// ---------------------------------------------------------------------------
// Plain Promises / async functions.
async function runPromise() {
  if (scenario === 'skynet') {
    function skynet(num, size) {           // leaves return plain numbers (node-bluebird/skynet.js)
      if (size === 1) return num;
      const step = size / 10, tasks = new Array(10);
      for (let i = 0; i < 10; i++) tasks[i] = skynet(num + i * step, step);
      return Promise.all(tasks).then(sum);
    }
    const t0 = nowNs();
    const r = await skynet(0, N);
    const t1 = nowNs();
    report({ workflows: skynetCount(N), ns: t1 - t0, result: r, expected: N * (N - 1) / 2 });
  } else if (scenario === 'sleepers') {
    let n = 0;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    async function sleeper() { n++; await sleep(300); }
    if (global.gc) global.gc();
    const base = rss();
    const t0 = nowNs();
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = sleeper();
    const t1 = nowNs();
    const peak = rss();
    const parked = n;
    await Promise.all(ps);
    const t2 = nowNs();
    report({ workflows: N, parked, rss_base: base, rss_peak: peak, bytes_each: Math.round((peak - base) / N),
             ns: t1 - t0, total_ns: t2 - t0, result: parked, expected: N });
  } else if (scenario === 'race') {
    async function work(i) { return i + 1; }
    async function withTimeout(p, ms) {
      let t;
      const timer = new Promise((_, rej) => { t = setTimeout(() => rej(new Error('timed out')), ms); });
      try { return await Promise.race([p, timer]); } finally { clearTimeout(t); }
    }
    const w = Math.min(N, 10000);          // warm up both loops (JIT)
    for (let i = 0; i < w; i++) { await work(i); await withTimeout(work(i), 1000); }
    const t0 = nowNs();
    let a = 0;
    for (let i = 0; i < N; i++) a += await work(i);
    const t1 = nowNs();
    let b = 0;
    for (let i = 0; i < N; i++) b += await withTimeout(work(i), 1000);
    const t2 = nowNs();
    report({ ops: N, plain_ns: t1 - t0, race_ns: t2 - t1, ns: (t2 - t1) - (t1 - t0), result: b, expected: a });
  } else if (scenario === 'saga') {
    let comps = 0;
    async function step(i) { return i; }
    async function undo(i) { comps++; }
    async function saga(steps) {
      const stack = [];
      try {
        for (let i = 0; i < steps; i++) { const r = await step(i); stack.push(() => undo(r)); }
        throw new Declined('step ' + steps + ' failed');
      } catch (e) {
        while (stack.length) await stack.pop()();
        throw e;
      }
    }
    let failed = 0;
    const t0 = nowNs();
    for (let k = 0; k < N; k++) { try { await saga(STEPS); } catch (e) { if (e instanceof Declined) failed++; else throw e; } }
    const t1 = nowNs();
    report({ sagas: N, ops: comps, ns: t1 - t0, failed, result: comps, expected: N * STEPS });
  }
}

async function main() {
  if (!DEFAULTS[scenario]) { console.error('usage: node bench.js promise|effects|redux-saga skynet|sleepers|race|saga [N]'); process.exit(2); }
  if (impl === 'promise') return runPromise();
  if (impl === 'effects') return runGens({ call, all, race, delay }, runRoot);
  if (impl === 'redux-saga') {
    const { runSaga } = require('redux-saga');
    const effects = require('redux-saga/effects');
    const run = (gen) => runSaga({}, function* () { return yield gen; }).toPromise();
    return runGens({ call: effects.call, all: effects.all, race: effects.race, delay: effects.delay }, run);
  }
  console.error('unknown impl ' + impl); process.exit(2);
}
main().catch((e) => { console.error(e); process.exit(1); });
