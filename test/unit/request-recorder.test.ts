import { sequentialDepth } from '../support/request-recorder.js';

const at = (startedAt: number, endedAt: number) => ({ startedAt, endedAt });

describe('sequentialDepth', () => {
  it('counts overlapping requests once and chained ones one after another', () => {
    expect(sequentialDepth([])).toBe(0);
    expect(sequentialDepth([at(0, 10), at(1, 9), at(2, 12)])).toBe(1);
    expect(sequentialDepth([at(0, 10), at(10, 20), at(20, 30)])).toBe(3);
    // Two reads side by side, then one that waited for the slower of them.
    expect(sequentialDepth([at(0, 5), at(0, 12), at(12, 15)])).toBe(2);
    // The longest chain wins over the order of arrival.
    expect(sequentialDepth([at(30, 40), at(0, 100), at(0, 10), at(11, 20), at(21, 29)])).toBe(4);
  });
});
