// The engine's worker threads: spin a little, then sleep on a futex. See CWorkerPool.h.
#define _GNU_SOURCE
#include "CWorkerPool.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

enum { max_workers = 63 };

/// How long a worker spins for the next job, and the caller for the last part, before
/// it sleeps: longer than a step of a small layer takes, so that such steps run back to
/// back without a wakeup, and short enough that the pause between two computations
/// costs a processor little.
static const long spin_nanoseconds = 250 * 1000;

/// A job, on the stack of the thread that runs it: `next` hands out parts, `done`
/// counts those finished, and `waiting` says that the caller sleeps on `done`.
struct job {
    bn_work work;
    void *context;
    long parts;
    _Atomic long next;
    _Atomic unsigned done;
    _Atomic int waiting;
};

static struct {
    pthread_once_t once;
    long workers;
    _Atomic int busy;
    /// Bumped for every job, after `current` is set: what sleeping workers wait on.
    _Atomic unsigned generation;
    _Atomic(struct job *) current;
    /// Workers inside a job (between reading `current` and their last part).
    _Atomic long active;
    _Atomic long sleepers;
} pool = {.once = PTHREAD_ONCE_INIT};

/// One round of a spin: a compiler barrier only. A PAUSE instruction here, the usual
/// courtesy to a sibling hardware thread, made a (32,64,56,56) layer 1.45x slower on
/// this project's virtual machine, where the hypervisor traps pause loops.
static inline void relax(void) { __asm__ volatile("" ::: "memory"); }

static long now_nanoseconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return time.tv_sec * 1000000000L + time.tv_nsec;
}

/// Spins until `*word != value` or `spin_nanoseconds` have passed (the clock read every
/// 64 rounds); returns the word's last value.
static unsigned spin_while(_Atomic unsigned *word, unsigned value) {
    long deadline = now_nanoseconds() + spin_nanoseconds;
    for (long round = 1;; round++) {
        unsigned now = atomic_load_explicit(word, memory_order_relaxed);
        if (now != value) return atomic_load(word);
        relax();
        if ((round & 63) == 0 && now_nanoseconds() > deadline) return now;
    }
}

static void sleep_while(_Atomic unsigned *word, unsigned value) {
#ifdef __linux__
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
#else
    (void)word;
    (void)value;
    sched_yield();
#endif
}

static void wake_all(_Atomic unsigned *word) {
#ifdef __linux__
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/// Runs parts of `job` until none is left; whoever finishes the last part wakes the
/// caller if it sleeps.
static void take_parts(struct job *job) {
    long part;
    while ((part = atomic_fetch_add(&job->next, 1)) < job->parts) {
        job->work(job->context, part);
        if (atomic_fetch_add(&job->done, 1) + 1 == (unsigned)job->parts && atomic_load(&job->waiting))
            wake_all(&job->done);
    }
}

/// The caller's wait for the last part: a spin, for the parts of small problems that
/// end within microseconds of each other, then sleep, so that a long part costs the
/// waiting processor nothing. `waiting` is set before `done` is read again, and the
/// last part reads `waiting` after counting itself (both sequentially consistent), so
/// either the caller sees every part done or the last part sees it waiting; the futex
/// refuses to sleep once `done` has moved.
static void wait_for_parts(struct job *job) {
    unsigned done = atomic_load(&job->done);
    while (done != (unsigned)job->parts) {
        done = spin_while(&job->done, done);
        if (done == (unsigned)job->parts) return;
        atomic_store(&job->waiting, 1);
        done = atomic_load(&job->done);
        if (done != (unsigned)job->parts) sleep_while(&job->done, done);
        done = atomic_load(&job->done);
    }
}

/// Waits until no worker is inside a job: each leaves it as soon as it finds no part
/// left, so spinning, and yielding the processor should that take long, is enough.
static void wait_for_workers(void) {
    for (long round = 0; atomic_load(&pool.active) > 0; round++) {
        if (round < (1 << 14)) {
            relax();
        } else {
            sched_yield();
        }
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    unsigned seen = atomic_load(&pool.generation);
    for (;;) {
        unsigned now = spin_while(&pool.generation, seen);
        if (now == seen) {
            // Announce the sleep before checking once more, so that a job published
            // after the check sees a sleeper and wakes it (both are sequentially
            // consistent); the futex itself refuses to sleep if the word has moved.
            atomic_fetch_add(&pool.sleepers, 1);
            if (atomic_load(&pool.generation) == seen) sleep_while(&pool.generation, seen);
            atomic_fetch_sub(&pool.sleepers, 1);
            now = atomic_load(&pool.generation);
            if (now == seen) continue;
        }
        seen = now;
        // Registered before reading the job: the caller clears `current` and then waits
        // for `active` to drain, so a job is never read after its caller has returned.
        atomic_fetch_add(&pool.active, 1);
        struct job *job = atomic_load(&pool.current);
        if (job) take_parts(job);
        atomic_fetch_sub(&pool.active, 1);
    }
    return NULL;
}

static void start_workers(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    long wanted = online > 1 ? online - 1 : 0;
    if (wanted > max_workers) wanted = max_workers;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    long started = 0;
    for (; started < wanted; started++) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, worker_main, NULL) != 0) break;
    }
    pthread_attr_destroy(&attributes);
    pool.workers = started;
}

int bn_workers_run(long parts, bn_work work, void *context) {
    pthread_once(&pool.once, start_workers);
    if (pool.workers == 0) return 0;
    int idle = 0;
    if (!atomic_compare_exchange_strong(&pool.busy, &idle, 1)) return 0;
    struct job job = {.work = work, .context = context, .parts = parts};
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    atomic_init(&job.waiting, 0);
    atomic_store(&pool.current, &job);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleepers) > 0) wake_all(&pool.generation);
    take_parts(&job);
    wait_for_parts(&job);
    atomic_store(&pool.current, NULL);
    wait_for_workers();
    atomic_store(&pool.busy, 0);
    return 1;
}
