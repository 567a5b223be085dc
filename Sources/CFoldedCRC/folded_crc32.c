// CRC-32 (the zip/gzip polynomial 0x04C11DB7, bit-reflected) by folding.
//
// A CRC is the remainder of the message, as a polynomial over GF(2), modulo P(x). The
// remainder of a long message can be built from short pieces because
//     (A(x) * x^k + B(x)) mod P = ((A(x) mod P) * (x^k mod P) + B(x)) mod P,
// and carry-less multiplication (PCLMULQDQ) is exactly polynomial multiplication over
// GF(2). So four 128-bit accumulators each take a 16-byte lane of every 64-byte block:
// an accumulator is "moved forward" 512 bits by multiplying its two 64-bit halves by
// the constants x^(512+64) mod P and x^512 mod P (the halves sit 64 bits apart), and the
// next block's bytes are XORed in. At the end the four are folded into one (constants
// for a 128-bit step), reduced to 64 bits, and then to 32 by Barrett reduction with
// mu = floor(x^64 / P). Everything is bit-reflected, as the zip CRC is, which is why
// the constants below are the reflected (and shifted by one) forms of those remainders.
//
// The constants are the standard ones for this polynomial (they appear in Intel's
// white paper "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ" and in
// the Linux kernel); the tests check the function against zlib on every length and
// alignment class that matters.

#include "CFoldedCRC.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int bn_crc32_folded_available(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_PCLMUL) && (c & bit_SSE4_1);
}

#define CLMUL(x, k, imm) _mm_clmulepi64_si128((x), (k), (imm))

__attribute__((target("pclmul,sse4.1")))
uint32_t bn_crc32_folded(uint32_t crc, const unsigned char *data, size_t length) {
    // Move 512 bits forward: (x^(512+32) mod P, x^(512-32) mod P), reflected and shifted.
    const __m128i by64 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    // Move 128 bits forward.
    const __m128i by16 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    // 64 to 32 bits, and Barrett's (P, mu).
    const __m128i last = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i barrett = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i a0 = _mm_loadu_si128((const __m128i *)(data + 0));
    __m128i a1 = _mm_loadu_si128((const __m128i *)(data + 16));
    __m128i a2 = _mm_loadu_si128((const __m128i *)(data + 32));
    __m128i a3 = _mm_loadu_si128((const __m128i *)(data + 48));
    // zlib's CRC is the register inverted; folding works on the register itself.
    a0 = _mm_xor_si128(a0, _mm_cvtsi32_si128((int)~crc));
    data += 64;
    length -= 64;

    while (length >= 64) {
        __m128i t0 = CLMUL(a0, by64, 0x00), t1 = CLMUL(a1, by64, 0x00);
        __m128i t2 = CLMUL(a2, by64, 0x00), t3 = CLMUL(a3, by64, 0x00);
        a0 = CLMUL(a0, by64, 0x11);
        a1 = CLMUL(a1, by64, 0x11);
        a2 = CLMUL(a2, by64, 0x11);
        a3 = CLMUL(a3, by64, 0x11);
        a0 = _mm_xor_si128(_mm_xor_si128(a0, t0), _mm_loadu_si128((const __m128i *)(data + 0)));
        a1 = _mm_xor_si128(_mm_xor_si128(a1, t1), _mm_loadu_si128((const __m128i *)(data + 16)));
        a2 = _mm_xor_si128(_mm_xor_si128(a2, t2), _mm_loadu_si128((const __m128i *)(data + 32)));
        a3 = _mm_xor_si128(_mm_xor_si128(a3, t3), _mm_loadu_si128((const __m128i *)(data + 48)));
        data += 64;
        length -= 64;
    }

    // Four accumulators into one, then any remaining 16-byte blocks.
    __m128i t;
    t = CLMUL(a0, by16, 0x00); a0 = CLMUL(a0, by16, 0x11); a0 = _mm_xor_si128(_mm_xor_si128(a0, t), a1);
    t = CLMUL(a0, by16, 0x00); a0 = CLMUL(a0, by16, 0x11); a0 = _mm_xor_si128(_mm_xor_si128(a0, t), a2);
    t = CLMUL(a0, by16, 0x00); a0 = CLMUL(a0, by16, 0x11); a0 = _mm_xor_si128(_mm_xor_si128(a0, t), a3);
    while (length >= 16) {
        t = CLMUL(a0, by16, 0x00);
        a0 = CLMUL(a0, by16, 0x11);
        a0 = _mm_xor_si128(_mm_xor_si128(a0, t), _mm_loadu_si128((const __m128i *)data));
        data += 16;
        length -= 16;
    }

    // 128 bits to 64.
    t = CLMUL(a0, by16, 0x10);
    a0 = _mm_xor_si128(_mm_srli_si128(a0, 8), t);
    t = _mm_srli_si128(a0, 4);
    a0 = CLMUL(_mm_and_si128(a0, low32), last, 0x00);
    a0 = _mm_xor_si128(a0, t);

    // Barrett reduction to 32 bits.
    t = CLMUL(_mm_and_si128(a0, low32), barrett, 0x10);
    t = CLMUL(_mm_and_si128(t, low32), barrett, 0x00);
    a0 = _mm_xor_si128(a0, t);
    return ~(uint32_t)_mm_extract_epi32(a0, 1);
}

#else

int bn_crc32_folded_available(void) { return 0; }
uint32_t bn_crc32_folded(uint32_t crc, const unsigned char *data, size_t length) {
    (void)data; (void)length;
    return crc;
}

#endif
