#ifndef BNFILE_CFOLDEDCRC_H
#define BNFILE_CFOLDEDCRC_H

#include <stddef.h>
#include <stdint.h>

/// Whether this processor has the carry-less multiply (PCLMULQDQ) and SSE4.1
/// instructions that `bn_crc32_folded` needs. Checked once per call site by the caller.
int bn_crc32_folded_available(void);

/// Advances a zip CRC-32 over `length` bytes at `data`, 16 bytes at a time by folding
/// with carry-less multiplication. `crc` and the result are finished CRC values, as
/// zlib's `crc32` takes and returns them. `length` must be at least 64 and a multiple
/// of 16; the caller hands any remainder to zlib. Only call it when
/// `bn_crc32_folded_available()` is true.
uint32_t bn_crc32_folded(uint32_t crc, const unsigned char *data, size_t length);

#endif
