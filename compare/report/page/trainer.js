// Live training: mini-batch SGD (learn.js's sgdStep) on the digits embedded in the page, run
// in a Web Worker so that drawing never waits for it. training.js is the page's side of it.
//
// The worker is this very script, run again from a blob: URL (the page's CSP allows workers
// from blob: and nothing else): there is no document there, so page.js does not start the page
// and the worker listens instead (listenAsWorker, at the end of this file).

const IN_WORKER = typeof document === "undefined";
const OWN_SCRIPT = IN_WORKER ? null : document.currentScript.textContent;
const SLICE_MS = 80; // training between two reports to the page: Pause waits at most this long
const EVALUATE_MS = 400; // the test digits are measured at most this often while playing,
const EVALUATE_SHARE = 0.2; // and take at most this share of the time

// The digits as compare/report/page/digits.py packed them: one gzip of the training digits,
// their labels, the test digits and theirs; 2 bits a pixel, 4 pixels one above the other a byte.
async function inflate(base64) {
  const stream = new Blob([decodeBytes(base64)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function unpackDigits(bytes, count) {
  const pixels = new Uint8Array(count * SIDE * SIDE), perDigit = (SIDE * SIDE) / 4;
  for (let i = 0; i < count; i++) {
    for (let r = 0; r < SIDE / 4; r++) {
      for (let c = 0; c < SIDE; c++) {
        const byte = bytes[i * perDigit + r * SIDE + c];
        for (let k = 0; k < 4; k++) pixels[i * SIDE * SIDE + (4 * r + k) * SIDE + c] = ((byte >> (6 - 2 * k)) & 3) * 85;
      }
    }
  }
  return pixels;
}

async function loadDigits(raw) {
  if (raw.levels !== 4) throw new Error(`digits at ${raw.levels} grey levels; this page reads 4`);
  const bytes = await inflate(raw.data), packed = (SIDE * SIDE) / 4;
  let at = 0;
  const take = (length) => bytes.subarray(at, (at += length));
  const set = (count) => ({ count, pixels: unpackDigits(take(count * packed), count), labels: take(count) });
  const train = set(raw.train), test = set(raw.test);
  if (at !== bytes.length) throw new Error("the embedded digits are not what the page says they are");
  return { train, test };
}

// Digit i of a set as the network takes it: 784 floats in [0, 1], pixels / 255 as in shared/data.py.
// (A plain loop: Float64Array.from with a function ran 10 times slower, as slow as the SGD step.)
function digitInput(set, i) {
  const x = new Float64Array(SIDE * SIDE), start = i * x.length;
  for (let k = 0; k < x.length; k++) x[k] = set.pixels[start + k] / 255;
  return x;
}

// A small seeded generator (mulberry32) and the Fisher-Yates shuffle: each epoch's order from
// (seed, epoch) alone, as shared/data.py's batch_order does, so that a run can be replayed.
function shuffledOrder(count, seed, epoch) {
  let state = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = new Uint32Array(count).map((_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// The network being trained, and where it stands: step, digits seen, the epoch's order.
class Trainer {
  constructor(digits, net, seed, lr, batchSize) {
    this.digits = digits;
    this.net = { ...net, layers: net.layers.map(({ W, b }) => ({ W: Float64Array.from(W), b: Float64Array.from(b) })) };
    Object.assign(this, { seed, lr, batchSize, step: 0, seen: 0, epoch: 0, position: 0 });
    this.order = shuffledOrder(digits.train.count, seed, 0);
  }

  // The next batch of the epoch's order; the epoch's last one is smaller when the batch size does
  // not divide the count (no digit is left out), as in shared/data.py's minibatches.
  nextBatch() {
    if (this.position >= this.order.length) {
      this.epoch += 1;
      this.position = 0;
      this.order = shuffledOrder(this.digits.train.count, this.seed, this.epoch);
    }
    const batch = this.order.subarray(this.position, this.position + this.batchSize);
    this.position += batch.length;
    return batch;
  }

  trainStep() {
    const { train } = this.digits, batch = this.nextBatch();
    const xs = Array.from(batch, (i) => digitInput(train, i)), labels = Array.from(batch, (i) => train.labels[i]);
    const loss = sgdStep(this.net, xs, labels, this.lr);
    this.step += 1;
    this.seen += batch.length;
    return loss;
  }

  // The share of the test digits the network gets right.
  accuracy() {
    const { test } = this.digits;
    let right = 0;
    for (let i = 0; i < test.count; i++) {
      const out = forward(this.net, digitInput(test, i)).output;
      if (out.indexOf(Math.max(...out)) === test.labels[i]) right += 1;
    }
    return right / test.count;
  }
}

// The worker's side of the conversation with training.js. Messages are handled one after the
// other (queue), the first being the digits; Play and Step train in slices of SLICE_MS, reporting
// after each, so that a Pause sent meanwhile is read within a slice.
function listenAsWorker(scope) {
  let digits = null, trainer = null, playing = false, stepsLeft = 0, scheduled = false, queue = Promise.resolve();
  let nextEvaluation = 0, losses = [], busyMs = 0, seenBusy = 0;
  const report = (evaluate) => {
    const started = performance.now(), accuracy = evaluate ? trainer.accuracy() : null, cost = performance.now() - started;
    if (evaluate) nextEvaluation = performance.now() + Math.max(EVALUATE_MS, cost * (1 / EVALUATE_SHARE - 1));
    const loss = losses.reduce((s, v) => s + v, 0) / losses.length;
    scope.postMessage({ type: "progress", run: trainer.run, step: trainer.step, seen: trainer.seen, loss: losses.length ? loss : null, accuracy,
                        playing: playing || stepsLeft > 0, perSecond: busyMs ? (1000 * seenBusy) / busyMs : null,
                        layers: trainer.net.layers });
    losses = [];
  };
  const slice = () => {
    scheduled = false;
    if (!playing && stepsLeft === 0) return;
    const started = performance.now(), seenBefore = trainer.seen;
    while ((playing || stepsLeft > 0) && performance.now() - started < SLICE_MS) {
      losses.push(trainer.trainStep());
      if (!playing) stepsLeft -= 1;
    }
    busyMs += performance.now() - started;
    seenBusy += trainer.seen - seenBefore;
    const done = !playing && stepsLeft === 0;
    report(done || performance.now() >= nextEvaluation);
    if (!done) schedule();
  };
  const schedule = () => { if (!scheduled) { scheduled = true; setTimeout(slice, 0); } };
  const handle = async (message) => {
    if (message.type === "digits") {
      digits = await loadDigits(message.digits);
      scope.postMessage({ type: "ready", train: digits.train.count, test: digits.test.count });
    } else if (message.type === "start") {
      trainer = new Trainer(digits, message.net, message.seed, message.lr, message.batchSize);
      trainer.run = message.run;
      playing = Boolean(message.playing); // started by Play: it trains from here on
      stepsLeft = busyMs = seenBusy = 0;
      losses = [];
      report(true);
      if (playing) schedule();
    } else if (message.type === "settings") {
      Object.assign(trainer, { lr: message.lr, batchSize: message.batchSize });
    } else if (message.type === "play") {
      playing = true;
      schedule();
    } else if (message.type === "pause") {
      const was = playing || stepsLeft > 0;
      playing = false;
      stepsLeft = 0;
      if (was) report(true);
    } else if (message.type === "step" && !playing) {
      stepsLeft += message.count;
      schedule();
    }
  };
  scope.onmessage = ({ data }) => {
    queue = queue.then(() => handle(data)).catch((error) => scope.postMessage({ type: "error", message: error.message }));
  };
}

if (IN_WORKER) listenAsWorker(self);
