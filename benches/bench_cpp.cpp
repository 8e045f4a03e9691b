// rgcd_bench_cpp - what rgcd.hpp's lambdas cost over the C `_f` calls they wrap, in one run.
//
// Prints `name value unit` lines (see benches/README.md): for each row the C++ figure, the C
// figure measured in the same run (`c.` prefix), and `ratio.<row>` = C++ / C. Each figure is
// the median of 7 alternating rounds.
//   async_empty: ns per async of an empty lambda (rgcd::queue::async) against rgcd_async_f of
//                an empty function, 1,000,000 submissions onto a serial queue, then a sync.
//   apply_empty: ns per iteration of rgcd::apply with an empty lambda against rgcd_apply_f,
//                10,000,000 iterations.
// Usage: rgcd_bench_cpp [--quick]
#include <rgcd.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

size_t scale = 1;

double now_ns() {
    return static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

void empty_fn(void *) {}
void empty_apply(void *, size_t) {}

double c_async(rgcd_queue_t q, size_t n) {
    double t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        rgcd_async_f(q, nullptr, empty_fn);
    rgcd_sync_f(q, nullptr, empty_fn);
    return (now_ns() - t0) / static_cast<double>(n);
}

double cpp_async(const rgcd::queue &q, size_t n) {
    double t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        q.async([] {});
    q.sync([] {});
    return (now_ns() - t0) / static_cast<double>(n);
}

double c_apply(size_t n) {
    double t0 = now_ns();
    rgcd_apply_f(n, nullptr, nullptr, empty_apply);
    return (now_ns() - t0) / static_cast<double>(n);
}

double cpp_apply(size_t n) {
    double t0 = now_ns();
    rgcd::apply(n, [](size_t) {});
    return (now_ns() - t0) / static_cast<double>(n);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void row(const char *name, const std::vector<double> &cpp, const std::vector<double> &c, const char *unit) {
    double a = median(cpp), b = median(c);
    std::printf("%s %.2f %s\n", name, a, unit);
    std::printf("c.%s %.2f %s\n", name, b, unit);
    std::printf("ratio.%s %.3f x\n", name, a / b);
}

} // namespace

int main(int argc, char **argv) {
    if (argc > 1 && std::strcmp(argv[1], "--quick") == 0)
        scale = 10;
    std::printf("# rgcd_bench_cpp: rgcd.hpp against the C calls it wraps, same run, median of 7\n");
    rgcd::queue q = rgcd::queue::serial("bench.cpp");
    const size_t n_async = 1000000 / scale, n_apply = 10000000 / scale;
    std::vector<double> a_cpp, a_c, p_cpp, p_c;
    c_async(q.native(), n_async / 10); // warm up the pool and the item caches
    cpp_async(q, n_async / 10);
    for (int round = 0; round < 7; round++) {
        a_c.push_back(c_async(q.native(), n_async));
        a_cpp.push_back(cpp_async(q, n_async));
        p_c.push_back(c_apply(n_apply));
        p_cpp.push_back(cpp_apply(n_apply));
    }
    row("async_empty", a_cpp, a_c, "ns/task");
    row("apply_empty", p_cpp, p_c, "ns/iter");
    return 0;
}
