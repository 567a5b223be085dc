// The engine's worker threads: spin a little, then sleep on a futex. See CWorkerPool.h.
#define _GNU_SOURCE
#include "CWorkerPool.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

enum { max_workers = 63, spin_rounds = 1 << 14 };

/// A job, on the stack of the thread that runs it: `next` hands out parts, `done`
/// counts those finished.
struct job {
    bn_work work;
    void *context;
    long parts;
    _Atomic long next;
    _Atomic long done;
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

/// Runs parts of `job` until none is left.
static void take_parts(struct job *job) {
    long part;
    while ((part = atomic_fetch_add(&job->next, 1)) < job->parts) {
        job->work(job->context, part);
        atomic_fetch_add(&job->done, 1);
    }
}

/// Waits, spinning and then yielding the processor, until `counter` reaches `target`.
static void wait_until(_Atomic long *counter, long target, int reached_from_below) {
    for (long round = 0;; round++) {
        long value = atomic_load(counter);
        if (reached_from_below ? value >= target : value <= target) return;
        if (round < spin_rounds) {
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
        unsigned now = seen;
        for (int round = 0; round < spin_rounds && now == seen; round++) {
            relax();
            now = atomic_load_explicit(&pool.generation, memory_order_relaxed);
        }
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
    atomic_store(&pool.current, &job);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleepers) > 0) wake_all(&pool.generation);
    take_parts(&job);
    wait_until(&job.done, parts, 1);
    atomic_store(&pool.current, NULL);
    wait_until(&pool.active, 0, 0);
    atomic_store(&pool.busy, 0);
    return 1;
}
