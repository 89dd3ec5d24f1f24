// The drawing pad's ink: strokes of a round pen rasterised into a fixed grid by the page
// itself, so every browser draws the same digit.

const GRID = 280; // the drawing grid in pixels, whatever its size on screen
const PEN_RADIUS = 12; // of the round pen, in grid pixels: MNIST-like strokes for a digit filling the pad

class Drawing {
  constructor(size) {
    this.size = size;
    this.ink = new Float64Array(size * size); // 0 paper .. 1 ink
  }

  clear() { this.ink.fill(0); }

  isBlank() { return !this.ink.some((v) => v > 0); }

  // The longer side of the ink's bounding box, in grid pixels (0 when blank).
  span() {
    const { size, ink } = this;
    let x0 = size, x1 = -1, y0 = size, y1 = -1;
    for (let i = 0; i < ink.length; i++) {
      if (ink[i] > 0) {
        const x = i % size, y = (i - x) / size;
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
    return x1 < 0 ? 0 : Math.max(x1 - x0, y1 - y0) + 1;
  }

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

// Drawing with mouse, pen or finger (wired by page.js, whose $, schedule, drawOwn and clear it calls). touch-action: none (in the CSS) keeps a finger
// drawing instead of scrolling; pointer capture keeps the stroke when it leaves the pad;
// coalesced events give every point the device reported, joined as segments.
function listenToPen(page) {
  const pad = $("pad"), { drawing, state } = page;
  let stroke = null;
  const gridPoint = (event) => ({ x: ((event.clientX - stroke.rect.left) * GRID) / stroke.rect.width,
                                  y: ((event.clientY - stroke.rect.top) * GRID) / stroke.rect.height });
  pad.addEventListener("pointerdown", (event) => {
    if (stroke || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    stroke = { id: event.pointerId, rect: pad.getBoundingClientRect() };
    state.pointerType = event.pointerType; // mouse, pen or touch: what drew last
    stroke.last = gridPoint(event);
    if (state.exact) drawOwn(page); // a sample is shown: drawing starts a digit of your own
    drawing.segment(stroke.last, stroke.last);
    schedule(page);
  });
  pad.addEventListener("pointermove", (event) => {
    if (!stroke || event.pointerId !== stroke.id) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const point of events.length ? events : [event]) {
      const next = gridPoint(point);
      drawing.segment(stroke.last, next);
      stroke.last = next;
    }
    schedule(page);
  });
  const endStroke = (event) => { if (stroke && event.pointerId === stroke.id) { stroke = null; schedule(page); } };
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) pad.addEventListener(type, endStroke);
  $("clear").addEventListener("click", () => clear(page));
}
