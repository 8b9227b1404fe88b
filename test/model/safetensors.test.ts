import { describe, it, expect } from 'vitest';
import { encodeSafetensors, decodeSafetensors, type StTensor } from '../../src/model/safetensors.js';

function sample(): Map<string, StTensor> {
  return new Map<string, StTensor>([
    ['b1.conv.weight', { dtype: 'F32', shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => i / 7) }],
    ['b1.norm.num_batches_tracked', { dtype: 'I64', shape: [], data: BigInt64Array.of(42n) }],
  ]);
}

function withHeader(json: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors and metadata, data 8-byte aligned', () => {
    const bytes = encodeSafetensors(sample(), { norm: 'batch' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const f = decodeSafetensors(bytes);
    expect(f.metadata).toEqual({ norm: 'batch' });
    expect(Array.from(f.tensors.get('b1.conv.weight')!.data as Float32Array)).toEqual(Array.from(sample().get('b1.conv.weight')!.data as Float32Array));
    expect(f.tensors.get('b1.norm.num_batches_tracked')!.data[0]).toBe(42n);
    expect(f.tensors.get('b1.norm.num_batches_tracked')!.shape).toEqual([]);
  });

  it('decodes a Node Buffer (a view into a shared pool) as well as a Uint8Array', () => {
    const pooled = Buffer.concat([Buffer.from('padding before the file'), Buffer.from(encodeSafetensors(sample()))]);
    const f = decodeSafetensors(pooled.subarray(23));
    expect(f.tensors.get('b1.norm.num_batches_tracked')!.data[0]).toBe(42n);
    expect(Array.from(f.tensors.get('b1.conv.weight')!.data as Float32Array).slice(0, 3)).toEqual([0, 1 / 7, 2 / 7].map(Math.fround));
  });

  it('is deterministic', () => {
    expect(encodeSafetensors(sample())).toEqual(encodeSafetensors(sample()));
  });

  it('refuses a header length beyond the file', () => {
    const b = encodeSafetensors(sample());
    new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => decodeSafetensors(b, 'm.safetensors')).toThrow(/m.safetensors: .*header length 1099511627776 is beyond/);
  });

  it('refuses malformed JSON, wrong dtypes, bad and overlapping offsets', () => {
    expect(() => decodeSafetensors(withHeader('{"a": '))).toThrow(/malformed JSON/);
    expect(() => decodeSafetensors(withHeader('{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}', new Uint8Array(2)))).toThrow(/unsupported dtype/);
    expect(() => decodeSafetensors(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', new Uint8Array(4)))).toThrow(/beyond the 4 bytes/);
    expect(() => decodeSafetensors(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(8)))).toThrow(/needs 8 bytes/);
    expect(() =>
      decodeSafetensors(
        withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)),
      ),
    ).toThrow(/overlap/);
  });
});
