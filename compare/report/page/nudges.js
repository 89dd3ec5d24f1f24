// "Learn from this digit": one step of gradient descent on the digit on the pad alone, with
// its target (learn.js's sgdStep), and how it nudged each output (3Blue1Brown's chapter 3).
// The step never writes into the network it starts from (the trained one, or the timeline's
// snapshot): it makes new arrays, so "put it back" is exact.

function learnFromDigit(page) {
  const { model, state } = page, found = state.errors, lr = learningRate();
  if (!found) return;
  if (lr === null) { $("learn-status").textContent = "The learning rate \u03b7 must be a number above 0."; return; }
  // Live training pauses: else its next update would undo the step.
  if (page.training?.started) standAside(page.training, "the network after your step on this digit");
  const x = Float64Array.from(state.input), before = forward(model, x).output;
  const net = { ...model, layers: model.layers.map(({ W, b }) => ({ W: Float64Array.from(W), b: Float64Array.from(b) })) };
  const cost = sgdStep(net, [x], [found.target], lr);
  const learned = stillLearned(page);
  page.learned = { original: learned ? learned.original : model.layers, layers: net.layers, steps: learned ? learned.steps + 1 : 1 };
  model.layers = net.layers;
  state.nudge = { x, target: found.target, lr, before, after: forward(model, x).output, cost, costAfter: errors(model, x, found.target).loss };
  update(page);
}

// The steps taken here, while nothing else (the timeline, live training) has swapped the network since.
function stillLearned(page) {
  if (page.learned && page.learned.layers !== page.model.layers) page.learned = null;
  return page.learned;
}

function putBack(page) {
  const learned = stillLearned(page);
  if (!learned) return;
  page.model.layers = learned.original;
  page.learned = null;
  page.state.nudge = null;
  update(page);
}

// Shown while the digit, its target and the network are still those of the last step.
function renderNudges(page) {
  const { state } = page, nudge = state.nudge, learned = stillLearned(page);
  const current = nudge && learned && state.errors && nudge.target === state.errors.target && nudge.x.every((v, i) => v === state.input[i]);
  $("unlearn").hidden = !learned;
  $("nudges").hidden = !current;
  if (!current) {
    $("learn-status").textContent = learned ? `The network has taken ${learned.steps} step${learned.steps > 1 ? "s" : ""} here.` : "";
    return;
  }
  $("learn-status").innerHTML = `One step of &eta; = ${plain(nudge.lr)} on this digit as a ${nudge.target}` +
    ` (${learned.steps} taken here): its cost went from ${plain(nudge.cost)} to <b>${plain(nudge.costAfter)}</b>. Each output moved:`;
  drawNudges($("nudges"), nudge, page.model.output === "softmax");
}

// Each output before and after the step: grey then coloured bars, blue where it rose, orange where it fell.
function drawNudges(canvas, nudge, probabilities) {
  const rows = nudge.before.length, rowHeight = 18, width = canvas.clientWidth || 300, ratio = window.devicePixelRatio || 1;
  canvas.style.height = `${rows * rowHeight}px`;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(rows * rowHeight * ratio);
  const context = canvas.getContext("2d"), barLeft = 18, barWidth = Math.max(40, width - barLeft - 150);
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.font = "12px system-ui, sans-serif";
  context.textBaseline = "middle";
  // Percentages to 0.1, or 0.01 below 1%: a small output's nudge shows too.
  const percent = (v) => (100 * Math.abs(v)).toFixed(Math.abs(v) < 0.01 ? 2 : 1);
  const shown = (v) => (probabilities ? `${percent(v)}%` : v.toFixed(3));
  for (let i = 0; i < rows; i++) {
    const top = i * rowHeight, before = nudge.before[i], after = nudge.after[i], change = after - before;
    context.fillStyle = i === nudge.target ? GREEN : "#e9ecef";
    context.fillText(String(i), 2, top + rowHeight / 2);
    context.fillStyle = "#5b6571";
    context.fillRect(barLeft, top + 3, Math.max(1, barWidth * before), 5);
    context.fillStyle = rgb(change >= 0 ? BLUE : ORANGE);
    context.fillRect(barLeft, top + 9, Math.max(1, barWidth * after), 5);
    context.fillStyle = "#9ba6b2";
    const moved = (change >= 0 ? "+" : "\u2212") + (probabilities ? percent(change) : Math.abs(change).toFixed(3));
    context.fillText(`${shown(before)} \u2192 ${shown(after)} (${moved})`, barLeft + barWidth + 6, top + rowHeight / 2);
  }
}

// The step's controls: the learning rate, the step, the way back. The first learning rate is one
// example's share of the run's own steps, lr / batch size: a batch's mean gradient spreads each
// step over its examples.
function listenToLearning(page) {
  const { lr, batch_size: batch } = page.model;
  $("learn-rate").defaultValue = lr && batch ? String(Number((lr / batch).toPrecision(3))) : "0.01";
  $("learn-rate-note").textContent = lr && batch ? `to start: the run's ${lr} over its batches of ${batch}, one digit's share` : "";
  $("learn-rate").addEventListener("input", () => render(page));
  $("learn").addEventListener("click", () => learnFromDigit(page));
  $("unlearn").addEventListener("click", () => putBack(page));
}
