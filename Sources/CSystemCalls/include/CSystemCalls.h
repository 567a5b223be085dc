#ifndef BNFILE_CSYSTEMCALLS_H
#define BNFILE_CSYSTEMCALLS_H

// sync_file_range is a Linux extension, declared only under _GNU_SOURCE.
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <unistd.h>

/// The processors online, at least 1: the one place the libraries ask the system how
/// many threads are worth running (NumPyFormat's CRC-32, the engine's default).
static inline long bn_processors_online(void) {
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? count : 1;
}

/// Asks the kernel to start writing the bytes [offset, offset + length) of `fd` to the
/// device, without waiting for it (Linux's sync_file_range with SYNC_FILE_RANGE_WRITE).
/// A hint only: it makes nothing durable, and a later fsync still does that and reports
/// any I/O error. Returns 0, or -1 with errno (EINVAL, ESPIPE: the file cannot take the
/// hint), and is a no-op returning 0 where the call does not exist.
static inline int bn_start_writeback(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)offset;
    (void)length;
    return 0;
#endif
}

#endif
