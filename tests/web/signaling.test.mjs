// Signaling's reconnection, keepalive and join handling, with a fake
// WebSocket and a fake clock (no network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Signaling, backoffDelay, PING_INTERVAL_MS, SILENCE_LIMIT_MS } from '../../web/js/signaling.js';

class FakeSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closed = null;
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code, reason) { this.closed = { code, reason }; this.readyState = 3; }
  // Test side:
  open() { this.readyState = 1; this.onopen?.(); }
  receive(obj) { this.onmessage?.({ data: JSON.stringify(obj) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
}

// onJoined (optional): runs inside delegate.joined, as call.js's does.
function harness({ onJoined = null } = {}) {
  const sockets = [];
  const timers = new Map();
  let nextTimer = 1;
  let clock = 0;
  const events = [];
  const delegate = {
    state: (s) => events.push(['state', s]),
    joined: (m, o) => { events.push(['joined', m.peer, o.rejoin]); onJoined?.(m, o); },
    message: (m) => events.push(['message', m.type]),
    waiting: (w) => events.push(['waiting', w.joinedBefore, w.attempt]),
    fatal: (c) => events.push(['fatal', c]),
    log: () => {},
  };
  const sig = new Signaling('ws://h/ws', delegate, {
    createSocket: (u) => { const s = new FakeSocket(u); sockets.push(s); return s; },
    setTimeout: (fn, ms) => { const id = nextTimer++; timers.set(id, { fn, at: clock + ms }); return id; },
    clearTimeout: (id) => timers.delete(id),
    now: () => clock,
    random: () => 0.5,
  });
  // Runs due timers in time order up to now + ms.
  const advance = (ms) => {
    const end = clock + ms;
    for (;;) {
      let due = null;
      for (const [id, t] of timers)
        if (t.at <= end && (!due || t.at < due[1].at)) due = [id, t];
      if (!due) break;
      timers.delete(due[0]);
      clock = due[1].at;
      due[1].fn();
    }
    clock = end;
  };
  return { sig, sockets, events, advance, timers, last: () => sockets[sockets.length - 1] };
}

const joined = (peer, peers = []) => ({ type: 'joined', room: 'r', peer, peers, iceServers: [] });

test('backoff grows, is capped, and has jitter', () => {
  assert.equal(backoffDelay(0, () => 0), 500);
  assert.equal(backoffDelay(0, () => 1), 1000);
  assert.equal(backoffDelay(3, () => 1), 8000);
  assert.equal(backoffDelay(30, () => 1), 30000);
  assert.equal(backoffDelay(30, () => 0), 15000);
});

test('joins on open; relays queue until joined', () => {
  const h = harness();
  h.sig.start('r', 'alice');
  assert.equal(h.last().url, 'ws://h/ws');
  h.sig.send({ type: 'send-offer', to: 'bob', sdp: 'x' });
  h.sig.send({ type: 'ping' });
  h.last().open();
  assert.deepEqual(h.last().sent, [{ type: 'join', room: 'r', peer: 'alice' }]);
  h.last().receive(joined('alice', ['bob']));
  assert.deepEqual(h.last().sent[1], { type: 'send-offer', to: 'bob', sdp: 'x' });
  assert.equal(h.last().sent.length, 2, 'the ping made while away is not queued');
  assert.deepEqual(h.events.filter((e) => e[0] === 'joined'), [['joined', 'alice', false]]);
});

test('pings every 15 s while connected', () => {
  const h = harness();
  h.sig.start('r', 'alice');
  h.last().open();
  h.last().receive(joined('alice'));
  h.advance(PING_INTERVAL_MS);
  h.last().receive({ type: 'pong' });
  h.advance(PING_INTERVAL_MS);
  const pings = h.last().sent.filter((m) => m.type === 'ping');
  assert.equal(pings.length, 2);
});

test('a silent server is dropped and reconnected', () => {
  const h = harness();
  h.sig.start('r', 'alice');
  h.last().open();
  h.last().receive(joined('alice'));
  h.advance(SILENCE_LIMIT_MS + PING_INTERVAL_MS);
  assert.ok(h.sockets[0].closed, 'the silent socket is closed');
  assert.ok(h.events.some((e) => e[0] === 'waiting' && e[1] === true));
  h.advance(1000);
  assert.equal(h.sockets.length, 2);
});

test('unreachable: retries with backoff until it connects', () => {
  const h = harness();
  h.sig.start('r', null);
  h.last().drop();
  assert.deepEqual(h.events.filter((e) => e[0] === 'waiting'), [['waiting', false, 0]]);
  assert.equal(h.sig.state, 'waiting');
  h.advance(749);
  assert.equal(h.sockets.length, 1);
  h.advance(1);
  assert.equal(h.sockets.length, 2);
  h.last().drop();
  h.advance(1500);
  assert.equal(h.sockets.length, 3, 'second wait is 1-2 s');
  h.last().open();
  assert.deepEqual(h.last().sent, [{ type: 'join', room: 'r' }]);
  h.last().receive(joined('x1'));
  assert.equal(h.sig.state, 'joined');
});

test('after a drop it joins again with the id the server gave', () => {
  const h = harness();
  h.sig.start('r', null);
  h.last().open();
  h.last().receive(joined('random1'));
  h.last().drop(1001);
  h.advance(1000);
  h.last().open();
  assert.deepEqual(h.last().sent[0], { type: 'join', room: 'r', peer: 'random1' });
  h.last().receive(joined('random1'));
  assert.deepEqual(h.events.filter((e) => e[0] === 'joined').map((e) => e[2]), [false, true]);
});

test('peer-id-taken on a rejoin is our old connection: retry, not fatal', () => {
  const h = harness();
  h.sig.start('r', 'alice');
  h.last().open();
  h.last().receive(joined('alice'));
  h.last().drop();
  h.advance(1000);
  h.last().open();
  h.last().receive({ type: 'error', code: 'peer-id-taken', message: 'taken', ref: 'join' });
  assert.equal(h.sig.state, 'waiting');
  assert.ok(!h.events.some((e) => e[0] === 'fatal'));
});

test('room-full, unauthorized, peer-id-taken on a first join are fatal', () => {
  for (const code of ['room-full', 'unauthorized', 'peer-id-taken']) {
    const h = harness();
    h.sig.start('r', 'alice');
    h.last().open();
    h.last().receive({ type: 'error', code, message: 'no', ref: 'join' });
    h.last().drop(1008);
    h.advance(60000);
    assert.equal(h.sig.state, 'failed', code);
    assert.equal(h.sockets.length, 1, `${code}: no reconnection`);
    assert.deepEqual(h.events.filter((e) => e[0] === 'fatal'), [['fatal', code]]);
  }
});

test('stop sends leave and never reconnects', () => {
  const h = harness();
  h.sig.start('r', 'alice');
  h.last().open();
  h.last().receive(joined('alice'));
  h.sig.stop();
  assert.deepEqual(h.sockets[0].sent.at(-1), { type: 'leave' });
  assert.equal(h.sockets[0].closed.code, 1000);
  h.advance(60000);
  assert.equal(h.sockets.length, 1);
  assert.equal(h.sig.state, 'closed');
});

test('other messages reach the delegate; bad frames do not', () => {
  const h = harness();
  h.sig.start('r', 'alice');
  h.last().open();
  h.last().receive(joined('alice'));
  h.last().receive({ type: 'peer-joined', peer: 'bob' });
  h.last().receive({ type: 'future-thing' });
  h.last().onmessage({ data: 'not json' });
  h.last().receive({ type: 'error', code: 'unknown-peer', message: 'gone', ref: 'send-offer' });
  assert.deepEqual(h.events.filter((e) => e[0] === 'message').map((e) => e[1]), ['peer-joined', 'error']);
});

test('on a rejoin, queued messages of closed connections are dropped, the rest go first', () => {
  // A connection to bob made an offer and candidates while the server was
  // away; on the rejoin the call replaces it (closes it, and the fresh one
  // offers at once); carol's connection lives on.
  const old = { closed: false };
  const fresh = { closed: false };
  const h = harness({
    onJoined: (m, o) => {
      if (!o.rejoin)
        return;
      old.closed = true;
      h.sig.send({ type: 'send-offer', to: 'bob', sdp: 'new' }, { stale: () => fresh.closed });
    },
  });
  h.sig.start('r', 'alice');
  h.last().open();
  h.last().receive(joined('alice', ['bob', 'carol']));
  h.last().drop();
  h.sig.send({ type: 'send-offer', to: 'bob', sdp: 'old' }, { stale: () => old.closed });
  h.sig.send({ type: 'send-answer', to: 'carol', sdp: 'c' }, { stale: () => false });
  h.sig.send({ type: 'ice-candidate', to: 'bob', candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host', sdpMLineIndex: 0 },
    { stale: () => old.closed });
  h.sig.send({ type: 'send-answer', to: 'dave', sdp: 'd' }); // no stale: always sent
  h.advance(1000);
  h.last().open();
  h.last().receive(joined('alice', ['bob', 'carol']));
  assert.deepEqual(h.last().sent.slice(1).map((m) => [m.type, m.to, m.sdp]), [
    ['send-answer', 'carol', 'c'],
    ['send-answer', 'dave', 'd'],
    ['send-offer', 'bob', 'new'],
  ]);
  // Joined and flushed: sent at once again.
  h.sig.send({ type: 'send-offer', to: 'bob', sdp: 'later' }, { stale: () => fresh.closed });
  assert.deepEqual(h.last().sent.at(-1), { type: 'send-offer', to: 'bob', sdp: 'later' });
});
