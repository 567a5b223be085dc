#ifndef BNFILE_CWORKERPOOL_H
#define BNFILE_CWORKERPOOL_H

/// One part of a parallel job: `part` in [0, parts).
typedef void (*bn_work)(void *context, long part);

/// Runs `work(context, part)` for every part in [0, parts) on the calling thread and the
/// pool's workers, and returns 1 once every part has returned; or returns 0 at once,
/// having run nothing, when the pool is already running a job (a nested or concurrent
/// call), so that the caller can run the parts another way.
///
/// The pool has one worker per processor online but one, started on first use (none on
/// one processor: then every call returns 0). A worker that finishes a job spins a quarter
/// of a millisecond before it sleeps, so that the next job of a computation (the
/// engine runs three or four in a row, some of a few microseconds each) starts without a
/// wakeup through the kernel, the latency that otherwise costs small problems more than
/// their arithmetic. Parts are taken from a shared counter, so any participant may run
/// any part; `work` must not depend on which thread runs it.
int bn_workers_run(long parts, bn_work work, void *context);

#endif
