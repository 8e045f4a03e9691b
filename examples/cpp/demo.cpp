// rgcd demo in C++ (the README's C demo, examples/c/demo.c, with rgcd.hpp): fan 64 jobs out
// over a concurrent queue, at most 4 in flight, fold their results into state owned by a
// serial queue, take a consistent snapshot with a barrier halfway through, and wait for
// everything with a deadline.
//
//   c++ -std=c++17 demo.cpp -Iinclude -Lbuild/stage -lrgcd -o demo && ./demo
#include <rgcd.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;

namespace {

constexpr int jobs = 64;
constexpr int max_in_flight = 4;

// The "work": length of the Collatz sequence from a seed, plus a short nap.
long collatz_steps(long n) {
    long steps = 0;
    for (; n != 1; steps++)
        n = (n % 2) ? 3 * n + 1 : n / 2;
    std::this_thread::sleep_for(5ms);
    return steps;
}

struct totals {
    int jobs = 0;
    long sum = 0;
};

} // namespace

int main() try {
    auto start = std::chrono::steady_clock::now();

    rgcd::queue workers = rgcd::queue::concurrent("demo.workers");
    rgcd::queue state_queue = rgcd::queue::serial("demo.state");
    rgcd::group all_work;
    rgcd::semaphore slots(max_in_flight);

    std::array<long, jobs> results{};
    totals state;                          // only touched on state_queue
    struct {
        int jobs_done = 0;
        long partial_sum = 0;
    } snapshot;                            // written by the barrier, read by later jobs
    std::atomic<int> in_flight{0}, peak{0}, saw_snapshot{0};

    for (int i = 0; i < jobs; i++) {
        // Take a permit before submitting: never more than 4 jobs out at once.
        if (!slots.wait_for(10s))
            throw std::runtime_error("no permit in 10 s");
        if (i == jobs / 2) {
            // Between the halves: runs once jobs 0..31 are done, before 32..63 start.
            workers.barrier_async([&] {
                for (long r : results)
                    if (r != 0) {
                        snapshot.jobs_done += 1;
                        snapshot.partial_sum += r;
                    }
            });
        }
        all_work.async(workers, [&, i] {
            int now = ++in_flight;
            for (int seen = peak.load(); now > seen && !peak.compare_exchange_weak(seen, now);) {
            }
            if (i >= jobs / 2 && snapshot.jobs_done > 0)
                ++saw_snapshot; // jobs after the barrier see its snapshot
            results[i] = collatz_steps(i * 7919L + 27);
            --in_flight;
            long r = results[i];
            all_work.async(state_queue, [&state, r] { // still counted in the group
                state.jobs += 1;
                state.sum += r;
            });
            slots.signal(); // hand the permit back
        });
    }

    bool finished = all_work.wait_for(10s);
    totals final_totals = state_queue.sync([&] { return state; });
    double elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    std::printf("rgcd demo (C++)\n");
    std::printf("  group wait:       %s\n", finished ? "all work finished" : "TIMED OUT");
    std::printf("  jobs run:         %d of %d (sum of results %ld)\n", final_totals.jobs, jobs, final_totals.sum);
    std::printf("  max in flight:    %d (limit %d)\n", peak.load(), max_in_flight);
    std::printf("  barrier snapshot: %d jobs done, partial sum %ld; seen by %d later jobs\n", snapshot.jobs_done,
                snapshot.partial_sum, saw_snapshot.load());
    std::printf("  elapsed:          %.1f ms on %zu worker threads\n", elapsed_ms, rgcd_pool_thread_count());
    return finished && final_totals.jobs == jobs && peak.load() <= max_in_flight ? 0 : 1;
} catch (const std::exception &e) {
    std::fprintf(stderr, "demo: %s\n", e.what());
    return 1;
}
