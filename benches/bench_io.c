/* bench_io.c - dispatch I/O throughput against a plain read()/write() loop in the same run.
 *
 *   io_read_file  a 256 MiB file (in the page cache) read through a STREAM channel with a
 *                 1 MiB high water mark; plain: read() into one 1 MiB buffer until EOF.
 *   io_pipe       64 MiB through a pipe, a write channel on one end and a read channel on the
 *                 other; plain: a thread write()s 64 KiB chunks, the caller read()s them.
 *
 * Figures in MiB/s (higher is better), best of three rounds each, rgcd and plain alternating;
 * `ratio.<row>` is rgcd / plain. --quick uses a tenth of the sizes. */
#define _GNU_SOURCE
#define BENCH_NAME "rgcd_bench_io"
#define BENCH_BASELINE_PREFIX "plain."
enum impl { RGCD = 0, PLAIN = 1 };
#include "bench_common.h"

#include <pthread.h>
#include <stdatomic.h>

#define MiB (1u << 20)
#define ROUNDS 3

static const char *const g_rows[] = {"io_read_file", "io_pipe"};

/* ---- rgcd side ---- */

struct run {
    rgcd_semaphore_t done;
    size_t bytes;
    int error;
};

static void on_read(void *ctx, bool done, rgcd_data_t data, int error) {
    struct run *r = ctx;
    if (data != NULL) r->bytes += rgcd_data_get_size(data);
    if (error != 0) r->error = error;
    if (done) rgcd_semaphore_signal(r->done);
}

static void on_write(void *ctx, bool done, rgcd_data_t data, int error) {
    struct run *r = ctx;
    (void)data;
    if (error != 0) r->error = error;
    if (done) rgcd_semaphore_signal(r->done);
}

static void on_cleanup(void *ctx, int error) {
    (void)error;
    rgcd_semaphore_signal(ctx);
}

static double mib_per_s(size_t bytes, uint64_t ns) { return (double)bytes / MiB / ((double)ns / 1e9); }

static double rgcd_read_file(const char *path, size_t size) {
    rgcd_queue_t q = new_queue("bench.io", RGCD_QUEUE_SERIAL);
    rgcd_semaphore_t cleaned = rgcd_semaphore_create(0);
    struct run r = {rgcd_semaphore_create(0), 0, 0};
    uint64_t t0 = now_ns();
    rgcd_io_t ch = rgcd_io_create_with_path(RGCD_IO_STREAM, path, O_RDONLY, 0, q, cleaned, on_cleanup);
    if (ch == NULL) die_rgcd("rgcd_io_create_with_path", RGCD_EINVAL);
    CHECK(rgcd_io_set_high_water(ch, MiB));
    CHECK(rgcd_io_read_f(ch, 0, SIZE_MAX, q, &r, on_read));
    CHECK(rgcd_semaphore_wait(r.done, RGCD_TIME_FOREVER));
    uint64_t t = now_ns() - t0;
    if (r.bytes != size || r.error != 0) die("io_read_file: wrong byte count or an error");
    CHECK(rgcd_io_close(ch, 0));
    CHECK(rgcd_semaphore_wait(cleaned, RGCD_TIME_FOREVER));
    rgcd_release(ch);
    rgcd_release(r.done);
    rgcd_release(cleaned);
    rgcd_release(q);
    return mib_per_s(size, t);
}

static double rgcd_pipe(unsigned char *buf, size_t size) {
    int fds[2];
    if (pipe(fds) != 0) die("pipe");
    rgcd_queue_t q = new_queue("bench.io", RGCD_QUEUE_SERIAL);
    rgcd_semaphore_t cleaned = rgcd_semaphore_create(0);
    struct run rr = {rgcd_semaphore_create(0), 0, 0}, wr = {rgcd_semaphore_create(0), 0, 0};
    uint64_t t0 = now_ns();
    rgcd_io_t in = rgcd_io_create(RGCD_IO_STREAM, fds[0], q, cleaned, on_cleanup);
    rgcd_io_t out = rgcd_io_create(RGCD_IO_STREAM, fds[1], q, cleaned, on_cleanup);
    if (in == NULL || out == NULL) die_rgcd("rgcd_io_create", RGCD_EINVAL);
    rgcd_data_t d = rgcd_data_create(buf, size, RGCD_DATA_DESTRUCTOR_NONE);
    CHECK(rgcd_io_read_f(in, 0, size, q, &rr, on_read));
    CHECK(rgcd_io_write_f(out, 0, d, q, &wr, on_write));
    CHECK(rgcd_semaphore_wait(rr.done, RGCD_TIME_FOREVER));
    uint64_t t = now_ns() - t0;
    CHECK(rgcd_semaphore_wait(wr.done, RGCD_TIME_FOREVER));
    if (rr.bytes != size || rr.error != 0 || wr.error != 0) die("io_pipe: wrong byte count or an error");
    CHECK(rgcd_io_close(in, 0));
    CHECK(rgcd_io_close(out, 0));
    CHECK(rgcd_semaphore_wait(cleaned, RGCD_TIME_FOREVER));
    CHECK(rgcd_semaphore_wait(cleaned, RGCD_TIME_FOREVER));
    close(fds[0]);
    close(fds[1]);
    rgcd_release(d);
    rgcd_release(in);
    rgcd_release(out);
    rgcd_release(rr.done);
    rgcd_release(wr.done);
    rgcd_release(cleaned);
    rgcd_release(q);
    return mib_per_s(size, t);
}

/* ---- plain loops ---- */

static double plain_read_file(const char *path, size_t size) {
    static unsigned char buf[MiB];
    uint64_t t0 = now_ns();
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open");
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) die("read");
        if (n == 0) break;
        total += (size_t)n;
    }
    close(fd);
    uint64_t t = now_ns() - t0;
    if (total != size) die("plain read: wrong byte count");
    return mib_per_s(size, t);
}

struct writer {
    int fd;
    const unsigned char *buf;
    size_t size;
};

static void *plain_writer(void *arg) {
    struct writer *w = arg;
    size_t off = 0;
    while (off < w->size) {
        size_t k = w->size - off < 65536 ? w->size - off : 65536;
        ssize_t n = write(w->fd, w->buf + off, k);
        if (n <= 0) die("write");
        off += (size_t)n;
    }
    return NULL;
}

static double plain_pipe(unsigned char *buf, size_t size) {
    static unsigned char rbuf[65536];
    int fds[2];
    if (pipe(fds) != 0) die("pipe");
    struct writer w = {fds[1], buf, size};
    pthread_t th;
    uint64_t t0 = now_ns();
    if (pthread_create(&th, NULL, plain_writer, &w) != 0) die("pthread_create");
    size_t total = 0;
    while (total < size) {
        ssize_t n = read(fds[0], rbuf, sizeof rbuf);
        if (n <= 0) die("read");
        total += (size_t)n;
    }
    uint64_t t = now_ns() - t0;
    pthread_join(th, NULL);
    close(fds[0]);
    close(fds[1]);
    return mib_per_s(size, t);
}

static void best_of(const char *row, double (*r)(const char *, size_t), double (*p)(const char *, size_t),
                    const char *path, size_t size) {
    double br = 0, bp = 0;
    r(path, size); /* warm-up */
    p(path, size);
    for (int i = 0; i < ROUNDS; i++) {
        double a = r(path, size), b = p(path, size);
        if (a > br) br = a;
        if (b > bp) bp = b;
    }
    record(RGCD, row, br, "MiB/s");
    record(PLAIN, row, bp, "MiB/s");
}

static unsigned char *g_pipe_buf;
static double rgcd_pipe_row(const char *unused, size_t size) { (void)unused; return rgcd_pipe(g_pipe_buf, size); }
static double plain_pipe_row(const char *unused, size_t size) { (void)unused; return plain_pipe(g_pipe_buf, size); }

int main(int argc, char **argv) {
    parse_args(argc, argv, g_rows, sizeof g_rows / sizeof g_rows[0]);
    (void)warmup_count; /* shared helpers this program does not need */
    (void)print_vs_reference_line;
    print_load("start");
    if (selected("io_read_file")) {
        size_t size = count(256) * MiB;
        char path[] = "/tmp/rgcd-bench-io-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0) die("mkstemp");
        unsigned char *chunk = malloc(MiB);
        for (size_t i = 0; i < MiB; i++) chunk[i] = (unsigned char)(i * 31);
        for (size_t off = 0; off < size; off += MiB)
            if (write(fd, chunk, MiB) != (ssize_t)MiB) die("write file");
        close(fd);
        free(chunk);
        best_of("io_read_file", rgcd_read_file, plain_read_file, path, size);
        unlink(path);
    }
    if (selected("io_pipe")) {
        size_t size = count(64) * MiB;
        g_pipe_buf = malloc(size);
        for (size_t i = 0; i < size; i++) g_pipe_buf[i] = (unsigned char)(i * 7);
        best_of("io_pipe", rgcd_pipe_row, plain_pipe_row, NULL, size);
        free(g_pipe_buf);
    }
    print_ratios_as("rgcd/plain", false);
    print_load("end");
    return 0;
}
