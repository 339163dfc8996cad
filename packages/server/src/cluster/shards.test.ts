import { describe, expect, it } from 'vitest';
import { assignShards, shardOf } from './shards.js';

describe('shardOf', () => {
  it('is stable, in range, and spreads workflow ids over the shards', () => {
    expect(shardOf('ns', 'order-1', 64)).toBe(shardOf('ns', 'order-1', 64));
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const shard = shardOf('ns', `wf-${i}`, 16);
      expect(shard).toBeGreaterThanOrEqual(0);
      expect(shard).toBeLessThan(16);
      counts[shard]!++;
    }
    for (const n of counts) expect(n).toBeGreaterThan(800);
    // The namespace is part of the key.
    const moved = Array.from({ length: 100 }, (_, i) => shardOf('a', `w${i}`, 64) !== shardOf('b', `w${i}`, 64)).filter(Boolean);
    expect(moved.length).toBeGreaterThan(80);
  });
});

describe('assignShards', () => {
  it('gives every shard to one node, evenly enough, whatever order the nodes are listed in', () => {
    const owners = assignShards(64, ['n3', 'n1', 'n2']);
    expect(owners).toEqual(assignShards(64, ['n1', 'n2', 'n3']));
    for (const node of ['n1', 'n2', 'n3']) expect(owners.filter((o) => o === node).length).toBeGreaterThan(10);
    expect(assignShards(4, [])).toEqual(['', '', '', '']);
  });

  it('moves only the shards of a node that leaves, and only shards to a node that joins', () => {
    const three = assignShards(64, ['n1', 'n2', 'n3']);
    const two = assignShards(64, ['n1', 'n2']);
    three.forEach((owner, shard) => {
      if (owner !== 'n3') expect(two[shard]).toBe(owner);
    });
    const four = assignShards(64, ['n1', 'n2', 'n3', 'n4']);
    four.forEach((owner, shard) => {
      if (owner !== 'n4') expect(owner).toBe(three[shard]);
    });
  });
});
