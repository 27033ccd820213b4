// main() of every integration and CLI test binary: one throwaway PostgreSQL per binary, stopped
// and removed at exit and on SIGINT/SIGTERM.
#include <gtest/gtest.h>

#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "support/helpers.h"

namespace rollsafe::test {
void stop_cluster();
}

int main(int argc, char** argv) {
    rollsafe::interrupt::install(rollsafe::interrupt::Mode::exit_after_hooks);
    ::testing::InitGoogleTest(&argc, argv);
    rollsafe::log::Options lo;
    lo.verbosity = -1;
    rollsafe::log::init(lo);
    int rc = RUN_ALL_TESTS();
    rollsafe::test::stop_cluster();
    return rc;
}
