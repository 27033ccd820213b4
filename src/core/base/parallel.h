#pragma once

#include <cstddef>
#include <functional>

namespace rollsafe {

// Runs work(0..n-1) on up to four threads, the calling one included; one thread when n is
// below 2 * per_thread (a thread costs more than a few small items). Items are handed out one
// at a time, so uneven items balance. The first exception from work stops the handing out and
// is rethrown on the calling thread once every thread has ended.
void parallel_for(std::size_t n, const std::function<void(std::size_t)>& work,
                  std::size_t per_thread = 64);

}  // namespace rollsafe
