/* misuse_table: every C function of rgcd.h × each class of bad input — NULL handle, NULL
 * function, wrong object type (another kind of rgcd object, or memory that is no rgcd
 * object), out-of-range value, invalid fd or signal, use after the final release, double
 * release/cancel/resume/leave, and misuse of state (deadlocks, over-signal) — with the
 * documented result: the status code (or NULL / 0 / "" for calls that return a value) and a
 * non-empty rgcd_last_error(). Where a call takes a function, a refused call never runs it.
 *
 * Each case runs in a forked child (a crash or a hang fails that case, not the table); the
 * parent makes no rgcd call, so every child starts with a fresh library. The program prints
 * the counts ("N cases, N passed"); with --markdown it prints the table instead (that is
 * docs/misuse.md's table: regenerate it with `build/tests/c/c_misuse_table --markdown`). */
#include "check.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

/* ---- what the cases share (all of it lives in the child) ---- */

static atomic_int must_not_run_calls;
static void must_not_run(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&must_not_run_calls, 1);
}
static void must_not_run_apply(void *ctx, size_t i) {
  (void)ctx;
  (void)i;
  atomic_fetch_add(&must_not_run_calls, 1);
}
static void nothing(void *ctx) { (void)ctx; }

static char key;
static int token;
/* Memory that is no rgcd object: zeroes, and all ones. */
static _Alignas(16) unsigned char not_an_object_0[128];
static _Alignas(16) unsigned char not_an_object_1[128];

#define FAIL(...)                                                                    \
  do {                                                                               \
    fprintf(stderr, __VA_ARGS__);                                                    \
    fprintf(stderr, " (rgcd_last_error: \"%s\")\n", check_last_error());             \
    _exit(1);                                                                        \
  } while (0)

static void expect_message(void) {
  const char *e = rgcd_last_error();
  if (e == NULL || e[0] == '\0') FAIL("no message in rgcd_last_error()");
}

/* A status call failed with `want` and left a message. */
static void expect_status(long long got, int want) {
  if (got != want) FAIL("status %lld, want %d (%s)", got, want, rgcd_strerror(want));
  if (want != RGCD_OK) expect_message();
}

/* A value-returning call returned its error value (NULL, 0, "") and left a message. */
static void expect_null(const void *p) {
  if (p != NULL) FAIL("returned %p, want NULL", p);
  expect_message();
}
static void expect_zero(unsigned long long v) {
  if (v != 0) FAIL("returned %llu, want 0", v);
  expect_message();
}
static void expect_empty(const char *s) {
  if (s == NULL || s[0] != '\0') FAIL("returned %s, want \"\"", s == NULL ? "NULL" : s);
  expect_message();
}

/* Nothing a refused call was given ran, even a little later. */
static void expect_not_run(void) {
  sleep_ms(20);
  if (atomic_load(&must_not_run_calls) != 0) FAIL("a refused function ran");
}

static void wait_freed(size_t base) {
  uint64_t end = now_ns() + 5000000000ull;
  while (rgcd_debug_live_objects() > base && now_ns() < end) sleep_ms(1);
  if (rgcd_debug_live_objects() > base) FAIL("a released object was not destroyed");
}

enum kind { K_QUEUE, K_GROUP, K_SEM, K_SOURCE, K_ANY };

static void *make(enum kind k) {
  void *o = NULL;
  switch (k) {
  case K_QUEUE:
  case K_ANY: o = rgcd_queue_create("misuse.q", RGCD_QUEUE_SERIAL); break;
  case K_GROUP: o = rgcd_group_create(); break;
  case K_SEM: o = rgcd_semaphore_create(0); break;
  case K_SOURCE: o = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, NULL); break;
  }
  if (o == NULL) FAIL("setup: could not create an object");
  return o;
}

/* A handle whose object was released (and destroyed) already. */
static void *released(enum kind k) {
  size_t base = rgcd_debug_live_objects();
  void *o = make(k);
  if (k == K_SOURCE && rgcd_source_cancel(o) != 0) FAIL("setup: cancel failed");
  if (rgcd_release(o) != 0) FAIL("setup: release failed");
  wait_freed(base);
  return o;
}

/* A live object of a kind the call does not take. */
static void *wrong_kind(enum kind k) {
  switch (k) {
  case K_QUEUE: return make(K_GROUP);
  case K_GROUP: return make(K_SEM);
  case K_SEM: return make(K_QUEUE);
  case K_SOURCE: return make(K_GROUP);
  default: return not_an_object_0;
  }
}

/* ---- generated cases: one call × each bad handle ---- */

/* How a call reports failure. */
enum ret { R_STATUS, R_NULL, R_ZERO, R_LABEL, R_QOS };
/* The handle argument may be NULL by contract (it then means a default). */
#define NULL_OK 1
/* The call takes a function: check that a refused call never ran it. */
#define TAKES_FN 2

struct handle_fn {
  const char *name; /* the call, with the handle argument shown as h */
  enum kind kind;   /* what h must be */
  enum ret ret;
  int flags;
  long long (*call)(void *h); /* returns the status, or the value as an integer */
};

#define P(x) ((long long)(intptr_t)(x))
static long long c_async(void *h) { return rgcd_async_f(h, NULL, must_not_run); }
static long long c_barrier_async(void *h) { return rgcd_barrier_async_f(h, NULL, must_not_run); }
static long long c_sync(void *h) { return rgcd_sync_f(h, NULL, must_not_run); }
static long long c_barrier_sync(void *h) { return rgcd_barrier_sync_f(h, NULL, must_not_run); }
static long long c_after(void *h) {
  return rgcd_after_f(rgcd_time(RGCD_TIME_NOW, 1000000), h, NULL, must_not_run);
}
static long long c_apply(void *h) { return rgcd_apply_f(4, h, NULL, must_not_run_apply); }
static long long c_set_specific(void *h) {
  return rgcd_queue_set_specific(h, &key, &token, must_not_run);
}
static long long c_get_specific(void *h) { return P(rgcd_queue_get_specific(h, &key)); }
static long long c_get_label(void *h) { return P(rgcd_queue_get_label(h)); }
static int qos_rel = 42;
static long long c_get_qos(void *h) { return rgcd_queue_get_qos_class(h, &qos_rel); }
static long long c_create_with_target(void *h) {
  return P(rgcd_queue_create_with_target("misuse.t", RGCD_QUEUE_SERIAL, h));
}
static long long c_source_create_q(void *h) {
  return P(rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, h));
}
static long long c_group_async_q(void *h) {
  return rgcd_group_async_f(make(K_GROUP), h, NULL, must_not_run);
}
static long long c_group_notify_q(void *h) {
  return rgcd_group_notify_f(make(K_GROUP), h, NULL, must_not_run);
}
static long long c_set_target_t(void *h) { return rgcd_set_target_queue(make(K_QUEUE), h); }

static long long c_group_enter(void *h) { return rgcd_group_enter(h); }
static long long c_group_leave(void *h) { return rgcd_group_leave(h); }
static long long c_group_wait(void *h) { return rgcd_group_wait(h, RGCD_TIME_NOW); }
static long long c_group_notify(void *h) {
  return rgcd_group_notify_f(h, make(K_QUEUE), NULL, must_not_run);
}
static long long c_group_async(void *h) {
  return rgcd_group_async_f(h, make(K_QUEUE), NULL, must_not_run);
}

static long long c_sem_wait(void *h) { return rgcd_semaphore_wait(h, RGCD_TIME_NOW); }
static long long c_sem_signal(void *h) { return rgcd_semaphore_signal(h); }

static long long c_src_event(void *h) { return rgcd_source_set_event_handler_f(h, must_not_run); }
static long long c_src_cancel_h(void *h) {
  return rgcd_source_set_cancel_handler_f(h, must_not_run);
}
static long long c_src_reg_h(void *h) {
  return rgcd_source_set_registration_handler_f(h, must_not_run);
}
static long long c_src_ctx_h(void *h) {
  return rgcd_source_set_handler_ctx_f(h, RGCD_SOURCE_HANDLER_EVENT, must_not_run, &token,
                                       must_not_run);
}
static long long c_src_cancel(void *h) { return rgcd_source_cancel(h); }
static long long c_src_testcancel(void *h) { return rgcd_source_testcancel(h); }
static long long c_src_data(void *h) { return (long long)rgcd_source_get_data(h); }
static long long c_src_handle(void *h) { return (long long)rgcd_source_get_handle(h); }
static long long c_src_mask(void *h) { return (long long)rgcd_source_get_mask(h); }
static long long c_src_merge(void *h) { return rgcd_source_merge_data(h, 1); }
static long long c_src_timer(void *h) {
  return rgcd_source_set_timer(h, RGCD_TIME_NOW, RGCD_TIME_FOREVER, 0);
}

static long long c_retain(void *h) { return rgcd_retain(h); }
static long long c_release(void *h) { return rgcd_release(h); }
static long long c_suspend(void *h) { return rgcd_suspend(h); }
static long long c_resume(void *h) { return rgcd_resume(h); }
static long long c_activate(void *h) { return rgcd_activate(h); }
static long long c_set_context(void *h) { return rgcd_set_context(h, &token); }
static long long c_get_context(void *h) { return P(rgcd_get_context(h)); }
static long long c_set_finalizer(void *h) { return rgcd_set_finalizer_f(h, must_not_run); }
static long long c_set_target_o(void *h) { return rgcd_set_target_queue(h, NULL); }

static const struct handle_fn handle_fns[] = {
    {"rgcd_retain(h)", K_ANY, R_STATUS, 0, c_retain},
    {"rgcd_release(h)", K_ANY, R_STATUS, 0, c_release},
    {"rgcd_suspend(h)", K_ANY, R_STATUS, 0, c_suspend},
    {"rgcd_resume(h)", K_ANY, R_STATUS, 0, c_resume},
    {"rgcd_activate(h)", K_ANY, R_STATUS, 0, c_activate},
    {"rgcd_set_context(h, ctx)", K_ANY, R_STATUS, 0, c_set_context},
    {"rgcd_get_context(h)", K_ANY, R_NULL, 0, c_get_context},
    {"rgcd_set_finalizer_f(h, f)", K_ANY, R_STATUS, TAKES_FN, c_set_finalizer},
    {"rgcd_set_target_queue(h, NULL)", K_ANY, R_STATUS, 0, c_set_target_o},
    {"rgcd_set_target_queue(q, h)", K_QUEUE, R_STATUS, NULL_OK, c_set_target_t},
    {"rgcd_queue_create_with_target(label, attr, h)", K_QUEUE, R_NULL, NULL_OK,
     c_create_with_target},
    {"rgcd_queue_get_label(h)", K_QUEUE, R_LABEL, NULL_OK, c_get_label},
    {"rgcd_queue_get_qos_class(h, &rel)", K_QUEUE, R_QOS, 0, c_get_qos},
    {"rgcd_async_f(h, ctx, f)", K_QUEUE, R_STATUS, TAKES_FN, c_async},
    {"rgcd_barrier_async_f(h, ctx, f)", K_QUEUE, R_STATUS, TAKES_FN, c_barrier_async},
    {"rgcd_sync_f(h, ctx, f)", K_QUEUE, R_STATUS, TAKES_FN, c_sync},
    {"rgcd_barrier_sync_f(h, ctx, f)", K_QUEUE, R_STATUS, TAKES_FN, c_barrier_sync},
    {"rgcd_after_f(when, h, ctx, f)", K_QUEUE, R_STATUS, TAKES_FN, c_after},
    {"rgcd_apply_f(n, h, ctx, f)", K_QUEUE, R_STATUS, NULL_OK | TAKES_FN, c_apply},
    {"rgcd_queue_set_specific(h, key, ctx, dtor)", K_QUEUE, R_STATUS, TAKES_FN, c_set_specific},
    {"rgcd_queue_get_specific(h, key)", K_QUEUE, R_NULL, 0, c_get_specific},
    {"rgcd_group_enter(h)", K_GROUP, R_STATUS, 0, c_group_enter},
    {"rgcd_group_leave(h)", K_GROUP, R_STATUS, 0, c_group_leave},
    {"rgcd_group_wait(h, when)", K_GROUP, R_STATUS, 0, c_group_wait},
    {"rgcd_group_notify_f(h, q, ctx, f)", K_GROUP, R_STATUS, TAKES_FN, c_group_notify},
    {"rgcd_group_notify_f(g, h, ctx, f)", K_QUEUE, R_STATUS, TAKES_FN, c_group_notify_q},
    {"rgcd_group_async_f(h, q, ctx, f)", K_GROUP, R_STATUS, TAKES_FN, c_group_async},
    {"rgcd_group_async_f(g, h, ctx, f)", K_QUEUE, R_STATUS, TAKES_FN, c_group_async_q},
    {"rgcd_semaphore_wait(h, when)", K_SEM, R_STATUS, 0, c_sem_wait},
    {"rgcd_semaphore_signal(h)", K_SEM, R_STATUS, 0, c_sem_signal},
    {"rgcd_source_create(type, 0, 0, h)", K_QUEUE, R_NULL, NULL_OK, c_source_create_q},
    {"rgcd_source_set_event_handler_f(h, f)", K_SOURCE, R_STATUS, TAKES_FN, c_src_event},
    {"rgcd_source_set_cancel_handler_f(h, f)", K_SOURCE, R_STATUS, TAKES_FN, c_src_cancel_h},
    {"rgcd_source_set_registration_handler_f(h, f)", K_SOURCE, R_STATUS, TAKES_FN,
     c_src_reg_h},
    {"rgcd_source_set_handler_ctx_f(h, which, f, ctx, release)", K_SOURCE, R_STATUS, TAKES_FN,
     c_src_ctx_h},
    {"rgcd_source_cancel(h)", K_SOURCE, R_STATUS, 0, c_src_cancel},
    {"rgcd_source_testcancel(h)", K_SOURCE, R_STATUS, 0, c_src_testcancel},
    {"rgcd_source_get_data(h)", K_SOURCE, R_ZERO, 0, c_src_data},
    {"rgcd_source_get_handle(h)", K_SOURCE, R_ZERO, 0, c_src_handle},
    {"rgcd_source_get_mask(h)", K_SOURCE, R_ZERO, 0, c_src_mask},
    {"rgcd_source_merge_data(h, v)", K_SOURCE, R_STATUS, 0, c_src_merge},
    {"rgcd_source_set_timer(h, start, interval, leeway)", K_SOURCE, R_STATUS, 0, c_src_timer},
};
#define NHANDLE_FNS (sizeof handle_fns / sizeof handle_fns[0])

enum bad_handle { B_NULL, B_WRONG_KIND, B_NOT_OBJECT, B_RELEASED, NBAD };
static const char *const bad_class[NBAD] = {"NULL handle", "wrong object type",
                                            "wrong object type", "use after final release"};
static const char *kind_name(enum kind k) {
  switch (k) {
  case K_QUEUE: return "queue";
  case K_GROUP: return "group";
  case K_SEM: return "semaphore";
  case K_SOURCE: return "source";
  default: return "object";
  }
}

/* Describes a generated case's input and result (for the table). */
static void describe_handle_case(const struct handle_fn *f, enum bad_handle b, char *input,
                                 size_t ni, char *result, size_t nr) {
  static const char *const wrong_of[] = {"a group", "a semaphore", "a queue", "a group", ""};
  switch (b) {
  case B_NULL: snprintf(input, ni, "h = NULL"); break;
  case B_WRONG_KIND:
    snprintf(input, ni, "h = %s (wants a %s)", wrong_of[f->kind], kind_name(f->kind));
    break;
  case B_NOT_OBJECT: snprintf(input, ni, "h = memory that is no rgcd object"); break;
  case B_RELEASED:
    snprintf(input, ni, "h = %s %s released already%s", f->kind == K_ANY ? "an" : "a",
             kind_name(f->kind),
             strncmp(f->name, "rgcd_release", 12) == 0 ? " (double release)" : "");
    break;
  default: break;
  }
  int code = b == B_NULL ? RGCD_EINVAL : RGCD_ETYPE;
  const char *cname = b == B_NULL ? "RGCD_EINVAL" : "RGCD_ETYPE";
  switch (f->ret) {
  case R_STATUS: snprintf(result, nr, "`%s`", cname); break;
  case R_NULL: snprintf(result, nr, "NULL (%s)", b == B_NULL ? "invalid" : "wrong type"); break;
  case R_ZERO: snprintf(result, nr, "0"); break;
  case R_LABEL: snprintf(result, nr, "\"\""); break;
  case R_QOS: snprintf(result, nr, "`RGCD_QOS_UNSPECIFIED`, `*rel = 0`"); break;
  }
  (void)code;
}

static bool handle_case_applies(const struct handle_fn *f, enum bad_handle b) {
  if (b == B_NULL && (f->flags & NULL_OK)) return false;
  if (b == B_WRONG_KIND && f->kind == K_ANY) return false; /* any object is the right kind */
  return true;
}

static void run_handle_case(const struct handle_fn *f, enum bad_handle b) {
  void *h = NULL;
  switch (b) {
  case B_NULL: h = NULL; break;
  case B_WRONG_KIND: h = wrong_kind(f->kind); break;
  case B_NOT_OBJECT:
    memset(not_an_object_1, 0xff, sizeof not_an_object_1);
    h = not_an_object_1;
    break;
  case B_RELEASED: h = released(f->kind); break;
  default: break;
  }
  int want = b == B_NULL ? RGCD_EINVAL : RGCD_ETYPE;
  long long got = f->call(h);
  switch (f->ret) {
  case R_STATUS: expect_status(got, want); break;
  case R_NULL: expect_null((const void *)(intptr_t)got); break;
  case R_ZERO: expect_zero((unsigned long long)got); break;
  case R_LABEL: expect_empty((const char *)(intptr_t)got); break;
  case R_QOS:
    expect_zero((unsigned long long)got);
    if (qos_rel != 0) FAIL("*relative_priority = %d, want 0", qos_rel);
    break;
  }
  if (f->flags & TAKES_FN) expect_not_run();
}

/* ---- written-out cases: NULL functions, values, fds, signals, doubles, state ---- */

struct manual {
  const char *fn;
  const char *cls;
  const char *input;
  const char *result;
  void (*run)(void);
};

static rgcd_queue_t q(void) { return make(K_QUEUE); }
static rgcd_queue_t global(void) { return rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0); }

#define STATUS_CASE(name, call, want)                                                \
  static void name(void) {                                                           \
    expect_status((call), (want));                                                   \
    expect_not_run();                                                                \
  }
#define NULL_CASE(name, call)                                                        \
  static void name(void) { expect_null((const void *)(call)); }

/* NULL function */
STATUS_CASE(m_async_nullf, rgcd_async_f(q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_barrier_async_nullf, rgcd_barrier_async_f(q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_sync_nullf, rgcd_sync_f(q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_barrier_sync_nullf, rgcd_barrier_sync_f(q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_after_nullf, rgcd_after_f(RGCD_TIME_NOW, q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_apply_nullf, rgcd_apply_f(4, q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_apply_auto_nullf, rgcd_apply_f(4, NULL, NULL, NULL), RGCD_EINVAL)
static rgcd_once_t pred0;
STATUS_CASE(m_once_nullf, rgcd_once_f(&pred0, NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_once_nullpred, rgcd_once_f(NULL, NULL, must_not_run), RGCD_EINVAL)
STATUS_CASE(m_notify_nullf, rgcd_group_notify_f(make(K_GROUP), q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_gasync_nullf, rgcd_group_async_f(make(K_GROUP), q(), NULL, NULL), RGCD_EINVAL)
STATUS_CASE(m_src_event_nullf, rgcd_source_set_event_handler_f(make(K_SOURCE), NULL),
            RGCD_EINVAL)
STATUS_CASE(m_src_ctx_nullf,
            rgcd_source_set_handler_ctx_f(make(K_SOURCE), 0, NULL, &token, must_not_run),
            RGCD_EINVAL)
STATUS_CASE(m_set_specific_nullkey, rgcd_queue_set_specific(q(), NULL, &token, must_not_run),
            RGCD_EINVAL)

/* wrong object type: the right handle type, an object that does not support the call */
STATUS_CASE(m_suspend_group, rgcd_suspend(make(K_GROUP)), RGCD_ENOTSUP)
STATUS_CASE(m_suspend_sem, rgcd_suspend(make(K_SEM)), RGCD_ENOTSUP)
STATUS_CASE(m_suspend_global, rgcd_suspend(global()), RGCD_ENOTSUP)
STATUS_CASE(m_resume_group, rgcd_resume(make(K_GROUP)), RGCD_ENOTSUP)
STATUS_CASE(m_resume_sem, rgcd_resume(make(K_SEM)), RGCD_ENOTSUP)
STATUS_CASE(m_resume_global, rgcd_resume(global()), RGCD_ENOTSUP)
STATUS_CASE(m_activate_group, rgcd_activate(make(K_GROUP)), RGCD_ENOTSUP)
STATUS_CASE(m_activate_sem, rgcd_activate(make(K_SEM)), RGCD_ENOTSUP)
STATUS_CASE(m_set_context_global, rgcd_set_context(global(), &token), RGCD_ENOTSUP)
STATUS_CASE(m_set_finalizer_global, rgcd_set_finalizer_f(global(), must_not_run), RGCD_ENOTSUP)
STATUS_CASE(m_set_target_global, rgcd_set_target_queue(global(), q()), RGCD_ENOTSUP)
STATUS_CASE(m_set_target_group, rgcd_set_target_queue(make(K_GROUP), q()), RGCD_ETYPE)
STATUS_CASE(m_set_specific_global,
            rgcd_queue_set_specific(global(), &key, &token, must_not_run), RGCD_ENOTSUP)
static rgcd_source_t timer_source(void) {
  rgcd_source_t s = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, NULL);
  if (s == NULL) FAIL("setup: timer source");
  return s;
}
STATUS_CASE(m_merge_timer, rgcd_source_merge_data(timer_source(), 1), RGCD_ENOTSUP)
STATUS_CASE(m_timer_data,
            rgcd_source_set_timer(make(K_SOURCE), RGCD_TIME_NOW, RGCD_TIME_FOREVER, 0),
            RGCD_ENOTSUP)

/* out-of-range values */
NULL_CASE(m_qcreate_bits, rgcd_queue_create("m", 4u))
NULL_CASE(m_qcreate_high, rgcd_queue_create("m", 0x80000000u))
NULL_CASE(m_qcreate_qos, rgcd_queue_create("m", 0x07u << RGCD_QUEUE_QOS_SHIFT))
NULL_CASE(m_qcreate_target_bits, rgcd_queue_create_with_target("m", 4u, q()))
NULL_CASE(m_global_id, rgcd_get_global_queue(12345, 0))
NULL_CASE(m_global_flags, rgcd_get_global_queue(RGCD_QOS_DEFAULT, 1))
NULL_CASE(m_sem_negative, rgcd_semaphore_create(-1))
NULL_CASE(m_sem_min, rgcd_semaphore_create(INTPTR_MIN))
STATUS_CASE(m_sem_overflow, rgcd_semaphore_signal(rgcd_semaphore_create(INTPTR_MAX)),
            RGCD_ESTATE)
static void m_suspend_overflow(void) {
  rgcd_queue_t qq = q();
  for (int i = 0; i < 0xffff; i++)
    if (rgcd_suspend(qq) != 0) FAIL("suspend %d failed", i);
  expect_status(rgcd_suspend(qq), RGCD_ESTATE);
}
static void m_once_garbage(void) {
  rgcd_once_t pred = 0x5a5a;
  expect_status(rgcd_once_f(&pred, NULL, must_not_run), RGCD_EINVAL);
  if (pred != 0x5a5a) FAIL("the predicate changed");
  expect_not_run();
}
NULL_CASE(m_src_type0, rgcd_source_create(0, 0, 0, NULL))
NULL_CASE(m_src_type99, rgcd_source_create(99, 0, 0, NULL))
NULL_CASE(m_src_data_handle, rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 1, 0, NULL))
NULL_CASE(m_src_data_mask, rgcd_source_create(RGCD_SOURCE_TYPE_DATA_OR, 0, 1, NULL))
NULL_CASE(m_src_timer_mask, rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 2, NULL))
NULL_CASE(m_src_proc_mask,
          rgcd_source_create(RGCD_SOURCE_TYPE_PROC, (uintptr_t)getpid(), 1, NULL))
NULL_CASE(m_src_proc_pid0, rgcd_source_create(RGCD_SOURCE_TYPE_PROC, 0, RGCD_PROC_EXIT, NULL))
STATUS_CASE(m_src_ctx_which,
            rgcd_source_set_handler_ctx_f(make(K_SOURCE), 3, must_not_run, &token,
                                          must_not_run),
            RGCD_EINVAL)
STATUS_CASE(m_timer_interval,
            rgcd_source_set_timer(timer_source(), RGCD_TIME_NOW, (uint64_t)-5, 0), RGCD_EINVAL)
STATUS_CASE(m_timer_leeway,
            rgcd_source_set_timer(timer_source(), RGCD_TIME_NOW, 1000000, (uint64_t)-5),
            RGCD_EINVAL)
static void m_target_cycle(void) {
  rgcd_queue_t a = q();
  rgcd_queue_t b = rgcd_queue_create_with_target("m.b", RGCD_QUEUE_SERIAL, a);
  if (b == NULL) FAIL("setup");
  expect_status(rgcd_set_target_queue(a, b), RGCD_EINVAL);
}
static void m_target_self(void) {
  rgcd_queue_t a = q();
  expect_status(rgcd_set_target_queue(a, a), RGCD_EINVAL);
}

/* invalid fd or signal */
NULL_CASE(m_src_read_badfd, rgcd_source_create(RGCD_SOURCE_TYPE_READ, 1000000, 0, NULL))
NULL_CASE(m_src_read_negfd, rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)-1, 0, NULL))
NULL_CASE(m_src_write_badfd, rgcd_source_create(RGCD_SOURCE_TYPE_WRITE, 1000000, 0, NULL))
NULL_CASE(m_src_read_mask, rgcd_source_create(RGCD_SOURCE_TYPE_READ, 0, 1, NULL))
NULL_CASE(m_src_sig0, rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, 0, 0, NULL))
NULL_CASE(m_src_sigkill, rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, SIGKILL, 0, NULL))
NULL_CASE(m_src_sigstop, rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, SIGSTOP, 0, NULL))
NULL_CASE(m_src_sig65, rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, 65, 0, NULL))
NULL_CASE(m_src_sig32, rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, 32, 0, NULL))
static atomic_int cancel_ran;
static void count_cancel(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&cancel_ran, 1);
}
static void m_activate_closed_fd(void) {
  int fds[2];
  if (pipe(fds) != 0) FAIL("setup: pipe");
  rgcd_source_t s = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)fds[0], 0, NULL);
  if (s == NULL) FAIL("setup: source");
  rgcd_source_set_event_handler_f(s, must_not_run);
  rgcd_source_set_cancel_handler_f(s, count_cancel);
  close(fds[0]);
  expect_status(rgcd_activate(s), RGCD_EINVAL);
  WAIT_UNTIL(atomic_load(&cancel_ran) == 1, 5000); /* cancelled: its cancel handler, once */
  expect_not_run();
  if (atomic_load(&cancel_ran) != 1) FAIL("cancel handler ran %d times", atomic_load(&cancel_ran));
}

/* double resume / leave / cancel, unbalanced calls */
static void m_resume_twice(void) {
  rgcd_queue_t qq = q();
  if (rgcd_suspend(qq) != 0 || rgcd_resume(qq) != 0) FAIL("setup");
  expect_status(rgcd_resume(qq), RGCD_ESTATE);
}
STATUS_CASE(m_resume_never, rgcd_resume(q()), RGCD_ESTATE)
static void m_resume_source_twice(void) {
  rgcd_source_t s = make(K_SOURCE);
  if (rgcd_set_context(s, NULL) != 0 || rgcd_source_set_event_handler_f(s, nothing) != 0 ||
      rgcd_activate(s) != 0)
    FAIL("setup");
  expect_status(rgcd_resume(s), RGCD_ESTATE);
}
STATUS_CASE(m_leave_never, rgcd_group_leave(make(K_GROUP)), RGCD_ESTATE)
static void m_leave_twice(void) {
  rgcd_group_t g = make(K_GROUP);
  if (rgcd_group_enter(g) != 0 || rgcd_group_leave(g) != 0) FAIL("setup");
  expect_status(rgcd_group_leave(g), RGCD_ESTATE);
  expect_status(rgcd_group_wait(g, RGCD_TIME_NOW), RGCD_OK); /* the count did not move */
}
static void m_cancel_twice(void) {
  rgcd_source_t s = make(K_SOURCE);
  rgcd_source_set_event_handler_f(s, nothing);
  rgcd_source_set_cancel_handler_f(s, count_cancel);
  if (rgcd_activate(s) != 0) FAIL("setup");
  expect_status(rgcd_source_cancel(s), RGCD_OK);
  expect_status(rgcd_source_cancel(s), RGCD_OK); /* documented: fine, no second handler */
  WAIT_UNTIL(atomic_load(&cancel_ran) == 1, 5000);
  sleep_ms(20);
  if (atomic_load(&cancel_ran) != 1) FAIL("cancel handler ran %d times", atomic_load(&cancel_ran));
}
static void m_release_suspended(void) {
  rgcd_queue_t qq = q();
  if (rgcd_suspend(qq) != 0 || rgcd_async_f(qq, NULL, must_not_run) != 0) FAIL("setup");
  expect_status(rgcd_release(qq), RGCD_ESTATE);
  expect_not_run();
}
static void m_release_global(void) {
  expect_status(rgcd_release(global()), RGCD_OK);
  expect_status(rgcd_release(rgcd_get_main_queue()), RGCD_OK);
}

/* state: deadlocks and calls from the wrong place */
static rgcd_queue_t self_q;
static int inner_status = 12345;
static void sync_self(void *ctx) {
  (void)ctx;
  inner_status = rgcd_sync_f(self_q, NULL, must_not_run);
}
static void barrier_self(void *ctx) {
  (void)ctx;
  inner_status = rgcd_barrier_sync_f(self_q, NULL, must_not_run);
}
static void m_sync_deadlock(void) {
  self_q = q();
  if (rgcd_sync_f(self_q, NULL, sync_self) != 0) FAIL("outer sync");
  expect_status(inner_status, RGCD_EDEADLK);
  expect_not_run();
}
static void m_barrier_sync_deadlock(void) {
  self_q = rgcd_queue_create("m.c", RGCD_QUEUE_CONCURRENT);
  if (rgcd_barrier_sync_f(self_q, NULL, barrier_self) != 0) FAIL("outer barrier sync");
  expect_status(inner_status, RGCD_EDEADLK);
  expect_not_run();
}
static rgcd_once_t rec_pred;
static void once_again(void *ctx) {
  (void)ctx;
  inner_status = rgcd_once_f(&rec_pred, NULL, must_not_run);
}
static void m_once_recursive(void) {
  if (rgcd_once_f(&rec_pred, NULL, once_again) != 0) FAIL("outer once");
  expect_status(inner_status, RGCD_EDEADLK);
  expect_not_run();
}
static void *main_off_thread(void *arg) {
  (void)arg;
  inner_status = rgcd_main();
  return NULL;
}
static void m_main_off_thread(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, main_off_thread, NULL) != 0) FAIL("setup");
  pthread_join(t, NULL);
  if (inner_status != RGCD_EINVAL) FAIL("rgcd_main off the main thread: %d", inner_status);
}

/* accepted edges (documented results, not errors) */
static void m_after_forever(void) {
  expect_status(rgcd_after_f(RGCD_TIME_FOREVER, q(), NULL, must_not_run), RGCD_OK);
  expect_not_run();
}
static void m_apply_zero(void) {
  expect_status(rgcd_apply_f(0, q(), NULL, must_not_run_apply), RGCD_OK);
  expect_not_run();
}
static void m_time_saturates(void) {
  if (rgcd_time(RGCD_TIME_FOREVER, -1) != RGCD_TIME_FOREVER) FAIL("FOREVER - 1 moved");
  if (rgcd_time(RGCD_TIME_NOW, INT64_MAX) != RGCD_TIME_FOREVER &&
      rgcd_time(rgcd_time(RGCD_TIME_NOW, INT64_MAX), INT64_MAX) != RGCD_TIME_FOREVER)
    FAIL("overflow did not saturate");
}
static void m_strerror_unknown(void) {
  const char *s = rgcd_strerror(-12345);
  if (s == NULL || strcmp(s, "unknown status") != 0) FAIL("strerror(-12345) = %s", s);
}
static void m_label_null(void) {
  const char *s = rgcd_queue_get_label(NULL);
  if (s == NULL) FAIL("rgcd_queue_get_label(NULL) returned NULL");
}

#define OK_RESULT "0 (accepted)"
static const struct manual manuals[] = {
    {"rgcd_async_f", "NULL function", "f = NULL", "`RGCD_EINVAL`", m_async_nullf},
    {"rgcd_barrier_async_f", "NULL function", "f = NULL", "`RGCD_EINVAL`", m_barrier_async_nullf},
    {"rgcd_sync_f", "NULL function", "f = NULL", "`RGCD_EINVAL`", m_sync_nullf},
    {"rgcd_barrier_sync_f", "NULL function", "f = NULL", "`RGCD_EINVAL`", m_barrier_sync_nullf},
    {"rgcd_after_f", "NULL function", "f = NULL", "`RGCD_EINVAL`", m_after_nullf},
    {"rgcd_apply_f", "NULL function", "f = NULL", "`RGCD_EINVAL`", m_apply_nullf},
    {"rgcd_apply_f", "NULL function", "f = NULL, queue NULL (auto)", "`RGCD_EINVAL`",
     m_apply_auto_nullf},
    {"rgcd_once_f", "NULL function", "f = NULL", "`RGCD_EINVAL`, predicate untouched",
     m_once_nullf},
    {"rgcd_once_f", "NULL handle", "predicate = NULL", "`RGCD_EINVAL`", m_once_nullpred},
    {"rgcd_group_notify_f", "NULL function", "f = NULL", "`RGCD_EINVAL`", m_notify_nullf},
    {"rgcd_group_async_f", "NULL function", "f = NULL", "`RGCD_EINVAL`, count unchanged",
     m_gasync_nullf},
    {"rgcd_source_set_event_handler_f", "NULL function", "handler = NULL", "`RGCD_EINVAL`",
     m_src_event_nullf},
    {"rgcd_source_set_handler_ctx_f", "NULL function", "handler = NULL",
     "`RGCD_EINVAL`, release never called", m_src_ctx_nullf},
    {"rgcd_queue_set_specific", "NULL handle", "key = NULL", "`RGCD_EINVAL`",
     m_set_specific_nullkey},
    {"rgcd_suspend", "wrong object type", "a group", "`RGCD_ENOTSUP`", m_suspend_group},
    {"rgcd_suspend", "wrong object type", "a semaphore", "`RGCD_ENOTSUP`", m_suspend_sem},
    {"rgcd_suspend", "wrong object type", "a global queue", "`RGCD_ENOTSUP`", m_suspend_global},
    {"rgcd_resume", "wrong object type", "a group", "`RGCD_ENOTSUP`", m_resume_group},
    {"rgcd_resume", "wrong object type", "a semaphore", "`RGCD_ENOTSUP`", m_resume_sem},
    {"rgcd_resume", "wrong object type", "a global queue", "`RGCD_ENOTSUP`", m_resume_global},
    {"rgcd_activate", "wrong object type", "a group", "`RGCD_ENOTSUP`", m_activate_group},
    {"rgcd_activate", "wrong object type", "a semaphore", "`RGCD_ENOTSUP`", m_activate_sem},
    {"rgcd_set_context", "wrong object type", "a global queue", "`RGCD_ENOTSUP`",
     m_set_context_global},
    {"rgcd_set_finalizer_f", "wrong object type", "a global queue", "`RGCD_ENOTSUP`",
     m_set_finalizer_global},
    {"rgcd_set_target_queue", "wrong object type", "object = a global queue", "`RGCD_ENOTSUP`",
     m_set_target_global},
    {"rgcd_set_target_queue", "wrong object type", "object = a group", "`RGCD_ETYPE`",
     m_set_target_group},
    {"rgcd_queue_set_specific", "wrong object type", "a global queue",
     "`RGCD_ENOTSUP` (libdispatch crashes)", m_set_specific_global},
    {"rgcd_source_merge_data", "wrong object type", "a timer source", "`RGCD_ENOTSUP`",
     m_merge_timer},
    {"rgcd_source_set_timer", "wrong object type", "a data source", "`RGCD_ENOTSUP`",
     m_timer_data},
    {"rgcd_queue_create", "out-of-range value", "attr = 4 (unknown bit)", "NULL (invalid)",
     m_qcreate_bits},
    {"rgcd_queue_create", "out-of-range value", "attr = 0x80000000", "NULL (invalid)",
     m_qcreate_high},
    {"rgcd_queue_create", "out-of-range value", "QoS 0x07 in attr", "NULL (invalid)",
     m_qcreate_qos},
    {"rgcd_queue_create_with_target", "out-of-range value", "attr = 4", "NULL (invalid)",
     m_qcreate_target_bits},
    {"rgcd_get_global_queue", "out-of-range value", "identifier 12345", "NULL (invalid)",
     m_global_id},
    {"rgcd_get_global_queue", "out-of-range value", "flags = 1", "NULL (invalid)",
     m_global_flags},
    {"rgcd_semaphore_create", "out-of-range value", "value = -1", "NULL (invalid)",
     m_sem_negative},
    {"rgcd_semaphore_create", "out-of-range value", "value = INTPTR_MIN", "NULL (invalid)",
     m_sem_min},
    {"rgcd_semaphore_signal", "out-of-range value", "count at INTPTR_MAX",
     "`RGCD_ESTATE`, count unchanged", m_sem_overflow},
    {"rgcd_suspend", "out-of-range value", "65536th nested suspend", "`RGCD_ESTATE`",
     m_suspend_overflow},
    {"rgcd_once_f", "out-of-range value", "predicate never zero-initialised (0x5a5a)",
     "`RGCD_EINVAL`, predicate untouched", m_once_garbage},
    {"rgcd_source_create", "out-of-range value", "type 0", "NULL (invalid)", m_src_type0},
    {"rgcd_source_create", "out-of-range value", "type 99", "NULL (invalid)", m_src_type99},
    {"rgcd_source_create", "out-of-range value", "DATA_ADD with handle 1", "NULL (invalid)",
     m_src_data_handle},
    {"rgcd_source_create", "out-of-range value", "DATA_OR with mask 1", "NULL (invalid)",
     m_src_data_mask},
    {"rgcd_source_create", "out-of-range value", "TIMER with mask 2", "NULL (invalid)",
     m_src_timer_mask},
    {"rgcd_source_create", "out-of-range value", "PROC with mask 1 (unknown flag)",
     "NULL (invalid)", m_src_proc_mask},
    {"rgcd_source_create", "out-of-range value", "PROC with pid 0", "NULL (invalid)",
     m_src_proc_pid0},
    {"rgcd_source_set_handler_ctx_f", "out-of-range value", "which = 3",
     "`RGCD_EINVAL`, release never called", m_src_ctx_which},
    {"rgcd_source_set_timer", "out-of-range value", "interval = (uint64_t)-5",
     "`RGCD_EINVAL`", m_timer_interval},
    {"rgcd_source_set_timer", "out-of-range value", "leeway = (uint64_t)-5", "`RGCD_EINVAL`",
     m_timer_leeway},
    {"rgcd_set_target_queue", "out-of-range value", "a target cycle (a -> b -> a)",
     "`RGCD_EINVAL`", m_target_cycle},
    {"rgcd_set_target_queue", "out-of-range value", "target = the queue itself",
     "`RGCD_EINVAL`", m_target_self},
    {"rgcd_source_create", "invalid fd or signal", "READ, fd 1000000 (not open)",
     "NULL (invalid)", m_src_read_badfd},
    {"rgcd_source_create", "invalid fd or signal", "READ, fd (uintptr_t)-1", "NULL (invalid)",
     m_src_read_negfd},
    {"rgcd_source_create", "invalid fd or signal", "WRITE, fd 1000000 (not open)",
     "NULL (invalid)", m_src_write_badfd},
    {"rgcd_source_create", "invalid fd or signal", "READ with mask 1", "NULL (invalid)",
     m_src_read_mask},
    {"rgcd_source_create", "invalid fd or signal", "SIGNAL 0", "NULL (invalid)", m_src_sig0},
    {"rgcd_source_create", "invalid fd or signal", "SIGNAL SIGKILL", "NULL (invalid)",
     m_src_sigkill},
    {"rgcd_source_create", "invalid fd or signal", "SIGNAL SIGSTOP", "NULL (invalid)",
     m_src_sigstop},
    {"rgcd_source_create", "invalid fd or signal", "SIGNAL 65", "NULL (invalid)", m_src_sig65},
    {"rgcd_source_create", "invalid fd or signal", "SIGNAL 32 (kept by glibc)",
     "NULL (invalid)", m_src_sig32},
    {"rgcd_activate", "invalid fd or signal", "READ source whose fd was closed",
     "`RGCD_EINVAL`; the source is cancelled (cancel handler once)", m_activate_closed_fd},
    {"rgcd_resume", "double release/cancel/resume/leave", "queue resumed twice",
     "`RGCD_ESTATE`", m_resume_twice},
    {"rgcd_resume", "double release/cancel/resume/leave", "queue never suspended",
     "`RGCD_ESTATE`", m_resume_never},
    {"rgcd_resume", "double release/cancel/resume/leave", "active source, not suspended",
     "`RGCD_ESTATE`", m_resume_source_twice},
    {"rgcd_group_leave", "double release/cancel/resume/leave", "leave without enter",
     "`RGCD_ESTATE`", m_leave_never},
    {"rgcd_group_leave", "double release/cancel/resume/leave", "second leave for one enter",
     "`RGCD_ESTATE`, count unchanged", m_leave_twice},
    {"rgcd_source_cancel", "double release/cancel/resume/leave", "cancel twice",
     OK_RESULT ", cancel handler once", m_cancel_twice},
    {"rgcd_release", "double release/cancel/resume/leave",
     "last release of a suspended queue with work", "`RGCD_ESTATE`, work discarded, queue freed",
     m_release_suspended},
    {"rgcd_release", "double release/cancel/resume/leave", "a global or the main queue",
     OK_RESULT " (not counted)", m_release_global},
    {"rgcd_sync_f", "state", "onto the serial queue running the caller", "`RGCD_EDEADLK`",
     m_sync_deadlock},
    {"rgcd_barrier_sync_f", "state", "onto the concurrent queue running the caller",
     "`RGCD_EDEADLK`", m_barrier_sync_deadlock},
    {"rgcd_once_f", "state", "from inside its own function", "`RGCD_EDEADLK`", m_once_recursive},
    {"rgcd_main", "state", "called off the main thread", "`RGCD_EINVAL`", m_main_off_thread},
    {"rgcd_after_f", "out-of-range value", "when = RGCD_TIME_FOREVER",
     OK_RESULT ", never runs", m_after_forever},
    {"rgcd_apply_f", "out-of-range value", "iterations = 0", OK_RESULT ", never calls f",
     m_apply_zero},
    {"rgcd_time", "out-of-range value", "FOREVER - 1; overflow", "RGCD_TIME_FOREVER (saturates)",
     m_time_saturates},
    {"rgcd_strerror", "out-of-range value", "status -12345", "\"unknown status\"",
     m_strerror_unknown},
    {"rgcd_queue_get_label", "NULL handle", "queue = NULL", "the current queue's label, never NULL",
     m_label_null},
};
#define NMANUALS (sizeof manuals / sizeof manuals[0])

/* Functions with no bad input to give: listed so the table covers every function. */
static const char *const no_bad_input[] = {
    "rgcd_last_error", "rgcd_group_create", "rgcd_get_main_queue", "rgcd_get_specific",
    "rgcd_pool_thread_count", "rgcd_debug_live_objects", "rgcd_walltime",
};

/* ---- the harness ---- */

static int run_in_child(void (*body)(const void *), const void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    alarm(20);
    body(arg);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      perror("waitpid");
      exit(2);
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
  if (WIFSIGNALED(status))
    fprintf(stderr, "  (the child died of signal %d)\n", WTERMSIG(status));
  return 0;
}

struct handle_case {
  const struct handle_fn *f;
  enum bad_handle b;
};
static void handle_body(const void *arg) {
  const struct handle_case *c = arg;
  run_handle_case(c->f, c->b);
}
static void manual_body(const void *arg) { ((const struct manual *)arg)->run(); }

static void cell(const char *s) {
  /* Markdown-safe: pipes would split a cell. */
  for (; *s; s++) fputs(*s == '|' ? "\\|" : (char[]){*s, 0}, stdout);
}

/* The table's rows, sorted by function (then in the order written) before printing. */
struct row {
  char fn[96], cls[48], input[160], result[160];
  int order;
};
static struct row rows[400];
static int nrows;

static void add_row(const char *fn, const char *cls, const char *input, const char *result) {
  if (nrows == (int)(sizeof rows / sizeof rows[0])) return;
  struct row *r = &rows[nrows];
  snprintf(r->fn, sizeof r->fn, "%s", fn);
  snprintf(r->cls, sizeof r->cls, "%s", cls);
  snprintf(r->input, sizeof r->input, "%s", input);
  snprintf(r->result, sizeof r->result, "%s", result);
  r->order = nrows++;
}

static int by_function(const void *a, const void *b) {
  const struct row *x = a, *y = b;
  size_t nx = strcspn(x->fn, "("), ny = strcspn(y->fn, "(");
  int c = strncmp(x->fn, y->fn, nx < ny ? nx : ny);
  if (c == 0 && nx != ny) c = nx < ny ? -1 : 1;
  return c != 0 ? c : x->order - y->order;
}

static void print_row(const char *fn, const char *cls, const char *input, const char *result) {
  printf("| `");
  cell(fn);
  printf("` | ");
  cell(cls);
  printf(" | ");
  cell(input);
  printf(" | ");
  cell(result);
  printf(" |\n");
}

int main(int argc, char **argv) {
  bool markdown = argc > 1 && strcmp(argv[1], "--markdown") == 0;
  int cases = 0, passed = 0;
  char input[160], result[160];
  if (markdown) {
    printf("| Call | Class of bad input | Input | Documented result |\n");
    printf("|---|---|---|---|\n");
  }
  for (size_t i = 0; i < NHANDLE_FNS; i++) {
    for (int b = 0; b < NBAD; b++) {
      if (!handle_case_applies(&handle_fns[i], (enum bad_handle)b)) continue;
      describe_handle_case(&handle_fns[i], (enum bad_handle)b, input, sizeof input, result,
                           sizeof result);
      cases++;
      if (markdown) {
        add_row(handle_fns[i].name, bad_class[b], input, result);
        continue;
      }
      struct handle_case c = {&handle_fns[i], (enum bad_handle)b};
      if (run_in_child(handle_body, &c))
        passed++;
      else
        fprintf(stderr, "FAILED: %s, %s\n", handle_fns[i].name, input);
    }
  }
  for (size_t i = 0; i < NMANUALS; i++) {
    cases++;
    if (markdown) {
      add_row(manuals[i].fn, manuals[i].cls, manuals[i].input, manuals[i].result);
      continue;
    }
    if (run_in_child(manual_body, &manuals[i]))
      passed++;
    else
      fprintf(stderr, "FAILED: %s, %s\n", manuals[i].fn, manuals[i].input);
  }
  if (markdown) {
    for (size_t i = 0; i < sizeof no_bad_input / sizeof no_bad_input[0]; i++)
      add_row(no_bad_input[i], "none", "takes no handle or value it could refuse", "n/a");
    qsort(rows, (size_t)nrows, sizeof rows[0], by_function);
    for (int i = 0; i < nrows; i++)
      print_row(rows[i].fn, rows[i].cls, rows[i].input, rows[i].result);
    printf("\n%d cases (the %zu rows marked n/a are not cases).\n", cases,
           sizeof no_bad_input / sizeof no_bad_input[0]);
    return 0;
  }
  printf("misuse_table: %d cases, %d passed\n", cases, passed);
  return passed == cases ? 0 : 1;
}
