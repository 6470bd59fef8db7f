import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../../web/js/stats.js';

function report(list) {
  return new Map(list.map((s) => [s.id, s]));
}

// Shaped like Chromium's getStats().
const chromium = (t, bytesIn, bytesOut) => report([
  { id: 'T01', type: 'transport', timestamp: t, selectedCandidatePairId: 'CP1' },
  { id: 'CP1', type: 'candidate-pair', timestamp: t, localCandidateId: 'L1', remoteCandidateId: 'R1', currentRoundTripTime: 0.012, nominated: true, state: 'succeeded' },
  { id: 'CP2', type: 'candidate-pair', timestamp: t, localCandidateId: 'L1', remoteCandidateId: 'R2', state: 'failed' },
  { id: 'L1', type: 'local-candidate', address: '10.0.0.1', port: 50000, candidateType: 'host', protocol: 'udp' },
  { id: 'R1', type: 'remote-candidate', address: '10.0.0.2', port: 40000, candidateType: 'prflx', protocol: 'udp' },
  { id: 'COV', type: 'codec', mimeType: 'video/VP8' },
  { id: 'COA', type: 'codec', mimeType: 'audio/opus' },
  { id: 'IV', type: 'inbound-rtp', kind: 'video', timestamp: t, codecId: 'COV', framesDecoded: 90, framesReceived: 92, bytesReceived: bytesIn, frameWidth: 640, frameHeight: 480, framesPerSecond: 30, packetsLost: 2, packetsReceived: 98 },
  { id: 'IA', type: 'inbound-rtp', kind: 'audio', timestamp: t, codecId: 'COA', packetsReceived: 150, bytesReceived: 9000, packetsLost: 0 },
  { id: 'OV', type: 'outbound-rtp', kind: 'video', timestamp: t, framesSent: 88, bytesSent: bytesOut },
  { id: 'OA', type: 'outbound-rtp', kind: 'audio', timestamp: t, packetsSent: 149, bytesSent: 0 },
]);

test('the hook shape from a Chromium-like report', () => {
  const { hook } = summarize(chromium(1000, 100000, 50000));
  assert.deepEqual(hook, {
    video: { framesDecoded: 90, framesReceived: 92, bytesReceived: 100000, frameWidth: 640, frameHeight: 480, codec: 'VP8' },
    audio: { packetsReceived: 150, bytesReceived: 9000, codec: 'opus' },
    outbound: { videoFramesSent: 88, audioPacketsSent: 149 },
    pair: { local: '10.0.0.1:50000', remote: '10.0.0.2:40000', localType: 'host', remoteType: 'prflx', rtt: 0.012 },
  });
});

test('rates from two samples, loss and pair text', () => {
  const a = summarize(chromium(1000, 100000, 50000));
  assert.equal(a.display.kbpsIn, null, 'no rate from one sample');
  const b = summarize(chromium(2000, 225000, 100000), a.sample);
  assert.equal(b.display.kbpsIn, (125000 + 0) * 8 / 1000);
  assert.equal(b.display.kbpsOut, 50000 * 8 / 1000);
  assert.equal(b.display.packetsLost, 2);
  assert.equal(b.display.rttMs, 12);
  assert.match(b.display.pair, /host 10\.0\.0\.1:50000 ⇄ prflx 10\.0\.0\.2:40000 \(udp\)/);
});

test('Firefox shape: selected pair flag, ip instead of address, missing members', () => {
  const { hook } = summarize(report([
    { id: 'p', type: 'candidate-pair', selected: true, localCandidateId: 'l', remoteCandidateId: 'r' },
    { id: 'l', type: 'local-candidate', ip: 'fe80::1', port: 1, candidateType: 'host' },
    { id: 'r', type: 'remote-candidate', ip: '10.0.0.2', port: 2, candidateType: 'host' },
    { id: 'v', type: 'inbound-rtp', kind: 'video', framesDecoded: 5, bytesReceived: 10 },
    { id: 'rr', type: 'remote-inbound-rtp', kind: 'video', roundTripTime: 0.02 },
  ]));
  assert.equal(hook.video.framesReceived, 0);
  assert.equal(hook.video.codec, '');
  assert.equal(hook.pair.local, '[fe80::1]:1');
  assert.equal(hook.pair.rtt, 0.02);
  assert.deepEqual(hook.audio, { packetsReceived: 0, bytesReceived: 0, codec: '' });
});

test('an empty report gives zeros and empty strings', () => {
  const { hook, display } = summarize(new Map());
  assert.deepEqual(hook.pair, { local: '', remote: '', localType: '', remoteType: '', rtt: 0 });
  assert.equal(hook.outbound.videoFramesSent, 0);
  assert.equal(display.pair, '');
});
