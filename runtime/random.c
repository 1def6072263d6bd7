/* random.c -- the runtime's deterministic random numbers: xoshiro256**
 * (Blackman & Vigna), seeded through splitmix64 so that any 64-bit seed,
 * small ones included, gives a well-mixed, never all-zero state. The same
 * seed (weft_rt_options.seed, WEFT_SEED, --weft-seed=N) gives the same
 * sequence on every platform. */
#include "weft_private.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void weft__rng_seed(weft_rt *rt, uint64_t seed) {
  uint64_t x = seed ? seed : 1;
  for (int i = 0; i < 4; i++) rt->rng[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t weft_random(weft_rt *rt) {
  uint64_t *s = rt->rng;
  uint64_t r = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return r;
}

/* Rejection: values below 2^64 mod n would make the low residues more
 * likely, so they are drawn again (probability < n / 2^64 per draw). */
uint64_t weft_random_below(weft_rt *rt, uint64_t n) {
  if (n <= 1) return 0; /* n == 0 is a caller error: no abort, no division by zero */
  uint64_t threshold = (0 - n) % n; /* = 2^64 mod n */
  for (;;) {
    uint64_t r = weft_random(rt);
    if (r >= threshold) return r % n;
  }
}
