// The page wiring: the pad, the sample digits and the network picture, kept in step.
//
// It reads the model embedded in this page (model.js), rasterises the strokes you draw
// (drawing.js), prepares them as MNIST's digits were made (mnist.js), runs the forward pass
// and draws every layer (network.js). It makes no network request: everything is in this
// one file. `page` below is the whole of its state, handed to each function that needs it.

const $ = (id) => document.getElementById(id);
const DRAW_HINT = "Draw one digit, any size, anywhere: it is cropped, scaled and centred like MNIST's.";
// As `compare predict` (shared/images.py UNSURE_BELOW): a top probability below this is a guess.
const UNSURE_BELOW = 0.7;
// Ink spanning less than this (grid pixels) is a dot or a speck, not a digit: scaled up like
// MNIST's digits it would fill the 20x20 box all the same, and get an answer it does not deserve.
const SMALLEST_DIGIT = 4 * PEN_RADIUS;

const format = (v, digits = 2) => (v >= 0 ? "+" : "\u2212") + Math.abs(v).toFixed(digits);

// What the network sees now, and answers: from the drawing, or a sample digit shown exactly.
function update(page) {
  const { model, drawing, state } = page;
  state.pending = false;
  state.input = state.exact ?? prepare(drawing.ink, GRID) ?? new Float64Array(SIDE * SIDE);
  const blank = !state.input.some((v) => v > 0);
  state.speck = !blank && !state.exact && drawing.span() < SMALLEST_DIGIT;
  state.result = forward(model, state.input);
  const out = state.result.output, total = out.reduce((s, v) => s + v, 0);
  state.shares = model.output === "softmax" ? Array.from(out) : Array.from(out, (v) => v / total);
  const best = state.shares.indexOf(Math.max(...state.shares));
  state.answer = blank || state.speck ? null : best;
  state.unsure = state.answer !== null && state.shares[best] < UNSURE_BELOW;
  state.errors = findErrors(page); // every neuron's delta for this digit and its target (backprop.js)
  markSamples(page);
  render(page);
}

// At most one update per frame, however many pointer events come.
function schedule(page) {
  if (!page.state.pending) { page.state.pending = true; requestAnimationFrame(() => update(page)); }
}

function render(page) {
  const { model, drawing, state } = page, blank = state.answer === null;
  paintPixels($("pad"), drawing.ink, greyPixel);
  paintPixels($("input"), state.input, greyPixel);
  $("answer").textContent = blank ? "?" : String(state.answer);
  $("answer").classList.toggle("unsure", state.unsure);
  $("confidence").textContent = state.speck ? "no digit: too small to read, draw it bigger"
    : blank ? "draw a digit"
    : state.unsure ? `${(100 * state.shares[state.answer]).toFixed(1)}%: unsure, a guess`
    : `${(100 * state.shares[state.answer]).toFixed(1)}%`;
  state.layout = drawNetwork($("net"), model, state.result, state.shares, { layer: state.selectedLayer, index: state.selected },
                             state.view === "errors" ? state.errors : null);
  if (page.hidden) renderNeuron(page);
  renderBackprop(page);
  document.querySelectorAll("#samples button").forEach((b) => b.classList.toggle("current", Number(b.dataset.index) === state.sample));
}

// Your own digit from here on: the sample shown, if any, is put away.
function drawOwn(page) {
  page.drawing.clear();
  page.state.exact = null;
  page.state.sample = null;
  page.state.target = null;
  $("status").textContent = DRAW_HINT;
}

function clear(page) {
  drawOwn(page);
  update(page);
}

// Real test digits (MNIST's, or the model's dataset's): shown exactly as stored (not
// re-prepared), so the network answers here what it answered on the test set.
function sampleInput(page, s) {
  return Float64Array.from(page.model.samples.pixels.subarray(s * SIDE * SIDE, (s + 1) * SIDE * SIDE), (v) => v / 255);
}

function showSample(page, s) {
  const { labels, indices } = page.model.samples, x = sampleInput(page, s);
  page.drawing.clear();
  page.drawing.image(x, SIDE, SIDE);
  page.state.exact = x;
  page.state.sample = s;
  page.state.target = null;
  $("status").textContent = `${page.model.dataset} test image #${indices[s]}, labelled ${labels[s]}, exactly as stored. Draw to start your own.`;
  update(page);
}

// A button per sample: its thumbnail, its label, and what the network says of it (markSamples).
function addSamples(page) {
  page.model.samples.labels.forEach((label, s) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.index = String(s);
    const thumb = document.createElement("canvas");
    thumb.width = thumb.height = SIDE;
    paintPixels(thumb, sampleInput(page, s), greyPixel);
    button.append(thumb, document.createElement("span"));
    button.addEventListener("click", () => showSample(page, s));
    $("samples").append(button);
  });
  markSamples(page);
}

// Each sample's mark, right or what it was taken for, by the network shown now: the timeline,
// live training and a step learned from a digit each swap its layers for new ones.
function markSamples(page) {
  if (page.marked === page.model.layers) return;
  page.marked = page.model.layers;
  const { samples: { labels, indices }, dataset } = page.model;
  [...$("samples").children].forEach((button, s) => {
    const out = forward(page.model, sampleInput(page, s)).output, said = out.indexOf(Math.max(...out)), label = labels[s];
    button.title = `${dataset} test image #${indices[s]}, labelled ${label}; the network says ${said}`;
    button.lastChild.className = said === label ? "right" : "wrong";
    button.lastChild.textContent = said === label ? `${label} \u2713` : `${label}\u2192${said} \u2717`;
  });
}

// On a phone the samples are one row that scrolls sideways: say so while some lie out of sight.
function hintAtHiddenSamples() {
  const strip = $("samples"), hint = $("samples-more"), buttons = strip.children.length;
  const hidden = strip.scrollWidth - strip.clientWidth - strip.scrollLeft > 2;
  strip.classList.toggle("more", hidden);
  hint.hidden = strip.scrollWidth <= strip.clientWidth + 2;
  const shown = Math.round((buttons * strip.clientWidth) / strip.scrollWidth);
  hint.textContent = hidden ? `${shown} of ${buttons} shown: swipe the row sideways for the others \u2192` : `all ${buttons}: swipe back for the first ones`;
}

// The legend of the picture, for what lights it now: activations, or errors (backprop.js).
function showLegend(page) {
  const linesDrawn = page.model.sizes.slice(1).every((n) => n <= SMALL_LAYER) && page.hidden;
  const items = page.state.view === "errors" ? errorLegendItems(page.model, linesDrawn) : legendItems(page.model, linesDrawn);
  $("legend").innerHTML = items.map((item) => `<li>${item}</li>`).join("");
}

function startPage() {
  const model = loadModel(JSON.parse($("model").textContent));
  const page = {
    model,
    drawing: new Drawing(GRID),
    hidden: model.sizes.length > 2, // a first hidden layer whose neurons can be selected
    history: loadHistory(model.history, model.layers), // null for a page made from a checkpoint alone
    state: { input: new Float64Array(SIDE * SIDE), exact: null, result: null, shares: null, answer: null,
             selected: 0, selectedLayer: 0, sample: null, layout: null, pending: false, pointerType: null,
             target: null, view: "activations", errors: null, nudge: null },
  };
  listenToPen(page);
  addSamples(page);
  listenToNeuronChoice(page);
  listenToTimeline(page);
  listenToBackprop(page);
  listenToLearning(page);
  showLegend(page);
  $("samples").addEventListener("scroll", hintAtHiddenSamples, { passive: true });
  window.addEventListener("resize", () => { render(page); hintAtHiddenSamples(); });
  hintAtHiddenSamples();
  page.training = listenToTraining(page); // null for a page without digits to train on

  if (model.samples.labels.length) showSample(page, 0); else update(page);
  // What the tests (and the curious, from the console) use.
  window.mnistPage = { model, drawing: page.drawing, state: page.state, forward: (x) => forward(model, x), prepare,
                       update: () => update(page), clear: () => clear(page), showSample: (s) => showSample(page, s),
                       putBack: () => putBack(page),
                       GRID, history: page.history, scrub: (i) => page.scrub && page.scrub(i),
                       training: page.training && trainingApi(page, page.training), readyMs: performance.now() };
  document.documentElement.dataset.ready = "yes";
}

if (!IN_WORKER) { // in the training worker (trainer.js) this script only listens
  try {
    startPage();
  } catch (error) {
    $("status").textContent = `This page could not start: ${error.message}`;
    throw error;
  }
}
