// The browser client's protocol module against docs/protocol.md.
// Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../web/js/protocol.js';

test('id rule: 1 to 64 of [A-Za-z0-9._-]', () => {
  for (const ok of ['a', 'A-z_0.9', 'x'.repeat(64), '...', '-'])
    assert.equal(p.isValidId(ok), true, ok);
  for (const bad of ['', 'x'.repeat(65), 'a b', 'é', 'a/b', 'a\u0000', null, undefined, 3, ['a']])
    assert.equal(p.isValidId(bad), false, String(bad));
});

test('error table: every code of the protocol, with its close code', () => {
  assert.deepEqual(Object.keys(p.ERROR_CODES).sort(), [
    'already-joined', 'bad-json', 'bad-message', 'not-joined', 'peer-id-taken', 'rate-limited',
    'room-full', 'too-large', 'unauthorized', 'unknown-peer', 'unknown-type',
  ]);
  assert.equal(p.ERROR_CODES.unauthorized.closes, 1008);
  assert.equal(p.ERROR_CODES['too-large'].closes, 1009);
  assert.equal(p.ERROR_CODES['rate-limited'].closes, 1008);
  assert.equal(p.ERROR_CODES['room-full'].closes, 0);
});

test('join: room required, peer and token only when given', () => {
  assert.deepEqual(p.join('demo'), { type: 'join', room: 'demo' });
  assert.deepEqual(p.join('demo', 'alice'), { type: 'join', room: 'demo', peer: 'alice' });
  assert.deepEqual(p.join('demo', '', 'tok'), { type: 'join', room: 'demo', token: 'tok' });
  assert.deepEqual(p.join('demo', null, null), { type: 'join', room: 'demo' });
  assert.throws(() => p.join(''), TypeError);
  assert.throws(() => p.join('demo', 'bad name'), TypeError);
});

test('leave and ping carry only their type', () => {
  assert.equal(p.encode(p.leave()), '{"type":"leave"}');
  assert.equal(p.encode(p.ping()), '{"type":"ping"}');
});

test('offers and answers always name `to`', () => {
  assert.deepEqual(p.sendOffer('bob', 'v=0'), { type: 'send-offer', to: 'bob', sdp: 'v=0' });
  assert.deepEqual(p.sendAnswer('bob', 'v=0'), { type: 'send-answer', to: 'bob', sdp: 'v=0' });
  assert.throws(() => p.sendOffer(undefined, 'v=0'), TypeError);
  assert.throws(() => p.sendOffer('bob', 7), TypeError);
  assert.throws(() => p.sendAnswer('bob', 'v=0\u0000'), TypeError);
});

test('ice-candidate: index always, mid when a string, "" for end of candidates', () => {
  assert.deepEqual(p.iceCandidate('bob', { candidate: 'candidate:1 1 UDP 1 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 }),
    { type: 'ice-candidate', to: 'bob', candidate: 'candidate:1 1 UDP 1 10.0.0.1 5000 typ host', sdpMLineIndex: 0, sdpMid: '0' });
  // Browsers' toJSON() gives null members: left out.
  assert.deepEqual(p.iceCandidate('bob', { candidate: 'c', sdpMid: null, sdpMLineIndex: 1 }),
    { type: 'ice-candidate', to: 'bob', candidate: 'c', sdpMLineIndex: 1 });
  assert.deepEqual(p.iceCandidate('bob', null), { type: 'ice-candidate', to: 'bob', candidate: '', sdpMLineIndex: 0 });
  assert.deepEqual(p.iceCandidate('bob', { candidate: '', sdpMid: 'a', sdpMLineIndex: 0 }),
    { type: 'ice-candidate', to: 'bob', candidate: '', sdpMLineIndex: 0, sdpMid: 'a' });
  assert.throws(() => p.iceCandidate('bob', { candidate: 'c', sdpMLineIndex: -1 }), TypeError);
  assert.throws(() => p.iceCandidate('bob', { candidate: 'c', sdpMLineIndex: 1.5 }), TypeError);
});

test('parse: every server message of the protocol example', () => {
  const cases = [
    ['{"type":"joined","room":"demo","peer":"bob","peers":["alice"],"iceServers":[]}',
      { type: 'joined', room: 'demo', peer: 'bob', peers: ['alice'], iceServers: [] }],
    ['{"type":"peer-joined","peer":"bob"}', { type: 'peer-joined', peer: 'bob' }],
    ['{"type":"peer-left","peer":"bob"}', { type: 'peer-left', peer: 'bob' }],
    ['{"type":"send-offer","from":"bob","sdp":"v=0..."}', { type: 'send-offer', from: 'bob', sdp: 'v=0...' }],
    ['{"type":"send-answer","from":"alice","sdp":"v=0..."}', { type: 'send-answer', from: 'alice', sdp: 'v=0...' }],
    ['{"type":"ice-candidate","from":"alice","candidate":"candidate:1 1 UDP ...","sdpMLineIndex":0,"sdpMid":"0"}',
      { type: 'ice-candidate', from: 'alice', candidate: 'candidate:1 1 UDP ...', sdpMLineIndex: 0, sdpMid: '0' }],
    ['{"type":"ice-candidate","from":"alice","candidate":"","sdpMLineIndex":0}',
      { type: 'ice-candidate', from: 'alice', candidate: '', sdpMLineIndex: 0 }],
    ['{"type":"pong"}', { type: 'pong' }],
    ['{"type":"error","code":"room-full","message":"room demo is full","ref":"join"}',
      { type: 'error', code: 'room-full', message: 'room demo is full', ref: 'join' }],
    ['{"type":"error","code":"bad-json","message":"not JSON"}', { type: 'error', code: 'bad-json', message: 'not JSON' }],
  ];
  for (const [text, msg] of cases) {
    const r = p.parseServerMessage(text, { strict: true });
    assert.equal(r.ok, true, text);
    assert.deepEqual(r.msg, msg);
  }
});

test('parse: iceServers in the RTCIceServer shape', () => {
  const r = p.parseServerMessage(JSON.stringify({
    type: 'joined', room: 'r', peer: 'p', peers: [],
    iceServers: [{ urls: ['stun:s:3478'] }, { urls: ['turn:t:3478?transport=udp'], username: '1:p', credential: 'x' }, { urls: 'stun:x' }],
  }));
  assert.equal(r.ok, true);
  for (const bad of [[{}], [{ urls: 3 }], [{ urls: [] }], [{ urls: ['stun:x'], username: 1 }], {}]) {
    const b = p.parseServerMessage(JSON.stringify({ type: 'joined', room: 'r', peer: 'p', peers: [], iceServers: bad }));
    assert.equal(b.ok, false);
    assert.equal(b.code, 'bad-message');
  }
});

test('parse: failures use the protocol codes', () => {
  const expect = (text, code, ref) => {
    const r = p.parseServerMessage(text);
    assert.equal(r.ok, false, text);
    assert.equal(r.code, code, text);
    assert.equal(r.ref, ref, text);
  };
  expect('nope', 'bad-json');
  expect('[1]', 'bad-json');
  expect('"joined"', 'bad-json');
  expect('null', 'bad-json');
  expect('{"peer":"x"}', 'bad-message');
  expect('{"type":7}', 'bad-message');
  expect('{"type":"party"}', 'unknown-type', 'party');
  expect('{"type":"peer-joined"}', 'bad-message', 'peer-joined');
  expect('{"type":"peer-joined","peer":"a b"}', 'bad-message', 'peer-joined');
  expect('{"type":"joined","room":"r","peer":"p","peers":["ok","not ok"],"iceServers":[]}', 'bad-message', 'joined');
  expect('{"type":"ice-candidate","from":"a","candidate":"c","sdpMLineIndex":-1}', 'bad-message', 'ice-candidate');
  expect('{"type":"ice-candidate","from":"a","candidate":"c","sdpMLineIndex":0.5}', 'bad-message', 'ice-candidate');
  expect('{"type":"ice-candidate","from":"a","candidate":"c","sdpMLineIndex":0,"sdpMid":5}', 'bad-message', 'ice-candidate');
  expect('{"type":"error","code":"x"}', 'bad-message', 'error');
});

test('parse: null optional members are absent; extra members ignored unless strict', () => {
  const r = p.parseServerMessage('{"type":"ice-candidate","from":"a","candidate":"c","sdpMLineIndex":0,"sdpMid":null}');
  assert.equal(r.ok, true);
  assert.equal('sdpMid' in r.msg, false);
  const extra = '{"type":"peer-left","peer":"a","why":"later versions"}';
  assert.deepEqual(p.parseServerMessage(extra), { ok: true, msg: { type: 'peer-left', peer: 'a' } });
  assert.equal(p.parseServerMessage(extra, { strict: true }).ok, false);
});

test('glare: the lower id in byte order is polite', () => {
  assert.equal(p.isPolite('alice', 'bob'), true);
  assert.equal(p.isPolite('bob', 'alice'), false);
  // Byte order, not locale order: upper case sorts before lower case.
  assert.equal(p.isPolite('Zed', 'abe'), true);
  assert.equal(p.isPolite('a', 'a.'), true);
  assert.equal(p.isPolite('-', '.'), true);
  assert.equal(p.compareIds('x', 'x'), 0);
});

test('who offers: the newcomer, to every id in joined.peers', () => {
  assert.deepEqual(p.offerTargets({ peer: 'c', peers: ['a', 'b'] }), ['a', 'b']);
  assert.deepEqual(p.offerTargets({ peer: 'c', peers: [] }), []);
  assert.deepEqual(p.offerTargets({ peer: 'c', peers: ['c', 'a'] }), ['a']);
});

test('chat: the data-channel format, 16 KiB at most', () => {
  assert.equal(p.encodeChat('hi "you"'), '{"type":"chat","text":"hi \\"you\\""}');
  assert.deepEqual(p.parseDataMessage('{"type":"chat","text":"hi"}'), { type: 'chat', text: 'hi' });
  assert.deepEqual(p.parseDataMessage('{"type":"chat","text":"hi","at":1}'), { type: 'chat', text: 'hi' });
  assert.deepEqual(p.parseDataMessage(p.BYE), { type: 'bye' });
  assert.deepEqual(p.parseDataMessage('{"type":"reaction","emoji":"x"}'), { type: 'reaction' });
  for (const bad of ['', 'x', '[]', '{"text":"a"}', '{"type":"chat"}', '{"type":"chat","text":1}', null, new ArrayBuffer(2)])
    assert.equal(p.parseDataMessage(bad), null, String(bad));
  const overhead = p.utf8Length('{"type":"chat","text":""}');
  assert.notEqual(p.encodeChat('a'.repeat(p.MAX_DATA_MESSAGE_BYTES - overhead)), null);
  assert.equal(p.encodeChat('a'.repeat(p.MAX_DATA_MESSAGE_BYTES - overhead + 1)), null);
  // Counted in UTF-8 bytes: 'é' is two.
  assert.equal(p.encodeChat('é'.repeat((p.MAX_DATA_MESSAGE_BYTES - overhead) / 2 + 1)), null);
  assert.equal(p.encodeChat(7), null);
});

test('signaling URL: same host, /ws, wss under https', () => {
  assert.equal(p.signalingUrl({ protocol: 'http:', host: '127.0.0.1:8080' }), 'ws://127.0.0.1:8080/ws');
  assert.equal(p.signalingUrl({ protocol: 'https:', host: 'call.example' }), 'wss://call.example/ws');
});
