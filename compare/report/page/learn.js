// Backpropagation: how the network learns, in float64, held to impls/numpy_mlp.py to 1e-12.
//
// The API (the backprop view and live training call it):
//   backprop(net, x, label)          one example: { loss, zs, activations, deltas, gradW, gradB }
//   batchGradients(net, xs, labels)  the batch MEAN: { loss, gradW, gradB }
//   sgdStep(net, xs, labels, lr)     plain SGD, theta -= lr * g, in place; returns the loss before it
//   errors(net, x, label)            backprop without the gradients: { loss, zs, activations, deltas },
//                                    cheap enough to run at every frame (the backprop view does)
// `net` is the model as model.js decodes it: { activation, output, layers: [{ W, b }] }, each
// W a Float64Array of (out, in) rows, so W[j * in + k] is the weight from k into j. x is a
// Float64Array(784) of pixels in [0, 1], label the digit it should be. zs, activations,
// deltas, gradW and gradB are per layer: activations[0] is x, the rest (deltas too) run
// from the first hidden layer to the output, last.
//
// The losses are numpy_mlp.py's: "softmax" outputs with the cross-entropy C = -log a_y, and
// "sigmoid" outputs with the quadratic C = 1/2 ||a - y||^2 (y one-hot); a batch's C is the
// mean over its examples. The four equations, as Nielsen's book names them:
//   (BP1) delta^L = dC/da * sigma'(z^L)          the output layer's error
//   (BP2) delta^l = (W^(l+1))^T delta^(l+1) * sigma'(z^l)   carried back one layer
//   (BP3) dC/db^l_j = delta^l_j
//   (BP4) dC/dW^l_jk = a^(l-1)_k delta^l_j

// sigma'(z) written through a = sigma(z), which the forward pass keeps (as numpy_mlp.py does).
const DERIVATIVES = { sigmoid: (a) => a * (1 - a), tanh: (a) => 1 - a * a, relu: (a) => (a > 0 ? 1 : 0) };

// log(sum_i e^z_i), shifted by the largest z so that nothing overflows.
function logSumExp(z) {
  const top = Math.max(...z);
  let sum = 0;
  for (const v of z) sum += Math.exp(v - top);
  return top + Math.log(sum);
}

// (BP1) The output layer's error and the example's loss.
function outputError(net, z, a, label) {
  const delta = new Float64Array(a.length);
  if (net.output === "softmax") {
    // Softmax with cross-entropy: dC/dz = a - y exactly, sigma' folded in.
    for (let j = 0; j < a.length; j++) delta[j] = a[j] - (j === label ? 1 : 0);
    return { delta, loss: logSumExp(z) - z[label] }; // -log softmax(z)_y, without taking log of a tiny a_y
  }
  let loss = 0;
  for (let j = 0; j < a.length; j++) {
    const error = a[j] - (j === label ? 1 : 0); // dC/da for the quadratic cost
    loss += 0.5 * error * error;
    delta[j] = error * DERIVATIVES.sigmoid(a[j]);
  }
  return { delta, loss };
}

// (BP2) delta^l from delta^(l+1): each neuron's share of the next layer's error, through its
// outgoing weights W^(l+1), times sigma'(z^l), how much its z moves its activation a.
function backError(WNext, deltaNext, a, sigmaPrime) {
  const n = a.length, delta = new Float64Array(n);
  for (let j = 0; j < deltaNext.length; j++) {
    const row = j * n, dj = deltaNext[j];
    for (let k = 0; k < n; k++) delta[k] += WNext[row + k] * dj;
  }
  for (let k = 0; k < n; k++) delta[k] *= sigmaPrime(a[k]);
  return delta;
}

// The error of every layer for one example, output last, with the forward pass it came from.
function errors(net, x, label) {
  const { zs, activations } = forward(net, x), last = net.layers.length - 1;
  const { delta, loss } = outputError(net, zs[last], activations[last + 1], label);
  const deltas = [delta], sigmaPrime = DERIVATIVES[net.activation];
  for (let l = last - 1; l >= 0; l--) deltas.unshift(backError(net.layers[l + 1].W, deltas[0], activations[l + 1], sigmaPrime));
  return { loss, zs, activations, deltas };
}

// (BP3) and (BP4), scaled and added into gradW, gradB: one example's gradients, or its share of a batch's.
function addGradients(gradW, gradB, activations, deltas, scale) {
  deltas.forEach((delta, l) => {
    const a = activations[l], inputs = a.length, gW = gradW[l], gB = gradB[l];
    for (let j = 0; j < delta.length; j++) {
      const dj = scale * delta[j];
      gB[j] += dj;
      for (let k = 0, row = j * inputs; k < inputs; k++) gW[row + k] += dj * a[k];
    }
  });
}

const zerosLike = (net) => ({ gradW: net.layers.map(({ W }) => new Float64Array(W.length)),
                             gradB: net.layers.map(({ b }) => new Float64Array(b.length)) });

function backprop(net, x, label) {
  const found = errors(net, x, label), { gradW, gradB } = zerosLike(net);
  addGradients(gradW, gradB, found.activations, found.deltas, 1);
  return { ...found, gradW, gradB };
}

// The gradients of the batch's mean loss: each example's gradients times 1/n, summed.
function batchGradients(net, xs, labels) {
  const n = xs.length, { gradW, gradB } = zerosLike(net);
  let loss = 0;
  xs.forEach((x, i) => {
    const found = errors(net, x, labels[i]);
    loss += found.loss;
    addGradients(gradW, gradB, found.activations, found.deltas, 1 / n);
  });
  return { loss: loss / n, gradW, gradB };
}

// Gradient descent's step: every parameter moves against its gradient, lr times it.
function sgdStep(net, xs, labels, lr) {
  const { loss, gradW, gradB } = batchGradients(net, xs, labels);
  net.layers.forEach(({ W, b }, l) => {
    for (let i = 0; i < W.length; i++) W[i] -= lr * gradW[l][i];
    for (let j = 0; j < b.length; j++) b[j] -= lr * gradB[l][j];
  });
  return loss;
}
