// The page: the join form, the call view (tiles, controls, chat, log,
// statistics), and what is said when something goes wrong. It draws what
// call.js reports and turns clicks into calls on it; it holds no call
// state of its own beyond what is on screen.

import { isValidId } from './protocol.js';
import { summarize } from './stats.js';
import { t } from './strings.js';

const $ = (id) => document.getElementById(id);

const STATS_INTERVAL_MS = 1000;
const NOTICE_MS = 8000;

// Fills every data-t / data-t-aria / data-t-placeholder under `root`.
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-t]'))
    el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll('[data-t-aria]'))
    el.setAttribute('aria-label', t(el.dataset.tAria));
  for (const el of root.querySelectorAll('[data-t-placeholder]'))
    el.setAttribute('placeholder', t(el.dataset.tPlaceholder));
  document.title = t('app.title');
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className)
    e.className = className;
  if (text !== undefined)
    e.textContent = text;
  return e;
}

// A media element given a stream before the page's load event delays that
// event until it has data (HTML "delaying the load event"): an empty
// preview (send=none) or a remote track that never carries a frame would
// hold the page in "loading" forever, and with it anything that waits for
// load (a test's page.goto). Streams are attached once the page is loaded.
function setStream(video, stream, then = () => {}) {
  if (document.readyState === 'complete') {
    if (video.srcObject !== stream) {
      video.srcObject = stream;
      then();
    }
    return;
  }
  window.addEventListener('load', () => setStream(video, stream, then), { once: true });
}

function fmt(n, digits = 0) {
  return Number(n).toFixed(digits);
}

export class UI {
  // actions: {join(params), joinAgain(), otherRoom()}
  constructor(log, actions) {
    this.eventLog = log;
    this.actions = actions;
    this.call = null;
    this.tiles = new Map();
    this.statsTimer = null;
    this.retryTimer = null;
    this.unread = 0;
    this.soundBlocked = false;

    translate();
    this.bindStatic();
    for (const line of log.lines)
      this.appendLog(line);
    log.onLine((line) => this.appendLog(line));
  }

  // ---- views ----

  show(view) {
    for (const name of ['join-view', 'call-view', 'left-view'])
      $(name).hidden = name !== view;
  }

  showForm({ room = '', peer = '', token = '', receiveOnly = false, error = null, focus = 'room' } = {}) {
    this.show('join-view');
    $('room-label').hidden = true;
    $('copy-link').hidden = true;
    $('room-input').value = room;
    $('name-input').value = peer;
    $('token-input').value = token;
    $('recvonly-input').checked = receiveOnly;
    this.formError(error);
    const field = focus === 'name' ? $('name-input') : (room ? $('name-input') : $('room-input'));
    field.focus();
    if (focus === 'name')
      field.select();
  }

  formError(text) {
    $('form-error').hidden = !text;
    $('form-error').textContent = text || '';
  }

  bindStatic() {
    $('join-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const room = $('room-input').value.trim();
      const peer = $('name-input').value.trim();
      if (!isValidId(room)) {
        this.formError(t('join.invalidRoom'));
        $('room-input').focus();
        return;
      }
      if (peer && !isValidId(peer)) {
        this.formError(t('join.invalidName'));
        $('name-input').focus();
        return;
      }
      this.formError(null);
      this.actions.join({
        room,
        peer: peer || null,
        token: $('token-input').value.trim() || null,
        receiveOnly: $('recvonly-input').checked,
      });
    });

    $('mute-btn').addEventListener('click', () => {
      const c = this.call;
      if (!c)
        return;
      if (!c.local.audio || c.local.audio.readyState !== 'live')
        c.micOn();
      else
        c.setMuted(c.local.audio.enabled);
    });
    $('camera-btn').addEventListener('click', () => this.toggleCamera());
    $('turn-camera-on').addEventListener('click', () => this.call?.cameraOn());
    $('hangup-btn').addEventListener('click', () => this.call?.hangUp());
    $('join-again').addEventListener('click', () => this.actions.joinAgain());
    $('alert-join-again').addEventListener('click', () => this.actions.joinAgain());
    $('other-room').addEventListener('click', () => this.actions.otherRoom());
    $('alert-other-room').addEventListener('click', () => this.actions.otherRoom());
    $('retry-now').addEventListener('click', () => this.call?.retryNow());
    $('copy-link').addEventListener('click', () => this.copyLink());

    $('chat-btn').addEventListener('click', () => this.togglePanel('chat-panel'));
    $('log-btn').addEventListener('click', () => this.togglePanel('log-panel'));
    $('stats-btn').addEventListener('click', () => this.toggleStats());
    for (const b of document.querySelectorAll('[data-close]'))
      b.addEventListener('click', () => this.togglePanel(b.dataset.close, false));

    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = $('chat-input');
      const text = input.value;
      if (!text.trim() || !this.call)
        return;
      if (this.call.sendChat(text))
        input.value = '';
    });

    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        for (const id of ['chat-panel', 'log-panel']) {
          if (!$(id).hidden) {
            this.togglePanel(id, false);
            break;
          }
        }
      }
    });
  }

  toggleCamera() {
    const c = this.call;
    if (!c)
      return;
    if (!c.local.video || c.local.video.readyState !== 'live')
      c.cameraOn();
    else
      c.setCameraEnabled(!c.local.video.enabled);
  }

  togglePanel(id, open) {
    const panel = $(id);
    const show = open === undefined ? panel.hidden : open;
    // One panel at a time: at phone width each covers the call.
    for (const other of ['chat-panel', 'log-panel']) {
      if (other !== id && show)
        this.setPanel(other, false);
    }
    this.setPanel(id, show);
    if (show && id === 'chat-panel') {
      this.unread = 0;
      this.drawUnread();
      $('chat-input').focus();
    } else if (!show) {
      $(id === 'chat-panel' ? 'chat-btn' : 'log-btn').focus();
    }
  }

  setPanel(id, show) {
    $(id).hidden = !show;
    $(id === 'chat-panel' ? 'chat-btn' : 'log-btn').setAttribute('aria-pressed', String(show));
    $('call-view').classList.toggle(`with-${id}`, show);
    if (show && id === 'log-panel')
      $('log-list').scrollTop = $('log-list').scrollHeight;
  }

  async copyLink() {
    try {
      const url = new URL(location.href);
      url.searchParams.delete('peer');
      url.searchParams.delete('token');
      url.searchParams.delete('send');
      await navigator.clipboard.writeText(url.toString());
      this.notice(t('call.linkCopied'));
    } catch (e) {
      this.eventLog.add(`ui: could not copy the link: ${e.message}`);
    }
  }

  // ---- the call ----

  attach(call) {
    this.detach();
    this.call = call;
    this.show('call-view');
    $('room-label').hidden = false;
    $('room-label').textContent = t('call.room', { room: call.room });
    $('copy-link').hidden = !navigator.clipboard;
    $('chat-history').replaceChildren();
    $('chat-empty').hidden = false;
    this.unread = 0;
    this.drawUnread();
    setStream($('local-video'), call.local.stream);

    call.on('state', () => this.drawState());
    call.on('error', () => this.drawError());
    call.on('retry', () => this.startRetryCountdown());
    call.on('notice', ({ text }) => this.notice(text));
    call.on('peer-added', ({ peer }) => this.addTile(peer));
    call.on('peer-removed', ({ id }) => this.removeTile(id));
    call.on('peer-state', ({ peer }) => this.drawPeer(peer));
    call.on('peer-track', ({ peer }) => this.attachRemote(peer));
    call.on('chat', (m) => this.addChat(m));
    call.on('local-media', () => this.drawLocal());
    call.on('need-name', ({ room, name }) => {
      this.actions.pickName({ room, name });
    });
    this.drawState();
    this.drawLocal();
    this.drawError();
    $('hangup-btn').focus();
  }

  detach() {
    for (const id of [...this.tiles.keys()])
      this.removeTile(id);
    this.stopStats();
    clearInterval(this.retryTimer);
    this.retryTimer = null;
    this.call = null;
    $('alert').hidden = true;
    $('notices').replaceChildren();
  }

  drawState() {
    const c = this.call;
    if (!c)
      return;
    $('local-name').textContent = c.selfId ? t('call.you', { name: c.selfId }) : t('call.youUnknown');
    if (c.state === 'left') {
      this.stopStats();
      for (const id of [...this.tiles.keys()])
        this.removeTile(id);
      this.show('left-view');
      $('notices').replaceChildren();
      $('join-again').focus();
    }
    this.drawWaiting();
    this.drawError();
  }

  drawWaiting() {
    const c = this.call;
    const waiting = c && c.state === 'joined' && this.tiles.size === 0;
    $('waiting').hidden = !waiting;
    if (waiting)
      $('waiting').textContent = t('call.waiting', { room: c.room });
  }

  drawError() {
    const c = this.call;
    const err = c ? c.lastError : null;
    $('alert').hidden = !err;
    $('alert-text').textContent = err ? err.message : '';
    const code = err ? err.code : '';
    $('retry-now').hidden = code !== 'server-unreachable';
    $('turn-camera-on').hidden = !code.startsWith('camera-') || c.state === 'error' || c.state === 'left';
    const fatal = c && c.state === 'error' && ['room-full', 'unauthorized', 'no-webrtc'].includes(code);
    $('alert-join-again').hidden = !(fatal && code === 'room-full');
    $('alert-other-room').hidden = !fatal;
    if (code !== 'server-unreachable')
      $('alert-detail').textContent = '';
    if (!err || code !== 'server-unreachable') {
      clearInterval(this.retryTimer);
      this.retryTimer = null;
    }
  }

  startRetryCountdown() {
    clearInterval(this.retryTimer);
    const tick = () => {
      const c = this.call;
      if (!c || c.retryAt === null) {
        $('alert-detail').textContent = '';
        return;
      }
      const s = Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000));
      $('alert-detail').textContent = s > 0 ? t('error.retryIn', { s }) : t('error.retrying');
    };
    tick();
    this.retryTimer = setInterval(tick, 250);
  }

  notice(text) {
    // The same sentence twice in a row is said once.
    const list = $('notices');
    for (const li of list.children) {
      if (li.firstChild && li.firstChild.textContent === text)
        return;
    }
    const li = el('li', 'notice');
    li.append(el('span', '', text));
    const close = el('button', 'quiet', t('control.close'));
    close.type = 'button';
    close.addEventListener('click', () => li.remove());
    li.append(close);
    list.append(li);
    setTimeout(() => li.remove(), NOTICE_MS);
  }

  drawLocal() {
    const c = this.call;
    if (!c)
      return;
    const audio = c.local.audio && c.local.audio.readyState === 'live' ? c.local.audio : null;
    const video = c.local.video && c.local.video.readyState === 'live' ? c.local.video : null;
    const mute = $('mute-btn');
    if (!audio) {
      mute.textContent = t('control.micOn');
      mute.setAttribute('aria-pressed', 'false');
      mute.classList.add('off');
    } else {
      mute.textContent = audio.enabled ? t('control.mute') : t('control.unmute');
      mute.setAttribute('aria-pressed', String(!audio.enabled));
      mute.classList.toggle('off', !audio.enabled);
    }
    const cam = $('camera-btn');
    if (!video) {
      cam.textContent = t('control.turnCameraOn');
      cam.setAttribute('aria-pressed', 'false');
      cam.classList.add('off');
    } else {
      cam.textContent = video.enabled ? t('control.cameraOff') : t('control.cameraOn');
      cam.setAttribute('aria-pressed', String(!video.enabled));
      cam.classList.toggle('off', !video.enabled);
    }
    $('local-tile').classList.toggle('no-video', !video || !video.enabled);
    $('local-state').textContent = audio && audio.enabled ? '' : t('tile.muted');
    $('local-state').hidden = Boolean(audio && audio.enabled);
    this.drawError();
  }

  // ---- remote tiles ----

  addTile(peer) {
    this.removeTile(peer.id);
    const fig = el('figure', 'tile remote');
    fig.dataset.peer = peer.id;
    const video = el('video');
    video.autoplay = true;
    video.playsInline = true;
    const placeholder = el('p', 'placeholder', t('tile.noVideo'));
    const cap = el('figcaption');
    const name = el('span', 'name', peer.id);
    const state = el('span', 'badge');
    cap.append(name, state);
    const stats = el('dl', 'stats');
    stats.hidden = !this.statsOn;
    fig.append(video, placeholder, cap, stats);
    $('tiles').append(fig);
    const tile = { fig, video, state, stats, sample: null, peer };
    this.tiles.set(peer.id, tile);
    $('tiles').dataset.count = String(this.tiles.size);
    this.attachRemote(peer);
    this.drawPeer(peer);
    this.drawWaiting();
  }

  removeTile(id) {
    const tile = this.tiles.get(id);
    if (!tile)
      return;
    tile.video.srcObject = null;
    tile.fig.remove();
    this.tiles.delete(id);
    $('tiles').dataset.count = String(this.tiles.size);
    this.drawWaiting();
  }

  attachRemote(peer) {
    const tile = this.tiles.get(peer.id);
    if (!tile)
      return;
    tile.peer = peer;
    setStream(tile.video, peer.remoteStream, () => this.play(tile.video));
    const video = peer.remoteStream.getVideoTracks()[0];
    const showVideo = () => tile.fig.classList.toggle('no-video', !video || video.muted || video.readyState !== 'live');
    if (video) {
      video.onmute = showVideo;
      video.onunmute = showVideo;
    }
    showVideo();
  }

  // A page opened from a link has had no click yet, and browsers may refuse
  // to play sound then. Play muted rather than not at all, and offer the
  // sound back with a button (a click is what the browser waits for).
  play(video) {
    if (this.soundBlocked)
      video.muted = true;
    const p = video.play();
    if (!p)
      return;
    p.catch((e) => {
      if (e.name !== 'NotAllowedError')
        return;
      this.soundBlocked = true;
      video.muted = true;
      video.play().catch(() => {});
      this.offerSound();
    });
  }

  offerSound() {
    if (document.getElementById('enable-sound'))
      return;
    const li = el('li', 'notice');
    li.append(el('span', '', t('notice.soundBlocked')));
    const b = el('button', 'primary', t('control.enableSound'));
    b.type = 'button';
    b.id = 'enable-sound';
    b.addEventListener('click', () => {
      this.soundBlocked = false;
      for (const tile of this.tiles.values()) {
        tile.video.muted = false;
        tile.video.play().catch(() => {});
      }
      li.remove();
    });
    li.append(b);
    $('notices').append(li);
  }

  drawPeer(peer) {
    const tile = this.tiles.get(peer.id);
    if (!tile)
      return;
    const state = peer.connectionState || 'new';
    tile.state.textContent = t(`state.${state}`);
    tile.fig.dataset.state = state;
  }

  // ---- chat ----

  addChat({ from, text, own }) {
    const li = el('li', own ? 'own' : '');
    const who = el('span', 'from', own ? t('call.you', { name: from }) : from);
    const time = el('time', 'time', new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    const body = el('p', 'text', text);
    li.append(who, time, body);
    const list = $('chat-history');
    list.append(li);
    $('chat-empty').hidden = true;
    list.scrollTop = list.scrollHeight;
    if (!own && $('chat-panel').hidden) {
      this.unread += 1;
      this.drawUnread();
    }
  }

  drawUnread() {
    $('chat-unread').hidden = this.unread === 0;
    $('chat-unread').textContent = String(this.unread);
  }

  // ---- log ----

  appendLog(line) {
    const list = $('log-list');
    const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.append(el('li', /error|failed|could not/i.test(line) ? 'bad' : '', line));
    while (list.childElementCount > 2000)
      list.firstElementChild.remove();
    if (stick)
      list.scrollTop = list.scrollHeight;
  }

  // ---- statistics ----

  get statsOn() {
    return this.statsTimer !== null;
  }

  toggleStats() {
    if (this.statsOn)
      this.stopStats();
    else
      this.startStats();
  }

  startStats() {
    $('stats-btn').setAttribute('aria-pressed', 'true');
    for (const tile of this.tiles.values())
      tile.stats.hidden = false;
    this.statsTimer = setInterval(() => this.refreshStats(), STATS_INTERVAL_MS);
    this.refreshStats();
  }

  stopStats() {
    clearInterval(this.statsTimer);
    this.statsTimer = null;
    $('stats-btn').setAttribute('aria-pressed', 'false');
    for (const tile of this.tiles.values())
      tile.stats.hidden = true;
  }

  async refreshStats() {
    for (const tile of [...this.tiles.values()]) {
      let report;
      try {
        report = await tile.peer.getStats();
      } catch {
        continue; // closed meanwhile
      }
      const { display, sample } = summarize(report, tile.sample);
      tile.sample = sample;
      this.drawStats(tile.stats, display);
    }
  }

  drawStats(dl, d) {
    const none = t('stats.none');
    const rows = [
      ['stats.resolution', d.width && d.height ? `${d.width}×${d.height}` : none],
      ['stats.fps', d.fps !== null ? t('stats.fpsValue', { n: fmt(d.fps) }) : none],
      ['stats.codec', [d.videoCodec, d.audioCodec].filter(Boolean).join(' + ') || none],
      ['stats.bitrateIn', d.kbpsIn !== null ? t('stats.kbps', { n: fmt(d.kbpsIn) }) : none],
      ['stats.bitrateOut', d.kbpsOut !== null ? t('stats.kbps', { n: fmt(d.kbpsOut) }) : none],
      ['stats.loss', `${d.packetsLost} (${fmt(d.lossPercent, 1)} %)`],
      ['stats.rtt', d.rttMs !== null ? t('stats.ms', { n: fmt(d.rttMs) }) : none],
      ['stats.pair', d.pair || none],
    ];
    const children = [];
    for (const [key, value] of rows)
      children.push(el('dt', '', t(key)), el('dd', '', value));
    dl.replaceChildren(...children);
  }
}
