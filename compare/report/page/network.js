// The network drawn: every neuron a square lit by its activation, the strongest pushes
// w*a into each neuron as lines, the outputs with their bars.

const LINES_PER_NEURON = 3; // connections drawn into each neuron of a small layer
const SMALL_LAYER = 64; // layers up to this size get their connections drawn

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

// The forward view's lines: into each neuron j, the strongest pushes w_jk a_k from the layer before.
function pushLines(model, result, l) {
  const { W } = model.layers[l], a = result.activations[l], lines = [];
  for (let j = 0; j < model.sizes[l + 1]; j++) {
    const pushes = Array.from(a, (ak, k) => [k, j, W[j * a.length + k] * ak]);
    pushes.sort((p, q) => Math.abs(q[2]) - Math.abs(p[2]));
    lines.push(...pushes.slice(0, LINES_PER_NEURON));
  }
  return lines;
}

// The errors' lines (BP2): into each neuron k, the strongest terms w_jk delta_j of the sum that
// carries the next layer's error back to it.
function errorLines(model, deltas, l) {
  const { W } = model.layers[l], delta = deltas[l], n = model.sizes[l], lines = [];
  for (let k = 0; k < n; k++) {
    const terms = Array.from(delta, (dj, j) => [k, j, W[j * n + k] * dj]);
    terms.sort((p, q) => Math.abs(q[2]) - Math.abs(p[2]));
    lines.push(...terms.slice(0, LINES_PER_NEURON));
  }
  return lines;
}

// Lines [k, j, value] from neuron k of one layer to neuron j of the next: blue positive, orange
// negative, thicker and brighter the stronger.
function drawConnections(context, layout, linesOf) {
  for (let l = 1; l < layout.layers.length; l++) {
    const source = layout.layers[l - 1], target = layout.layers[l];
    if (source.cells.length > SMALL_LAYER || target.cells.length > SMALL_LAYER) continue;
    const lines = linesOf(l), strongest = Math.max(1e-300, ...lines.map((line) => Math.abs(line[2])));
    for (const [k, j, value] of lines) {
      const s = source.cells[k], t = target.cells[j], share = Math.abs(value) / strongest;
      context.strokeStyle = value >= 0 ? rgb(BLUE) : rgb(ORANGE);
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

// The neuron at (x, y) of the picture, as { layer, index }, or null; an output's whole row
// (digit, bar, percentage) is its to tap.
function neuronAt(layout, x, y) {
  for (let l = 0; l < layout.layers.length; l++) {
    const { cells, pitch } = layout.layers[l], slack = Math.max(3, (pitch - cells[0].size) / 2 + 1);
    const right = (c) => (l === layout.layers.length - 1 ? layout.width : c.x + c.size + slack);
    const index = cells.findIndex((c) => x >= c.x - slack && x <= right(c) && y >= c.y - slack && y <= c.y + c.size + slack);
    if (index >= 0) return { layer: l, index };
  }
  return null;
}

// selected: { layer, index }. errors: null to light each neuron by its activation, or
// { deltas, target } (learn.js, backprop.js) to light it by its error delta, each layer on its
// own scale (the errors shrink as they go back).
function drawNetwork(canvas, model, result, shares, selected, errors = null) {
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

  drawConnections(context, layout, (l) => (errors ? errorLines(model, errors.deltas, l) : pushLines(model, result, l)));
  const last = layout.layers.length - 1;
  layout.layers.forEach((layer, l) => {
    const a = result.activations[l + 1], layerMax = Math.max(...a);
    const deltaScale = errors ? largestMagnitude(errors.deltas[l]) : 0;
    layer.cells.forEach((cell, i) => {
      context.fillStyle = errors ? signed(errors.deltas[l][i] / deltaScale)
        : l === last ? grey(shares[i]) : activationColour(model, a[i], layerMax);
      context.fillRect(cell.x, cell.y, cell.size, cell.size);
      context.strokeStyle = "#46505c";
      context.lineWidth = 1;
      if (cell.size >= 6) context.strokeRect(cell.x + 0.5, cell.y + 0.5, cell.size - 1, cell.size - 1);
    });
  });
  // The selected neuron.
  const chosen = (layout.layers[selected.layer] || layout.layers[0]).cells[selected.index];
  if (chosen) {
    context.strokeStyle = YELLOW;
    context.lineWidth = 2;
    context.strokeRect(chosen.x - 1.5, chosen.y - 1.5, chosen.size + 3, chosen.size + 3);
  }
  // The outputs: digit, bar, percentage; the answer in yellow.
  const output = layout.layers[last], best = shares.indexOf(Math.max(...shares));
  const barLeft = output.left + output.pitch + 16, barWidth = layout.width - barLeft - 40;
  output.cells.forEach((cell, i) => {
    const middle = cell.y + cell.size / 2;
    const target = errors && errors.target === i;
    context.fillStyle = target ? GREEN : i === best ? YELLOW : "#e9ecef";
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
    model.sizes.length > 2 ? 'Click or tap any neuron (<span class="swatch yellow"></span> framed) to see its weights: <span class="swatch blue"></span> positive, <span class="swatch orange"></span> negative, <span class="swatch black"></span> near zero (full colour from the largest 2% on).' : "",
  ].filter(Boolean);
}
