// The run's history: the network at chosen steps of its training, from the random start
// (step 0, the initialization) to the trained network, on a slider. Scrubbing swaps the
// parameters the whole page uses, so the drawn digit's answer, every layer and the selected
// neuron show the network as it was then; a grid shows every first-layer neuron's weights.
//
// The snapshots are float32 (the page's size); the last position is the trained network
// itself, exact in float64 (model.js).

function decodeFloat32(base64) {
  const view = new DataView(decodeBytes(base64).buffer), values = new Float64Array(view.byteLength / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  return values;
}

// history.layers[l].W holds every snapshot's W of layer l, one after the other.
function loadHistory(raw, trained) {
  if (!raw) return null;
  const count = raw.steps.length, stacks = raw.layers.map((layer) => ({ W: decodeFloat32(layer.W), b: decodeFloat32(layer.b) }));
  const snapshot = (i) => (i === count - 1 ? trained : stacks.map(({ W, b }) => ({
    W: W.subarray((i * W.length) / count, ((i + 1) * W.length) / count),
    b: b.subarray((i * b.length) / count, ((i + 1) * b.length) / count),
  })));
  return { ...raw, count, snapshot };
}

function stepLabel(history, i) {
  const step = history.steps[i], epoch = history.epochs[i], accuracy = history.accuracy[i];
  const when = step === 0 ? "the random start (step 0)" : i === history.count - 1 ? `trained: step ${step.toLocaleString("en")}`
    : i === 0 ? `where this run resumed: step ${step.toLocaleString("en")}` : `step ${step.toLocaleString("en")}`;
  const shown = accuracy === null ? "" : `, ${(100 * accuracy).toFixed(1)}% of test digits right`;
  return `${when}, epoch ${epoch.toFixed(epoch < 1 ? 3 : 1)}${shown}`;
}

// Test accuracy at each snapshot, one point per snapshot (the steps are log-spaced), and a marker.
function drawAccuracyCurve(canvas, history, current) {
  const width = canvas.clientWidth || 300, height = canvas.clientHeight || 90, ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const pad = 6, x = (i) => pad + ((width - 2 * pad) * i) / Math.max(1, history.count - 1);
  const y = (a) => height - pad - (height - 2 * pad) * a;
  context.strokeStyle = "#2c333c";
  [0, 0.5, 1].forEach((a) => { context.beginPath(); context.moveTo(pad, y(a)); context.lineTo(width - pad, y(a)); context.stroke(); });
  context.strokeStyle = "#7bd88f";
  context.lineWidth = 2;
  context.beginPath();
  history.accuracy.forEach((a, i) => (i ? context.lineTo(x(i), y(a ?? 0)) : context.moveTo(x(i), y(a ?? 0))));
  context.stroke();
  context.fillStyle = YELLOW;
  context.beginPath();
  context.arc(x(current), y(history.accuracy[current] ?? 0), 5, 0, 2 * Math.PI);
  context.fill();
}

// Every first-layer neuron's 784 weights as a small image (3Blue1Brown's "what does the first
// layer look for?"), each on its own symmetric scale, blue positive and orange negative.
const GRID_NEURONS = 100;

function makeWeightGrid(container, count) {
  const canvases = [];
  for (let j = 0; j < Math.min(count, GRID_NEURONS); j++) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = SIDE;
    canvas.title = `neuron ${j + 1}`;
    container.append(canvas);
    canvases.push(canvas);
  }
  return canvases;
}

function paintWeightGrid(canvases, layers, inputs) {
  const W = layers[0].W;
  canvases.forEach((canvas, j) => {
    const weights = W.subarray(j * inputs, (j + 1) * inputs), scale = colourScale(weights);
    paintPixels(canvas, weights, (w) => signedPixel(w / scale));
  });
}

// The slider swaps the parameters every other part of the page reads (called by page.js,
// whose $ and update it uses).
function listenToTimeline(page) {
  const { history } = page;
  if (!history) return;
  const slider = $("timeline-slider"), grid = makeWeightGrid($("weight-grid"), page.model.sizes[1]);
  $("timeline").hidden = false;
  if (history.steps[0] !== 0) { // a resumed run's history: its own epochs, not the checkpoint's
    const heading = "Watch it learn: the network from where this run resumed to trained";
    $("timeline").querySelector("h2").textContent = heading;
  }
  slider.max = String(history.count - 1);
  slider.value = slider.max;
  const show = () => {
    const i = Number(slider.value);
    page.state.step = i;
    page.model.layers = history.snapshot(i);
    $("timeline-label").textContent = stepLabel(history, i);
    drawAccuracyCurve($("timeline-curve"), history, i);
    paintWeightGrid(grid, page.model.layers, page.model.sizes[0]);
    update(page);
  };
  slider.addEventListener("input", show);
  window.addEventListener("resize", () => drawAccuracyCurve($("timeline-curve"), history, Number(slider.value)));
  page.scrub = (i) => { slider.value = String(i); show(); };
  show();
}
