#ifndef BNFILE_CSYSTEMFACTS_H
#define BNFILE_CSYSTEMFACTS_H

#include <unistd.h>

/// The processors online, at least 1: the one place the libraries ask the system how
/// many threads are worth running (NumPyFormat's CRC-32, the engine's default).
static inline long bn_processors_online(void) {
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? count : 1;
}

#endif
