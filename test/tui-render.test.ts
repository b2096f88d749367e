// Rendering on fake streams: the real blessed screen at 80x24 driven by a fake Feed, read back from blessed's cell buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTui, type TuiSession } from '../src/sinks/tui/app.js';
import { FakeFeed, change, iface, link, probe } from './fixtures/tui/fake-feed.js';
import { FakeInput, FakeOutput, KEY, screenText, tick } from './fixtures/tui/fake-tty.js';

async function open(feed: FakeFeed, size: [number, number] = [80, 24]) {
  const input = new FakeInput();
  const output = new FakeOutput(...size);
  let session!: TuiSession;
  const exit = runTui(feed, { input, output, onReady: (s) => (session = s) });
  await tick(10);
  const frame = async () => {
    await tick(5);
    session.model.dirty = true;
    session.frames.run();
    return screenText(session.ui.screen);
  };
  return { input, output, exit, session, frame };
}

test('smoke', async () => {
  const feed = new FakeFeed('live');
  feed.states = [iface('bond0', { kind: 'bond', addr: '4a:11:22:33:44:55', aat: 3 }), iface('eth0', { master: 'bond0', addr: '4a:11:22:33:44:55', permAddr: '52:54:00:aa:bb:01' })];
  const t = await open(feed);
  feed.emit(probe());
  feed.emit(link());
  feed.emit(change({ iface: 'eth0' }));
  feed.emit(change({ iface: 'bond0', kind: 'enslave', after: 'eth0' }));
  console.log(await t.frame());
  t.input.press(KEY.enter);
  console.log(await t.frame());
  t.input.press('q');
  assert.equal(await t.exit, 0);
});
