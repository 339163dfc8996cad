/**
 * A payload codec as users write them: AES-256-GCM over the whole serialised payload, metadata
 * `encoding: binary/encrypted`. Payloads with another encoding pass through decode untouched.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const KEY = Buffer.alloc(32, 7);
const PayloadPb = temporal.api.common.v1.Payload;

interface Payload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

export class EncryptionCodec {
  /** How many payloads each direction saw (tests check that the codec ran at all). */
  readonly counts = { encoded: 0, decoded: 0 };

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return await Promise.resolve(
      payloads.map((payload) => {
        this.counts.encoded++;
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', KEY, iv);
        const plain = PayloadPb.encode(payload).finish();
        const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
        return {
          metadata: { encoding: Buffer.from(ENCODING) },
          data: Buffer.concat([iv, cipher.getAuthTag(), sealed]),
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return await Promise.resolve(
      payloads.map((payload) => {
        const encoding = payload.metadata?.['encoding'];
        if (encoding === undefined || encoding === null || Buffer.from(encoding).toString() !== ENCODING) return payload;
        this.counts.decoded++;
        const data = Buffer.from(payload.data ?? new Uint8Array());
        const decipher = createDecipheriv('aes-256-gcm', KEY, data.subarray(0, 12));
        decipher.setAuthTag(data.subarray(12, 28));
        const plain = Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]);
        const decoded = PayloadPb.decode(plain);
        return { metadata: decoded.metadata, data: decoded.data };
      }),
    );
  }
}
