#ifndef BNFILE_CMULTIPLYADD_H
#define BNFILE_CMULTIPLYADD_H

/// a*b + c, which the compiler may contract into one fused multiply-add (one rounding)
/// where the target has the instruction, or evaluate as a product and a sum (two
/// roundings) where it has not; never reassociated with anything around it.
///
/// Swift's own `addingProduct` always fuses (a library call where the instruction is
/// not compiled in, which no loop can vectorize), and swift-numerics'
/// `Relaxed.multiplyAdd` also allows reassociation, under which no step-by-step error
/// bound holds. The engine's per-channel bound (ChannelBoundFormulas.swift) covers
/// exactly these two cases, so the element loops vectorize, fused where they can be.
static inline __attribute__((always_inline)) double bn_multiply_add(double a, double b, double c) {
#pragma clang fp contract(fast)
    return a * b + c;
}

#endif
