// The life of one media session (a host publishing, a viewer watching), shared by both adapters:
// one explicit state and one way out. Whatever ends a session (a failure while starting, the
// connection lost, the stream over, the page's stop()), close() undoes everything the session
// opened, newest first (stops polling, DELETEs the relay session, closes the peer connection or
// disconnects the room), and the page hears of it once: a failure while starting rejects
// start(); an end after that calls onEnded('ended' | 'lost'); a stop() the page asked for is
// not reported back.

export class MediaSession {
  #state = 'starting'; // 'starting' → 'running' → 'closed'
  #undo = [];
  #onEnded;
  #closedBy = null;
  #gone = false;

  constructor(onEnded = () => {}) {
    this.#onEnded = onEnded;
  }

  get closed() {
    return this.#state === 'closed';
  }

  // Registers what close() must undo; runs it at once when the session is already closed.
  opened(undo) {
    if (this.closed) runQuietly(undo);
    else this.#undo.push(undo);
  }

  // Whether the far side ended the session before it was closed here (see close()).
  get gone() {
    return this.#gone;
  }

  // `gone`: the far side has ended the session already (the relay closed it, or the room is
  // over), so what undoes it there (a relay session's DELETE, which would now be a 404) is
  // skipped; the local side (peer connection, poll) is closed as always.
  close(reason, { gone = false } = {}) {
    if (this.closed) return;
    const wasRunning = this.#state === 'running';
    this.#state = 'closed';
    this.#closedBy = reason;
    this.#gone = gone;
    while (this.#undo.length) runQuietly(this.#undo.pop());
    if (wasRunning && reason !== 'stopped') this.#onEnded(reason);
  }

  // Runs the adapter's start steps. Any failure, or an end while they ran, closes the session and
  // rejects; otherwise resolves to what the page holds: { stop() }.
  async start(steps) {
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
    return { stop: () => this.close('stopped') };
  }

  #endedWhileJoining() {
    return new Error(
      this.#closedBy === 'ended' ? 'the stream ended while joining' : 'the connection was lost while joining',
    );
  }
}

function runQuietly(undo) {
  try {
    undo();
  } catch {
    // Closing what is already closed: nothing left to undo.
  }
}
