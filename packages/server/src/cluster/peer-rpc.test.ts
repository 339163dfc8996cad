import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ServiceError } from '../errors.js';
import { createLogger } from '../logger.js';
import { addPeerService, PeerClients } from './peer-rpc.js';

const server = new grpc.Server();
let address = '';

beforeAll(async () => {
  addPeerService(
    server,
    {
      echo: (args: { text: string }) => Promise.resolve({ text: args.text, bytes: new Uint8Array([1, 2]) }),
      missing: () => Promise.reject(new NotFoundError('workflow execution not found', { typeName: 'x.Detail', value: new Uint8Array([7]) })),
      broken: () => Promise.reject(new Error('boom')),
    },
    () => 's3cret',
    createLogger({ level: 'never', format: 'json' }),
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  address = `127.0.0.1:${port}`;
});
afterAll(() => server.forceShutdown());

describe('peer calls', () => {
  it('answers a call that carries the cluster secret, with structured values', async () => {
    const peers = new PeerClients();
    peers.secret = 's3cret';
    expect(await peers.call(address, 'echo', { text: 'hi' })).toEqual({ text: 'hi', bytes: new Uint8Array([1, 2]) });
    peers.prune();
  });

  it('refuses a call without the secret before decoding it', async () => {
    const peers = new PeerClients();
    peers.secret = 'guess';
    await expect(peers.call(address, 'echo', { text: 'hi' })).rejects.toMatchObject({ code: 7, message: expect.stringContaining('not a node of this cluster') as unknown });
    peers.prune();
  });

  it('rebuilds a service error as its own class, with its code and details; other errors are INTERNAL', async () => {
    const peers = new PeerClients();
    peers.secret = 's3cret';
    const err: unknown = await peers.call(address, 'missing', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ code: 5, message: 'workflow execution not found', details: { typeName: 'x.Detail', value: new Uint8Array([7]) } });
    const internal: unknown = await peers.call(address, 'broken', {}).catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(ServiceError);
    expect(internal).toMatchObject({ code: 13, message: 'boom' });
    await expect(peers.call(address, 'nope', {})).rejects.toMatchObject({ code: 14 });
    peers.prune();
  });
});
