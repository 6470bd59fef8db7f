// Every string a person sees, in one table, so that the client can be
// translated: add a table for another language and pick it in setLanguage().
// Placeholders are {name}; t() fills them from its second argument.
//
// Log lines are for developers and stay English (like the native client's
// log); error sentences shown on the page come from here.

const en = {
  'app.title': 'Palaver',
  'app.tagline': 'Video calls, no account needed',

  'join.heading': 'Join a call',
  'join.room': 'Room',
  'join.room.hint': 'Everyone who joins the same room is in the same call.',
  'join.name': 'Your name',
  'join.name.hint': 'Letters, digits, dot, dash and underscore; leave empty for a random one.',
  'join.token': 'Access token',
  'join.token.hint': 'Only if the server asks for one.',
  'join.more': 'More options',
  'join.receiveOnly': 'Join without camera and microphone',
  'join.submit': 'Join',
  'join.invalidRoom': 'A room name is 1 to 64 letters, digits, dots, dashes or underscores.',
  'join.invalidName': 'A name is 1 to 64 letters, digits, dots, dashes or underscores.',

  'call.room': 'Room {room}',
  'call.you': '{name} (you)',
  'call.youUnknown': 'You',
  'call.waiting': 'Waiting for others to join room {room}…',
  'call.copyLink': 'Copy link',
  'call.linkCopied': 'Link copied',

  'control.bar': 'Call controls',
  'control.mute': 'Mute',
  'control.unmute': 'Unmute',
  'control.micOn': 'Turn microphone on',
  'control.cameraOff': 'Camera off',
  'control.cameraOn': 'Camera on',
  'control.turnCameraOn': 'Turn camera on',
  'control.chat': 'Chat',
  'control.stats': 'Statistics',
  'control.log': 'Log',
  'control.hangUp': 'Hang up',
  'control.joinAgain': 'Join again',
  'control.leaveRoom': 'Other room',
  'control.retryNow': 'Try now',
  'control.enableSound': 'Turn sound on',
  'control.close': 'Close',

  'state.new': 'Connecting…',
  'state.connecting': 'Connecting…',
  'state.connected': 'Connected',
  'state.disconnected': 'Connection interrupted…',
  'state.failed': 'Connection failed',
  'state.closed': 'Left',

  'tile.noVideo': 'No video',
  'tile.muted': 'Muted',
  'tile.left': '{name} left',

  'chat.heading': 'Chat',
  'chat.label': 'Message',
  'chat.send': 'Send',
  'chat.empty': 'No messages yet.',
  'chat.tooLong': 'That message is too long to send (16 KiB at most).',
  'chat.nobody': 'Nobody is connected to receive it yet.',
  'chat.me': 'me',

  'log.heading': 'Log',
  'log.clear': 'Clear',

  'stats.resolution': 'Resolution',
  'stats.fps': 'Frame rate',
  'stats.codec': 'Codec',
  'stats.bitrateIn': 'Bitrate in',
  'stats.bitrateOut': 'Bitrate out',
  'stats.loss': 'Packets lost',
  'stats.rtt': 'Round trip',
  'stats.pair': 'Candidate pair',
  'stats.none': '—',
  'stats.kbps': '{n} kbit/s',
  'stats.ms': '{n} ms',
  'stats.fpsValue': '{n} fps',

  'notice.receiveOnly': 'You joined without sending video or sound.',
  'notice.cameraDenied': 'The browser was not allowed to use the camera: you joined without video.',
  'notice.cameraAbsent': 'No camera was found: you joined without video.',
  'notice.cameraBusy': 'The camera is in use by another program: you joined without video.',
  'notice.micDenied': 'The browser was not allowed to use the microphone: the others cannot hear you.',
  'notice.micAbsent': 'No microphone was found: the others cannot hear you.',
  'notice.micBusy': 'The microphone is in use by another program: the others cannot hear you.',
  'notice.devicesDenied': 'The browser was not allowed to use the camera or the microphone: you joined without sending video or sound.',
  'notice.devicesAbsent': 'No camera or microphone was found: you joined without sending video or sound.',
  'notice.devicesBusy': 'The camera and microphone are in use by another program: you joined without sending video or sound.',
  'notice.insecure': 'This page is not on a secure origin (https or localhost), so the browser offers no camera or microphone.',
  'notice.soundBlocked': 'The browser held back the call\'s sound until you click.',
  'notice.peerLeft': '{name} left the call.',
  'notice.peerJoined': '{name} joined.',

  'error.serverUnreachable': 'Cannot reach the server at {url}.',
  'error.serverLost': 'Lost the connection to the server. Calls already connected go on.',
  'error.retryIn': 'Trying again in {s} s.',
  'error.retrying': 'Trying again…',
  'error.roomFull': 'Room {room} is full.',
  'error.unauthorized': 'The server did not accept the access token for room {room}.',
  'error.tokenNeeded': 'This server needs an access token to join room {room}.',
  'error.peerIdTaken': 'Someone in room {room} already uses the name {name}. Pick another.',
  'error.rateLimited': 'The server is refusing messages: this page sent too many.',
  'error.tooLarge': 'The server refused a message as too large.',
  'error.server': 'The server said: {message}',
  'error.cameraDenied': 'The browser was not allowed to use the camera.',
  'error.cameraAbsent': 'No camera was found.',
  'error.cameraBusy': 'The camera is in use by another program.',
  'error.media': 'The camera or microphone could not be opened: {message}',
  'error.noWebRTC': 'This browser cannot make WebRTC calls.',
  'error.peerFailed': 'The connection to {name} failed.',

  'left.heading': 'You left the call',
};

const tables = { en };
let table = en;

// Chooses a language table; unknown languages fall back to English.
export function setLanguage(lang) {
  table = tables[lang] || tables[String(lang).split('-')[0]] || en;
}

// The string for `key` with {placeholders} filled in. A missing key shows
// as the key itself, so a forgotten string is visible rather than blank.
export function t(key, params = {}) {
  const s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : (en[key] ?? key);
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

export function hasString(key) {
  return Object.prototype.hasOwnProperty.call(en, key);
}
