// The life of one media session (a host publishing, a viewer watching), shared by both adapters:
// one explicit state and one way out. Whatever ends a session (a failure while starting, the
// connection lost, the stream over, the page's stop()), close() undoes everything the session
// opened, newest first, one step after the other (so a relay session is DELETEd before its peer
// connection closes), and the page hears of it once: a failure while starting rejects start();
// an end after that calls onEnded('ended' | 'lost'); a stop() the page asked for is not reported
// back, and resolves once the undoing is done (at most UNDO_LIMIT_MS per step).

const UNDO_LIMIT_MS = 3000;

export class MediaSession {
  #state = 'starting'; // 'starting' → 'running' → 'closed'
  #undo = [];
  #onEnded;
  #closedBy = null;
  #gone = false;
  #closing = Promise.resolve();

  constructor(onEnded = () => {}) {
    this.#onEnded = onEnded;
  }

  get closed() {
    return this.#state === 'closed';
  }

  // Why the session closed: 'stopped' (the page), 'failed' (while starting), 'ended', 'lost'.
  get closedBy() {
    return this.#closedBy;
  }

  // Registers what close() must undo (a function of the closing reason, possibly async); runs
  // it at once when the session is already closed.
  opened(undo) {
    if (this.closed) runQuietly(undo, this.#closedBy);
    else this.#undo.push(undo);
  }

  // Whether the far side ended the session before it was closed here (see close()).
  get gone() {
    return this.#gone;
  }

  // Closes the session; the returned promise settles when everything is undone. `gone`: the far
  // side has ended the session already (the relay closed it, or the room is over), so what
  // undoes it there (a relay session's DELETE, which would now be a 404) is skipped; the local
  // side (peer connection, poll) is closed as always.
  close(reason, { gone = false } = {}) {
    if (this.closed) return this.#closing;
    const wasRunning = this.#state === 'running';
    this.#state = 'closed';
    this.#closedBy = reason;
    this.#gone = gone;
    const steps = this.#undo.reverse();
    this.#undo = [];
    this.#closing = (async () => {
      for (const undo of steps) await runQuietly(undo, reason);
    })();
    if (wasRunning && reason !== 'stopped') this.#onEnded(reason);
    return this.#closing;
  }

  // Runs the adapter's start steps. Any failure, or an end while they ran, closes the session and
  // rejects; otherwise resolves to what the page holds: { stop() } and the adapter's `controls`.
  async start(steps, controls = {}) {
    try {
      await steps();
      if (this.closed) throw this.#endedWhileJoining();
    } catch (error) {
      // A step that failed because the session closed under it: the closing reason says why.
      const cause = this.closed ? this.#endedWhileJoining() : error;
      this.close('failed');
      throw cause;
    }
    this.#state = 'running';
    return { ...controls, stop: () => this.close('stopped') };
  }

  #endedWhileJoining() {
    return new Error(
      this.#closedBy === 'ended' ? 'the stream ended while joining' : 'the connection was lost while joining',
    );
  }
}

// One undo step: its failure is ignored (closing what is already closed), and a step that
// hangs is given up after UNDO_LIMIT_MS so the next one still runs.
async function runQuietly(undo, reason) {
  let timer;
  try {
    await Promise.race([
      undo(reason),
      new Promise((resolve) => {
        timer = setTimeout(resolve, UNDO_LIMIT_MS);
      }),
    ]);
  } catch {
    // Nothing left to undo.
  } finally {
    clearTimeout(timer);
  }
}
