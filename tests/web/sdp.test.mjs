import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sdp from '../../web/js/sdp.js';

const offer = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2',
  'a=fingerprint:sha-256 AA:BB', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=ice-ufrag:u1', 'a=mid:0',
  'a=fingerprint:sha-256 AA:BB', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=ice-ufrag:u1', 'a=mid:1',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:2', '',
].join('\r\n');

test('mids and the m-line index of a mid', () => {
  assert.deepEqual(sdp.mids(offer), ['0', '1', '2']);
  assert.equal(sdp.mLineIndexOfMid(offer, '1'), 1);
  assert.equal(sdp.mLineIndexOfMid(offer, 'x'), -1);
  assert.deepEqual(sdp.mids('m=audio 9 X 0\nm=video 9 X 96\na=mid:v\n'), ['', 'v']);
  assert.deepEqual(sdp.mids(undefined), []);
});

test('fingerprints and ufrags, deduplicated', () => {
  assert.deepEqual(sdp.fingerprints(offer), ['sha-256 aa:bb']);
  assert.deepEqual(sdp.iceUfrags(offer), ['u1']);
});

test('another connection: no fingerprint in common', () => {
  const fresh = offer.replaceAll('AA:BB', 'CC:DD');
  assert.equal(sdp.fromAnotherConnection(offer, fresh), true);
  assert.equal(sdp.fromAnotherConnection(offer, offer.replaceAll('u1', 'u2')), false);
  assert.equal(sdp.fromAnotherConnection(offer, 'v=0\r\n'), false);
  assert.equal(sdp.fromAnotherConnection(undefined, offer), false);
});

test('codec order: VP8, H.264 CB pm=1, others, then rtx/red/fec', () => {
  const caps = [
    { mimeType: 'video/rtx' },
    { mimeType: 'video/VP9', sdpFmtpLine: 'profile-id=0' },
    { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
    { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
    { mimeType: 'video/red' },
    { mimeType: 'video/VP8' },
    { mimeType: 'video/AV1' },
    { mimeType: 'video/ulpfec' },
  ];
  const out = sdp.preferredVideoCodecs(caps).map((c) => `${c.mimeType} ${c.sdpFmtpLine || ''}`.trim());
  assert.deepEqual(out, [
    'video/VP8',
    'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    'video/H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
    'video/VP9 profile-id=0',
    'video/AV1',
    'video/rtx',
    'video/red',
    'video/ulpfec',
  ]);
  assert.equal(caps[0].mimeType, 'video/rtx', 'input untouched');
});

test('codec order with h264 first: H.264 CB pm=1, VP8, others, then rtx/red/fec', () => {
  const caps = [
    { mimeType: 'video/rtx' },
    { mimeType: 'video/VP9', sdpFmtpLine: 'profile-id=0' },
    { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
    { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f' },
    { mimeType: 'video/VP8' },
    { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
    { mimeType: 'video/red' },
  ];
  const out = sdp.preferredVideoCodecs(caps, 'h264').map((c) => `${c.mimeType} ${c.sdpFmtpLine || ''}`.trim());
  assert.deepEqual(out, [
    'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    'video/VP8',
    'video/H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
    'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f',
    'video/VP9 profile-id=0',
    'video/rtx',
    'video/red',
  ]);
  // vp8 (or anything else) is the default order.
  assert.deepEqual(sdp.preferredVideoCodecs(caps, 'vp8'), sdp.preferredVideoCodecs(caps));
  assert.deepEqual(sdp.VIDEO_CODECS, ['vp8', 'h264']);
});
