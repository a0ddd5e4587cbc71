// The shared screen of a call, the same on both paths: one at a time (sharing another replaces
// it), and the browser's own "Stop sharing" (the track ends) stops it. The adapter says how:
// `open(track)` makes its handle at once (so a stop while it starts has something to close),
// `start(handle, track)` publishes it, `close(handle)` unpublishes it, `callClosed()` whether
// the call is over. `ended(handle)` is for an adapter whose share ended by itself.
export function screenShare({ open, start, close, callClosed }) {
  let current = null;
  const stop = () => {
    const sharing = current;
    current = null;
    if (sharing) close(sharing);
  };
  return {
    async share(track) {
      stop();
      if (callClosed()) throw new Error('The call has ended.');
      const sharing = open(track);
      current = sharing;
      try {
        await start(sharing, track);
      } catch (error) {
        if (current === sharing) current = null;
        throw error;
      }
      track.addEventListener('ended', () => current === sharing && stop(), { once: true });
    },
    stop,
    ended(sharing) {
      if (current === sharing) current = null;
    },
  };
}
