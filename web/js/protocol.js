// Palaver signaling protocol, version 1 (docs/protocol.md), for the browser.
//
// Pure logic: no DOM, no WebSocket, no RTCPeerConnection, so that Node's test
// runner checks it (tests/web/protocol.test.mjs) against the same tables the
// native client's src/protocol/ follows. Anything the wire contract says
// lives here; how a call uses it lives in call.js.

export const PROTOCOL_VERSION = 1;

// "room and peer ids: 1 to 64 characters of [A-Za-z0-9._-]".
const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function isValidId(id) {
  return typeof id === 'string' && ID_RE.test(id);
}

// The error table (docs/protocol.md, "Errors"). `closes` is the WebSocket
// close code the server follows the error with, or 0 when the connection
// stays open. `retry` says whether doing the same thing later can succeed
// without the person changing anything.
export const ERROR_CODES = Object.freeze({
  'bad-json': { closes: 0, retry: false },
  'bad-message': { closes: 0, retry: false },
  'unknown-type': { closes: 0, retry: false },
  'not-joined': { closes: 0, retry: false },
  'already-joined': { closes: 0, retry: false },
  'peer-id-taken': { closes: 0, retry: false },
  'room-full': { closes: 0, retry: true },
  'unknown-peer': { closes: 0, retry: false },
  'rate-limited': { closes: 1008, retry: true }, // only after 100 drops in 10 s
  'unauthorized': { closes: 1008, retry: false },
  'too-large': { closes: 1009, retry: false },
});

// Close codes the protocol uses.
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  BAD_DATA: 1007,
  POLICY: 1008,
  TOO_LARGE: 1009,
  INTERNAL_ERROR: 1011,
});

// The server's default frame limit; an SDP larger than this cannot be sent.
export const DEFAULT_MAX_FRAME_BYTES = 65536;

// ---- Client to server --------------------------------------------------
//
// Builders return plain objects holding exactly the listed members; encode()
// makes the frame. They throw TypeError on input the server would refuse
// with bad-message, so a bug shows at its source rather than as an error
// frame later. `to` is always set: the contract lets it be left out in a
// room of two, but a third peer may join between our decision and the
// server's reading of the frame.

function requireId(what, id) {
  if (!isValidId(id))
    throw new TypeError(`${what} must be 1 to 64 characters of [A-Za-z0-9._-], got ${JSON.stringify(id)}`);
}

function requireString(what, value) {
  if (typeof value !== 'string')
    throw new TypeError(`${what} must be a string`);
  if (value.includes('\u0000'))
    throw new TypeError(`${what} must not contain U+0000`);
}

export function join(room, peer, token) {
  requireId('room', room);
  const msg = { type: 'join', room };
  if (peer !== undefined && peer !== null && peer !== '') {
    requireId('peer', peer);
    msg.peer = peer;
  }
  if (token !== undefined && token !== null && token !== '') {
    requireString('token', token);
    msg.token = token;
  }
  return msg;
}

export function leave() {
  return { type: 'leave' };
}

export function ping() {
  return { type: 'ping' };
}

export function sendOffer(to, sdp) {
  requireId('to', to);
  requireString('sdp', sdp);
  return { type: 'send-offer', to, sdp };
}

export function sendAnswer(to, sdp) {
  requireId('to', to);
  requireString('sdp', sdp);
  return { type: 'send-answer', to, sdp };
}

// `init` is an RTCIceCandidateInit-like object, or null for end of
// candidates. The contract wants sdpMLineIndex always (an integer >= 0);
// browsers may give only sdpMid, so the caller passes the index it looked up
// (sdp.js, mLineIndexOfMid) when the candidate has none.
export function iceCandidate(to, init) {
  requireId('to', to);
  const candidate = init && init.candidate ? init.candidate : '';
  requireString('candidate', candidate);
  const index = init && init.sdpMLineIndex !== undefined && init.sdpMLineIndex !== null ? init.sdpMLineIndex : 0;
  if (!Number.isInteger(index) || index < 0)
    throw new TypeError('sdpMLineIndex must be an integer >= 0');
  const msg = { type: 'ice-candidate', to, candidate, sdpMLineIndex: index };
  // Browsers' toJSON() gives "sdpMid": null; the server treats null as
  // absent, but leaving it out is cleaner.
  if (init && typeof init.sdpMid === 'string') {
    requireString('sdpMid', init.sdpMid);
    msg.sdpMid = init.sdpMid;
  }
  return msg;
}

export function encode(msg) {
  return JSON.stringify(msg);
}

// ---- Server to client --------------------------------------------------
//
// Each server message's members: name -> kind. '?' marks optional ones. The
// contract says the server sends exactly these; a client ignores extra ones
// (forward compatibility), and `strict` parsing reports them (for tests of
// the server).

const SERVER_MESSAGES = Object.freeze({
  'joined': { room: 'id', peer: 'id', peers: 'ids', iceServers: 'iceServers' },
  'peer-joined': { peer: 'id' },
  'peer-left': { peer: 'id' },
  'send-offer': { from: 'id', sdp: 'string' },
  'send-answer': { from: 'id', sdp: 'string' },
  'ice-candidate': { from: 'id', candidate: 'string', sdpMLineIndex: 'index', sdpMid: 'string?' },
  'pong': {},
  'error': { code: 'string', message: 'string', ref: 'string?' },
});

export const SERVER_MESSAGE_TYPES = Object.freeze(Object.keys(SERVER_MESSAGES));

function isIceServer(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return false;
  const urlsOk = typeof v.urls === 'string'
    || (Array.isArray(v.urls) && v.urls.length > 0 && v.urls.every((u) => typeof u === 'string'));
  const opt = (x) => x === undefined || typeof x === 'string';
  return urlsOk && opt(v.username) && opt(v.credential);
}

function checkKind(kind, value) {
  switch (kind) {
  case 'id': return isValidId(value);
  case 'ids': return Array.isArray(value) && value.every(isValidId);
  case 'string': return typeof value === 'string';
  case 'index': return Number.isInteger(value) && value >= 0;
  case 'iceServers': return Array.isArray(value) && value.every(isIceServer);
  default: return false;
  }
}

function failure(code, message, ref) {
  const f = { ok: false, code, message };
  if (ref !== undefined)
    f.ref = ref;
  return f;
}

// Parses one text frame from the server. Returns {ok: true, msg} with msg a
// fresh object of exactly the known members (null optional ones left out),
// or {ok: false, code, message[, ref]} using the protocol's own codes:
// bad-json (not a JSON object), bad-message (a member missing or of the
// wrong type), unknown-type. Options: strict (extra members are
// bad-message).
export function parseServerMessage(text, { strict = false } = {}) {
  let obj;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return failure('bad-json', `not JSON: ${e.message}`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    return failure('bad-json', 'not a JSON object');
  if (typeof obj.type !== 'string')
    return failure('bad-message', 'no string "type"');
  const shape = SERVER_MESSAGES[obj.type];
  if (!shape)
    return failure('unknown-type', `unknown type ${JSON.stringify(obj.type)}`, obj.type);
  const msg = { type: obj.type };
  for (const [name, spec] of Object.entries(shape)) {
    const optional = spec.endsWith('?');
    const kind = optional ? spec.slice(0, -1) : spec;
    const value = obj[name];
    // "An optional member that is null counts as absent."
    if (value === undefined || (optional && value === null)) {
      if (optional)
        continue;
      return failure('bad-message', `"${obj.type}" without "${name}"`, obj.type);
    }
    if (!checkKind(kind, value))
      return failure('bad-message', `"${obj.type}" has a malformed "${name}"`, obj.type);
    msg[name] = value;
  }
  if (strict) {
    const extra = Object.keys(obj).filter((k) => k !== 'type' && !(k in shape));
    if (extra.length > 0)
      return failure('bad-message', `"${obj.type}" has extra members: ${extra.join(', ')}`, obj.type);
  }
  return { ok: true, msg };
}

// ---- Peers: who offers, who is polite ----------------------------------

// Byte order of the ids' UTF-8. Ids are ASCII by the id rule, where UTF-16
// code unit order is the same thing, but this stays right for any string.
export function compareIds(a, b) {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) {
    if (ea[i] !== eb[i])
      return ea[i] - eb[i];
  }
  return ea.length - eb.length;
}

// "On a collision of offers, the peer whose id sorts lower (byte order) is
// the polite one: it rolls back its own offer and answers the other."
export function isPolite(selfId, remoteId) {
  return compareIds(selfId, remoteId) < 0;
}

// "The newcomer offers. After joined, a peer sends send-offer to every id in
// peers." Our own id never is one, but a server bug must not make us call
// ourselves.
export function offerTargets(joined) {
  return joined.peers.filter((id) => id !== joined.peer);
}

// ---- The `chat` data channel -------------------------------------------

export const CHAT_LABEL = 'chat';
// The native client refuses messages over 16 KiB (webrtcbin 1.22 does not
// advertise a=max-message-size, so the SCTP default of the other side may be
// all there is); we refuse the same, counted in UTF-8 bytes of the whole
// message as sent.
export const MAX_DATA_MESSAGE_BYTES = 16 * 1024;
// Palaver's own message, sent on `chat` just before a peer hangs up. Other
// implementations ignore it (unknown type); Palaver peers then close that
// connection at once instead of keeping it for a grace period in case the
// peer only lost the server.
export const BYE = '{"type":"bye"}';

export function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}

// The data-channel frame for a chat message, or null when it is too large
// (or not a string).
export function encodeChat(text) {
  if (typeof text !== 'string')
    return null;
  const frame = JSON.stringify({ type: 'chat', text });
  return utf8Length(frame) <= MAX_DATA_MESSAGE_BYTES ? frame : null;
}

// Reads one data-channel message: {type: 'chat', text}, {type: 'bye'},
// {type: <other>} for a well-formed message of a type we do not know (to be
// ignored), or null for anything that is not a JSON object with a string
// type (or a chat without a string text).
export function parseDataMessage(data) {
  if (typeof data !== 'string')
    return null;
  let obj;
  try {
    obj = JSON.parse(data);
  } catch {
    return null;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || typeof obj.type !== 'string')
    return null;
  if (obj.type === 'chat')
    return typeof obj.text === 'string' ? { type: 'chat', text: obj.text } : null;
  return { type: obj.type };
}

// ---- The page's URL ----------------------------------------------------

// The WebSocket address of the server that served the page: same host and
// port, path /ws, wss when the page came over https.
export function signalingUrl(location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}
