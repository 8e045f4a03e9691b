/* A program outside the rgcd tree, built against an installed rgcd: a serial
 * queue, one sync and one async item tracked by a group. Prints "ok". */
#include <rgcd.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: %s failed (%s)\n", __FILE__, __LINE__, #cond,    \
                    rgcd_last_error());                                              \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static void add_one(void *ctx) { *(int *)ctx += 1; }

int main(void) {
    int runs = 0;
    rgcd_queue_t queue = rgcd_queue_create("org.rgcd.consumer", RGCD_QUEUE_SERIAL);
    CHECK(queue != NULL);
    rgcd_group_t group = rgcd_group_create();
    CHECK(group != NULL);

    CHECK(rgcd_sync_f(queue, &runs, add_one) == 0);
    CHECK(runs == 1);

    CHECK(rgcd_group_async_f(group, queue, &runs, add_one) == 0);
    CHECK(rgcd_group_wait(group, rgcd_time(RGCD_TIME_NOW, 30 * (int64_t)RGCD_NSEC_PER_SEC)) == 0);
    CHECK(runs == 2);

    CHECK(rgcd_release(group) == 0);
    CHECK(rgcd_release(queue) == 0);
    puts("ok");
    return 0;
}
