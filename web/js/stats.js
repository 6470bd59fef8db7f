// Reads an RTCStatsReport into what the page shows and what the automation
// hook returns. Pure (no RTCPeerConnection here), tested in Node with
// reports recorded from Chromium and Firefox shapes.
//
// Chromium and Firefox differ: Firefox marks the selected pair with
// `selected: true` and has no transport.selectedCandidatePairId; some
// members (framesReceived, frameWidth on older versions) may be absent.
// Missing numbers are 0 and missing strings '' in the hook's shape.

function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(v) {
  return typeof v === 'string' ? v : '';
}

function values(report) {
  if (!report)
    return [];
  if (typeof report.values === 'function')
    return [...report.values()];
  return Object.values(report);
}

function byId(all) {
  const m = new Map();
  for (const s of all)
    m.set(s.id, s);
  return m;
}

// 'video/VP8' -> 'VP8'.
function codecName(index, codecId) {
  const c = index.get(codecId);
  const mime = c ? str(c.mimeType) : '';
  const slash = mime.indexOf('/');
  return slash >= 0 ? mime.slice(slash + 1) : mime;
}

// Of several RTP streams of one kind (a renegotiation may leave an old one
// behind), the one that carried the most.
function busiest(all, type, kind, field) {
  let best = null;
  for (const s of all) {
    if (s.type !== type || (s.kind ?? s.mediaType) !== kind)
      continue;
    if (!best || num(s[field]) > num(best[field]))
      best = s;
  }
  return best;
}

function selectedPair(all, index) {
  for (const s of all) {
    if (s.type === 'transport' && s.selectedCandidatePairId && index.has(s.selectedCandidatePairId))
      return index.get(s.selectedCandidatePairId);
  }
  for (const s of all) {
    if (s.type === 'candidate-pair' && s.selected === true)
      return s;
  }
  for (const s of all) {
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')
      return s;
  }
  return null;
}

function endpoint(c) {
  if (!c)
    return '';
  const addr = str(c.address) || str(c.ip);
  if (!addr)
    return '';
  const host = addr.includes(':') ? `[${addr}]` : addr;
  return c.port ? `${host}:${c.port}` : host;
}

// Returns {hook, display, sample}. `prev` is the previous call's `sample`
// (or null), for the rates.
export function summarize(report, prev = null) {
  const all = values(report);
  const index = byId(all);

  const vin = busiest(all, 'inbound-rtp', 'video', 'bytesReceived');
  const ain = busiest(all, 'inbound-rtp', 'audio', 'bytesReceived');
  const vout = busiest(all, 'outbound-rtp', 'video', 'bytesSent');
  const aout = busiest(all, 'outbound-rtp', 'audio', 'bytesSent');
  const pair = selectedPair(all, index);
  const local = pair ? index.get(pair.localCandidateId) : null;
  const remote = pair ? index.get(pair.remoteCandidateId) : null;

  let rtt = pair ? num(pair.currentRoundTripTime) : 0;
  if (!rtt) {
    // No STUN round trip measured yet: RTCP's, from the remote side's view.
    for (const s of all) {
      if (s.type === 'remote-inbound-rtp' && num(s.roundTripTime) > 0) {
        rtt = num(s.roundTripTime);
        break;
      }
    }
  }

  const hook = {
    video: {
      framesDecoded: num(vin?.framesDecoded),
      framesReceived: num(vin?.framesReceived),
      bytesReceived: num(vin?.bytesReceived),
      frameWidth: num(vin?.frameWidth),
      frameHeight: num(vin?.frameHeight),
      codec: vin ? codecName(index, vin.codecId) : '',
    },
    audio: {
      packetsReceived: num(ain?.packetsReceived),
      bytesReceived: num(ain?.bytesReceived),
      codec: ain ? codecName(index, ain.codecId) : '',
    },
    outbound: {
      videoFramesSent: num(vout?.framesSent),
      audioPacketsSent: num(aout?.packetsSent),
    },
    pair: {
      local: endpoint(local),
      remote: endpoint(remote),
      localType: str(local?.candidateType),
      remoteType: str(remote?.candidateType),
      rtt, // seconds, as getStats gives it
    },
  };

  let bytesIn = 0;
  let bytesOut = 0;
  let lost = 0;
  let received = 0;
  for (const s of all) {
    if (s.type === 'inbound-rtp') {
      bytesIn += num(s.bytesReceived);
      lost += Math.max(0, num(s.packetsLost));
      received += num(s.packetsReceived);
    } else if (s.type === 'outbound-rtp') {
      bytesOut += num(s.bytesSent);
    }
  }
  // Stats timestamps are milliseconds; take the newest one in the report.
  let timestamp = 0;
  for (const s of all)
    timestamp = Math.max(timestamp, num(s.timestamp));

  const rate = (now, before) => {
    if (!prev || timestamp <= prev.timestamp || now < before)
      return null;
    return ((now - before) * 8) / (timestamp - prev.timestamp); // bits per ms = kbit/s
  };

  const display = {
    width: hook.video.frameWidth,
    height: hook.video.frameHeight,
    fps: vin && typeof vin.framesPerSecond === 'number' ? vin.framesPerSecond : null,
    videoCodec: hook.video.codec,
    audioCodec: hook.audio.codec,
    kbpsIn: rate(bytesIn, prev?.bytesIn ?? 0),
    kbpsOut: rate(bytesOut, prev?.bytesOut ?? 0),
    packetsLost: lost,
    lossPercent: lost + received > 0 ? (100 * lost) / (lost + received) : 0,
    rttMs: rtt > 0 ? rtt * 1000 : null,
    pair: pair
      ? `${hook.pair.localType || '?'} ${hook.pair.local} ⇄ ${hook.pair.remoteType || '?'} ${hook.pair.remote}${local?.protocol ? ` (${local.protocol})` : ''}`
      : '',
  };

  return { hook, display, sample: { timestamp, bytesIn, bytesOut } };
}
