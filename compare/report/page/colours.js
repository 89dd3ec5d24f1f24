// Colours of the page's pictures: grey for an activation or a pixel, blue for positive and
// orange for negative signed values (weights, pushes), black for 0.

const BLUE = [77, 163, 255], ORANGE = [255, 154, 60], YELLOW = "#ffd84d", GREEN = "#7bd88f";
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

// The largest |value|, for a scale where it is full colour (1 where all are 0).
const largestMagnitude = (values) => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;

const greyPixel = (v) => { const c = Math.round(255 * Math.min(1, Math.max(0, v))); return [c, c, c]; };
const signedPixel = (v) => (v >= 0 ? BLUE : ORANGE).map((c) => Math.round(c * Math.min(1, Math.abs(v))));
