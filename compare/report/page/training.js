// Train it yourself: Play, Pause and Step run mini-batch SGD in the worker of trainer.js, from
// the run's random start (or from the network the page shows), and the page follows the live
// parameters: the answer, every layer, the selected neuron, the first layer's weights, and a
// curve of the test digits' accuracy growing as it goes.

const RATES = [0.01, 0.03, 0.1, 0.3, 0.5, 1, 3, 10];
const BATCHES = [1, 5, 10, 20, 50, 100];
const BATCH_SIZE = 10; // Nielsen's mini-batches

// Nielsen's rates: 0.5 with softmax and cross-entropy (his chapter 3), 3.0 for the quadratic
// cost (chapter 1); ReLU's unbounded activations take a smaller one.
const defaultRate = (model) => (model.activation === "relu" ? 0.1 : model.output === "softmax" ? 0.5 : 3);
const count = (n) => n.toLocaleString("en");

// Where training may start: the run's random start and the network the page shows now. A page
// made from a checkpoint alone, or from a resumed run (whose history begins where it resumed), has
// no step 0: its random start is made again from the config by the shared initializer
// (compare/report/page/__init__.py), exactly as the run began.
function trainingStarts(page) {
  const { history, model } = page, trained = model.layers;
  const random = history && history.steps[0] === 0
    ? { label: "the run's random start", detail: "step 0 of the timeline", layers: () => history.snapshot(0) }
    : { label: "the run's random start", detail: `${model.init} initialization, seed ${model.seed}, made again as the run made it`,
        layers: () => model.start.map(({ W, b }) => ({ W: decodeFloat64(W), b: decodeFloat64(b) })) };
  const shown = history ? { label: "where the timeline stands", detail: "its float32 snapshot", layers: () => page.model.layers }
    : { label: "the trained network", detail: "the checkpoint's parameters", layers: () => trained };
  return { random, shown };
}

function fillSelect(select, values, chosen, text = String) {
  select.innerHTML = values.map((v) => `<option value="${v}"${v === chosen ? " selected" : ""}>${text(v)}</option>`).join("");
}

// The worker: this page's own script, run again off the main thread (trainer.js).
function startWorker(page, live) {
  const url = URL.createObjectURL(new Blob([OWN_SCRIPT], { type: "text/javascript" }));
  live.worker = new Worker(url);
  URL.revokeObjectURL(url);
  live.worker.onmessage = ({ data }) => hear(page, live, data);
  live.worker.onerror = (event) => say(live, `Training stopped: ${event.message || "this browser refused to start the worker"}.`);
  live.worker.postMessage({ type: "digits", digits: live.digits });
}

// A new live network, from the chosen start; nothing trained yet. `playing`: Play started it, and
// the worker's first report (the accuracy at step 0) must say so, or the button would flick to Play.
function begin(page, live, playing = false) {
  if (!live.worker) startWorker(page, live);
  const { activation, output, sizes } = page.model, from = live.starts[$("train-from").value];
  const net = { sizes, activation, output, layers: from.layers() };
  Object.assign(live, { started: true, run: live.run + 1, points: [], step: 0, seen: 0, loss: null, perSecond: null });
  live.worker.postMessage({ type: "start", run: live.run, net, seed: live.seed, playing, ...settings() });
}

const settings = () => ({ lr: Number($("train-lr").value), batchSize: Number($("train-batch").value) });

function hear(page, live, message) {
  if (message.type === "error") { say(live, `Training stopped: ${message.message}`); return; }
  if (message.type !== "progress" || message.run !== live.run || !live.started) return; // an earlier run's last words
  Object.assign(live, { step: message.step, seen: message.seen, playing: message.playing, layers: message.layers });
  if (message.loss !== null) live.loss = message.loss;
  if (message.perSecond !== null) live.perSecond = message.perSecond;
  if (message.accuracy !== null) {
    const point = { seen: message.seen, accuracy: message.accuracy }, last = live.points[live.points.length - 1];
    if (last && last.seen === point.seen) live.points[live.points.length - 1] = point; else live.points.push(point);
  }
  if (live.shown) showLive(page, live);
  renderTraining(live);
}

// The page shows the live network: every part of it reads page.model.layers. At most every
// SHOW_EVERY_MS: drawing it all takes the main thread 5-20 ms, time the worker could train in.
const SHOW_EVERY_MS = 250;

function showLive(page, live) {
  if (live.showing) return; // already due, and it takes the latest layers
  live.showing = setTimeout(() => {
    Object.assign(live, { showing: null, shownAt: performance.now() });
    if (!live.shown) return;
    page.model.layers = live.layers;
    if (page.history) $("timeline-label").textContent = "Showing your live training (below); move the slider to see the run's own.";
    if (live.grid) paintWeightGrid(live.grid, live.layers, page.model.sizes[0]);
    schedule(page);
  }, Math.max(0, live.shownAt + SHOW_EVERY_MS - performance.now()));
}

const startText = (live) => { const from = live.starts[$("train-from").value]; return `${from.label} (${from.detail})`; };

function say(live, text) {
  live.message = text;
  renderTraining(live);
}

function renderTraining(live) {
  const { points, digits } = live, last = points[points.length - 1];
  const warning = live.started && !live.message ? trouble(live) : null; // health.js
  Object.assign($("train-trouble"), { hidden: warning === null, textContent: warning ?? "" });
  $("train-play").textContent = live.playing ? "\u275a\u275a Pause" : "\u25b6 Play";
  $("train-play").setAttribute("aria-pressed", String(Boolean(live.playing)));
  $("train-status").textContent = live.message ?? (!live.started
    ? `Press Play or Step to train from ${startText(live)}, on ${count(digits.train)} ${live.dataset} training digits.`
    : [`step ${count(live.step)}`,
       `${count(live.seen)} digit${live.seen === 1 ? "" : "s"} seen (epoch ${(live.seen / digits.train).toFixed(2)})`,
       live.loss === null ? null : `loss ${live.loss.toFixed(3)}`,
       last ? `${(100 * last.accuracy).toFixed(1)}% of ${count(digits.test)} test digits right` : null,
       live.perSecond ? `${count(Math.round(live.perSecond))} digits a second` : null,
       live.shown ? null : `(paused: the page shows ${live.instead})`].filter(Boolean).join(" \u00b7 "));
  drawTrainingCurve($("train-curve"), points, Math.max(digits.train, live.seen));
}

// The test digits' accuracy against the digits seen; a line at 90%.
function drawTrainingCurve(canvas, points, most) {
  const width = canvas.clientWidth || 300, height = canvas.clientHeight || 90, ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d"), pad = 6;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  const x = (seen) => pad + ((width - 2 * pad) * seen) / most, y = (a) => height - pad - (height - 2 * pad) * a;
  context.strokeStyle = "#2c333c";
  [0, 0.5, 0.9, 1].forEach((a) => { context.beginPath(); context.moveTo(pad, y(a)); context.lineTo(width - pad, y(a)); context.stroke(); });
  context.fillStyle = "#9ba6b2";
  context.font = "11px system-ui, sans-serif";
  context.fillText("90%", pad + 2, y(0.9) - 3);
  context.fillText("50%", pad + 2, y(0.5) - 3);
  context.textAlign = "right";
  context.fillText(`${count(most)} digits`, width - pad, height - pad - 3);
  context.strokeStyle = YELLOW;
  context.lineWidth = 2;
  context.beginPath();
  points.forEach((p, i) => (i ? context.lineTo(x(p.seen), y(p.accuracy)) : context.moveTo(x(p.seen), y(p.accuracy))));
  context.stroke();
}

// The page stops following the live network, which pauses: the timeline's slider moved, or a step
// of your own was taken (nudges.js). `instead` says what the page shows; Play or Step follow it again.
function standAside(live, instead) {
  if (live.playing) live.worker.postMessage({ type: "pause" });
  Object.assign(live, { shown: false, instead });
  renderTraining(live);
}

// Back to no live network: the page shows the timeline's network, or the trained one.
function resetTraining(page, live) {
  if (live.worker) live.worker.postMessage({ type: "pause" });
  Object.assign(live, { started: false, playing: false, shown: false, step: 0, seen: 0, loss: null, points: [],
                        message: null });
  if (page.history) page.scrub(Number($("timeline-slider").value));
  else { page.model.layers = live.starts.shown.layers(); schedule(page); }
  renderTraining(live);
}

function play(page, live) {
  if (live.playing) { live.worker.postMessage({ type: "pause" }); return; }
  if (live.started) live.worker.postMessage({ type: "play" });
  else begin(page, live, true);
  Object.assign(live, { shown: true, playing: true, message: null });
  renderTraining(live);
}

function step(page, live, steps = 1) {
  if (!live.started) begin(page, live);
  live.shown = true;
  live.message = null;
  live.worker.postMessage({ type: "step", count: steps });
}

function listenToTraining(page) {
  const raw = JSON.parse($("digits").textContent);
  if (!raw) return null;
  const live = { digits: raw, dataset: page.model.dataset, starts: trainingStarts(page), seed: 0, run: 0,
                 started: false, step: 0, seen: 0, points: [], showing: null, shownAt: 0 };
  $("train").hidden = false;
  if (typeof Worker === "undefined" || typeof DecompressionStream === "undefined") {
    $("train-status").textContent = "This browser cannot train here: it lacks Web Workers or DecompressionStream " +
      "(Chrome 80, Firefox 113, Safari 16.4 and later have both).";
    document.querySelectorAll(".train-controls button, .train-controls select").forEach((control) => { control.disabled = true; });
    return null;
  }
  fillSelect($("train-from"), ["random", "shown"], "random", (key) => live.starts[key].label);
  fillSelect($("train-lr"), RATES, defaultRate(page.model));
  fillSelect($("train-batch"), BATCHES, BATCH_SIZE);
  live.grid = page.history ? [...$("weight-grid").children] : page.hidden ? makeWeightGrid($("train-grid"), page.model.sizes[1]) : null;
  $("train-play").addEventListener("click", () => play(page, live));
  $("train-step").addEventListener("click", () => step(page, live));
  $("train-reset").addEventListener("click", () => resetTraining(page, live));
  $("train-from").addEventListener("change", () => resetTraining(page, live));
  for (const id of ["train-lr", "train-batch"]) {
    $(id).addEventListener("change", () => live.started && live.worker.postMessage({ type: "settings", ...settings() }));
  }
  if (page.history) {
    $("timeline-slider").addEventListener("input", () => standAside(live, "the timeline's network"));
  }
  window.addEventListener("resize", () => renderTraining(live));
  renderTraining(live);
  return live;
}

// What the tests (and the curious, from the console) use: the live state and the controls.
const trainingApi = (page, live) => ({ live, play: () => play(page, live), step: (n) => step(page, live, n),
                                       reset: () => resetTraining(page, live) });
