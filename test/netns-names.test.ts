// Namespace names by inode: a deleted namespace's inode goes to the next one made, so a cached name is checked
// against /run/netns before it is given (the kernel matrix saw `ifbc`, deleted minutes before, named `ifbns1`'s move).
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NetnsNames } from '../src/correlate/netns.js';

test('a known inode whose name now belongs to another namespace entry is named afresh, at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ifb-netns-'));
  try {
    writeFileSync(join(dir, 'ifbc'), '');
    const ino = statSync(join(dir, 'ifbc')).ino;
    const names = new NetnsNames(dir);
    assert.equal(names.nameOf(ino), 'ifbc');
    // same inode, another name (a rename keeps the inode: what reuse after a deletion looks like), within the second
    renameSync(join(dir, 'ifbc'), join(dir, 'ifbns1'));
    assert.equal(names.nameOf(ino), 'ifbns1');
    rmSync(join(dir, 'ifbns1'));
    assert.equal(names.nameOf(ino), undefined, 'gone: no name rather than a stale one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
