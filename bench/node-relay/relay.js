#!/usr/bin/env node
// A minimal Node + ws relay of Palaver signaling protocol version 1
// (shared PROTOCOL.md / docs/protocol.md): the stack a typical web calling demo
// uses, kept as the benchmark's point of comparison for palaver-server.
//
// Written the way a web developer would write it: one process, ws defaults
// (perMessageDeflate is off for servers in ws 8), a Map per room, JSON.parse and
// JSON.stringify per message. Not tuned, not sabotaged.
//
// Covered: join (rooms, given or random peer ids, the `peers` list, an empty
// `iceServers`), leave, peer-joined, peer-left, send-offer / send-answer /
// ice-candidate relayed with the real `from` and only the listed members, the
// `to` rules, ping/pong, the error codes bad-json, bad-message, unknown-type,
// not-joined, already-joined, peer-id-taken, room-full, unknown-peer,
// rate-limited (token bucket, 1008 after 100 drops in 10 s), the join timeout,
// keepalive pings, /healthz and /metrics, 1001 on SIGINT/SIGTERM.
// Not covered: tokens (a token is ignored, as by a server without an auth
// secret), STUN/TURN entries, TLS. Frames over --max-frame-size are closed with
// 1009 by ws itself, without the `too-large` error before it.
//
// The benchmark runs this and palaver-server with the same limits: it turns
// the rate limit off on both (`--rate 0`).
//
// Usage: NODE_PATH=/usr/share/nodejs node relay.js [--host 127.0.0.1] [--port 8080]
//   [--max-room-peers 16] [--rate 50] [--burst 200] [--max-frame-size 65536]
//   [--join-timeout 30] [--keepalive 20]
'use strict';

const http = require('http');
const crypto = require('crypto');
const { WebSocketServer } = require('ws');

const options = {
  host: '127.0.0.1',
  port: 8080,
  'max-room-peers': 16,
  rate: 50,
  burst: 200,
  'max-frame-size': 65536,
  'join-timeout': 30,
  keepalive: 20,
};

function parseArgs(argv) {
  for (let i = 0; i < argv.length; i++) {
    let name = argv[i];
    let value;
    if (!name.startsWith('--')) throw new Error(`unexpected argument ${name}`);
    name = name.slice(2);
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[++i];
    }
    if (!(name in options)) throw new Error(`unknown option --${name}`);
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (name === 'host') {
      options.host = value;
    } else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number >= 0: ${value}`);
      options[name] = n;
    }
  }
  if (options.burst < 1) throw new Error('--burst must be at least 1');
}

try {
  parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`relay.js: ${e.message}`);
  process.exit(2);
}

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const rooms = new Map(); // room id -> Map(peer id -> ws), insertion order = join order

const stats = {
  connections: 0,
  relayed: { 'send-offer': 0, 'send-answer': 0, 'ice-candidate': 0 },
  errors: {},
};

function send(ws, msg) {
  ws.send(JSON.stringify(msg));
}

function sendError(ws, code, message, ref) {
  stats.errors[code] = (stats.errors[code] || 0) + 1;
  const msg = { type: 'error', code, message };
  if (ref !== undefined) msg.ref = ref;
  send(ws, msg);
}

function broadcast(room, exceptId, msg) {
  const data = JSON.stringify(msg);
  for (const [id, peer] of room) {
    if (id !== exceptId) peer.send(data);
  }
}

function leaveRoom(ws) {
  const room = rooms.get(ws.room);
  if (!room) return;
  room.delete(ws.peer);
  if (room.size === 0) rooms.delete(ws.room);
  else broadcast(room, ws.peer, { type: 'peer-left', peer: ws.peer });
  ws.room = null;
  ws.peer = null;
}

function randomPeerId(room) {
  for (;;) {
    const id = crypto.randomBytes(8).toString('hex');
    if (!room || !room.has(id)) return id;
  }
}

// Optional members: null counts as absent. Returns undefined for absent,
// null for "present but wrongly typed", the value otherwise.
function optionalString(msg, key) {
  const v = msg[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : null;
}

function optionalId(msg, key) {
  const v = optionalString(msg, key);
  if (v === undefined) return undefined;
  return v !== null && ID_RE.test(v) ? v : null;
}

function handleJoin(ws, msg) {
  const roomId = msg.room;
  if (typeof roomId !== 'string' || !ID_RE.test(roomId)) {
    return sendError(ws, 'bad-message', '"room" must be 1 to 64 characters of [A-Za-z0-9._-]', 'join');
  }
  const peerId = optionalId(msg, 'peer');
  if (peerId === null) {
    return sendError(ws, 'bad-message', '"peer" must be 1 to 64 characters of [A-Za-z0-9._-]', 'join');
  }
  if (optionalString(msg, 'token') === null) {
    return sendError(ws, 'bad-message', '"token" must be a string', 'join');
  }
  if (ws.room) return sendError(ws, 'already-joined', `already in room ${ws.room}`, 'join');

  let room = rooms.get(roomId);
  if (room && peerId !== undefined && room.has(peerId)) {
    return sendError(ws, 'peer-id-taken', `peer id ${peerId} is in use in this room`, 'join');
  }
  if (room && room.size >= options['max-room-peers']) {
    return sendError(ws, 'room-full', `room ${roomId} is full`, 'join');
  }
  if (!room) {
    room = new Map();
    rooms.set(roomId, room);
  }
  const id = peerId !== undefined ? peerId : randomPeerId(room);
  const peers = [...room.keys()];
  broadcast(room, null, { type: 'peer-joined', peer: id });
  room.set(id, ws);
  ws.room = roomId;
  ws.peer = id;
  if (ws.joinTimer) {
    clearTimeout(ws.joinTimer);
    ws.joinTimer = null;
  }
  send(ws, { type: 'joined', room: roomId, peer: id, peers, iceServers: [] });
}

// The receiving peer of a relayed message, or undefined after an error was sent.
function target(ws, msg, to) {
  const room = rooms.get(ws.room);
  if (to === undefined) {
    if (room.size === 2) {
      for (const [id, peer] of room) if (id !== ws.peer) return peer;
    }
    sendError(ws, 'unknown-peer', '"to" is required unless the room holds exactly two peers', msg.type);
    return undefined;
  }
  const peer = to !== ws.peer ? room.get(to) : undefined;
  if (!peer) sendError(ws, 'unknown-peer', `no peer ${to} in this room`, msg.type);
  return peer;
}

function handleSdp(ws, msg) {
  if (typeof msg.sdp !== 'string') return sendError(ws, 'bad-message', '"sdp" must be a string', msg.type);
  const to = optionalId(msg, 'to');
  if (to === null) return sendError(ws, 'bad-message', '"to" must be a peer id', msg.type);
  if (!ws.room) return sendError(ws, 'not-joined', 'join a room first', msg.type);
  const peer = target(ws, msg, to);
  if (!peer) return;
  stats.relayed[msg.type]++;
  send(peer, { type: msg.type, from: ws.peer, sdp: msg.sdp });
}

function handleCandidate(ws, msg) {
  if (typeof msg.candidate !== 'string') {
    return sendError(ws, 'bad-message', '"candidate" must be a string', msg.type);
  }
  if (!Number.isInteger(msg.sdpMLineIndex) || msg.sdpMLineIndex < 0) {
    return sendError(ws, 'bad-message', '"sdpMLineIndex" must be an integer >= 0', msg.type);
  }
  const sdpMid = optionalString(msg, 'sdpMid');
  if (sdpMid === null) return sendError(ws, 'bad-message', '"sdpMid" must be a string', msg.type);
  const to = optionalId(msg, 'to');
  if (to === null) return sendError(ws, 'bad-message', '"to" must be a peer id', msg.type);
  if (!ws.room) return sendError(ws, 'not-joined', 'join a room first', msg.type);
  const peer = target(ws, msg, to);
  if (!peer) return;
  stats.relayed[msg.type]++;
  const out = { type: 'ice-candidate', from: ws.peer, candidate: msg.candidate, sdpMLineIndex: msg.sdpMLineIndex };
  if (sdpMid !== undefined) out.sdpMid = sdpMid;
  send(peer, out);
}

// Token bucket per connection: every frame counts, it starts full.
function allowFrame(ws) {
  if (options.rate === 0) return true;
  const now = performance.now();
  ws.tokens = Math.min(options.burst, ws.tokens + ((now - ws.lastRefill) / 1000) * options.rate);
  ws.lastRefill = now;
  if (ws.tokens >= 1) {
    ws.tokens -= 1;
    return true;
  }
  ws.drops.push(now);
  while (ws.drops.length && now - ws.drops[0] > 10000) ws.drops.shift();
  if (ws.drops.length >= 100) {
    ws.close(1008, 'rate limit');
  } else if (now - ws.lastRateError >= 1000) {
    ws.lastRateError = now;
    sendError(ws, 'rate-limited', 'too many messages, this one was dropped');
  }
  return false;
}

function onMessage(ws, data, isBinary) {
  ws.alive = true;
  if (!allowFrame(ws)) return;
  if (isBinary) return sendError(ws, 'bad-message', 'binary frames are not accepted');
  let msg;
  try {
    msg = JSON.parse(data.toString());
  } catch {
    return sendError(ws, 'bad-json', 'not JSON');
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return sendError(ws, 'bad-json', 'not a JSON object');
  }
  if (typeof msg.type !== 'string') return sendError(ws, 'bad-message', '"type" must be a string');
  switch (msg.type) {
    case 'join':
      return handleJoin(ws, msg);
    case 'leave':
      if (!ws.room) return sendError(ws, 'not-joined', 'not in a room', 'leave');
      return leaveRoom(ws);
    case 'send-offer':
    case 'send-answer':
      return handleSdp(ws, msg);
    case 'ice-candidate':
      return handleCandidate(ws, msg);
    case 'ping':
      return send(ws, { type: 'pong' });
    default:
      return sendError(ws, 'unknown-type', `unknown type ${msg.type}`, msg.type);
  }
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/healthz') {
    let peers = 0;
    for (const room of rooms.values()) peers += room.size;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', rooms: rooms.size, peers }));
  } else if (req.method === 'GET' && path === '/metrics') {
    let peers = 0;
    for (const room of rooms.values()) peers += room.size;
    const lines = [
      '# TYPE palaver_connections gauge',
      `palaver_connections ${stats.connections}`,
      '# TYPE palaver_rooms gauge',
      `palaver_rooms ${rooms.size}`,
      '# TYPE palaver_peers gauge',
      `palaver_peers ${peers}`,
      '# TYPE palaver_messages_relayed_total counter',
      ...Object.entries(stats.relayed).map(([t, n]) => `palaver_messages_relayed_total{type="${t}"} ${n}`),
      '# TYPE palaver_errors_total counter',
      ...Object.entries(stats.errors).map(([c, n]) => `palaver_errors_total{code="${c}"} ${n}`),
    ];
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(lines.join('\n') + '\n');
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
});

const wss = new WebSocketServer({
  server,
  path: '/ws',
  perMessageDeflate: false,
  maxPayload: options['max-frame-size'],
});

wss.on('connection', (ws) => {
  stats.connections++;
  ws.room = null;
  ws.peer = null;
  ws.alive = true;
  ws.tokens = options.burst;
  ws.lastRefill = performance.now();
  ws.lastRateError = -Infinity;
  ws.drops = [];
  ws.joinTimer = options['join-timeout'] > 0
    ? setTimeout(() => ws.close(1008, 'join timeout'), options['join-timeout'] * 1000)
    : null;
  ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
  ws.on('pong', () => { ws.alive = true; });
  ws.on('error', () => {}); // ws closes the socket itself (1007, 1009, ...)
  ws.on('close', () => {
    stats.connections--;
    if (ws.joinTimer) clearTimeout(ws.joinTimer);
    leaveRoom(ws);
  });
});

// The ws README's heartbeat: a peer silent for a whole interval after a ping
// is dropped (and announced by its 'close').
if (options.keepalive > 0) {
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!ws.alive) {
        ws.terminate();
        continue;
      }
      ws.alive = false;
      ws.ping();
    }
  }, options.keepalive * 1000);
  timer.unref();
}

function shutdown() {
  for (const ws of wss.clients) ws.close(1001, 'server shutting down');
  server.close();
  setTimeout(() => process.exit(0), 200).unref();
  wss.close(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

server.listen(options.port, options.host, () => {
  const { address, port } = server.address();
  const host = address.includes(':') ? `[${address}]` : address;
  process.stdout.write(`listening on http://${host}:${port}\n`);
});
