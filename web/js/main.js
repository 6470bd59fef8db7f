// Starts the page: reads the URL, shows the form or joins at once, and
// publishes window.palaver, the automation hook that tests drive.
//
//   /?room=R&peer=NAME&token=T   join at once (peer and token optional)
//   &send=none                   receive only: no camera or microphone asked for
//   &codec=h264|vp8              the video codec put first in every offer and
//                                answer (setCodecPreferences): h264 is H.264
//                                constrained baseline packetization-mode=1,
//                                then VP8 (a peer without H.264 still gets
//                                VP8); vp8 is VP8, then H.264. Without it our
//                                offers put VP8 first and our answers keep
//                                the offer's order (the offerer's pick).
//                                Kept for the whole page (also calls joined
//                                from the form); other values are ignored
//                                (the log says so)
//   no valid room                the join form
//
// window.palaver (a contract other suites are written against: change it
// only together with them):
//   state          'idle' (form) | 'connecting' | 'joined' | 'left' (hung up)
//                  | 'error' (server unreachable or lost, retrying: lastError
//                  server-unreachable; or refused for good: room-full,
//                  unauthorized, peer-id-taken)
//   peerId         own id once joined (the server's pick without &peer), else null
//   room           the room, or null on the form
//   peers()        [{id, connectionState, iceConnectionState, signalingState}],
//                  one per RTCPeerConnection
//   async stats(id) {video: {framesDecoded, framesReceived, bytesReceived,
//                  frameWidth, frameHeight, codec}, audio: {packetsReceived,
//                  bytesReceived, codec}, outbound: {videoFramesSent,
//                  audioPacketsSent}, pair: {local, remote, localType,
//                  remoteType, rtt}}; missing numbers 0, strings ''. codec is
//                  the MIME subtype ('VP8', 'H264', 'opus'); local/remote are
//                  'address:port' ('[v6]:port'); rtt in seconds (getStats').
//   sendChat(text) to every peer with an open chat channel; true when at
//                  least one got it (then it is in `chat`)
//   chat           [{from, text}] received and sent (sent: from = own id)
//   lastError      {code, message} or null; message is the sentence on the page.
//                  Codes: the server's (room-full, unauthorized,
//                  peer-id-taken, rate-limited, too-large) and
//                  server-unreachable, camera-|mic-{denied,absent,busy,
//                  insecure,error}, no-webrtc. server-unreachable clears
//                  when joined again.
//   log            [string]: the log pane's lines, 'HH:MM:SS.mmm text'
//   async cameraOn() acquires the camera mid-call and puts it on every
//                  connection's video transceiver (renegotiation on the live
//                  connection); true when it got a camera
//   sending()      {audio, video}: a live, enabled local track of that kind
//   hangUp()       bye, leave, close every connection, release devices;
//                  returns a promise; state 'left' when done

import { Call } from './call.js';
import { EventLog } from './log.js';
import { isValidId, signalingUrl } from './protocol.js';
import { VIDEO_CODECS } from './sdp.js';
import { summarize } from './stats.js';
import { setLanguage, t } from './strings.js';
import { UI } from './ui.js';

const STORE_NAME = 'palaver.name';
const STORE_ROOM = 'palaver.room';
const DEFAULT_ROOM = 'demo';

function remembered(key) {
  try {
    return localStorage.getItem(key) || '';
  } catch {
    return ''; // storage disabled
  }
}

function remember(key, value) {
  try {
    if (value)
      localStorage.setItem(key, value);
  } catch {
    // Storage disabled or full: the form just starts empty next time.
  }
}

setLanguage(navigator.language || 'en');

const log = new EventLog();
let call = null;
let lastParams = null;
// &codec=: for every call this page makes (null: none given).
let videoCodec = null;

// Keeps the address bar in step with the call, so a reload rejoins and the
// link can be shared. The token stays out of it unless it came in the URL.
function reflectInUrl(params, tokenInUrl) {
  const url = new URL(location.href);
  url.searchParams.set('room', params.room);
  if (params.peer)
    url.searchParams.set('peer', params.peer);
  else
    url.searchParams.delete('peer');
  if (!tokenInUrl)
    url.searchParams.delete('token');
  if (params.receiveOnly)
    url.searchParams.set('send', 'none');
  else
    url.searchParams.delete('send');
  history.replaceState(null, '', url);
}

function startCall(params, { tokenInUrl = false } = {}) {
  if (call && (call.state === 'connecting' || call.state === 'joined'))
    return; // one call at a time
  if (call && !call.hungUp)
    call.hangUp(); // e.g. still retrying an unreachable server
  lastParams = params;
  remember(STORE_ROOM, params.room);
  remember(STORE_NAME, params.peer);
  reflectInUrl(params, tokenInUrl);
  call = new Call({ url: signalingUrl(location), ...params, videoCodec }, log);
  ui.attach(call);
  call.start().catch((e) => log.add(`call: could not start: ${e.message}`));
}

// Back to the form. `keepCall`: the call that just failed stays what the
// hook reports (state 'error', lastError) until another one starts.
function showForm(extra = {}, { keepCall = false } = {}) {
  if (call && call.state !== 'left' && call.state !== 'error')
    call.hangUp();
  ui.detach();
  if (!keepCall)
    call = null;
  const url = new URL(location.href);
  for (const k of ['room', 'peer', 'token', 'send'])
    url.searchParams.delete(k);
  history.replaceState(null, '', url);
  ui.showForm({
    room: lastParams?.room || remembered(STORE_ROOM) || DEFAULT_ROOM,
    peer: lastParams?.peer || remembered(STORE_NAME),
    token: lastParams?.token || '',
    receiveOnly: lastParams?.receiveOnly || false,
    ...extra,
  });
}

const ui = new UI(log, {
  join: (params) => startCall(params),
  joinAgain: () => {
    if (lastParams)
      startCall(lastParams);
  },
  otherRoom: () => showForm(),
  // The name is taken: back to the form with the name selected, and the
  // reason said there.
  pickName: ({ room, name }) => {
    const error = call?.lastError?.message || null;
    lastParams = { ...lastParams, room, peer: name };
    showForm({ error, focus: 'name' }, { keepCall: true });
  },
});

// ---- the automation hook ----

const EMPTY_STATS = summarize(null).hook;

window.palaver = Object.freeze({
  get state() {
    return call ? call.state : 'idle';
  },
  get peerId() {
    return call ? call.selfId : null;
  },
  get room() {
    return call ? call.room : null;
  },
  peers() {
    return call ? call.peersInfo() : [];
  },
  async stats(id) {
    return call ? call.stats(id) : structuredClone(EMPTY_STATS);
  },
  sendChat(text) {
    return call ? call.sendChat(text) : false;
  },
  get chat() {
    return call ? call.chat : [];
  },
  get lastError() {
    return call ? call.lastError : null;
  },
  get log() {
    return log.lines;
  },
  async cameraOn() {
    return call ? call.cameraOn() : false;
  },
  sending() {
    return call ? call.sending() : { audio: false, video: false };
  },
  hangUp() {
    return call ? call.hangUp() : Promise.resolve();
  },
});

// ---- start ----

const query = new URLSearchParams(location.search);
const room = query.get('room');
const peer = query.get('peer') || null;
const token = query.get('token') || null;
const receiveOnly = query.get('send') === 'none';
const codec = query.get('codec');
if (codec !== null) {
  if (VIDEO_CODECS.includes(codec.toLowerCase()))
    videoCodec = codec.toLowerCase();
  else
    log.add(`page: ignoring codec=${codec} (${VIDEO_CODECS.join(' or ')})`);
}
log.add(`page: ${location.origin}${location.pathname}${room ? ` room=${room}` : ''}${peer ? ` peer=${peer}` : ''}${receiveOnly ? ' send=none' : ''}${videoCodec ? ` video codec ${videoCodec} first` : ''}`);

if (room && isValidId(room) && (!peer || isValidId(peer))) {
  startCall({ room, peer, token, receiveOnly }, { tokenInUrl: Boolean(token) });
} else {
  // No room, or a malformed room or name: the form, saying which.
  lastParams = { room: room || '', peer, token, receiveOnly };
  let error = null;
  if (room && !isValidId(room))
    error = t('join.invalidRoom');
  else if (room && peer && !isValidId(peer))
    error = t('join.invalidName');
  showForm({ error });
}
