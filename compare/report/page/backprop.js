// Backpropagation, visible. For the digit on the pad and the label it should have (the
// target), every neuron's error delta = dC/dz lights the network picture: the outputs by BP1,
// each hidden layer by BP2. The selected neuron gets the four equations with its own numbers:
// its delta (BP1 or BP2), dC/db (BP3) and its weights' gradients (BP4) as an image or a row.
// "Learn from this digit" takes one SGD step on it (learn.js) and shows how each output moved.

// The label this digit should have: the learner's choice, else a sample's own label, else the
// network's own answer for a drawing (until the learner says what they meant).
function targetOf(page) {
  const { state, model } = page;
  if (state.target !== null) return state.target;
  if (state.sample !== null) return model.samples.labels[state.sample];
  return state.answer;
}

// Every layer's delta for this digit and its target (null on a blank pad): what page.js's
// update keeps in state.errors.
function findErrors(page) {
  const target = targetOf(page);
  if (page.state.answer === null || target === null) return null;
  return { target, ...errors(page.model, page.state.input, target) };
}

// A number as the equations show it: three significant digits, a power of ten when tiny.
function numberHtml(v, sign = true) {
  const size = Math.abs(v), lead = v < 0 ? "\u2212" : sign ? "+" : "";
  if (size === 0) return "0";
  if (size >= 0.001 && size < 1e4) return lead + size.toPrecision(3);
  const [mantissa, power] = size.toExponential(2).split("e");
  return `${lead}${mantissa}&times;10<sup>${power.replace("-", "\u2212").replace("+", "")}</sup>`;
}
const plain = (v) => numberHtml(v, false);

const layerName = (model, l) => (l === model.layers.length - 1 ? "the output layer" : `hidden layer ${l + 1}`);

// sigma'(z) for the hidden neuron, in the terms of its activation a, with its numbers.
function derivativeHtml(model, a, z) {
  if (model.activation === "sigmoid") return `&sigma;&prime;(z) = a(1 &minus; a) = ${plain(a)} &times; ${plain(1 - a)} = ${plain(a * (1 - a))}`;
  if (model.activation === "tanh") return `&sigma;&prime;(z) = 1 &minus; a&sup2; = 1 &minus; ${plain(a)}&sup2; = ${plain(1 - a * a)}`;
  return z > 0 ? "&sigma;&prime;(z) = 1 (z &gt; 0)" : "&sigma;&prime;(z) = 0 (z &le; 0: a ReLU that is off passes no error back)";
}

// (BP1) an output neuron's delta, and the example's cost.
function outputEquation(model, found, j) {
  const last = found.deltas.length - 1, a = found.activations[last + 1][j], y = j === found.target ? 1 : 0;
  const role = y ? "the target, y = 1" : "not the target, y = 0", d = found.deltas[last][j];
  if (model.output === "softmax")
    return `<b>BP1</b> &delta; = a &minus; y = ${plain(a)} &minus; ${y} = <b>${numberHtml(d)}</b> (${role}; softmax with cross-entropy)`;
  return `<b>BP1</b> &delta; = (a &minus; y) &sigma;&prime;(z) = (${plain(a)} &minus; ${y}) &times; ${plain(a * (1 - a))} = <b>${numberHtml(d)}</b> (${role})`;
}

// (BP2) a hidden neuron's delta: the next layer's errors through its outgoing weights.
function hiddenEquation(model, found, l, j) {
  const { W } = model.layers[l + 1], next = found.deltas[l + 1], n = model.sizes[l + 1];
  const terms = Array.from(next, (dk, k) => W[k * n + j] * dk), sum = terms.reduce((s, t) => s + t, 0);
  const k = terms.reduce((best, t, i) => (Math.abs(t) > Math.abs(terms[best]) ? i : best), 0);
  const a = found.activations[l + 1][j], z = found.zs[l][j], sigmaPrime = DERIVATIVES[model.activation](a);
  const from = l + 1 === model.layers.length - 1 ? `output ${k}` : `neuron ${k + 1} of ${layerName(model, l + 1)}`;
  return `<b>BP2</b> &delta; = (&Sigma;<sub>k</sub> w<sub>kj</sub> &delta;<sub>k</sub>) &sigma;&prime;(z) = ${numberHtml(sum)} &times; ${plain(sigmaPrime)}` +
    ` = <b>${numberHtml(found.deltas[l][j])}</b><br><span class="aside">${derivativeHtml(model, a, z)}; the largest of the sum's ` +
    `${next.length} terms comes from ${from}: w = ${numberHtml(W[k * n + j])} &times; &delta; = ${numberHtml(next[k])}</span>`;
}

// (BP3) and (BP4) for neuron j of layer l: its bias's gradient and its weights', as one step moves them.
function gradientEquations(model, found, l, j, lr) {
  const d = found.deltas[l][j], inputs = found.activations[l], brightest = inputs.reduce((m, v) => Math.max(m, v), 0);
  const bp3 = `<b>BP3</b> &part;C/&part;b = &delta; = <b>${numberHtml(d)}</b>: a step of &eta; = ${plain(lr)} moves the bias by ` +
    `&minus;&eta;&delta; = ${numberHtml(-lr * d)}`;
  const what = l === 0 && inputs.length === SIDE * SIDE ? `its ${inputs.length} weights, one per pixel (the image)`
    : `its ${inputs.length} incoming weights, one per neuron of ${l === 0 ? "the input" : layerName(model, l - 1)} (the row)`;
  const off = model.activation === "relu" || l === 0 ? "; where a<sub>k</sub> = 0 the gradient is 0: that weight does not move" : "";
  const bp4 = `<b>BP4</b> &part;C/&part;w<sub>k</sub> = a<sub>k</sub> &delta; for ${what}: the brightest input, a<sub>k</sub> = ` +
    `${plain(brightest)}, gives ${numberHtml(brightest * d)}${off}`;
  return [bp3, bp4];
}

// The example's cost C for its target, and how large the errors are in each layer.
function costHtml(model, found) {
  const last = found.deltas.length - 1, a = found.activations[last + 1][found.target];
  const cost = model.output === "softmax"
    ? `C = &minus;log a<sub>${found.target}</sub> = &minus;log ${plain(a)} = <b>${plain(found.loss)}</b>`
    : `C = &frac12; &Sigma;<sub>j</sub> (a<sub>j</sub> &minus; y<sub>j</sub>)&sup2; = <b>${plain(found.loss)}</b>`;
  const sizes = found.deltas.map((d, l) => `${layerName(model, l)} ${plain(largestMagnitude(d))}`).reverse();
  return `As a ${found.target}, this digit costs ${cost}. Largest |&delta;| in ${sizes.join(", ")}: ` +
    "each column of the picture is lit on its own scale.";
}

// The selected neuron's equations and its weights' gradients (BP4) as a picture.
function renderBackprop(page) {
  const { model, state } = page, found = state.errors, l = state.selectedLayer, j = state.selected;
  renderTargets(page, found);
  $("backprop-body").hidden = !found;
  if (!found) { $("cost").textContent = "Draw a digit or pick a sample: then what it would teach the network shows here."; return; }
  const last = model.layers.length - 1, lr = learningRate();
  $("cost").innerHTML = costHtml(model, found);
  $("backprop-title").textContent = l === last ? `Output neuron ${j} (the digit ${j})` : `Neuron ${j + 1} of ${model.sizes[l + 1]} in ${layerName(model, l)}`;
  const lines = [l === last ? outputEquation(model, found, j) : hiddenEquation(model, found, l, j), ...gradientEquations(model, found, l, j, lr ?? 0)];
  $("equations").innerHTML = lines.map((line) => `<li>${line}</li>`).join("");
  const inputs = found.activations[l], d = found.deltas[l][j], gradient = inputs.map((a) => a * d);
  const image = l === 0 && inputs.length === SIDE * SIDE, canvas = $("gradient");
  [canvas.width, canvas.height] = image ? [SIDE, SIDE] : [inputs.length, 1];
  canvas.classList.toggle("row", !image);
  const scale = largestMagnitude(gradient);
  paintPixels(canvas, gradient, (g) => signedPixel(g / scale));
  $("gradient-caption").innerHTML = `&part;C/&part;w = a&delta; of its ${inputs.length} weights (BP4), full colour at ${plain(scale)}`;
  renderNudges(page);
}

// The ten target buttons: the current target pressed, a note on where it comes from.
function renderTargets(page, found) {
  const { state } = page, target = found ? found.target : null;
  document.querySelectorAll("#targets button").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.digit) === target)));
  $("target-note").textContent = !found ? "" : state.target !== null ? "your choice"
    : state.sample !== null ? "the label of this test digit" : "the network's own answer: tap the digit you meant";
}

// The target buttons, and the picture's switch between activations and errors.
function listenToBackprop(page) {
  const { model, state } = page;
  for (let digit = 0; digit < model.sizes[model.sizes.length - 1]; digit++) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.digit = String(digit);
    button.textContent = String(digit);
    button.addEventListener("click", () => { state.target = digit; showView(page, "errors"); });
    $("targets").append(button);
  }
  $("show-activations").addEventListener("click", () => showView(page, "activations"));
  $("show-errors").addEventListener("click", () => showView(page, "errors"));
  $("bp1-rule").innerHTML = model.output === "softmax" ? "&delta; = a &minus; y (softmax with cross-entropy)"
    : "&delta; = (a &minus; y) &sigma;&prime;(z) (sigmoid outputs, quadratic cost)";
}

// The network picture lit by activations or by errors, its legend to match.
function showView(page, view) {
  page.state.view = view;
  $("show-activations").setAttribute("aria-pressed", String(view === "activations"));
  $("show-errors").setAttribute("aria-pressed", String(view === "errors"));
  showLegend(page);
  update(page);
}

function errorLegendItems(model, linesDrawn) {
  return [
    'Each square is a neuron lit by its error &delta; = &part;C/&part;z for this digit and its target: <span class="swatch blue"></span> positive (the cost rises with z: a step lowers z), <span class="swatch orange"></span> negative (a step raises z), <span class="swatch black"></span> near 0. Each column on its own scale.',
    `Outputs (BP1): the target digit in green; the bars are still the network's answer.`,
    linesDrawn ? `Lines (BP2): the ${LINES_PER_NEURON} largest terms w&middot;&delta; carrying each neuron's error back from the layer after it.` : "",
    "Tap or click any neuron for its four equations below.",
  ].filter(Boolean);
}

const learningRate = () => { const v = Number($("learn-rate").value); return v > 0 && Number.isFinite(v) ? v : null; };
