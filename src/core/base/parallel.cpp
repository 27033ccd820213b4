#include "core/base/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace rollsafe {

void parallel_for(std::size_t n, const std::function<void(std::size_t)>& work,
                  std::size_t per_thread) {
    per_thread = std::max<std::size_t>(1, per_thread);
    std::size_t threads = std::min<std::size_t>(
        {std::max(1u, std::thread::hardware_concurrency()), 4, (n + per_thread - 1) / per_thread});
    if (threads <= 1) {
        for (std::size_t i = 0; i < n; ++i)
            work(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto run = [&] {
        try {
            for (std::size_t i; (i = next.fetch_add(1)) < n;)
                work(i);
        } catch (...) {
            std::lock_guard<std::mutex> g(failure_mutex);
            if (!failure)
                failure = std::current_exception();
            next = n;
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t)
        pool.emplace_back(run);
    run();
    for (auto& t : pool)
        t.join();
    if (failure)
        std::rethrow_exception(failure);
}

}  // namespace rollsafe
