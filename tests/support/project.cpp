#include "support/project.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/base/fs.h"

namespace rollsafe::test {

Project::Project() {
    fs::make_dirs(migrations(), 0755);
}

void Project::add(const std::string& id, const std::string& up, const char* down) {
    m_dir.write("migrations/" + id + ".up.sql", up);
    if (down)
        m_dir.write("migrations/" + id + ".down.sql", down);
}

void Project::remove(const std::string& id) {
    ::unlink((migrations() + "/" + id + ".up.sql").c_str());
    ::unlink((migrations() + "/" + id + ".down.sql").c_str());
}

std::map<std::string, std::string> Project::env(
    const std::map<std::string, std::string>& extra) const {
    std::map<std::string, std::string> e = {{"DATABASE_URL", m_db.url()}};
    for (const auto& [k, v] : extra)
        e[k] = v;
    return e;
}

CliResult Project::run(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& extra_env,
                       std::function<void(pid_t)> on_start) const {
    CliOptions o;
    o.env = env(extra_env);
    o.cwd = m_dir.path();
    o.on_start = std::move(on_start);
    return run_cli(args, o);
}

int Project::history_count(const std::string& version, const std::string& op,
                           const std::string& outcome) const {
    auto v = m_db.scalar("SELECT count(*) FROM rollsafe.history WHERE version = '" + version +
                         "' AND op = '" + op + "' AND outcome = '" + outcome + "'");
    return v.empty() ? 0 : std::stoi(v);
}

bool Project::table_exists(const std::string& name) const {
    return m_db.scalar("SELECT to_regclass('" + name + "') IS NOT NULL") == "t";
}

bool wait_until(const std::function<bool()>& cond, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        if (cond())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
}

}  // namespace rollsafe::test
