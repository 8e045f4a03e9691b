/* libdispatch-style object lifecycle: retain/release, context and finalizer,
 * suspend/resume nesting, inactive queues and activate, QoS attributes and the
 * global queues. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compat_check.h"

static void set_flag(void *ctx)
{
    atomic_store((atomic_int *)ctx, 1);
}

/* ---- retain/release, context, finalizer ---- */

struct finalized {
    dispatch_semaphore_t sema;
    atomic_int calls;
};

static void finalizer(void *ctx)
{
    struct finalized *f = ctx;
    atomic_fetch_add(&f->calls, 1);
    dispatch_semaphore_signal(f->sema);
}

static void test_lifecycle(void)
{
    struct finalized f = {dispatch_semaphore_create(0), 0};
    CHECK(f.sema != NULL, "dispatch_semaphore_create returned NULL");
    dispatch_queue_t q = dispatch_queue_create("com.example.object", DISPATCH_QUEUE_SERIAL);
    CHECK(q != NULL, "dispatch_queue_create returned NULL");
    CHECK(dispatch_get_context(q) == NULL, "a new queue has a context");
    dispatch_set_context(q, &f);
    CHECK(dispatch_get_context(q) == &f, "dispatch_get_context: wrong value");
    dispatch_set_finalizer_f(q, finalizer);

    dispatch_retain(q);
    dispatch_release(q); /* still one reference: usable */
    atomic_int ran = 0;
    dispatch_sync_f(q, &ran, set_flag);
    CHECK(atomic_load(&ran) == 1, "queue unusable after a balanced retain/release");
    CHECK(atomic_load(&f.calls) == 0, "finalizer ran while a reference remained");

    dispatch_release(q); /* the last reference */
    CHECK(dispatch_semaphore_wait(f.sema, deadline()) == 0, "finalizer did not run");
    sleep_ms(20);
    CHECK(atomic_load(&f.calls) == 1, "finalizer ran more than once");
    dispatch_release(f.sema);

    /* Groups and semaphores carry context too. */
    dispatch_group_t g = dispatch_group_create();
    CHECK(g != NULL, "dispatch_group_create returned NULL");
    dispatch_set_context(g, &ran);
    CHECK(dispatch_get_context(g) == &ran, "group context: wrong value");
    dispatch_release(g);

    /* Global and main queues ignore retain/release. */
    dispatch_queue_t global = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_HIGH, 0);
    CHECK(global != NULL, "dispatch_get_global_queue(HIGH) returned NULL");
    for (int i = 0; i < 3; i++) {
        dispatch_release(global);
        dispatch_release(dispatch_get_main_queue());
    }
    atomic_store(&ran, 0);
    dispatch_sync_f(global, &ran, set_flag);
    CHECK(atomic_load(&ran) == 1, "global queue unusable after extra releases");
}

/* ---- suspend / resume / activate ---- */

static void test_suspend_resume(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.suspend", DISPATCH_QUEUE_SERIAL);
    CHECK(q != NULL, "dispatch_queue_create returned NULL");
    atomic_int ran = 0;
    dispatch_suspend(q);
    dispatch_suspend(q);
    dispatch_async_f(q, &ran, set_flag);
    sleep_ms(50);
    CHECK(atomic_load(&ran) == 0, "a suspended queue ran an item");
    dispatch_resume(q);
    sleep_ms(50);
    CHECK(atomic_load(&ran) == 0, "a queue suspended twice ran after one resume");
    dispatch_resume(q);
    for (int i = 0; i < 5000 && !atomic_load(&ran); i++) {
        sleep_ms(2);
    }
    CHECK(atomic_load(&ran) == 1, "the item did not run after the last resume");
    dispatch_release(q);
}

static void test_inactive(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.inactive", DISPATCH_QUEUE_CONCURRENT_INACTIVE);
    CHECK(q != NULL, "dispatch_queue_create(CONCURRENT_INACTIVE) returned NULL");
    atomic_int ran = 0;
    dispatch_async_f(q, &ran, set_flag);
    sleep_ms(50);
    CHECK(atomic_load(&ran) == 0, "an inactive queue ran an item");
    dispatch_activate(q);
    dispatch_barrier_sync_f(q, NULL, nop);
    CHECK(atomic_load(&ran) == 1, "the item did not run after activate");
    dispatch_release(q);

    dispatch_queue_attr_t attr = dispatch_queue_attr_make_initially_inactive(DISPATCH_QUEUE_SERIAL);
    q = dispatch_queue_create("com.example.inactive2", attr);
    CHECK(q != NULL, "dispatch_queue_create(make_initially_inactive) returned NULL");
    atomic_store(&ran, 0);
    dispatch_async_f(q, &ran, set_flag);
    sleep_ms(50);
    CHECK(atomic_load(&ran) == 0, "an inactive queue ran an item");
    dispatch_activate(q);
    dispatch_sync_f(q, NULL, nop);
    CHECK(atomic_load(&ran) == 1, "the item did not run after activate");
    dispatch_release(q);
}

/* ---- QoS ---- */

static void test_qos(void)
{
    dispatch_queue_attr_t attr =
        dispatch_queue_attr_make_with_qos_class(DISPATCH_QUEUE_CONCURRENT, QOS_CLASS_UTILITY, 0);
    dispatch_queue_t q = dispatch_queue_create("com.example.utility", attr);
    CHECK(q != NULL, "dispatch_queue_create with a QoS attribute returned NULL");
    int relative = 99;
    CHECK(dispatch_queue_get_qos_class(q, &relative) == QOS_CLASS_UTILITY, "queue QoS not UTILITY");
    CHECK(relative == 0, "relative priority not 0");
    atomic_int ran = 0;
    dispatch_barrier_sync_f(q, &ran, set_flag); /* still concurrent: barriers allowed */
    CHECK(atomic_load(&ran) == 1, "QoS queue did not run work");
    dispatch_release(q);

    dispatch_qos_class_t classes[] = {QOS_CLASS_USER_INTERACTIVE, QOS_CLASS_USER_INITIATED,
                                      QOS_CLASS_DEFAULT, QOS_CLASS_UTILITY, QOS_CLASS_BACKGROUND};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        dispatch_queue_global_t g = dispatch_get_global_queue((intptr_t)classes[i], 0);
        CHECK(g != NULL, "dispatch_get_global_queue(QOS_CLASS_*) returned NULL");
        CHECK(dispatch_queue_get_qos_class(g, NULL) == classes[i], "global queue has the wrong QoS");
    }
    long priorities[] = {DISPATCH_QUEUE_PRIORITY_HIGH, DISPATCH_QUEUE_PRIORITY_DEFAULT,
                         DISPATCH_QUEUE_PRIORITY_LOW, DISPATCH_QUEUE_PRIORITY_BACKGROUND};
    for (size_t i = 0; i < sizeof priorities / sizeof priorities[0]; i++) {
        CHECK(dispatch_get_global_queue(priorities[i], 0) != NULL,
              "dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_*) returned NULL");
    }
    CHECK(dispatch_get_global_queue(QOS_CLASS_DEFAULT, 0) ==
              dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0),
          "default priority and default QoS are different queues");
}

int main(void)
{
    test_lifecycle();
    test_suspend_resume();
    test_inactive();
    test_qos();
    printf("compat_object: ok\n");
    return 0;
}
