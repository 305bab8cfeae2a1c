/** Shared by the storage tests and the writer child process. */

/** The value the crash test writes in `instance`: text and bytes, some spanning several pages. */
export function expectedValue(instance: number): string | Uint8Array {
  if (instance % 3 === 0) return `value ${instance} ✓ 𝄞 `.repeat(1 + (instance % 50));
  const bytes = new Uint8Array(100 + (instance % 7) * 1000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (instance + i) & 0xff;
  return bytes;
}
