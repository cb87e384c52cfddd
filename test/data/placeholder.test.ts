import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlaceholderPlot } from '../../src/data/placeholder.js';

test('placeholder plots: N/A, empty-ish and "Plot unknown." are not synopses; real plots are', () => {
  for (const p of ['N/A', 'n/a::someone', 'Plot unknown.', '  Unknown ', 'No overview found.', 'TBA'])
    assert.equal(isPlaceholderPlot(p), true, p);
  for (const p of [
    'A man returns home.',
    'N/A is the name of the band in this film.',
    'Unknown soldiers march.',
  ])
    assert.equal(isPlaceholderPlot(p), false, p);
});
