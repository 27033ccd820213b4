#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "core/demo/demo.h"

namespace rollsafe::cli {

int run_demo(Context&, const DemoArgs& args) {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    DemoOptions o;
    o.binary = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "rollsafe";
    o.example_dir = args.example;
    o.keep = args.keep;
    o.engine = args.engine;
    if (o.engine == "sqlite")
        return rollsafe::run_sqlite_demo(o, [](const std::string& s) { std::cout << s << std::flush; });
    return rollsafe::run_demo(o, [](const std::string& s) { std::cout << s << std::flush; });
}

}  // namespace rollsafe::cli
