// One RTCPeerConnection to one remote peer (the call is a mesh of these).
//
// Negotiation is the W3C "perfect negotiation" pattern
// (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example): either side
// may offer at any time (a camera turned on later), and on a collision the
// polite side (the lower id, docs/protocol.md "Who offers") rolls back.
//
// Two things beyond the pattern, for the native peer (GStreamer webrtcbin
// 1.22), which cannot restart ICE and answers some re-offers from a fresh
// webrtcbin (new ICE credentials and DTLS certificate):
// - we never restart ICE ourselves;
// - a description that comes from another connection than the one we talk
//   to (no DTLS fingerprint in common) cannot be applied to this one: we ask
//   the call for a fresh RTCPeerConnection instead (delegate.replace), which
//   answers that offer or makes a new one. The log says so.

import * as protocol from './protocol.js';
import * as sdp from './sdp.js';

export class Peer {
  // options: id (remote), selfId, iceServers, offerer (we start the
  // negotiation: the newcomer does), local {audio, video, stream}, send
  // (a client message out), delegate, videoCodec ('vp8' or 'h264': the
  // video codec put first, in our offers and our answers; null: VP8 first in
  // our offers, the offer's order in our answers).
  constructor({ id, selfId, iceServers, offerer, local, send, delegate, videoCodec = null }) {
    this.id = id;
    this.videoCodec = videoCodec;
    this.selfId = selfId;
    this.polite = protocol.isPolite(selfId, id);
    this.offerer = offerer;
    this.send = send;
    this.delegate = delegate;
    this.closed = false;
    this.everConnected = false;
    this.saidBye = false;
    this.inRoom = true;
    this.channel = null;
    this.remoteStream = new MediaStream();
    this.statsSample = null;
    this.endOfCandidatesSent = false;

    // Perfect negotiation state.
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    // Signaling messages from this peer are handled one at a time, in
    // order, so a candidate never overtakes the offer it belongs to.
    this.queue = Promise.resolve();

    this.pc = new RTCPeerConnection({
      iceServers: iceServers || [],
      // docs/protocol.md, "Media and data between peers": max-bundle and
      // rtcp-mux, which is what webrtcbin offers and expects.
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.audioTransceiver = null;
    this.videoTransceiver = null;
    this.wire();

    if (offerer) {
      // Both m-lines always, recvonly without a local track, so we receive
      // even without a camera ("A peer that sends no camera or microphone
      // still offers both m-lines"). Audio first, as the native client does.
      this.audioTransceiver = this.addTransceiver('audio', local.audio, local.stream);
      this.videoTransceiver = this.addTransceiver('video', local.video, local.stream);
      // "The offerer creates one data channel labelled chat (ordered,
      // reliable) before its first offer." negotiationneeded follows.
      this.setupChannel(this.pc.createDataChannel(protocol.CHAT_LABEL, { ordered: true }));
    }
    this.local = local;
  }

  log(line) {
    this.delegate.log(`${this.id}: ${line}`);
  }

  addTransceiver(kind, track, stream) {
    const init = { direction: track ? 'sendrecv' : 'recvonly', streams: stream && track ? [stream] : [] };
    const tx = this.pc.addTransceiver(track || kind, init);
    if (kind === 'video')
      this.preferCodecs(tx);
    return tx;
  }

  // VP8 first, then H.264 constrained baseline, or the other way round
  // with &codec=h264 (sdp.js). Where the browser has no setCodecPreferences
  // the order is its own; the native client decodes both anyway.
  preferCodecs(tx) {
    try {
      const caps = globalThis.RTCRtpReceiver?.getCapabilities?.('video');
      if (caps && typeof tx.setCodecPreferences === 'function')
        tx.setCodecPreferences(sdp.preferredVideoCodecs(caps.codecs, this.videoCodec || 'vp8'));
    } catch (e) {
      this.log(`codec preferences not applied: ${e.message}`);
    }
  }

  wire() {
    const pc = this.pc;
    pc.onnegotiationneeded = () => this.makeOffer();
    pc.onicecandidate = ({ candidate }) => this.onLocalCandidate(candidate);
    pc.ontrack = ({ track }) => {
      if (!this.remoteStream.getTracks().includes(track))
        this.remoteStream.addTrack(track);
      this.log(`receiving ${track.kind}`);
      this.delegate.track(this, track);
    };
    pc.ondatachannel = ({ channel }) => {
      if (channel.label !== protocol.CHAT_LABEL) {
        this.log(`ignoring data channel "${channel.label}"`);
        return;
      }
      this.setupChannel(channel);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected')
        this.everConnected = true;
      this.log(`connection state ${pc.connectionState}`);
      this.delegate.stateChanged(this);
    };
    pc.oniceconnectionstatechange = () => {
      this.log(`ICE connection state ${pc.iceConnectionState}`);
      // Firefox before 113 has no connectionState: ICE stands in for it.
      if (pc.connectionState === undefined && ['connected', 'completed'].includes(pc.iceConnectionState))
        this.everConnected = true;
      this.delegate.stateChanged(this);
    };
    pc.onicegatheringstatechange = () => {
      this.log(`ICE gathering state ${pc.iceGatheringState}`);
    };
    pc.onsignalingstatechange = () => {
      this.log(`signaling state ${pc.signalingState}`);
      this.delegate.stateChanged(this);
    };
  }

  setupChannel(channel) {
    this.channel = channel;
    channel.onopen = () => {
      this.log('chat channel open');
      this.delegate.stateChanged(this);
    };
    channel.onclose = () => {
      this.log('chat channel closed');
      this.delegate.stateChanged(this);
    };
    channel.onerror = (e) => this.log(`chat channel error: ${e.error?.message || 'unknown'}`);
    channel.onmessage = ({ data }) => {
      if (typeof data === 'string' && protocol.utf8Length(data) > protocol.MAX_DATA_MESSAGE_BYTES) {
        this.log('ignoring a data message over 16 KiB');
        return;
      }
      const msg = protocol.parseDataMessage(data);
      if (!msg) {
        this.log('ignoring a malformed data message');
      } else if (msg.type === 'chat') {
        this.delegate.chat(this, msg.text);
      } else if (msg.type === 'bye') {
        this.saidBye = true;
        this.log('said bye');
        this.delegate.bye(this);
      } else {
        this.log(`ignoring data message of type "${msg.type}"`);
      }
    };
  }

  get chatOpen() {
    return Boolean(this.channel && this.channel.readyState === 'open');
  }

  sendData(frame) {
    if (!this.chatOpen)
      return false;
    try {
      this.channel.send(frame);
      return true;
    } catch (e) {
      this.log(`chat not sent: ${e.message}`);
      return false;
    }
  }

  // ---- Negotiation ----

  async makeOffer() {
    if (this.closed)
      return;
    try {
      this.makingOffer = true;
      // setLocalDescription() without an argument creates the right
      // description for the state (offer in stable).
      await this.pc.setLocalDescription();
      if (this.pc.localDescription.type !== 'offer')
        return;
      this.log('sending offer');
      this.send(protocol.sendOffer(this.id, this.pc.localDescription.sdp));
    } catch (e) {
      this.log(`could not make an offer: ${e.message}`);
    } finally {
      this.makingOffer = false;
    }
  }

  // Runs fn after every message this peer sent before it.
  enqueue(fn) {
    this.queue = this.queue.then(fn).catch((e) => this.log(`error: ${e.message}`));
    return this.queue;
  }

  handleDescription(type, description) {
    return this.enqueue(() => this.onDescription(type, description));
  }

  handleCandidate(msg) {
    return this.enqueue(() => this.onRemoteCandidate(msg));
  }

  async onDescription(type, text) {
    if (this.closed)
      return;
    const pc = this.pc;
    const current = pc.remoteDescription?.sdp;
    if (current && sdp.fromAnotherConnection(current, text)) {
      // See the top of the file: the other side now talks from a fresh
      // connection, which this one cannot follow.
      this.log(`the ${type} comes from a new connection on the other side; starting a fresh one here`);
      this.delegate.replace(this, type === 'offer' ? { offer: text } : { offerAnew: true });
      return;
    }
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.isSettingRemoteAnswerPending);
    const offerCollision = type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) {
      this.log('offer collision: we are impolite, ignoring theirs');
      return;
    }
    if (offerCollision)
      this.log('offer collision: we are polite, rolling ours back');
    try {
      this.isSettingRemoteAnswerPending = type === 'answer';
      // Implicit rollback of our own offer on a collision (polite side).
      await pc.setRemoteDescription({ type, sdp: text });
    } catch (e) {
      this.isSettingRemoteAnswerPending = false;
      this.log(`could not apply the ${type}: ${e.message}`);
      if (current) {
        // A live connection that cannot take it: start over rather than
        // stay half-negotiated.
        this.delegate.replace(this, type === 'offer' ? { offer: text } : { offerAnew: true });
      } else {
        this.delegate.failed(this, e.message);
      }
      return;
    }
    this.isSettingRemoteAnswerPending = false;
    this.log(`applied ${type}`);
    if (type !== 'offer')
      return;
    this.adoptTransceivers();
    await pc.setLocalDescription();
    this.log('sending answer');
    this.send(protocol.sendAnswer(this.id, pc.localDescription.sdp));
  }

  // After a remote offer: its m-lines made transceivers (recvonly, no track).
  // The first audio and first video one carry our tracks, if we have them.
  adoptTransceivers() {
    for (const tx of this.pc.getTransceivers()) {
      const kind = tx.receiver.track.kind;
      if (tx.stopped || tx.currentDirection === 'stopped')
        continue;
      if (kind === 'audio' && !this.audioTransceiver)
        this.audioTransceiver = tx;
      else if (kind === 'video' && !this.videoTransceiver)
        this.videoTransceiver = tx;
      else
        continue;
      const track = this.local[kind];
      // Our answer keeps the offer's codec order (the offerer's pick, e.g.
      // the native client's --video-codec h264; its own answers do the
      // same) unless this page was given one (&codec=).
      if (kind === 'video' && this.videoCodec)
        this.preferCodecs(tx);
      if (track) {
        // Before the answer is made nothing is negotiated yet, so this
        // cannot fail for a reason the answer would not show too.
        tx.sender.replaceTrack(track).catch((e) => this.log(`could not send ${kind}: ${e.message}`));
        if (this.local.stream && tx.sender.setStreams)
          tx.sender.setStreams(this.local.stream);
        tx.direction = 'sendrecv';
      } else {
        tx.direction = 'recvonly';
      }
    }
  }

  onLocalCandidate(candidate) {
    if (this.closed)
      return;
    if (candidate && candidate.candidate) {
      let index = candidate.sdpMLineIndex;
      if (index === null || index === undefined)
        index = Math.max(0, sdp.mLineIndexOfMid(this.pc.localDescription?.sdp, candidate.sdpMid));
      this.send(protocol.iceCandidate(this.id, {
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid,
        sdpMLineIndex: index,
      }));
    } else if (!candidate && !this.endOfCandidatesSent) {
      // Gathering is over. Browsers also hand out an empty-string candidate
      // per m-line before the null; one end-of-candidates is enough:
      // candidate "" with index 0 and the first m-line's mid, as the
      // native client sends it.
      this.endOfCandidatesSent = true;
      const mid = sdp.mids(this.pc.localDescription?.sdp)[0];
      this.send(protocol.iceCandidate(this.id, { candidate: '', sdpMLineIndex: 0, sdpMid: mid || null }));
      this.log('sent end of candidates');
    }
  }

  async onRemoteCandidate(msg) {
    if (this.closed)
      return;
    try {
      if (msg.candidate === '') {
        // End of candidates. addIceCandidate() with no argument says so
        // for every m-line; some browsers refuse an empty candidate that
        // names an m-line they bundled away.
        await this.pc.addIceCandidate();
        this.log('remote end of candidates');
        return;
      }
      await this.pc.addIceCandidate({
        candidate: msg.candidate,
        sdpMid: msg.sdpMid ?? null,
        sdpMLineIndex: msg.sdpMLineIndex,
      });
    } catch (e) {
      // Candidates of an offer we ignored (glare) are expected to fail.
      if (!this.ignoreOffer)
        this.log(`could not add a candidate: ${e.message}`);
    }
  }

  // ---- Local media changes ----

  // Puts `track` (or null) on our sender of that kind. Turning sending on
  // changes the direction, which renegotiates on this connection
  // (negotiationneeded -> makeOffer); replacing one track by another does
  // not.
  async setTrack(kind, track, stream) {
    if (this.closed)
      return;
    this.local = { ...this.local, [kind]: track, stream };
    let tx = kind === 'audio' ? this.audioTransceiver : this.videoTransceiver;
    if (!tx) {
      if (!this.pc.remoteDescription && !this.offerer)
        return; // the offer is yet to come: adoptTransceivers() takes it then
      // The other side offered no m-line of this kind: add one.
      tx = this.addTransceiver(kind, track, stream);
      if (kind === 'audio')
        this.audioTransceiver = tx;
      else
        this.videoTransceiver = tx;
      return;
    }
    await tx.sender.replaceTrack(track);
    if (track && stream && tx.sender.setStreams)
      tx.sender.setStreams(stream);
    if (track && (tx.direction === 'recvonly' || tx.direction === 'inactive')) {
      this.log(`now sending ${kind}: renegotiating`);
      tx.direction = tx.direction === 'recvonly' ? 'sendrecv' : 'sendonly';
    }
  }

  sending() {
    const on = (tx) => Boolean(tx && tx.sender.track && tx.sender.track.readyState === 'live'
      && (tx.direction === 'sendrecv' || tx.direction === 'sendonly'));
    return { audio: on(this.audioTransceiver), video: on(this.videoTransceiver) };
  }

  // ---- Stats and state ----

  info() {
    return {
      id: this.id,
      connectionState: this.pc.connectionState ?? this.pc.iceConnectionState,
      iceConnectionState: this.pc.iceConnectionState,
      signalingState: this.pc.signalingState,
    };
  }

  get connectionState() {
    return this.pc.connectionState ?? this.pc.iceConnectionState;
  }

  // Alive means media may still flow: not failed, not closed.
  get alive() {
    return !this.closed && !['failed', 'closed'].includes(this.connectionState);
  }

  get connected() {
    return !this.closed && ['connected', 'completed'].includes(this.connectionState);
  }

  getStats() {
    return this.pc.getStats();
  }

  sendBye() {
    if (this.sendData(protocol.BYE))
      this.log('sent bye');
  }

  // Resolves once the data channel handed everything queued (the bye) to
  // SCTP, or after `ms`.
  async flushed(ms) {
    const end = Date.now() + ms;
    while (this.chatOpen && this.channel.bufferedAmount > 0 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
  }

  close() {
    if (this.closed)
      return;
    this.closed = true;
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
    this.pc.ondatachannel = this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
    this.pc.onicegatheringstatechange = this.pc.onsignalingstatechange = null;
    if (this.channel) {
      this.channel.onopen = this.channel.onclose = this.channel.onmessage = this.channel.onerror = null;
      this.channel.close();
    }
    this.pc.close();
    this.log('closed');
  }
}
