import { status } from '@grpc/grpc-js';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateSmall } from './grpc-inflate.js';

describe('synchronous inflate of small requests', () => {
  it('inflates within the limit and refuses past it with the status grpc-js gives', async () => {
    const message = gzipSync(Buffer.alloc(1_000, 7));
    expect(await inflateSmall(message, 'gzip', -1)).toEqual(Buffer.alloc(1_000, 7));
    expect(await inflateSmall(message, 'gzip', 1_000)).toEqual(Buffer.alloc(1_000, 7));
    await expect(inflateSmall(message, 'gzip', 999)).rejects.toEqual({
      code: status.RESOURCE_EXHAUSTED,
      details: 'Received message that decompresses to a size larger than 999',
    });
    await expect(inflateSmall(message, 'deflate', -1)).rejects.toEqual({ code: status.INTERNAL, details: 'Failed to decompress message' });
  });
});
