// call.js's pure decisions: when a failed connection is replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failedReplaceDelay, replaceFailedNow } from '../../web/js/call.js';

test('the impolite side replaces a failed connection first, the polite one later', () => {
  assert.equal(failedReplaceDelay(false), 1000);
  assert.equal(failedReplaceDelay(true), 5000);
  assert.ok(failedReplaceDelay(true) > failedReplaceDelay(false));
});

test('a failed connection is replaced only if nothing else happened meanwhile', () => {
  const live = { current: true, inRoom: true, ended: false };
  assert.equal(replaceFailedNow(live), true, 'no offer came: replace it (also on the polite side)');
  assert.equal(replaceFailedNow({ ...live, current: false }), false, 'the other side offered: already replaced');
  assert.equal(replaceFailedNow({ ...live, inRoom: false }), false, 'it left the room');
  assert.equal(replaceFailedNow({ ...live, ended: true }), false, 'we hung up');
});
