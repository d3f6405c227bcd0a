// Read by `scripts/bench app`: the wall-clock time (ms since the epoch) just
// after the first frame that shows this page (the task after that frame's
// requestAnimationFrame callbacks), as the bench stamps the app's home screen.
requestAnimationFrame(() =>
  setTimeout(() => {
    window.__benchPainted = performance.timeOrigin + performance.now();
  }, 0),
);
