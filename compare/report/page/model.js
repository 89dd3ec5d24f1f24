// The model embedded in the page, and its forward pass: the network once more, in float64.
//
// The page holds the exact trained parameters as base64 of little-endian float64 (what
// compare/report/page/__init__.py writes); decoded here into Float64Arrays, bit for bit.

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
