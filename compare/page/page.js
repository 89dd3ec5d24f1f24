// The drawing page: the project's network once more, in the browser.
//
// It reads the model embedded in this page (exact float64 weights), rasterises the
// strokes you draw into a fixed grid, prepares them as MNIST's digits were made (and as
// shared/images.py does for `compare predict`), runs the forward pass in float64 and
// draws every layer. It makes no network request: everything is in this one file.
"use strict";

const GRID = 280; // the drawing grid in pixels, whatever its size on screen
const PEN_RADIUS = 12; // of the round pen, in grid pixels: MNIST-like strokes for a digit filling the pad
// As shared/images.py: ink fainter than this is paper; the longer side becomes BOX
// pixels; the centre of mass goes to pixel CENTRE of a SIDE x SIDE image.
const INK_THRESHOLD = 0.2, BOX = 20, SIDE = 28, CENTRE = 14;
const LINES_PER_NEURON = 3; // connections drawn into each neuron of a small layer
const SMALL_LAYER = 64; // layers up to this size get their connections drawn

// ---------------------------------------------------------------- the model

function decodeBytes(base64) {
  const text = atob(base64), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function decodeFloat64(base64) {
  // Little-endian float64, as Python wrote them: bit for bit the trained weights.
  const view = new DataView(decodeBytes(base64).buffer), values = new Float64Array(view.byteLength / 8);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat64(8 * i, true);
  return values;
}

function loadModel(raw) {
  return {
    ...raw,
    layers: raw.layers.map((layer) => ({ W: decodeFloat64(layer.W), b: decodeFloat64(layer.b) })),
    samples: { ...raw.samples, pixels: decodeBytes(raw.samples.pixels) },
  };
}

// ---------------------------------------------------------------- the forward pass

// The same functions as impls/numpy_mlp.py, written the same way: sigmoid through tanh
// (it never overflows), softmax through a shifted log-sum-exp.
const sigmoid = (z) => 0.5 + 0.5 * Math.tanh(0.5 * z);
const ACTIVATIONS = { sigmoid, tanh: Math.tanh, relu: (z) => Math.max(z, 0) };

function softmax(z) {
  const top = Math.max(...z), shifted = z.map((v) => v - top);
  const logSum = Math.log(shifted.reduce((sum, v) => sum + Math.exp(v), 0));
  return shifted.map((v) => Math.exp(v - logSum));
}

// x: 784 pixels in [0, 1]. Returns every layer's z and activation a (input first).
function forward(model, x) {
  const sigma = ACTIVATIONS[model.activation];
  const activations = [Float64Array.from(x)], zs = [];
  model.layers.forEach(({ W, b }, l) => {
    const a = activations[l], z = new Float64Array(b.length);
    for (let j = 0; j < b.length; j++) {
      let sum = 0; // z_j = sum_k W_jk a_k + b_j
      for (let k = 0, row = j * a.length; k < a.length; k++) sum += W[row + k] * a[k];
      z[j] = sum + b[j];
    }
    zs.push(z);
    const last = l === model.layers.length - 1;
    activations.push(last ? (model.output === "softmax" ? softmax(z) : z.map(sigmoid)) : z.map(sigma));
  });
  return { zs, activations, output: activations[activations.length - 1] };
}

// ---------------------------------------------------------------- drawing into the grid

class Drawing {
  constructor(size) {
    this.size = size;
    this.ink = new Float64Array(size * size); // 0 paper .. 1 ink
  }

  clear() { this.ink.fill(0); }

  isBlank() { return !this.ink.some((v) => v > 0); }

  // The round pen moved from p to q: a pixel's ink is set by the distance from its
  // centre to the segment, full inside the pen, fading to nothing over one pixel.
  segment(p, q, radius = PEN_RADIUS) {
    const { size, ink } = this, dx = q.x - p.x, dy = q.y - p.y, length2 = dx * dx + dy * dy;
    const x0 = Math.max(0, Math.floor(Math.min(p.x, q.x) - radius - 1));
    const x1 = Math.min(size - 1, Math.ceil(Math.max(p.x, q.x) + radius + 1));
    const y0 = Math.max(0, Math.floor(Math.min(p.y, q.y) - radius - 1));
    const y1 = Math.min(size - 1, Math.ceil(Math.max(p.y, q.y) + radius + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const cx = x + 0.5 - p.x, cy = y + 0.5 - p.y;
        const t = length2 ? Math.min(1, Math.max(0, (cx * dx + cy * dy) / length2)) : 0;
        const cover = Math.min(1, Math.max(0, radius + 0.5 - Math.hypot(cx - t * dx, cy - t * dy)));
        if (cover > ink[y * size + x]) ink[y * size + x] = cover;
      }
    }
  }

  // An image (values in [0, 1], light on dark) drawn into the square of side `side` at
  // (left, top), bilinearly interpolated: how a sample digit appears on the pad.
  image(pixels, width, height, left = 0, top = 0, side = this.size) {
    const { size, ink } = this, scale = side / Math.max(width, height);
    const at = (u, v) => pixels[Math.min(height - 1, Math.max(0, v)) * width + Math.min(width - 1, Math.max(0, u))];
    for (let y = Math.max(0, Math.floor(top)); y < Math.min(size, Math.ceil(top + height * scale)); y++) {
      for (let x = Math.max(0, Math.floor(left)); x < Math.min(size, Math.ceil(left + width * scale)); x++) {
        const u = (x + 0.5 - left) / scale - 0.5, v = (y + 0.5 - top) / scale - 0.5;
        const u0 = Math.floor(u), v0 = Math.floor(v), fu = u - u0, fv = v - v0;
        const value = (at(u0, v0) * (1 - fu) + at(u0 + 1, v0) * fu) * (1 - fv)
                    + (at(u0, v0 + 1) * (1 - fu) + at(u0 + 1, v0 + 1) * fu) * fv;
        if (value > ink[y * size + x]) ink[y * size + x] = value;
      }
    }
  }
}

// ---------------------------------------------------------------- preparation, as MNIST's

// Python's round(): halves go to the even neighbour.
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// For each of m new pixels spanning n old ones: the old pixels it covers and the share
// of its area each covers (the weights of a true area average).
function areaWeights(n, m) {
  const step = n / m, weights = [];
  for (let i = 0; i < m; i++) {
    const start = i * step, end = (i + 1) * step, taps = [];
    for (let k = Math.floor(start); k < Math.min(n, Math.ceil(end)); k++) {
      const overlap = Math.min(end, k + 1) - Math.max(start, k);
      if (overlap > 0) taps.push([k, overlap / step]);
    }
    weights.push(taps);
  }
  return weights;
}

function resizeByArea(image, width, height, newWidth, newHeight) {
  const columns = areaWeights(width, newWidth), rows = areaWeights(height, newHeight);
  const wide = new Float64Array(height * newWidth); // each row resized first, then each column
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < newWidth; i++) {
      let sum = 0;
      for (const [k, w] of columns[i]) sum += image[y * width + k] * w;
      wide[y * newWidth + i] = sum;
    }
  }
  const out = new Float64Array(newHeight * newWidth);
  for (let j = 0; j < newHeight; j++) {
    for (let i = 0; i < newWidth; i++) {
      let sum = 0;
      for (const [k, w] of rows[j]) sum += wide[k * newWidth + i] * w;
      out[j * newWidth + i] = sum;
    }
  }
  return out;
}

// Light-on-dark ink (size x size) -> the 28x28 input, step by step as shared/images.py's
// to_mnist; null when there is no ink. (The pad is already light on dark: no inversion.)
function prepare(ink, size) {
  let low = Infinity, high = -Infinity;
  for (const v of ink) { low = Math.min(low, v); high = Math.max(high, v); }
  if (high - low < 1e-3) return null;
  // Full contrast; crop to the rows and columns holding ink, fainter pixels set to paper.
  const level = (v) => (v - low) / (high - low);
  let top = size, bottom = -1, left = size, right = -1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (level(ink[y * size + x]) > INK_THRESHOLD) {
        top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
      }
    }
  }
  const height = bottom - top + 1, width = right - left + 1, crop = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = level(ink[(top + y) * size + left + x]);
      crop[y * width + x] = v > INK_THRESHOLD ? v : 0;
    }
  }
  // The longer side to 20 pixels, the aspect ratio kept, by area averaging.
  const scale = BOX / Math.max(height, width);
  const newWidth = Math.max(1, roundHalfEven(width * scale)), newHeight = Math.max(1, roundHalfEven(height * scale));
  const digit = resizeByArea(crop, width, height, newWidth, newHeight);
  // Into 28x28, then moved by whole pixels so that the centre of mass is at (14, 14).
  const canvas = new Float64Array(SIDE * SIDE);
  const top28 = Math.floor((SIDE - newHeight) / 2), left28 = Math.floor((SIDE - newWidth) / 2);
  for (let y = 0; y < newHeight; y++) {
    for (let x = 0; x < newWidth; x++) canvas[(top28 + y) * SIDE + left28 + x] = digit[y * newWidth + x];
  }
  const rowSums = new Float64Array(SIDE), colSums = new Float64Array(SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) { rowSums[y] += canvas[y * SIDE + x]; colSums[x] += canvas[y * SIDE + x]; }
  }
  let mass = 0, rowMoment = 0, colMoment = 0;
  for (let i = 0; i < SIDE; i++) { mass += rowSums[i]; rowMoment += i * rowSums[i]; colMoment += i * colSums[i]; }
  const shiftRow = roundHalfEven(CENTRE - rowMoment / mass), shiftCol = roundHalfEven(CENTRE - colMoment / mass);
  const input = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const sy = y - shiftRow, sx = x - shiftCol;
      if (sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE) input[y * SIDE + x] = Math.min(1, Math.max(0, canvas[sy * SIDE + sx]));
    }
  }
  return input;
}

// ---------------------------------------------------------------- colours

const BLUE = [77, 163, 255], ORANGE = [255, 154, 60], YELLOW = "#ffd84d";
const rgb = ([r, g, b], f = 1) => `rgb(${Math.round(r * f)},${Math.round(g * f)},${Math.round(b * f)})`;
const grey = (v) => rgb([255, 255, 255], Math.min(1, Math.max(0, v)));
// Signed values: blue for positive, orange for negative, black for 0.
const signed = (v) => (v >= 0 ? rgb(BLUE, Math.min(1, v)) : rgb(ORANGE, Math.min(1, -v)));

function activationColour(model, a, layerMax) {
  if (model.activation === "tanh") return a >= 0 ? grey(a) : rgb(ORANGE, -a);
  if (model.activation === "relu") return grey(layerMax > 0 ? a / layerMax : 0);
  return grey(a);
}

function paintPixels(canvas, values, colour) {
  const context = canvas.getContext("2d"), image = context.createImageData(canvas.width, canvas.height);
  values.forEach((v, i) => {
    const [r, g, b] = colour(v);
    image.data.set([r, g, b, 255], 4 * i);
  });
  context.putImageData(image, 0, 0);
}

// Full colour at the 98th percentile of the non-zero |values|: a few large weights would
// otherwise leave all the others black.
function colourScale(values) {
  const sizes = Array.from(values, Math.abs).filter((v) => v > 0).sort((p, q) => p - q);
  return sizes.length ? sizes[Math.floor(0.98 * (sizes.length - 1))] : 1;
}

const greyPixel = (v) => { const c = Math.round(255 * Math.min(1, Math.max(0, v))); return [c, c, c]; };
const signedPixel = (v) => (v >= 0 ? BLUE : ORANGE).map((c) => Math.round(c * Math.min(1, Math.abs(v))));

// ---------------------------------------------------------------- the network, drawn

function columnLayout(n, maxWidth, height) {
  // A layer as a column of cells while they stay 9 pixels apart, else a near-square grid.
  const columns = height / n >= 9 ? 1 : Math.ceil(Math.sqrt((n * maxWidth) / height));
  const rows = Math.ceil(n / columns);
  const pitch = Math.min(26, height / rows, maxWidth / columns);
  return { columns, rows, pitch, cell: Math.max(1, pitch * (pitch > 8 ? 0.8 : 0.9)), width: columns * pitch, height: rows * pitch };
}

function networkLayout(model, width) {
  // Input image on the left, outputs with their bars on the right, hidden layers between.
  const clamp = (v, low, high) => Math.min(high, Math.max(low, v));
  const top = 20, height = Math.round(clamp(width * 0.65, 230, 400));
  const hidden = model.sizes.slice(1, -1);
  const inputSide = Math.round(clamp(width * 0.18, 52, 112));
  const outputWidth = Math.round(clamp(width * 0.3, 104, 180));
  const free = width - inputSide - outputWidth;
  const columns = hidden.map((n) => columnLayout(n, Math.max(8, (free / Math.max(1, hidden.length)) * 0.45), height));
  const output = columnLayout(model.sizes[model.sizes.length - 1], 26, height);
  const gap = (free - columns.reduce((s, c) => s + c.width, 0)) / (hidden.length + 1);
  let x = inputSide + gap;
  const layers = [...columns, output].map((column, l) => {
    const left = l === columns.length ? width - outputWidth : x;
    x += column.width + gap;
    const y0 = top + (height - column.height) / 2, cells = [];
    for (let i = 0; i < model.sizes[l + 1]; i++) {
      const c = Math.floor(i / column.rows), r = i % column.rows;
      cells.push({ x: left + c * column.pitch, y: y0 + r * column.pitch, size: column.cell });
    }
    return { ...column, left, cells };
  });
  return { width, height: top + height + 4, input: { x: 0, y: top + (height - inputSide) / 2, side: inputSide }, layers };
}

function drawConnections(context, model, result, layout) {
  for (let l = 1; l < layout.layers.length; l++) {
    const source = layout.layers[l - 1], target = layout.layers[l];
    if (source.cells.length > SMALL_LAYER || target.cells.length > SMALL_LAYER) continue;
    const { W } = model.layers[l], a = result.activations[l], lines = [];
    target.cells.forEach((_, j) => {
      // The strongest pushes w_jk a_k into neuron j, whatever their sign.
      const pushes = Array.from(a, (ak, k) => [k, W[j * a.length + k] * ak]);
      pushes.sort((p, q) => Math.abs(q[1]) - Math.abs(p[1]));
      for (const [k, push] of pushes.slice(0, LINES_PER_NEURON)) lines.push([k, j, push]);
    });
    const strongest = Math.max(1e-12, ...lines.map((line) => Math.abs(line[2])));
    for (const [k, j, push] of lines) {
      const s = source.cells[k], t = target.cells[j], share = Math.abs(push) / strongest;
      context.strokeStyle = push >= 0 ? rgb(BLUE) : rgb(ORANGE);
      context.globalAlpha = 0.15 + 0.75 * share;
      context.lineWidth = 0.5 + 2.5 * share;
      context.beginPath();
      context.moveTo(s.x + s.size, s.y + s.size / 2);
      context.lineTo(t.x, t.y + t.size / 2);
      context.stroke();
    }
    context.globalAlpha = 1;
  }
}

function drawNetwork(canvas, model, result, shares, selected) {
  const width = canvas.clientWidth, layout = networkLayout(model, width), ratio = window.devicePixelRatio || 1;
  canvas.style.height = `${layout.height}px`;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(layout.height * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.font = "12px system-ui, sans-serif";
  context.textBaseline = "middle";

  // The input, as the network sees it.
  const { input } = layout;
  context.imageSmoothingEnabled = false;
  context.drawImage(document.getElementById("input"), input.x, input.y, input.side, input.side);
  context.strokeStyle = "#2c333c";
  context.strokeRect(input.x + 0.5, input.y + 0.5, input.side - 1, input.side - 1);

  drawConnections(context, model, result, layout);
  const last = layout.layers.length - 1;
  layout.layers.forEach((layer, l) => {
    const a = result.activations[l + 1], layerMax = Math.max(...a);
    layer.cells.forEach((cell, i) => {
      context.fillStyle = l === last ? grey(shares[i]) : activationColour(model, a[i], layerMax);
      context.fillRect(cell.x, cell.y, cell.size, cell.size);
      context.strokeStyle = "#46505c";
      context.lineWidth = 1;
      if (cell.size >= 6) context.strokeRect(cell.x + 0.5, cell.y + 0.5, cell.size - 1, cell.size - 1);
    });
  });
  // The selected first-layer neuron.
  const chosen = layout.layers[0].cells[selected];
  if (layout.layers.length > 1 && chosen) {
    context.strokeStyle = YELLOW;
    context.lineWidth = 2;
    context.strokeRect(chosen.x - 1.5, chosen.y - 1.5, chosen.size + 3, chosen.size + 3);
  }
  // The outputs: digit, bar, percentage; the answer in yellow.
  const output = layout.layers[last], best = shares.indexOf(Math.max(...shares));
  const barLeft = output.left + output.pitch + 16, barWidth = layout.width - barLeft - 40;
  output.cells.forEach((cell, i) => {
    const middle = cell.y + cell.size / 2;
    context.fillStyle = i === best ? YELLOW : "#e9ecef";
    context.fillText(String(i), output.left + output.pitch + 2, middle);
    context.fillStyle = i === best ? YELLOW : "#5b6571";
    context.fillRect(barLeft, middle - 4, Math.max(1, barWidth * shares[i]), 8);
    context.fillStyle = i === best ? YELLOW : "#9ba6b2";
    context.fillText(`${Math.round(100 * shares[i])}%`, barLeft + barWidth + 4, middle);
  });
  // Column titles.
  context.fillStyle = "#9ba6b2";
  context.textBaseline = "top";
  context.fillText("input", input.x, 2);
  layout.layers.forEach((layer, l) => {
    const title = l === last ? "output" : `${layout.width < 420 ? "" : "hidden "}${model.sizes[l + 1]}`;
    context.fillText(title, layer.left, 2);
  });
  return layout;
}

// ---------------------------------------------------------------- the page

const $ = (id) => document.getElementById(id);
const DRAW_HINT = "Draw one digit, any size, anywhere: it is cropped, scaled and centred like MNIST's.";
const format = (v, digits = 2) => (v >= 0 ? "+" : "\u2212") + Math.abs(v).toFixed(digits);

function legendItems(model, linesDrawn) {
  const activation = {
    sigmoid: 'activation: <span class="swatch black"></span> 0 to <span class="swatch white"></span> 1 (sigmoid)',
    tanh: 'activation: <span class="swatch white"></span> +1, <span class="swatch black"></span> 0, <span class="swatch orange"></span> \u22121 (tanh)',
    relu: 'activation (ReLU): <span class="swatch black"></span> 0 to <span class="swatch white"></span> the largest in its layer now',
  }[model.activation];
  const outputs = model.output === "softmax"
    ? "Outputs: softmax probabilities, summing to 100%; the answer is the largest, in yellow."
    : "Outputs: ten sigmoids, each between 0 and 1; the percentages are their shares of the sum (as <code>compare predict</code> shows them).";
  return [
    `Each square is a neuron; its brightness is its ${activation}.`,
    outputs,
    linesDrawn ? `Lines: the ${LINES_PER_NEURON} strongest pushes <i>w&middot;a</i> into each neuron from the layer before: <span class="swatch blue"></span> blue raises it, <span class="swatch orange"></span> orange lowers it; thicker is stronger.` : "",
    model.sizes.length > 2 ? 'Click or tap a neuron of the first hidden layer (<span class="swatch yellow"></span> framed) to see its weights: <span class="swatch blue"></span> positive, <span class="swatch orange"></span> negative, <span class="swatch black"></span> near zero (full colour from the largest 2% on).' : "",
  ].filter(Boolean);
}

function startPage() {
  const model = loadModel(JSON.parse($("model").textContent));
  const drawing = new Drawing(GRID);
  const pad = $("pad"), net = $("net");
  const state = { input: new Float64Array(SIDE * SIDE), exact: null, result: null, shares: null, answer: null,
                  selected: 0, sample: null, layout: null, pending: false, pointerType: null };
  const hidden = model.sizes.length > 2;

  function update() {
    state.pending = false;
    state.input = state.exact ?? prepare(drawing.ink, GRID) ?? new Float64Array(SIDE * SIDE);
    const blank = !state.input.some((v) => v > 0);
    state.result = forward(model, state.input);
    const out = state.result.output, total = out.reduce((s, v) => s + v, 0);
    state.shares = model.output === "softmax" ? Array.from(out) : Array.from(out, (v) => v / total);
    const best = state.shares.indexOf(Math.max(...state.shares));
    state.answer = blank ? null : best;
    render(blank);
  }

  function schedule() {
    if (!state.pending) { state.pending = true; requestAnimationFrame(update); }
  }

  function render(blank) {
    paintPixels(pad, drawing.ink, greyPixel);
    paintPixels($("input"), state.input, greyPixel);
    $("answer").textContent = blank ? "?" : String(state.answer);
    $("confidence").textContent = blank ? "draw a digit" : `${(100 * state.shares[state.answer]).toFixed(1)}%`;
    state.layout = drawNetwork(net, model, state.result, state.shares, state.selected);
    if (hidden) renderNeuron();
    document.querySelectorAll("#samples button").forEach((b) => b.classList.toggle("current", Number(b.dataset.index) === state.sample));
  }

  function renderNeuron() {
    const j = state.selected, inputs = model.sizes[0], W = model.layers[0].W;
    const weights = W.subarray(j * inputs, (j + 1) * inputs), x = state.input;
    const pushes = weights.map((w, k) => w * x[k]);
    const wScale = colourScale(weights), pScale = colourScale(pushes);
    paintPixels($("weights"), weights, (w) => signedPixel(w / wScale));
    paintPixels($("contributions"), pushes, (p) => signedPixel(p / pScale));
    let up = 0, down = 0;
    for (const p of pushes) { if (p > 0) up += p; else down += p; }
    const z = state.result.zs[0][j], a = state.result.activations[1][j], bias = model.layers[0].b[j];
    $("neuron-title").textContent = `Neuron ${j + 1} of ${model.sizes[1]} in the first hidden layer`;
    $("neuron-sum").innerHTML =
      `z = &Sigma; <i>w&middot;x</i> + <i>b</i> = <span class="pos">${format(up)}</span> (pixels pushing up) ` +
      `<span class="neg">${format(down)}</span> (pushing down) ${format(bias)} (bias) = <b>${format(z)}</b>; ` +
      `activation ${model.activation}(z) = <b>${a.toFixed(3)}</b>`;
  }

  // Drawing with mouse, pen or finger. touch-action: none (in the CSS) keeps a finger
  // drawing instead of scrolling; pointer capture keeps the stroke when it leaves the pad;
  // coalesced events give every point the device reported, joined as segments.
  let stroke = null;
  function gridPoint(event) {
    return { x: ((event.clientX - stroke.rect.left) * GRID) / stroke.rect.width,
             y: ((event.clientY - stroke.rect.top) * GRID) / stroke.rect.height };
  }
  pad.addEventListener("pointerdown", (event) => {
    if (stroke || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    stroke = { id: event.pointerId, rect: pad.getBoundingClientRect() };
    state.pointerType = event.pointerType; // mouse, pen or touch: what drew last
    stroke.last = gridPoint(event);
    if (state.exact) { // a sample is shown: drawing starts a digit of your own
      drawing.clear();
      state.exact = null;
      state.sample = null;
      $("status").textContent = DRAW_HINT;
    }
    drawing.segment(stroke.last, stroke.last);
    schedule();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!stroke || event.pointerId !== stroke.id) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const point of events.length ? events : [event]) {
      const next = gridPoint(point);
      drawing.segment(stroke.last, next);
      stroke.last = next;
    }
    schedule();
  });
  const endStroke = (event) => { if (stroke && event.pointerId === stroke.id) { stroke = null; schedule(); } };
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) pad.addEventListener(type, endStroke);

  function clear() {
    drawing.clear();
    state.exact = null;
    state.sample = null;
    $("status").textContent = DRAW_HINT;
    update();
  }
  $("clear").addEventListener("click", clear);

  // Real MNIST test digits: shown exactly as stored (not re-prepared), so the network
  // answers here what it answered on the test set.
  const { pixels, labels, indices } = model.samples;
  function showSample(s) {
    const x = Float64Array.from(pixels.subarray(s * SIDE * SIDE, (s + 1) * SIDE * SIDE), (v) => v / 255);
    drawing.clear();
    drawing.image(x, SIDE, SIDE);
    state.exact = x;
    state.sample = s;
    $("status").textContent = `MNIST test image #${indices[s]}, labelled ${labels[s]}, exactly as stored. Draw to start your own.`;
    update();
  }
  labels.forEach((label, s) => {
    const x = Float64Array.from(pixels.subarray(s * SIDE * SIDE, (s + 1) * SIDE * SIDE), (v) => v / 255);
    const out = forward(model, x).output, said = out.indexOf(Math.max(...out));
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.index = String(s);
    button.title = `MNIST test image #${indices[s]}, labelled ${label}; the network says ${said}`;
    const thumb = document.createElement("canvas");
    thumb.width = thumb.height = SIDE;
    paintPixels(thumb, x, greyPixel);
    const caption = document.createElement("span");
    caption.className = said === label ? "right" : "wrong";
    caption.textContent = said === label ? `${label} \u2713` : `${label}\u2192${said} \u2717`;
    button.append(thumb, caption);
    button.addEventListener("click", () => showSample(s));
    $("samples").append(button);
  });

  // Selecting a first-layer neuron: click or tap its square, or the arrow keys.
  net.tabIndex = 0;
  net.addEventListener("click", (event) => {
    if (!hidden || !state.layout) return;
    const rect = net.getBoundingClientRect(), x = event.clientX - rect.left, y = event.clientY - rect.top;
    const cells = state.layout.layers[0].cells;
    const slack = Math.max(3, (state.layout.layers[0].pitch - cells[0].size) / 2 + 1);
    const hit = cells.findIndex((c) => x >= c.x - slack && x <= c.x + c.size + slack && y >= c.y - slack && y <= c.y + c.size + slack);
    if (hit >= 0) { state.selected = hit; render(state.answer === null); }
  });
  net.addEventListener("keydown", (event) => {
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!hidden || !step) return;
    event.preventDefault();
    state.selected = (state.selected + step + model.sizes[1]) % model.sizes[1];
    render(state.answer === null);
  });
  if (!hidden) $("neuron-title").parentElement.hidden = true;

  const linesDrawn = model.sizes.slice(1).every((n) => n <= SMALL_LAYER) && model.sizes.length > 2;
  $("legend").innerHTML = legendItems(model, linesDrawn).map((item) => `<li>${item}</li>`).join("");
  window.addEventListener("resize", () => render(state.answer === null));

  if (labels.length) showSample(0); else update();
  // What the tests (and the curious, from the console) use.
  window.mnistPage = { model, drawing, state, forward: (x) => forward(model, x), prepare, update, clear, showSample, GRID,
                       readyMs: performance.now() };
  document.documentElement.dataset.ready = "yes";
}

try {
  startPage();
} catch (error) {
  $("status").textContent = `This page could not start: ${error.message}`;
  throw error;
}
