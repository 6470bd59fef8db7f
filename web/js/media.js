// The local camera and microphone.
//
// getUserMedia fails for the whole request when either device fails, so a
// missing camera would also cost the microphone. We ask for both, and on
// failure for each alone, and keep what we got together with why the rest
// failed, so the call can start with whatever there is.

// Why a device could not be had, from the DOMException name. Kept as a
// short reason the strings table turns into words.
export function failureReason(error) {
  switch (error && error.name) {
  case 'NotAllowedError':
  case 'SecurityError':
  case 'PermissionDeniedError': // old Chromium
    return 'denied';
  case 'NotFoundError':
  case 'OverconstrainedError':
  case 'DevicesNotFoundError':
    return 'absent';
  case 'NotReadableError':
  case 'TrackStartError':
  case 'AbortError':
    return 'busy';
  default:
    return 'other';
  }
}

export const VIDEO_CONSTRAINTS = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30 },
};

function constraintsFor(kind) {
  return kind === 'video' ? { video: VIDEO_CONSTRAINTS } : { audio: true };
}

export function mediaAvailable() {
  return Boolean(globalThis.navigator && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

// Asks for `kinds` (['audio', 'video'] or one of them). Returns
// {tracks: {audio, video} (MediaStreamTrack or null), failures: {audio, video}
// ({reason, error} or null)}.
export async function acquire(kinds) {
  const tracks = { audio: null, video: null };
  const failures = { audio: null, video: null };
  if (!mediaAvailable()) {
    // Not a secure context (plain http on another host than localhost):
    // browsers hide mediaDevices altogether.
    for (const kind of kinds)
      failures[kind] = { reason: 'insecure', error: null };
    return { tracks, failures };
  }
  if (kinds.length > 1) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO_CONSTRAINTS });
      tracks.audio = stream.getAudioTracks()[0] || null;
      tracks.video = stream.getVideoTracks()[0] || null;
      return { tracks, failures };
    } catch (e) {
      // Denied as a whole is denied for each: do not ask twice more.
      if (failureReason(e) === 'denied') {
        for (const kind of kinds)
          failures[kind] = { reason: 'denied', error: e };
        return { tracks, failures };
      }
    }
  }
  for (const kind of kinds) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraintsFor(kind));
      tracks[kind] = (kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks())[0] || null;
    } catch (e) {
      failures[kind] = { reason: failureReason(e), error: e };
    }
  }
  return { tracks, failures };
}
