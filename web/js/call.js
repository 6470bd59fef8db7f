// One call: the signaling connection, the local camera and microphone, and a
// Peer (peer.js) for every other member of the room. It knows nothing of
// the page; ui.js listens to its events:
//   state        the call state changed (see STATES)
//   error        lastError changed (null: cleared)
//   retry        {at}: the server will be tried again at that time (ms)
//   notice       {key, text}: something worth saying that is not an error
//   peer-added, peer-removed {id, reason}, peer-state, peer-track   ({peer})
//   chat         {from, text, own}
//   local-media  the local tracks or their state changed
//   need-name    the chosen name is taken: ask for another

import * as protocol from './protocol.js';
import * as media from './media.js';
import { Peer } from './peer.js';
import { Signaling } from './signaling.js';
import { summarize } from './stats.js';
import { t } from './strings.js';

export const STATES = ['idle', 'connecting', 'joined', 'left', 'error'];

// A peer that left the room without a bye (its own server connection may
// have dropped while its media still flows) keeps its connection this long,
// as the native client does (src/engine/call.h, kLeftGraceS).
const LEFT_GRACE_MS = 15000;
// After the bye is handed to SCTP, give it this long to leave the machine
// before the connection closes (the native client waits 100 ms too).
const BYE_LINGER_MS = 100;
const BYE_FLUSH_LIMIT_MS = 400;
// Fresh connections to one peer (after a failure, or when the other side
// replaced its own) at most this many times a minute: past that something
// is wrong that a new connection will not fix.
const MAX_REPLACEMENTS_PER_MINUTE = 5;
// A failed connection is replaced by a fresh one (webrtcbin 1.22 cannot
// restart ICE): by the impolite side after this long...
const FAILED_REPLACE_DELAY_MS = 1000;
// ...and by the polite side too when no offer from the other side has
// replaced it by then: the native peer (libnice without consent freshness)
// often never sees a dead path fail, so it may never offer again.
const FAILED_POLITE_WAIT_MS = 5000;

// How long after its connection failed a side waits before replacing it.
export function failedReplaceDelay(polite) {
  return polite ? FAILED_POLITE_WAIT_MS : FAILED_REPLACE_DELAY_MS;
}

// Whether a failed connection is replaced once that delay is over: only if
// it is still the connection to that peer (any offer from the other side in
// the meantime replaced it already: a failed connection takes no offer, see
// onServerMessage and Peer.onDescription), the peer is still in the room and
// the call still on. Both sides may then offer at once: the fresh
// connections resolve that like any glare (the polite one rolls back).
export function replaceFailedNow({ current, inRoom, ended }) {
  return Boolean(current && inRoom && !ended);
}

export class Call {
  // options: url (ws://...), room, peer (or null), token (or null),
  // receiveOnly (send=none: no devices asked for), videoCodec ('vp8' or
  // 'h264': the video codec put first, &codec=; null: VP8 first in our
  // offers, the offer's order in our answers), log (an EventLog).
  constructor({ url, room, peer, token, receiveOnly, videoCodec }, log) {
    this.url = url;
    this.room = room;
    this.requestedPeer = peer || null;
    this.token = token || null;
    this.receiveOnly = Boolean(receiveOnly);
    this.videoCodec = videoCodec || null;
    this.eventLog = log;
    this.listeners = new Map();

    this.state = 'idle';
    this.selfId = null;
    this.lastError = null;
    this.retryAt = null;
    this.iceServers = [];
    this.peers = new Map();      // id -> Peer
    this.roomPeers = new Set();  // ids the server says are in the room
    this.graceTimers = new Map();
    this.replacements = new Map(); // id -> [times]
    this.chat = [];
    this.local = { audio: null, video: null, stream: new MediaStream() };
    this.signaling = null;
    this.hungUp = false;

    this.onPageHide = () => this.sayGoodbye();
  }

  // ---- events ----

  on(type, fn) {
    if (!this.listeners.has(type))
      this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  emit(type, detail) {
    for (const fn of this.listeners.get(type) || [])
      fn(detail);
  }

  log(text) {
    this.eventLog.add(text);
  }

  setState(s) {
    if (this.state === s)
      return;
    this.log(`call: ${this.state} -> ${s}`);
    this.state = s;
    this.emit('state', s);
  }

  setError(code, message) {
    this.lastError = { code, message };
    this.log(`error: ${code}: ${message}`);
    this.emit('error', this.lastError);
  }

  clearError(codes) {
    if (this.lastError && (!codes || codes.includes(this.lastError.code))) {
      this.lastError = null;
      this.emit('error', null);
    }
  }

  notice(key, params) {
    this.emit('notice', { key, text: t(key, params) });
  }

  // ---- start and end ----

  async start() {
    this.setState('connecting');
    if (typeof RTCPeerConnection !== 'function') {
      this.setError('no-webrtc', t('error.noWebRTC'));
      this.setState('error');
      return;
    }
    window.addEventListener('pagehide', this.onPageHide);
    if (this.receiveOnly) {
      this.log('media: receive only (send=none): no camera or microphone asked for');
      this.notice('notice.receiveOnly');
    } else {
      // Devices before the join, so that the first offer carries them
      // instead of renegotiating right after.
      await this.acquire(['audio', 'video']);
      if (this.hungUp) {
        // Hung up while the browser asked for permission.
        for (const track of this.local.stream.getTracks())
          track.stop();
        return;
      }
    }
    this.signaling = new Signaling(this.url, this.signalingDelegate());
    this.signaling.start(this.room, this.requestedPeer, this.token);
  }

  // Ends the call: a bye on every chat channel (so Palaver peers close at
  // once instead of waiting out their grace), leave, close everything and
  // release the devices. Resolves when done.
  async hangUp() {
    if (this.hungUp)
      return;
    this.hungUp = true;
    this.log('call: hanging up');
    window.removeEventListener('pagehide', this.onPageHide);
    const peers = [...this.peers.values()];
    for (const p of peers)
      p.sendBye();
    if (peers.some((p) => p.chatOpen)) {
      await Promise.all(peers.map((p) => p.flushed(BYE_FLUSH_LIMIT_MS)));
      await new Promise((r) => setTimeout(r, BYE_LINGER_MS));
    }
    this.signaling?.stop();
    for (const id of [...this.peers.keys()])
      this.removePeer(id, 'hang-up');
    for (const timer of this.graceTimers.values())
      clearTimeout(timer);
    this.graceTimers.clear();
    for (const track of this.local.stream.getTracks())
      track.stop();
    this.emit('local-media');
    this.clearError();
    this.setState('left');
  }

  // The page is going away (tab closed, reload): no time to wait for
  // anything, but a bye and a leave usually make it out.
  sayGoodbye() {
    for (const p of this.peers.values())
      p.sendBye();
    this.signaling?.stop();
  }

  // ---- local media ----

  // Asks for devices of `kinds`; keeps what it got, says what it did not.
  async acquire(kinds) {
    this.log(`media: asking for ${kinds.join(' and ')}`);
    const { tracks, failures } = await media.acquire(kinds);
    if (this.hungUp) {
      // Hung up (or refused for good) while the browser asked: hangUp() or
      // onFatal() has already stopped every track it knew of, so these
      // would stay on (the camera light with them).
      for (const kind of kinds)
        tracks[kind]?.stop();
      this.log(`media: ${kinds.join(' and ')} arrived after the call ended; released`);
      return {};
    }
    for (const kind of kinds) {
      const track = tracks[kind];
      if (track) {
        this.log(`media: got ${kind} "${track.label}"`);
        this.addLocalTrack(kind, track);
      } else if (failures[kind]) {
        const f = failures[kind];
        this.log(`media: no ${kind}: ${f.reason}${f.error ? ` (${f.error.name}: ${f.error.message})` : ''}`);
      }
    }
    this.reportMediaFailures(failures);
    this.emit('local-media');
    return tracks;
  }

  reportMediaFailures(failures) {
    const keyOf = (kind, reason) => {
      const device = kind === 'video' ? 'camera' : 'mic';
      if (reason === 'insecure')
        return 'notice.insecure';
      if (reason === 'denied' || reason === 'absent' || reason === 'busy')
        return `notice.${device}${reason[0].toUpperCase()}${reason.slice(1)}`;
      return null;
    };
    // Both failed for one reason: one sentence for both.
    const v = failures.video;
    const a = failures.audio;
    if (v && a && v.reason === a.reason && ['denied', 'absent', 'busy'].includes(v.reason)) {
      const r = v.reason;
      this.setError(`camera-${r}`, t(`notice.devices${r[0].toUpperCase()}${r.slice(1)}`));
      return;
    }
    // The camera matters most to say; the microphone second.
    for (const kind of ['video', 'audio']) {
      const f = failures[kind];
      if (!f)
        continue;
      const key = keyOf(kind, f.reason);
      const text = key ? t(key) : t('error.media', { message: f.error?.message || f.reason });
      const code = `${kind === 'video' ? 'camera' : 'mic'}-${f.reason === 'other' ? 'error' : f.reason}`;
      this.setError(code, text);
      return;
    }
  }

  addLocalTrack(kind, track) {
    const old = this.local[kind];
    if (old) {
      this.local.stream.removeTrack(old);
      old.stop();
    }
    this.local[kind] = track;
    this.local.stream.addTrack(track);
    track.addEventListener('ended', () => {
      // Unplugged, or taken away by the system.
      this.log(`media: local ${kind} ended`);
      this.emit('local-media');
    });
  }

  localSnapshot() {
    return { audio: this.local.audio, video: this.local.video, stream: this.local.stream };
  }

  // Turns a device on in the middle of the call: asks for it, then puts it
  // on the existing transceiver of every connection (replaceTrack and
  // direction sendrecv), which renegotiates each live connection. An already
  // acquired but disabled track is simply enabled again. False when no
  // device came, or the call ended while the browser asked.
  async enable(kind) {
    const existing = this.local[kind];
    if (existing && existing.readyState === 'live') {
      existing.enabled = true;
      this.emit('local-media');
      return true;
    }
    const tracks = await this.acquire([kind]);
    const track = tracks[kind];
    if (!track || this.hungUp)
      return false;
    this.clearError(['camera-denied', 'camera-absent', 'camera-busy', 'camera-error', 'camera-insecure',
      'mic-denied', 'mic-absent', 'mic-busy', 'mic-error', 'mic-insecure'].filter((c) => c.startsWith(kind === 'video' ? 'camera' : 'mic')));
    await Promise.all([...this.peers.values()].map((p) => p.setTrack(kind, track, this.local.stream)));
    this.emit('local-media');
    return true;
  }

  cameraOn() {
    return this.enable('video');
  }

  micOn() {
    return this.enable('audio');
  }

  // Mute and camera off only disable the track: the sender goes on with
  // silence or black frames, so nothing is renegotiated.
  setMuted(muted) {
    if (this.local.audio)
      this.local.audio.enabled = !muted;
    this.log(`media: microphone ${muted ? 'muted' : 'unmuted'}`);
    this.emit('local-media');
  }

  setCameraEnabled(on) {
    if (this.local.video)
      this.local.video.enabled = on;
    this.log(`media: camera ${on ? 'on' : 'off'}`);
    this.emit('local-media');
  }

  // What we send: a live, enabled track of that kind (every connection
  // carries the same tracks).
  sending() {
    const on = (track) => Boolean(track && track.readyState === 'live' && track.enabled);
    return { audio: on(this.local.audio), video: on(this.local.video) };
  }

  // ---- chat ----

  // Sends to every peer whose chat channel is open. Returns true when at
  // least one got it (and the message then joins the history).
  sendChat(text) {
    const frame = protocol.encodeChat(String(text));
    if (frame === null) {
      this.notice('chat.tooLong');
      return false;
    }
    let sent = 0;
    for (const p of this.peers.values()) {
      if (p.sendData(frame))
        sent += 1;
    }
    if (sent === 0) {
      this.notice('chat.nobody');
      return false;
    }
    const entry = { from: this.selfId, text: String(text) };
    this.chat.push(entry);
    this.log(`chat: sent to ${sent} peer(s)`);
    this.emit('chat', { ...entry, own: true });
    return true;
  }

  // ---- peers ----

  peersInfo() {
    return [...this.peers.values()].map((p) => p.info());
  }

  async stats(id) {
    const p = this.peers.get(id);
    if (!p)
      return summarize(null).hook;
    return summarize(await p.getStats()).hook;
  }

  createPeer(id, offerer) {
    let peer = null;
    peer = new Peer({
      id,
      selfId: this.selfId,
      iceServers: this.iceServers,
      offerer,
      local: this.localSnapshot(),
      // Queued while the server is away: dropped if this connection has
      // been closed (replaced) by the time we are back.
      send: (msg) => this.signaling?.send(msg, { stale: () => peer === null || peer.closed }),
      delegate: this.peerDelegate(),
      videoCodec: this.videoCodec,
    });
    this.peers.set(id, peer);
    this.log(`${id}: new connection (${offerer ? 'we offer' : 'they offer'}; we are ${peer.polite ? 'polite' : 'impolite'})`);
    this.emit('peer-added', { peer });
    return peer;
  }

  removePeer(id, reason) {
    const p = this.peers.get(id);
    this.cancelGrace(id);
    if (!p)
      return;
    this.peers.delete(id);
    p.close();
    this.log(`${id}: removed (${reason})`);
    this.emit('peer-removed', { id, reason, peer: p });
  }

  // A fresh connection to the same peer in place of `old`.
  replacePeer(old, { offer = null, offerAnew = false } = {}) {
    const id = old.id;
    if (this.peers.get(id) !== old || this.hungUp)
      return;
    const now = Date.now();
    const recent = (this.replacements.get(id) || []).filter((at) => now - at < 60000);
    if (recent.length >= MAX_REPLACEMENTS_PER_MINUTE) {
      this.log(`${id}: replaced ${recent.length} times within a minute; giving up`);
      this.removePeer(id, 'failed');
      this.notice('error.peerFailed', { name: id });
      return;
    }
    recent.push(now);
    this.replacements.set(id, recent);
    this.removePeer(id, 'replaced');
    const fresh = this.createPeer(id, offerAnew || !offer);
    if (offer)
      fresh.handleDescription('offer', offer);
  }

  startGrace(id, ms) {
    this.cancelGrace(id);
    this.log(`${id}: keeping its connection for ${ms / 1000} s in case it comes back`);
    this.graceTimers.set(id, setTimeout(() => {
      this.graceTimers.delete(id);
      if (!this.roomPeers.has(id))
        this.removePeer(id, 'left');
    }, ms));
  }

  cancelGrace(id) {
    const timer = this.graceTimers.get(id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.graceTimers.delete(id);
    }
  }

  peerDelegate() {
    return {
      log: (line) => this.log(line),
      track: (peer) => this.emit('peer-track', { peer }),
      stateChanged: (peer) => this.onPeerState(peer),
      chat: (peer, text) => {
        this.chat.push({ from: peer.id, text });
        this.emit('chat', { from: peer.id, text, own: false });
      },
      bye: (peer) => {
        // Its peer-left follows; nothing to wait for.
        this.roomPeers.delete(peer.id);
        this.removePeer(peer.id, 'left');
        this.notice('notice.peerLeft', { name: peer.id });
      },
      replace: (peer, how) => this.replacePeer(peer, how),
      failed: (peer, reason) => this.onPeerFailed(peer, reason),
    };
  }

  onPeerState(peer) {
    if (this.peers.get(peer.id) !== peer)
      return;
    this.emit('peer-state', { peer });
    const state = peer.connectionState;
    if (!this.roomPeers.has(peer.id) && (!peer.alive || state === 'disconnected')) {
      // Gone from the room and now from the network too.
      this.removePeer(peer.id, 'left');
      return;
    }
    if (state === 'failed')
      this.onPeerFailed(peer, 'ICE or DTLS failed');
  }

  // webrtcbin 1.22 cannot restart ICE, so a failed connection is replaced by
  // a fresh one: by the impolite side first, by the polite side if the
  // other has not within FAILED_POLITE_WAIT_MS (the native client restarts
  // from either side; its glare handling copes). replacePeer() applies the
  // rate limit.
  onPeerFailed(peer, reason) {
    this.log(`${peer.id}: connection failed: ${reason}`);
    if (!this.roomPeers.has(peer.id)) {
      this.removePeer(peer.id, 'failed');
      return;
    }
    if (peer.replaceScheduled)
      return; // connection and ICE state both say failed
    peer.replaceScheduled = true;
    const delay = failedReplaceDelay(peer.polite);
    if (peer.polite)
      this.log(`${peer.id}: waiting ${delay / 1000} s for it to start a fresh connection, else starting one here`);
    setTimeout(() => {
      const current = this.peers.get(peer.id) === peer;
      if (!replaceFailedNow({ current, inRoom: this.roomPeers.has(peer.id), ended: this.hungUp || this.state === 'left' }))
        return;
      if (peer.polite)
        this.log(`${peer.id}: no fresh connection from it; starting one here`);
      this.replacePeer(peer, { offerAnew: true });
    }, delay);
  }

  // ---- signaling ----

  signalingDelegate() {
    return {
      log: (line) => this.log(line),
      state: (s) => {
        if (s === 'connecting' && this.state !== 'joined' && this.state !== 'error')
          this.setState('connecting');
      },
      waiting: ({ joinedBefore, delay }) => {
        this.retryAt = Date.now() + delay;
        this.setError('server-unreachable', joinedBefore ? t('error.serverLost') : t('error.serverUnreachable', { url: this.url }));
        this.setState('error');
        this.emit('retry', { at: this.retryAt });
      },
      joined: (msg, { rejoin }) => this.onJoined(msg, rejoin),
      message: (msg) => this.onServerMessage(msg),
      fatal: (code, message) => this.onFatal(code, message),
    };
  }

  retryNow() {
    this.signaling?.retryNow();
  }

  onJoined(msg, rejoin) {
    this.selfId = msg.peer;
    this.iceServers = msg.iceServers;
    this.roomPeers = new Set(msg.peers);
    this.retryAt = null;
    this.clearError(['server-unreachable']);
    this.setState('joined');
    // The newcomer offers to every peer already there; after a reconnect,
    // a live connection is kept instead (docs/protocol.md, "Server
    // restart").
    for (const id of protocol.offerTargets(msg)) {
      const existing = this.peers.get(id);
      if (existing && existing.alive && rejoin) {
        this.log(`${id}: keeping the live connection`);
        this.cancelGrace(id);
        existing.inRoom = true;
        continue;
      }
      if (existing)
        this.removePeer(id, 'replaced');
      this.createPeer(id, true);
    }
    // Connections to peers the server does not list: they may be
    // reconnecting too.
    for (const id of this.peers.keys()) {
      if (!this.roomPeers.has(id) && !this.graceTimers.has(id))
        this.startGrace(id, LEFT_GRACE_MS);
    }
  }

  onServerMessage(msg) {
    switch (msg.type) {
    case 'peer-joined': {
      this.roomPeers.add(msg.peer);
      const existing = this.peers.get(msg.peer);
      if (existing && existing.alive) {
        // Back after losing its server connection: keep what works.
        this.log(`${msg.peer}: back in the room; keeping the live connection`);
        this.cancelGrace(msg.peer);
        return;
      }
      if (existing)
        this.removePeer(msg.peer, 'replaced');
      this.log(`${msg.peer}: joined; waiting for its offer`);
      this.notice('notice.peerJoined', { name: msg.peer });
      return;
    }
    case 'peer-left': {
      this.roomPeers.delete(msg.peer);
      const p = this.peers.get(msg.peer);
      if (!p)
        return;
      if (p.saidBye || !p.connected) {
        this.removePeer(msg.peer, 'left');
        this.notice('notice.peerLeft', { name: msg.peer });
      } else {
        // No bye: it may have lost only the server.
        this.startGrace(msg.peer, LEFT_GRACE_MS);
      }
      return;
    }
    case 'send-offer': {
      let p = this.peers.get(msg.from);
      if (p && !p.alive) {
        this.removePeer(msg.from, 'replaced');
        p = null;
      }
      if (!p)
        p = this.createPeer(msg.from, false);
      this.roomPeers.add(msg.from);
      p.handleDescription('offer', msg.sdp);
      return;
    }
    case 'send-answer': {
      const p = this.peers.get(msg.from);
      if (p)
        p.handleDescription('answer', msg.sdp);
      else
        this.log(`${msg.from}: answer for no connection; ignored`);
      return;
    }
    case 'ice-candidate': {
      const p = this.peers.get(msg.from);
      if (p)
        p.handleCandidate(msg);
      else
        this.log(`${msg.from}: candidate for no connection; ignored`);
      return;
    }
    case 'error':
      this.onServerError(msg);
      return;
    default:
      return;
    }
  }

  onServerError(msg) {
    if (msg.code === 'rate-limited')
      this.setError(msg.code, t('error.rateLimited'));
    else if (msg.code === 'too-large')
      this.setError(msg.code, t('error.tooLarge'));
    // Others (unknown-peer for a peer that just left, ...) are in the log.
  }

  onFatal(code, message) {
    let text;
    switch (code) {
    case 'room-full': text = t('error.roomFull', { room: this.room }); break;
    case 'unauthorized':
      text = this.token ? t('error.unauthorized', { room: this.room }) : t('error.tokenNeeded', { room: this.room });
      break;
    case 'peer-id-taken': text = t('error.peerIdTaken', { room: this.room, name: this.requestedPeer }); break;
    default: text = t('error.server', { message });
    }
    for (const id of [...this.peers.keys()])
      this.removePeer(id, 'refused');
    for (const track of this.local.stream.getTracks())
      track.stop();
    this.emit('local-media');
    this.hungUp = true;
    window.removeEventListener('pagehide', this.onPageHide);
    this.setError(code, text);
    this.setState('error');
    if (code === 'peer-id-taken')
      this.emit('need-name', { room: this.room, name: this.requestedPeer });
  }
}
