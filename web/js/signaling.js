// The WebSocket to palaver-server: connect, join, keep alive, and come back.
//
// One Signaling per call. It owns the socket, the keepalive and the
// reconnection; it does not know about peer connections. What happens is
// reported to a delegate (call.js):
//   state(s)                 'connecting' | 'joined' | 'waiting' | 'failed' | 'closed'
//   joined(msg, {rejoin})    a `joined` arrived (rejoin: after a reconnect)
//   message(msg)             any other valid server message (relays, peer-*, error)
//   waiting({joinedBefore, delay, attempt, reason})   about to retry after `delay` ms
//   fatal(code, message)     the server refused us for good (no retry)
//   log(line)
//
// The socket factory and timers are injected so that Node's test runner can
// drive it without a network (tests/web/signaling.test.mjs).

import * as protocol from './protocol.js';

// Browsers cannot send WebSocket pings, so the protocol has an application
// `ping`; the server's own keepalive (20 s by default) drops a peer silent
// for two intervals, and every frame we send counts as a sign of life.
export const PING_INTERVAL_MS = 15000;
// No frame at all from the server (not even a pong) for this long: the TCP
// connection is dead even if the browser has not noticed (it may take
// minutes to); drop it and reconnect.
export const SILENCE_LIMIT_MS = 2 * PING_INTERVAL_MS + 5000;

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;
// Relay messages (offers, answers, candidates) made while the server is away
// are sent once we are back; beyond this many something is badly wrong.
const MAX_QUEUED = 500;

// Exponential backoff with jitter: attempt 0 waits 0.5-1 s, then 1-2 s,
// 2-4 s, ... up to 15-30 s. The jitter spreads the reconnections of a whole
// room after a server restart, so they do not arrive as one burst.
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}

export class Signaling {
  constructor(url, delegate, {
    createSocket = (u) => new WebSocket(u),
    setTimeout: setT = globalThis.setTimeout.bind(globalThis),
    clearTimeout: clearT = globalThis.clearTimeout.bind(globalThis),
    now = () => Date.now(),
    random = Math.random,
  } = {}) {
    this.url = url;
    this.delegate = delegate;
    this.createSocket = createSocket;
    this.setTimeout = setT;
    this.clearTimeout = clearT;
    this.now = now;
    this.random = random;

    this.state = 'closed';
    this.socket = null;
    this.room = null;
    this.peer = null;      // requested id, then the one the server gave us
    this.token = null;
    this.joinedBefore = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.queue = [];        // [{msg, stale}] waiting for a join
    this.flushing = false;  // delegate.joined is running: send() queues
  }

  // Connects and joins `room` as `peer` (null: the server picks an id).
  start(room, peer, token) {
    this.room = room;
    this.peer = peer || null;
    this.token = token || null;
    this.joinedBefore = false;
    this.attempt = 0;
    this.queue = [];
    this.connect();
  }

  // Sends a client message. Relay messages wait in a queue while we are not
  // joined (they are for peer connections that outlive the socket); a ping
  // or leave then is pointless and dropped. `stale` (optional): a function
  // that says whether the sender is gone (a closed peer connection); its
  // queued messages are then dropped instead of sent when we are back.
  // Messages go out in the order they were made: one made while the queue
  // is being sent (by delegate.joined, say) goes after it.
  send(msg, { stale = null } = {}) {
    if (this.state === 'joined' && this.socket && this.socket.readyState === 1 && !this.flushing) {
      this.socket.send(protocol.encode(msg));
      return true;
    }
    if (msg.type === 'send-offer' || msg.type === 'send-answer' || msg.type === 'ice-candidate') {
      if (this.queue.length < MAX_QUEUED)
        this.queue.push({ msg, stale });
      else
        this.log(`signaling: queue full, dropping a ${msg.type} for ${msg.to}`);
    }
    return false;
  }

  // Leaves the room and closes; no reconnection.
  stop() {
    if (this.state === 'joined' && this.socket && this.socket.readyState === 1)
      this.socket.send(protocol.encode(protocol.leave()));
    this.teardownSocket(protocol.CLOSE.NORMAL, 'hang up');
    this.cancelRetry();
    this.queue = [];
    this.setState('closed');
  }

  // During a backoff wait: try at once (the person pressed "Try now").
  retryNow() {
    if (this.state !== 'waiting')
      return;
    this.cancelRetry();
    this.connect();
  }

  // ---- internals ----

  log(line) {
    this.delegate.log?.(line);
  }

  setState(s) {
    if (this.state === s)
      return;
    this.state = s;
    this.delegate.state?.(s);
  }

  connect() {
    this.setState('connecting');
    this.log(`signaling: connecting to ${this.url}${this.attempt > 0 ? ` (attempt ${this.attempt + 1})` : ''}`);
    let socket;
    try {
      socket = this.createSocket(this.url);
    } catch (e) {
      // A malformed URL; retrying would not help, but a person reading the
      // page should see it as unreachable rather than nothing at all.
      this.log(`signaling: cannot open a WebSocket: ${e.message}`);
      this.scheduleRetry('cannot open a WebSocket');
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.lastHeard = this.now();
      this.log('signaling: connected');
      this.sendJoin();
      this.schedulePing();
    };
    socket.onmessage = (event) => {
      this.lastHeard = this.now();
      this.onFrame(event.data);
    };
    socket.onerror = () => {
      // Always followed by close, which decides what to do; browsers give
      // no reason here on purpose.
    };
    socket.onclose = (event) => {
      if (this.socket !== socket)
        return;
      this.socket = null;
      this.clearPing();
      const why = opened ? `closed (${event.code}${event.reason ? ` ${event.reason}` : ''})` : 'unreachable';
      this.log(`signaling: ${why}`);
      if (this.state === 'failed' || this.state === 'closed')
        return;
      this.scheduleRetry(opened ? 'closed' : 'unreachable', event.code);
    };
  }

  sendJoin() {
    const msg = protocol.join(this.room, this.peer, this.token);
    this.log(`signaling: join room ${this.room}${this.peer ? ` as ${this.peer}` : ''}`);
    this.socket.send(protocol.encode(msg));
  }

  onFrame(data) {
    if (typeof data !== 'string') {
      this.log('signaling: ignoring a binary frame');
      return;
    }
    const parsed = protocol.parseServerMessage(data);
    if (!parsed.ok) {
      // Unknown types are a newer server's business: ignore them.
      this.log(`signaling: ignoring a frame (${parsed.code}: ${parsed.message})`);
      return;
    }
    const msg = parsed.msg;
    if (msg.type === 'pong')
      return;
    if (msg.type === 'joined') {
      const rejoin = this.joinedBefore;
      this.peer = msg.peer; // a reconnect joins again with the same id
      this.joinedBefore = true;
      this.attempt = 0;
      this.setState('joined');
      this.log(`signaling: joined room ${msg.room} as ${msg.peer}; already there: ${msg.peers.join(', ') || 'nobody'}`);
      // The delegate first: it closes the connections it replaces, whose
      // queued messages are then dropped; what it sends meanwhile waits
      // behind the queue.
      this.flushing = true;
      try {
        this.delegate.joined?.(msg, { rejoin });
      } finally {
        this.flushing = false;
      }
      this.flushQueue();
      return;
    }
    if (msg.type === 'error' && this.state !== 'joined' && this.isJoinError(msg)) {
      this.onJoinError(msg);
      return;
    }
    if (msg.type === 'error')
      this.log(`signaling: server error ${msg.code}${msg.ref ? ` (for ${msg.ref})` : ''}: ${msg.message}`);
    this.delegate.message?.(msg);
  }

  isJoinError(msg) {
    return msg.ref === 'join' || ['peer-id-taken', 'room-full', 'unauthorized'].includes(msg.code);
  }

  onJoinError(msg) {
    this.log(`signaling: join refused: ${msg.code}: ${msg.message}`);
    // After a reconnect our old connection may still hold our id: the server
    // only drops a connection that went quiet after two keepalive intervals.
    // It is ours, so wait for it to go rather than ask for another name.
    if (msg.code === 'peer-id-taken' && this.joinedBefore) {
      this.teardownSocket(protocol.CLOSE.NORMAL, 'retry join');
      this.scheduleRetry('our id is still held by our previous connection');
      return;
    }
    this.teardownSocket(protocol.CLOSE.NORMAL, msg.code);
    this.queue = [];
    this.setState('failed');
    this.delegate.fatal?.(msg.code, msg.message);
  }

  flushQueue() {
    const queued = this.queue;
    this.queue = [];
    let dropped = 0;
    for (const { msg, stale } of queued) {
      if (stale?.()) {
        dropped += 1;
        continue;
      }
      this.send(msg, { stale });
    }
    if (dropped > 0)
      this.log(`signaling: dropped ${dropped} queued message(s) of closed connections`);
  }

  scheduleRetry(reason, closeCode) {
    this.cancelRetry();
    const delay = backoffDelay(this.attempt, this.random);
    const attempt = this.attempt;
    this.attempt += 1;
    this.setState('waiting');
    this.log(`signaling: trying again in ${(delay / 1000).toFixed(1)} s`);
    this.delegate.waiting?.({ joinedBefore: this.joinedBefore, delay, attempt, reason, closeCode });
    this.retryTimer = this.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  cancelRetry() {
    if (this.retryTimer !== null) {
      this.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  schedulePing() {
    this.clearPing();
    this.pingTimer = this.setTimeout(() => {
      this.pingTimer = null;
      const socket = this.socket;
      if (!socket || socket.readyState !== 1)
        return;
      if (this.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        this.log('signaling: the server has been silent too long; reconnecting');
        this.teardownSocket(protocol.CLOSE.NORMAL, 'silent');
        this.scheduleRetry('silent');
        return;
      }
      socket.send(protocol.encode(protocol.ping()));
      this.schedulePing();
    }, PING_INTERVAL_MS);
  }

  clearPing() {
    if (this.pingTimer !== null) {
      this.clearTimeout(this.pingTimer);
      this.pingTimer = null;
    }
  }

  // Closes the socket without its close event deciding anything.
  teardownSocket(code, reason) {
    this.clearPing();
    const socket = this.socket;
    this.socket = null;
    if (!socket)
      return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // Already closing.
    }
  }
}
