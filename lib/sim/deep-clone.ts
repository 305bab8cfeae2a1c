/**
 * Generic deep copy of role state for the explorer: the protocol core is plain data (objects,
 * arrays, Maps, Sets), so one walk copies any role, keeping prototypes and shared references.
 */

/** Objects shared by every clone (never mutated): options, frozen constants. */
const SHARED = new WeakSet<object>();

/** Never copy `obj` (nor anything in it): every clone may share it because nobody mutates it. */
export function markShared(obj: object): void {
  SHARED.add(obj);
}

/** A deep copy of `v`; `memo` maps each object copied so far to its copy (shared references stay shared). */
export function cloneValue<T>(v: T, memo: Map<object, unknown>): T {
  if (typeof v !== 'object' || v === null) return v;
  const obj = v as unknown as object;
  if (SHARED.has(obj) || Object.isFrozen(obj) || ArrayBuffer.isView(obj)) return v;
  const seen = memo.get(obj);
  if (seen !== undefined) return seen as T;
  if (Array.isArray(obj)) {
    const a: unknown[] = new Array(obj.length);
    memo.set(obj, a);
    for (let i = 0; i < obj.length; i++) a[i] = cloneValue(obj[i], memo);
    return a as T;
  }
  if (obj instanceof Map) {
    const m = new Map();
    memo.set(obj, m);
    for (const [k, x] of obj) m.set(cloneValue(k, memo), cloneValue(x, memo));
    return m as T;
  }
  if (obj instanceof Set) {
    const s = new Set();
    memo.set(obj, s);
    for (const x of obj) s.add(cloneValue(x, memo));
    return s as T;
  }
  const o = Object.create(Object.getPrototypeOf(obj)) as Record<string, unknown>;
  memo.set(obj, o);
  for (const k of Object.keys(obj)) o[k] = cloneValue((obj as Record<string, unknown>)[k], memo);
  return o as T;
}
