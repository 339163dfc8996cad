// farmhash's 32-bit fingerprint, which Temporal hashes a schedule's jitter with (spec.ts).
// ---- farmhash Fingerprint32 (farmhashmk Hash32, as dgryski/go-farm implements it) ----------

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const rotr = (x: number, r: number) => ((x >>> r) | (x << (32 - r))) >>> 0;
const add = (a: number, b: number) => (a + b) >>> 0;
const mul = (a: number, b: number) => Math.imul(a, b) >>> 0;
function fmix(h: number): number {
  h = mul(h ^ (h >>> 16), 0x85ebca6b);
  h = mul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
function mur(a: number, h: number): number {
  a = mul(rotr(mul(a, C1), 17), C2);
  h = rotr((h ^ a) >>> 0, 19);
  return add(mul(h, 5), 0xe6546b64);
}

/** farmhash's 32-bit fingerprint of `s` (stable across versions and platforms). */
export function farmFingerprint32(s: Uint8Array): number {
  const n = s.length;
  const view = new DataView(s.buffer, s.byteOffset, s.byteLength);
  const at = (i: number) => view.getUint32(i, true);
  if (n <= 4) {
    let b = 0;
    let c = 9;
    for (let i = 0; i < n; i++) {
      b = add(mul(b, C1), ((s[i]! << 24) >> 24) >>> 0); // bytes are read as signed
      c = (c ^ b) >>> 0;
    }
    return fmix(mur(b, mur(n, c)));
  }
  if (n <= 12) {
    const a = add(n, at(0));
    const b = add(mul(n, 5), at(n - 4));
    const c = add(9, at((n >>> 1) & 4));
    return fmix(mur(c, mur(b, mur(a, mul(n, 5)))));
  }
  if (n <= 24) {
    let a = at((n >>> 1) - 4);
    const b = at(4), c = at(n - 8), d = at(n >>> 1), e = at(0), f = at(n - 4);
    let h = add(mul(d, C1), n);
    a = add(rotr(a, 12), f);
    h = add(mur(c, h), a);
    a = add(rotr(a, 3), c);
    h = add(mur(e, h), a);
    a = add(rotr(add(a, f), 12), d);
    h = add(mur(b, h), a);
    return fmix(h);
  }
  let h = n, g = mul(C1, n), f = g;
  const mix = (i: number) => mul(rotr(mul(at(i), C1), 17), C2);
  const step = (x: number, v: number) => add(mul(rotr((x ^ v) >>> 0, 19), 5), 0xe6546b64);
  h = step(step(h, mix(n - 4)), mix(n - 16));
  g = step(step(g, mix(n - 8)), mix(n - 12));
  f = add(rotr(add(f, mix(n - 20)), 19), 113);
  for (let i = 0; n - i > 20; i += 20) {
    const a = at(i), b = at(i + 4), c = at(i + 8), d = at(i + 12), e = at(i + 16);
    h = add(h, a);
    g = add(g, b);
    f = add(f, c);
    h = add(mur(d, h), e);
    g = add(mur(c, g), a);
    f = add(mur(add(b, mul(e, C1)), f), d);
    f = add(f, g);
    g = add(g, f);
  }
  g = mul(rotr(mul(rotr(g, 11), C1), 17), C1);
  f = mul(rotr(mul(rotr(f, 11), C1), 17), C1);
  h = mul(rotr(add(mul(rotr(add(h, g), 19), 5), 0xe6546b64), 17), C1);
  h = mul(rotr(add(mul(rotr(add(h, f), 19), 5), 0xe6546b64), 17), C1);
  return h;
}
