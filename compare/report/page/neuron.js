// The selected neuron, in any layer: chosen on the network picture, and its panel (its
// incoming weights, weight x input, the sum that makes its z). page.js calls these.

// Selecting a neuron: click or tap its square (or an output's row), or the arrow keys. On a
// narrow screen its panel lies below the picture: it is scrolled into view.
function listenToNeuronChoice(page) {
  const net = $("net"), { model, state } = page;
  if (!page.hidden) $("neuron-title").parentElement.hidden = true;
  net.tabIndex = 0;
  net.addEventListener("click", (event) => {
    if (!state.layout) return;
    const rect = net.getBoundingClientRect(), hit = neuronAt(state.layout, event.clientX - rect.left, event.clientY - rect.top);
    if (!hit) return;
    state.selectedLayer = hit.layer;
    state.selected = hit.index;
    render(page);
    // Its panel, where it is out of sight (below the picture on a phone): scrolled just enough.
    const panel = state.view === "errors" || !page.hidden ? $("backprop-neuron") : $("neuron-title").parentElement;
    const box = panel.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) panel.scrollIntoView({ behavior: "smooth", block: "nearest" });
  });
  net.addEventListener("keydown", (event) => {
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const count = model.sizes[state.selectedLayer + 1];
    state.selected = (state.selected + step + count) % count;
    render(page);
  });
}

// The selected neuron: its incoming weights, weight x input, and the sum that makes its z. A
// first-layer neuron's 784 weights are a 28x28 image; a later neuron's, a row.
function renderNeuron(page) {
  const { model, state } = page, l = state.selectedLayer, j = state.selected, last = model.layers.length - 1;
  const inputs = model.sizes[l], W = model.layers[l].W, x = state.result.activations[l];
  const weights = W.subarray(j * inputs, (j + 1) * inputs), image = l === 0;
  const pushes = weights.map((w, k) => w * x[k]);
  const wScale = colourScale(weights), pScale = colourScale(pushes);
  for (const id of ["weights", "contributions"]) {
    [$(id).width, $(id).height] = image ? [SIDE, SIDE] : [inputs, 1];
    $(id).classList.toggle("row", !image);
  }
  paintPixels($("weights"), weights, (w) => signedPixel(w / wScale));
  paintPixels($("contributions"), pushes, (p) => signedPixel(p / pScale));
  $("weights-caption").innerHTML = `its ${inputs} weights <i>w</i>`;
  $("contributions-caption").innerHTML = image ? "weight &times; input <i>w&middot;x</i>: what in this digit pushes it up or down"
    : "weight &times; activation <i>w&middot;a</i>: which neurons push it up or down";
  let up = 0, down = 0;
  for (const p of pushes) { if (p > 0) up += p; else down += p; }
  const z = state.result.zs[l][j], a = state.result.activations[l + 1][j], bias = model.layers[l].b[j];
  $("neuron-title").textContent = l === last ? `Output neuron ${j} (the digit ${j})`
    : `Neuron ${j + 1} of ${model.sizes[l + 1]} in ${l === 0 ? "the first hidden layer" : `hidden layer ${l + 1}`}`;
  const what = l === last ? `${model.output === "softmax" ? "softmax over the ten z" : "sigmoid(z)"}` : `${model.activation}(z)`;
  $("neuron-sum").innerHTML =
    `z = &Sigma; <i>w&middot;${image ? "x" : "a"}</i> + <i>b</i> = <span class="pos">${format(up)}</span> (pushing up) ` +
    `<span class="neg">${format(down)}</span> (pushing down) ${format(bias)} (bias) = <b>${format(z)}</b>; ` +
    `activation ${what} = <b>${a.toFixed(3)}</b>`;
}
