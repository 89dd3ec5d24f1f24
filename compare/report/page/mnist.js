// A drawing prepared as MNIST's digits were made, step by step as shared/images.py's
// fit_to_mnist does for `compare predict`: full contrast, cropped to the ink, the longer side
// scaled to 20 pixels by a true area average (not the browser's smoothing, which differs
// between browsers), the centre of mass moved to pixel (14, 14) of 28x28.

// As shared/images.py: ink fainter than this is paper; the longer side becomes BOX
// pixels; the centre of mass goes to pixel CENTRE of a SIDE x SIDE image.
const INK_THRESHOLD = 0.2, BOX = 20, SIDE = 28, CENTRE = 14;

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
