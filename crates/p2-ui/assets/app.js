// sluicegate p2, the page. A thin view: the server owns every pixel and all terminal text. This script draws
// what it is sent, at most once per animation frame, tells the server when it has (so a slow page gets fewer,
// larger updates), and sends the user's keys, pointer and typed text back. Message formats: crates/p2-ui/src/wire.rs.
'use strict';

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get('token');

// Everything the page holds, also read by the tests and benchmarks (window.sluicegate).
const view = {
  socket: null,
  queue: [],            // messages received, drawn at the next animation frame
  displays: new Map(),  // display id -> Panel
  paused: false,
  status: null,
  ended: false,
  stats: { bytes: 0, updates: 0, frames: 0 },
};
window.sluicegate = view;

function send(message) {
  if (view.socket && view.socket.readyState === WebSocket.OPEN) view.socket.send(JSON.stringify(message));
}

// ---- Connection -------------------------------------------------------------------------------------------

function connect() {
  if (!token) {
    setLink('lost', 'open the address sluicegate printed: it carries the token this page needs');
    return;
  }
  const socket = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => {
    view.socket = socket;
    view.queue = [];
    clearDisplays();
    terminal.clear();
    setLink('live');
    if (view.paused) send({ t: 'pause', on: true });
  };
  socket.onmessage = (event) => {
    const data = event.data;
    if (typeof data === 'string') {
      view.stats.bytes += data.length;
      view.queue.push(JSON.parse(data));
    } else {
      view.stats.bytes += data.byteLength;
      view.queue.push(data);
    }
  };
  socket.onclose = (event) => {
    if (view.socket === socket) view.socket = null;
    view.ended = view.ended || event.code === 1001;
    setLink('lost', view.ended ? 'sluicegate has ended: the page shows the last state' : 'disconnected: retrying');
    if (!view.ended) setTimeout(connect, 1000);
  };
}

function setLink(state, text) {
  $('led').className = `led ${state}`;
  if (state === 'live' && view.status) {
    $('source').textContent = view.status.input_ended
      ? `${view.status.source}: input ended, the page stays until Ctrl-C`
      : view.status.source;
    $('led').className = `led ${view.status.input_ended ? 'ended' : 'live'}`;
  } else {
    $('source').textContent = text || 'connecting…';
  }
}

// ---- Updates, drawn once per animation frame --------------------------------------------------------------

function animationFrame(now) {
  requestAnimationFrame(animationFrame);
  drawQueue();
  terminal.render();
  flushPointer();
  countFrames(now);
}

// An update's text comes first, then its `frames` binary messages; only whole updates are drawn.
function drawQueue() {
  while (view.queue.length) {
    const head = view.queue[0];
    if (head instanceof ArrayBuffer) {
      view.queue.shift();
      continue;
    }
    if (head.t !== 'update') {
      view.queue.shift();
      reply(head);
      continue;
    }
    if (view.queue.length < 1 + head.frames) return;
    view.queue.shift();
    const frames = view.queue.splice(0, head.frames);
    draw(head, frames);
    send({ t: 'ack' });
  }
}

function draw(update, frames) {
  for (const id of update.closed) closeDisplay(id);
  for (const info of update.opened) openDisplay(info);
  if (update.opened.length || update.closed.length) layout();
  for (const frame of frames) drawFrame(frame);
  if (update.terminal) terminal.take(update.terminal);
  if (update.status) showStatus(update.status);
  view.stats.updates += 1;
}

// Binary frame: kind (1 RGBA, 2 RGBA in runs), 3 zero bytes, display id u32, x y w h u16 (little-endian), then
// the pixels (crates/p2-ui/src/wire.rs).
function drawFrame(buffer) {
  const head = new DataView(buffer);
  if (buffer.byteLength < 16) return;
  const kind = head.getUint8(0);
  const id = head.getUint32(4, true);
  const [x, y, w, h] = [8, 10, 12, 14].map((at) => head.getUint16(at, true));
  const panel = view.displays.get(id);
  if (!panel || w === 0 || h === 0) return;
  let pixels = null;
  if (kind === 1 && w * h * 4 === buffer.byteLength - 16) pixels = new Uint8ClampedArray(buffer, 16, w * h * 4);
  else if (kind === 2) pixels = runs(new Uint8Array(buffer, 16), w * h);
  if (!pixels) return;
  panel.context.putImageData(new ImageData(pixels, w, h), x, y);
  view.stats.frames += 1;
}

// Runs: a LEB128 number n, then one pixel repeated n >> 1 times (n odd) or n >> 1 pixels as they are (n even).
function runs(bytes, count) {
  const out = new Uint8ClampedArray(count * 4);
  const words = new Uint32Array(out.buffer);
  let at = 0;
  let filled = 0;
  while (filled < count && at < bytes.length) {
    let n = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[at++];
      n += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && at < bytes.length);
    const length = Math.floor(n / 2);
    if (length > count - filled) return null;
    if (n % 2) {
      if (at + 4 > bytes.length) return null;
      out.set(bytes.subarray(at, at + 4), filled * 4);
      words.fill(words[filled], filled, filled + length);
      at += 4;
    } else {
      if (at + length * 4 > bytes.length) return null;
      out.set(bytes.subarray(at, at + length * 4), filled * 4);
      at += length * 4;
    }
    filled += length;
  }
  return filled === count ? out : null;
}

function reply(message) {
  if (message.t === 'hover') {
    const panel = view.displays.get(message.d);
    if (panel) panel.showReadout(message.text);
  } else if (message.t === 'control' && (message.message || !message.ok)) {
    toast(message.message, !message.ok);
  }
}

// ---- Terminal: PST control codes over a scrollback ---------------------------------------------------------

const ROWS_MAX = 5000;

const terminal = {
  rows: [],         // { text, kind, element }
  row: 0,           // cursor
  col: 0,
  // First row of the screen that HOME, POS and SETY address: set by CLS, or where the program first addresses
  // the screen (so that a prompt placed with POS never overwrites the log above it); forgotten at a reboot.
  top: null,
  kind: 'text',
  dirty: new Set(),
  removed: [],

  clear() {
    for (const row of this.rows) this.removed.push(row);
    this.rows = [];
    this.row = this.col = 0;
    this.top = null;
  },

  take(update) {
    if (update.reset) this.clear();
    for (const line of update.lines) this.write(line);
    if (this.rows.length > ROWS_MAX) {
      const cut = this.rows.length - ROWS_MAX;
      this.removed.push(...this.rows.splice(0, cut));
      this.row = Math.max(0, this.row - cut);
      if (this.top !== null) this.top = Math.max(0, this.top - cut);
    }
  },

  screenTop() {
    if (this.top === null) this.top = this.col === 0 ? this.row : this.row + 1;
    return this.top;
  },

  write(line) {
    this.kind = line.kind === 'cog' ? `cog${line.cog}` : line.kind;
    if (line.kind === 'reboot') this.top = null;
    const text = line.text;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 32) {
        this.put(text[i]);
        continue;
      }
      const argument = () => (i + 1 < text.length ? text.charCodeAt(++i) : 0);
      switch (code) {
        case 0: case 16: this.top = Math.max(this.rows.length, this.row + (this.col > 0)); this.row = this.top; this.col = 0; break; // CLS
        case 1: this.row = this.screenTop(); this.col = 0; break;                                // HOME
        case 2: { const x = argument(); this.row = this.screenTop() + argument(); this.col = x; break; } // POS x y
        case 3: this.col = Math.max(0, this.col - 1); break;                                     // LEFT
        case 4: this.col += 1; break;                                                            // RIGHT
        case 5: this.row = Math.max(this.screenTop(), this.row - 1); break;                      // UP
        case 6: this.row += 1; break;                                                            // DOWN
        case 7: bell(); break;                                                                   // BELL
        case 8: if (this.col > 0) { this.col -= 1; this.put(' '); this.col -= 1; } break;        // BS
        case 9: do { this.put(' '); } while (this.col % 8); break;                               // TAB
        case 13: if (text.charCodeAt(i + 1) === 10) i += 1; this.newline(); break;               // CR (LF)
        case 10: this.newline(); break;                                                          // LF
        case 11: this.cut(false); break;                                                         // CLEOL
        case 12: this.cut(true); break;                                                          // CLBELOW
        case 14: this.col = argument(); break;                                                   // SETX x
        case 15: this.row = this.screenTop() + argument(); break;                                // SETY y
        default: break;
      }
    }
    if (line.complete) this.newline();
  },

  newline() {
    this.row += 1;
    this.col = 0;
  },

  line() {
    while (this.rows.length <= this.row) {
      const row = { text: '', kind: this.kind, element: null };
      this.rows.push(row);
      this.dirty.add(row);
    }
    return this.rows[this.row];
  },

  put(character) {
    const row = this.line();
    const text = row.text.length < this.col ? row.text.padEnd(this.col) : row.text;
    row.text = text.slice(0, this.col) + character + text.slice(this.col + 1);
    row.kind = this.kind;
    this.col += 1;
    this.dirty.add(row);
  },

  cut(below) {
    const row = this.line();
    row.text = row.text.slice(0, this.col);
    this.dirty.add(row);
    if (below) this.removed.push(...this.rows.splice(this.row + 1));
  },

  render() {
    if (!this.dirty.size && !this.removed.length) return;
    const scroll = $('scroll');
    const following = scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - 24;
    for (const row of this.removed) {
      if (row.element) row.element.remove();
      row.element = null;
      this.dirty.delete(row);
    }
    this.removed = [];
    const lines = $('lines');
    for (const row of this.dirty) {
      if (!row.element) {
        row.element = document.createElement('div');
        lines.appendChild(row.element);
      }
      showRow(row);
    }
    this.dirty.clear();
    $('term-count').textContent = `${this.rows.length.toLocaleString()} lines`;
    if (following) scroll.scrollTop = scroll.scrollHeight;
    $('follow').hidden = following;
  },
};

function showRow(row) {
  const element = row.element;
  element.className = row.kind;
  element.textContent = '';
  if (row.kind.startsWith('cog') && row.text.startsWith('Cog')) {
    const prefix = document.createElement('span');
    prefix.className = 'p';
    prefix.textContent = row.text.slice(0, 4);
    element.append(prefix, row.text.slice(4));
  } else {
    element.textContent = row.text;
  }
}

function bell() {
  const scroll = $('scroll');
  scroll.classList.remove('bell');
  void scroll.offsetWidth;
  scroll.classList.add('bell');
}

// ---- Displays: one panel each, placed by POS or packed without overlap -------------------------------------

const GAP = 12;

class Panel {
  constructor(info) {
    this.info = info;
    this.moved = null;   // [x, y] once the user dragged it
    this.pointer = null; // last position over the image, client pixels
    const [sx, sy] = info.scale;
    this.element = element('div', 'panel');
    this.element.tabIndex = 0;
    this.element.dataset.id = info.id;
    this.element.dataset.name = info.name;
    const header = element('header');
    this.caption = element('span', 'caption', info.caption);
    const size = element('span', 'size', sx > 1 || sy > 1
      ? `${info.width}×${info.height} ×${sx === sy ? sx : `${sx},${sy}`}`
      : `${info.width}×${info.height}`);
    header.append(this.caption, size);
    const box = element('div', 'view');
    this.canvas = element('canvas');
    this.canvas.width = info.width;
    this.canvas.height = info.height;
    this.canvas.style.width = `${info.width * sx}px`;
    this.canvas.style.height = `${info.height * sy}px`;
    this.canvas.dataset.name = info.name;
    this.context = this.canvas.getContext('2d', { alpha: false });
    this.readout = element('div', 'readout');
    this.readout.hidden = true;
    box.append(this.canvas, this.readout);
    this.element.append(header, box);
    this.listen(header);
  }

  listen(header) {
    const id = this.info.id;
    const canvas = this.canvas;
    const at = (event) => [Math.floor(event.offsetX), Math.floor(event.offsetY)];
    canvas.addEventListener('pointermove', (event) => {
      [this.x, this.y] = at(event);
      pendingPointer = { t: 'pointer', d: id, x: this.x, y: this.y, buttons: event.buttons & 7 };
      this.placeReadout();
    });
    for (const type of ['pointerdown', 'pointerup']) {
      canvas.addEventListener(type, (event) => {
        if (type === 'pointerdown') this.element.focus();
        const [x, y] = at(event);
        pendingPointer = null;
        send({ t: 'pointer', d: id, x, y, buttons: event.buttons & 7 });
      });
    }
    canvas.addEventListener('pointerleave', () => {
      if (pendingPointer && pendingPointer.d === id) pendingPointer = null;
      send({ t: 'leave', d: id });
      this.readout.hidden = true;
    });
    canvas.addEventListener('wheel', (event) => {
      event.preventDefault();
      if (event.deltaY !== 0) send({ t: 'wheel', d: id, up: event.deltaY < 0 });
    }, { passive: false });
    canvas.addEventListener('contextmenu', (event) => event.preventDefault());
    this.element.addEventListener('keydown', (event) => {
      if (event.target !== this.element || MODIFIERS.has(event.key) || event.metaKey || event.altKey) return;
      send({ t: 'key', d: id, key: event.key, ctrl: event.ctrlKey });
      if (event.key.length === 1 || NAVIGATION.has(event.key)) event.preventDefault();
    });
    this.element.addEventListener('focus', () => this.element.classList.add('focused'));
    this.element.addEventListener('blur', () => this.element.classList.remove('focused'));
    header.addEventListener('pointerdown', (event) => this.drag(event, header));
    // Panels placed by POS may overlap, as PNut's windows do: the one used comes to the front.
    this.element.addEventListener('pointerdown', () => {
      this.element.style.zIndex = String(++topmost);
    }, { capture: true });
  }

  showReadout(text) {
    if (!text || this.info.hidexy || this.x === undefined) {
      this.readout.hidden = true;
      return;
    }
    this.readout.textContent = text;
    this.readout.hidden = false;
    this.placeReadout();
  }

  // As PNut's cross cursor: the label sits away from the nearer edges.
  placeReadout() {
    if (this.readout.hidden) return;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    const left = this.x < width / 2;
    const up = this.y >= height / 2;
    const label = this.readout;
    label.style.left = left ? `${this.x + 14}px` : `${this.x - 10 - label.offsetWidth}px`;
    label.style.top = up ? `${this.y - 10 - label.offsetHeight}px` : `${this.y + 14}px`;
  }

  drag(event, header) {
    if (event.button !== 0) return;
    event.preventDefault();
    const start = [event.clientX, event.clientY];
    const origin = [this.element.offsetLeft, this.element.offsetTop];
    header.setPointerCapture(event.pointerId);
    this.element.classList.add('dragging');
    const move = (e) => {
      const x = Math.max(0, origin[0] + e.clientX - start[0]);
      const y = Math.max(0, origin[1] + e.clientY - start[1]);
      this.moved = [x, y];
      this.place(x, y);
      this.caption.textContent = `${this.info.caption} (${x}, ${y})`;
    };
    const end = () => {
      header.removeEventListener('pointermove', move);
      this.element.classList.remove('dragging');
      this.caption.textContent = this.info.caption;
    };
    header.addEventListener('pointermove', move);
    header.addEventListener('pointerup', end, { once: true });
    header.addEventListener('pointercancel', end, { once: true });
  }

  place(x, y) {
    this.element.style.left = `${x}px`;
    this.element.style.top = `${y}px`;
    this.rect = { x, y, w: this.element.offsetWidth, h: this.element.offsetHeight };
  }
}

const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'AltGraph', 'CapsLock']);
const NAVIGATION = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'Delete', 'Insert',
  'PageUp', 'PageDown', 'Tab', 'Enter', 'Backspace', 'Escape']);

let pendingPointer = null;
let topmost = 0;

// Pointer moves go out at most once per animation frame.
function flushPointer() {
  if (pendingPointer) send(pendingPointer);
  pendingPointer = null;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function openDisplay(info) {
  closeDisplay(info.id);
  const panel = new Panel(info);
  view.displays.set(info.id, panel);
  $('desk').appendChild(panel.element);
  $('empty').hidden = true;
}

function closeDisplay(id) {
  const panel = view.displays.get(id);
  if (!panel) return;
  panel.element.remove();
  view.displays.delete(id);
  $('empty').hidden = view.displays.size > 0;
}

function clearDisplays() {
  for (const id of [...view.displays.keys()]) closeDisplay(id);
}

// Panels with POS keep their arrangement (shifted so the top-left one sits at the desk's corner); the others
// take, in declaration order, the highest then leftmost free place that fits the desk's width.
function layout() {
  const panels = [...view.displays.values()];
  const placed = [];
  const fixed = panels.filter((panel) => panel.info.pos && !panel.moved);
  const minX = Math.min(...fixed.map((panel) => panel.info.pos[0]));
  const minY = Math.min(...fixed.map((panel) => panel.info.pos[1]));
  for (const panel of panels) {
    if (panel.moved) panel.place(...panel.moved);
    else if (panel.info.pos) panel.place(panel.info.pos[0] - minX + GAP, panel.info.pos[1] - minY + GAP);
    else continue;
    placed.push(panel.rect);
  }
  const width = $('desk').clientWidth - GAP;
  for (const panel of panels) {
    if (panel.moved || panel.info.pos) continue;
    panel.place(0, 0);
    const { w, h } = panel.rect;
    const free = ([x, y]) => x + w <= Math.max(width, GAP + w) && placed.every((r) =>
      x >= r.x + r.w + GAP || x + w + GAP <= r.x || y >= r.y + r.h + GAP || y + h + GAP <= r.y);
    const candidates = [[GAP, GAP]];
    for (const r of placed) candidates.push([r.x + r.w + GAP, r.y], [GAP, r.y + r.h + GAP], [r.x, r.y + r.h + GAP]);
    candidates.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const spot = candidates.find(free) || [GAP, Math.max(GAP, ...placed.map((r) => r.y + r.h + GAP))];
    panel.place(...spot);
    placed.push(panel.rect);
  }
}

// ---- Status bar ---------------------------------------------------------------------------------------------

const STATUS_ITEMS = [
  ['source', (s) => s.source],
  ['baud', (s) => (s.baud ? s.baud.toLocaleString() : '—')],
  ['in', (s) => `${bytes(s.bytes_per_second)}/s`],
  ['messages', (s) => `${number(s.messages_per_second)}/s`],
  ['total', (s) => s.messages.toLocaleString()],
  ['overflows', (s) => s.overflows.toLocaleString(), (s) => s.overflows > 0],
  ['ring', (s) => `${(100 * s.ring_fill / Math.max(1, s.ring_capacity)).toFixed(1)} %`, (s) => s.ring_fill > s.ring_capacity / 2],
  ['display drops', (s) => s.display_messages_dropped.toLocaleString(), (s) => s.display_messages_dropped > 0],
  ['displays', (s) => String(s.displays)],
];

const statusCells = new Map();

function buildStatus() {
  const bar = $('status');
  for (const [name] of STATUS_ITEMS) {
    const item = element('span', 'item');
    const value = element('span', 'v', '—');
    item.append(element('span', 'k', name), value);
    bar.appendChild(item);
    statusCells.set(name, { item, value });
  }
  bar.appendChild(element('span', 'grow'));
  const item = element('span', 'item');
  const value = element('span', 'v', '—');
  item.title = 'What this page receives and draws';
  item.append(element('span', 'k', 'view'), value);
  bar.appendChild(item);
  statusCells.set('view', { item, value });
}

function showStatus(status) {
  view.status = status;
  for (const [name, show, bad] of STATUS_ITEMS) {
    const cell = statusCells.get(name);
    cell.value.textContent = show(status);
    cell.item.classList.toggle('bad', Boolean(bad && bad(status)));
  }
  setLink('live');
  const recording = Boolean(status.recording);
  $('record').classList.toggle('on', recording);
  $('record').lastChild.textContent = recording ? 'Recording' : 'Record';
  $('record').title = recording ? `Recording to ${status.recording}: click to stop` : 'Record the raw input as a .sgrec file (replay with --replay)';
  $('reset').disabled = !status.can_reset;
  if (!status.can_reset) $('reset').title = 'Only a serial port (--port) has a reset line';
  const input = $('input');
  input.disabled = !status.can_transmit;
  if (!status.can_transmit) input.placeholder = 'This input has no way back to the P2 (a replay or stdin)';
}

let counted = { at: 0, updates: 0, bytes: 0 };

function countFrames(now) {
  if (now - counted.at < 1000) return;
  const seconds = (now - counted.at) / 1000;
  const cell = statusCells.get('view');
  if (counted.at && cell) {
    const updates = (view.stats.updates - counted.updates) / seconds;
    const received = (view.stats.bytes - counted.bytes) / seconds;
    cell.value.textContent = `${updates.toFixed(0)} updates/s · ${bytes(received)}/s`;
  }
  counted = { at: now, updates: view.stats.updates, bytes: view.stats.bytes };
}

function number(value) {
  if (value >= 10000) return `${(value / 1000).toFixed(0)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return value.toFixed(0);
}

function bytes(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)} MB`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} kB`;
  return `${value.toFixed(0)} B`;
}

let toastTimer = 0;

function toast(text, error) {
  const box = $('toast');
  box.textContent = text;
  box.classList.toggle('error', Boolean(error));
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, error ? 6000 : 3500);
}

// ---- Controls ------------------------------------------------------------------------------------------------

function controls() {
  $('pause').addEventListener('click', () => {
    view.paused = !view.paused;
    send({ t: 'pause', on: view.paused });
    $('pause').classList.toggle('on', view.paused);
    $('pause').textContent = view.paused ? 'Resume view' : 'Pause view';
    $('paused-tag').hidden = !view.paused;
    $('desk').classList.toggle('paused', view.paused);
  });
  $('record').addEventListener('click', () => send({ t: 'record', on: !(view.status && view.status.recording) }));
  $('reset').addEventListener('click', () => send({ t: 'reset' }));
  $('follow').addEventListener('click', () => {
    const scroll = $('scroll');
    scroll.scrollTop = scroll.scrollHeight;
  });
  $('scroll').addEventListener('scroll', () => {
    const scroll = $('scroll');
    if (scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - 24) $('follow').hidden = true;
  });

  const history = [];
  let back = 0;
  const input = $('input');
  $('send').addEventListener('submit', (event) => {
    event.preventDefault();
    send({ t: 'send', text: `${input.value}\r` });
    if (input.value && history[history.length - 1] !== input.value) history.push(input.value);
    back = 0;
    input.value = '';
  });
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') return;
    event.preventDefault();
    back = Math.max(0, Math.min(history.length, back + (event.key === 'ArrowUp' ? 1 : -1)));
    input.value = back ? history[history.length - back] : '';
  });

  const splitter = $('splitter');
  splitter.addEventListener('pointerdown', (event) => {
    splitter.setPointerCapture(event.pointerId);
    splitter.classList.add('drag');
    const move = (e) => {
      const width = Math.max(260, Math.min(window.innerWidth - 200, e.clientX));
      document.documentElement.style.setProperty('--term-width', `${width}px`);
    };
    splitter.addEventListener('pointermove', move);
    splitter.addEventListener('pointerup', () => {
      splitter.removeEventListener('pointermove', move);
      splitter.classList.remove('drag');
      layout();
    }, { once: true });
  });
  let resized = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resized);
    resized = setTimeout(layout, 150);
  });
}

buildStatus();
controls();
connect();
requestAnimationFrame(animationFrame);
