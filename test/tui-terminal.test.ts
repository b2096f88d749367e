// Terminal preparation and the exit paths' pieces: locale/TERM fallbacks, ACS vs UTF-8 borders, signal exit codes, key handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8Locale, prepareTerminalEnv, RESET_SEQUENCE, forceRestore, signalExitCode, terminfoExists } from '../src/sinks/tui/terminal.js';
import { handleKey, nextSpeed, SPEEDS } from '../src/sinks/tui/keys.js';
import { TuiModel } from '../src/sinks/tui/model.js';
import { FrameLoop } from '../src/sinks/tui/frames.js';
import { FakeControls, change, header } from './fixtures/tui/fake-feed.js';
import { FakeInput, FakeOutput } from './fixtures/tui/fake-tty.js';

test('no locale at all: LANG becomes C.UTF-8 and borders are drawn in UTF-8, not the alternate charset', () => {
  const env: NodeJS.ProcessEnv = { TERM: 'xterm' };
  prepareTerminalEnv(env);
  assert.equal(env.LANG, 'C.UTF-8');
  assert.equal(env.NCURSES_NO_UTF8_ACS, '1');
});

test('an explicit non-UTF-8 locale is respected (and then the alternate charset is left to blessed)', () => {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C', LANG: 'en_US.UTF-8', TERM: 'xterm' };
  prepareTerminalEnv(env);
  assert.equal(env.LANG, 'en_US.UTF-8');
  assert.equal(isUtf8Locale(env), false, 'LC_ALL wins');
  assert.equal(env.NCURSES_NO_UTF8_ACS, undefined);
  assert.equal(isUtf8Locale({ LC_CTYPE: 'de_DE.utf8' }), true);
});

test('TERM: missing, dumb or unknown here -> xterm-256color; a known one is kept', () => {
  for (const term of [undefined, '', 'dumb', 'unknown', 'no-such-terminal-xyz']) {
    const env: NodeJS.ProcessEnv = { LANG: 'C.UTF-8', ...(term !== undefined ? { TERM: term } : {}) };
    assert.equal(prepareTerminalEnv(env), 'xterm-256color', String(term));
    assert.equal(env.TERM, 'xterm-256color');
  }
  if (terminfoExists('screen')) {
    const env: NodeJS.ProcessEnv = { LANG: 'C.UTF-8', TERM: 'screen' };
    assert.equal(prepareTerminalEnv(env), 'screen');
  }
  assert.equal(terminfoExists('no-such-terminal-xyz'), false);
});

test('forceRestore writes the reset sequence and leaves raw mode', () => {
  const input = new FakeInput();
  const output = new FakeOutput();
  input.setRawMode(true);
  forceRestore(output, input);
  assert.equal(output.written, RESET_SEQUENCE);
  assert.equal(input.isRaw, false);
  assert.match(RESET_SEQUENCE, /\x1b\[\?1049l/);
  assert.match(RESET_SEQUENCE, /\x1b\[\?25h/);
});

test('signals exit like a shell expects: 128 + signal number', () => {
  assert.equal(signalExitCode('SIGHUP'), 129);
  assert.equal(signalExitCode('SIGINT'), 130);
  assert.equal(signalExitCode('SIGTERM'), 143);
});

test('replay speeds step up and down through a fixed ladder', () => {
  assert.equal(nextSpeed(1, 1), 2);
  assert.equal(nextSpeed(1, -1), 0.5);
  assert.equal(nextSpeed(3, 1), 5, 'from off the ladder to the next rung');
  assert.equal(nextSpeed(100, 1), Infinity);
  assert.equal(nextSpeed(Infinity, 1), Infinity);
  assert.equal(nextSpeed(Infinity, -1), 100);
  assert.equal(nextSpeed(SPEEDS[0], -1), SPEEDS[0]);
});

function keyCtx(mode: 'live' | 'replay' = 'live') {
  const model = new TuiModel({ header: header(), mode, states: () => [] });
  const calls: string[] = [];
  const controls = mode === 'replay' ? new FakeControls() : undefined;
  const ctx = { model, controls, toggleRecording: () => calls.push('record'), quit: () => calls.push('quit'), pageSize: () => 5 };
  const press = (ch: string | undefined, name?: string) => handleKey(ctx, ch, { name, full: name ?? ch });
  return { model, calls, controls, press };
}

test('keys: arrows and j/k, pages, ends; Enter twice from blessed counts once', () => {
  const { model, press } = keyCtx();
  for (let i = 0; i < 20; i++) model.ingest(change({ iface: `if${i}` }));
  press(undefined, 'down');
  press('j', 'j');
  assert.equal(model.selectionIndex(), 2);
  press(undefined, 'up');
  press('k', 'k');
  assert.equal(model.selectionIndex(), 0);
  press(undefined, 'pagedown');
  assert.equal(model.selectionIndex(), 5);
  press(undefined, 'end');
  assert.equal(model.selectionIndex(), 19);
  press(undefined, 'home');
  assert.equal(model.selectionIndex(), 0);
  press('G', 'S-g');
  assert.equal(model.selectionIndex(), 19);
  press('g', 'g');
  assert.equal(model.selectionIndex(), 0);
  press('\r', 'return');
  assert.equal(model.overlay, 'none', '`return` is ignored; blessed sends `enter` right after');
  press('\r', 'enter');
  assert.equal(model.overlay, 'detail');
  press(undefined, 'down');
  assert.equal(model.detailScroll, 1, 'arrows scroll the open detail');
  press(undefined, 'escape');
  assert.equal(model.overlay, 'none');
});

test('keys: q and Ctrl-C quit everywhere except q inside the filter prompt', () => {
  const { model, calls, press } = keyCtx();
  press('/', undefined);
  press('q', 'q');
  assert.equal(model.filterDraft, 'q');
  press(undefined, 'C-c');
  assert.deepEqual(calls, ['quit']);
  press(undefined, 'escape');
  press('q', 'q');
  assert.deepEqual(calls, ['quit', 'quit']);
  press('?', undefined);
  press('q', 'q');
  assert.equal(calls.length, 3);
});

test('keys: Esc and a key typed fast (read as Alt+key) count as both', () => {
  const { model, press } = keyCtx();
  model.ingest(change());
  model.setFilter('eth');
  handleKeyMeta(model, '/');
  assert.equal(model.filter, null, 'Esc cleared the filter');
  assert.equal(model.overlay, 'filter', '/ opened the prompt');
  press(undefined, 'escape');
  let quit = false;
  handleKeyMeta(model, 'q', () => (quit = true));
  assert.ok(quit, 'Esc q quits');
});

function handleKeyMeta(model: TuiModel, name: string, quit: () => void = () => undefined): void {
  handleKey({ model, toggleRecording: () => undefined, quit, pageSize: () => 5 }, undefined, { name, full: `M-${name}`, meta: true });
}

test('keys: p pauses, r records, Tab switches to the interface table, ? helps', () => {
  const { model, calls, press } = keyCtx();
  press('p', 'p');
  assert.ok(model.paused);
  press('r', 'r');
  assert.deepEqual(calls, ['record']);
  press('\t', 'tab');
  assert.equal(model.focus, 'ifaces');
  press('?', undefined);
  assert.equal(model.overlay, 'help');
});

test('keys: space, +, -, n, g, G drive the replay only in replay', () => {
  const live = keyCtx('live');
  live.press(' ', 'space');
  live.press('+', undefined);
  assert.equal(live.model.paused, false);
  const { controls, press } = keyCtx('replay');
  press(' ', 'space');
  press(' ', 'space');
  press('+', undefined);
  press('-', undefined);
  press('n', 'n');
  press('g', 'g');
  press('G', 'S-g');
  assert.deepEqual(controls!.calls, ['pause', 'resume', 'speed 2', 'speed 1', 'pause', 'step', 'seek start', 'seek end']);
});

test('frame loop: at most fps frames a second, none while nothing changed', async () => {
  let dirty = true;
  let drawn = 0;
  const loop = new FrameLoop(() => {
    if (!dirty) return false;
    drawn++;
    return true;
  }, 30);
  loop.start();
  const t0 = Date.now();
  while (Date.now() - t0 < 500) await new Promise((r) => setTimeout(r, 1));
  loop.stop();
  assert.ok(drawn <= 17 && drawn >= 8, `${drawn} frames in 0.5 s`);
  dirty = false;
  const before = loop.frames;
  loop.start();
  await new Promise((r) => setTimeout(r, 200));
  loop.stop();
  assert.equal(loop.frames, before);
});
