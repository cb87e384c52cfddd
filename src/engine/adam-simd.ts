/**
 * The Adam update as a 4-lane WebAssembly SIMD loop running directly on tfjs-backend-wasm's
 * heap (the module imports the backend's own WebAssembly.Memory, so no copy in or out).
 *
 * Why hand-assembled: the update is one small loop, and a scalar JS loop over 700k floats costs
 * about as much as tfjs' 30 kernels; XNNPACK has no Adam, and a toolchain (wabt/emscripten) for
 * twenty instructions would be a heavier dependency than this encoder. The function, in WAT:
 *
 *   (func (export "adam") (param $g $m $v $p $bytes i32) (param $b1 $b2 $c1 $c2 $step $rootScale $eps $decay f32)
 *     splat every f32 parameter to a v128 local, then for o = 0; o < bytes; o += 16:
 *       G = load(g+o)
 *       M = B1·load(m+o) + C1·G              store(m+o, M)
 *       V = B2·load(v+o) + C2·G·G            store(v+o, V)
 *       P = (load(p+o) − STEP·M / (√V·ROOTSCALE + EPS)) · DECAY   store(p+o, P))
 *
 * `bytes` must be a multiple of 16; the caller does the remaining < 4 elements in JS.
 */

export type AdamSimdKernel = (
  gradPtr: number,
  firstMomentPtr: number,
  secondMomentPtr: number,
  paramPtr: number,
  bytes: number,
  beta1: number,
  beta2: number,
  oneMinusBeta1: number,
  oneMinusBeta2: number,
  stepSize: number,
  rootScale: number,
  epsilon: number,
  decay: number,
) => void;

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// Instructions.
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32Add = [0x6a];
const simd = (op: number) => [0xfd, ...uleb(op)];
const load = [...simd(0x00), 0x02, 0x00]; // v128.load align=4 offset=0
const store = [...simd(0x0b), 0x02, 0x00];
const splat = simd(0x13);
const [sqrt, add, sub, mul, div] = [0xe3, 0xe4, 0xe5, 0xe6, 0xe7].map(simd);

// Parameters 0–4 are i32 (pointers, byte count), 5–12 f32; locals: 13 offset, 14–21 splats, 22–24 G M V.
const [G_PTR, M_PTR, V_PTR, P_PTR, BYTES] = [0, 1, 2, 3, 4];
const OFFSET = 13;
const SPLAT = (param: number) => 14 + (param - 5);
const [B1, B2, C1, C2, STEP, ROOT, EPS, DECAY] = [5, 6, 7, 8, 9, 10, 11, 12].map(SPLAT);
const [G, M, V] = [22, 23, 24];
const at = (ptr: number) => [...get(ptr), ...get(OFFSET), ...i32Add];

function body(): number[] {
  const code: number[] = [];
  for (let p = 5; p <= 12; p++) code.push(...get(p), ...splat, ...set(SPLAT(p)));
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(...get(OFFSET), ...get(BYTES), 0x4f, 0x0d, 1); // o >= bytes → br_if 1 (exit)
  code.push(...at(G_PTR), ...load, ...set(G));
  code.push(...at(M_PTR), ...get(B1), ...at(M_PTR), ...load, ...mul, ...get(C1), ...get(G), ...mul, ...add);
  code.push(...tee(M), ...store);
  code.push(...at(V_PTR), ...get(B2), ...at(V_PTR), ...load, ...mul);
  code.push(...get(C2), ...get(G), ...mul, ...get(G), ...mul, ...add, ...tee(V), ...store);
  code.push(...at(P_PTR), ...at(P_PTR), ...load, ...get(STEP), ...get(M), ...mul);
  code.push(...get(V), ...sqrt, ...get(ROOT), ...mul, ...get(EPS), ...add, ...div, ...sub);
  code.push(...get(DECAY), ...mul, ...store);
  code.push(...get(OFFSET), 0x41, 16, ...i32Add, ...set(OFFSET), 0x0c, 0); // o += 16; br 0
  code.push(0x0b, 0x0b, 0x0b); // end loop, end block, end func
  return code;
}

function moduleBytes(sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], ...Array(8).fill([F32])]), 0x00];
  const func = [
    ...vec([
      [1, I32],
      [11, V128],
    ]),
    ...body(),
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([type])),
    // memory: min 0, no max; shared (the threaded build's) must declare a max: 65536 pages.
    ...section(
      2,
      vec([
        [
          ...name('env'),
          ...name('memory'),
          0x02,
          ...(sharedMemory ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00]),
        ],
      ]),
    ),
    ...section(3, vec([[0x00]])),
    ...section(7, vec([[...name('adam'), 0x00, 0x00]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

const instances = new WeakMap<WebAssembly.Memory, AdamSimdKernel | null>();

/**
 * The kernel bound to `memory` (instantiated once per memory; shared for the threaded build), or
 * null where WebAssembly SIMD is unavailable, in which case the caller loops in JS.
 */
export function adamSimdKernel(memory: WebAssembly.Memory | undefined): AdamSimdKernel | null {
  if (!memory) return null;
  if (!instances.has(memory)) {
    let kernel: AdamSimdKernel | null = null;
    const bytes = moduleBytes(memory.buffer instanceof SharedArrayBuffer);
    if (WebAssembly.validate(bytes)) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      kernel = instance.exports.adam as AdamSimdKernel;
    }
    instances.set(memory, kernel);
  }
  return instances.get(memory) ?? null;
}
