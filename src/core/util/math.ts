/** a mod n in 0..n-1 for any integer a (JS % keeps the sign of a). */
export function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
