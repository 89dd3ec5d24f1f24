// Live training's health, in words: what the numbers show when it has gone wrong (training.js
// shows it under the status line). A learner watching the curve may not read a loss of 9.5 as
// "it is not learning".

const GUESSING = 0.2; // of the test digits right, at most: hardly better than a guess among ten
const SLOW_START = 300; // steps before "not learning" is said: a small learning rate starts slowly
const FALLEN = 0.15; // the accuracy this far below its best: getting worse

// What went wrong, or null when nothing has. A fall from its best comes first: a network that
// learned and then collapsed is not one that never learned.
function trouble(live) {
  const { points, loss, step } = live, last = points[points.length - 1];
  if (loss !== null && loss !== undefined && !Number.isFinite(loss)) {
    return "The loss is no longer a number: the steps overshot and the weights blew up. Choose a smaller learning rate and Start again.";
  }
  if (!last || step < SLOW_START) return null;
  const percent = (share) => `${(100 * share).toFixed(1)}%`, best = Math.max(...points.map((p) => p.accuracy));
  if (best - last.accuracy >= FALLEN) {
    return `Getting worse: ${percent(last.accuracy)} right, down from ${percent(best)}. ` +
      "A learning rate this large overshoots: choose a smaller one (it applies at once), or Start again.";
  }
  if (last.accuracy <= GUESSING) {
    return `Not learning: ${percent(last.accuracy)} right after ${step.toLocaleString("en")} steps is hardly better than guessing. ` +
      "A learning rate too large overshoots at every step, one too small barely moves: choose another (it applies at once), or Start again.";
  }
  return null;
}
