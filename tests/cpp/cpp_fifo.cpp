// cpp_fifo: 1,000,000 lambdas over 1,000 serial queues (submitted from four threads, each
// owning 250 queues), each run exactly once and in FIFO order per queue; then every object is
// freed.
#include "cpp_check.hpp"

#include <atomic>
#include <memory>
#include <vector>

int main() {
    start_watchdog(110);
    size_t base = rgcd_debug_live_objects();
    constexpr int queues = 1000, per_queue = 1000, submitters = 4;
    {
        std::vector<rgcd::queue> qs;
        qs.reserve(queues);
        for (int i = 0; i < queues; i++)
            qs.push_back(rgcd::queue::serial("cpp.fifo"));
        std::unique_ptr<int[]> next(new int[queues]());
        std::atomic<long> ran{0}, out_of_order{0};
        rgcd::group done;
        std::vector<std::thread> threads;
        for (int t = 0; t < submitters; t++) {
            threads.emplace_back([&, t] {
                for (int k = 0; k < per_queue; k++)
                    for (int q = t; q < queues; q += submitters) {
                        int *slot = &next[q];
                        done.async(qs[q], [slot, k, &ran, &out_of_order] {
                            if (*slot != k)
                                ++out_of_order;
                            *slot = k + 1;
                            ++ran;
                        });
                    }
            });
        }
        for (auto &th : threads)
            th.join();
        CHECK(done.wait_for(std::chrono::seconds(100)));
        CHECK(ran == long(queues) * per_queue);
        CHECK(out_of_order == 0);
        for (int q = 0; q < queues; q++)
            CHECK(next[q] == per_queue);
    }
    CHECK(wait_until([&] { return rgcd_debug_live_objects() <= base; }));
    std::printf("cpp_fifo: %d lambdas over %d queues in order\n", queues * per_queue, queues);
    return 0;
}
