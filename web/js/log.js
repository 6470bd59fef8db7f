// The log pane's lines: signaling, peer connection and ICE state changes and
// errors, with the time of day to the millisecond. Kept for the page's whole
// life (across hang-up and join again) because it is what a developer opens
// after something went wrong; capped so a day-long call does not grow
// without bound.

const MAX_LINES = 5000;

function stamp(d) {
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export class EventLog {
  constructor() {
    this.lines = [];
    this.listeners = [];
  }

  add(text) {
    const line = `${stamp(new Date())} ${text}`;
    this.lines.push(line);
    if (this.lines.length > MAX_LINES)
      this.lines.splice(0, this.lines.length - MAX_LINES);
    for (const fn of this.listeners)
      fn(line);
    return line;
  }

  onLine(fn) {
    this.listeners.push(fn);
  }
}
