// The little SDP reading the call needs. Pure functions (tested in Node).
//
// We never rewrite SDP: codec order is set with setCodecPreferences, and
// everything else is the browser's. These only read.

function lines(sdp) {
  return typeof sdp === 'string' ? sdp.split(/\r?\n/) : [];
}

// The a=mid of each m-line, in order ('' for an m-line without one).
export function mids(sdp) {
  const out = [];
  for (const line of lines(sdp)) {
    if (line.startsWith('m='))
      out.push('');
    else if (line.startsWith('a=mid:') && out.length > 0)
      out[out.length - 1] = line.slice(6).trim();
  }
  return out;
}

// The protocol wants sdpMLineIndex on every candidate; a browser may hand
// out a candidate with only sdpMid. -1 when the mid is not in the SDP.
export function mLineIndexOfMid(sdp, mid) {
  return mids(sdp).indexOf(mid);
}

// The DTLS fingerprints (a=fingerprint values, session or media level), in
// order, duplicates removed. A peer connection keeps its certificate for its
// whole life, so a different fingerprint means a different connection on
// the other side: the native client answers some re-offers from a fresh
// webrtcbin, and a reloaded page offers from a fresh RTCPeerConnection.
export function fingerprints(sdp) {
  const out = [];
  for (const line of lines(sdp)) {
    if (line.startsWith('a=fingerprint:')) {
      const v = line.slice(14).trim().toLowerCase();
      if (!out.includes(v))
        out.push(v);
    }
  }
  return out;
}

export function iceUfrags(sdp) {
  const out = [];
  for (const line of lines(sdp)) {
    if (line.startsWith('a=ice-ufrag:')) {
      const v = line.slice(12).trim();
      if (!out.includes(v))
        out.push(v);
    }
  }
  return out;
}

// True when `next` comes from another peer connection than `current` did
// (no fingerprint in common). False when either has none (nothing to judge).
export function fromAnotherConnection(current, next) {
  const a = fingerprints(current);
  const b = fingerprints(next);
  if (a.length === 0 || b.length === 0)
    return false;
  return !b.some((f) => a.includes(f));
}

// The video codecs a page may ask to put first (&codec= in its URL).
export const VIDEO_CODECS = ['vp8', 'h264'];

// The codec order we ask for: VP8 first (every Palaver peer has it),
// then H.264 constrained baseline with packetization-mode=1 (what the native
// client offers as its second codec), then whatever else the browser has
// (other H.264 profiles, VP9, AV1, and rtx/red/ulpfec, which must stay for
// their primaries to work). With `first` 'h264', H.264 constrained baseline
// packetization-mode=1 comes first and VP8 second (so a peer without H.264
// still gets VP8). `codecs` is RTCRtpCodecCapability[]; the result is a new
// array suitable for setCodecPreferences.
export function preferredVideoCodecs(codecs, first = 'vp8') {
  const h264First = first === 'h264';
  const rank = (c) => {
    const mime = (c.mimeType || '').toLowerCase();
    const fmtp = (c.sdpFmtpLine || '').toLowerCase();
    if (mime === 'video/vp8')
      return h264First ? 1 : 0;
    if (mime === 'video/h264') {
      const cb = /profile-level-id=42e0/.test(fmtp) || /profile-level-id=42c0/.test(fmtp);
      const pm1 = /packetization-mode=1/.test(fmtp);
      if (cb && pm1)
        return h264First ? 0 : 1;
      return 2;
    }
    if (mime === 'video/rtx' || mime === 'video/red' || mime === 'video/ulpfec' || mime === 'video/flexfec-03')
      return 4;
    return 3;
  };
  // Array.prototype.sort is stable: equal ranks keep the browser's order.
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}
