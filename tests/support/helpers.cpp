#include "support/helpers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

#include "core/base/fs.h"
#include "core/base/process.h"
#include "core/base/text.h"

extern char** environ;

namespace rollsafe::test {
namespace {
std::unique_ptr<PgSandbox> g_cluster;
std::atomic<int> g_counter{0};
}  // namespace

PgSandbox& cluster() {
    if (!g_cluster) g_cluster = std::make_unique<PgSandbox>();
    return *g_cluster;
}

void stop_cluster() { g_cluster.reset(); }

TestDb::TestDb() {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string base = info ? std::string(info->test_suite_name()) + "_" + info->name() : "db";
    std::string name;
    for (char c : text::to_lower(base)) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (name.size() > 50) name = name.substr(0, 50);
    m_name = "t" + std::to_string(g_counter++) + "_" + name;
    cluster().create_database(m_name);
}

TestDb::~TestDb() {
    try {
        cluster().drop_database(m_name);
    } catch (...) {
    }
}

std::string TestDb::conninfo() const { return cluster().conninfo(m_name); }
std::string TestDb::url() const { return cluster().url(m_name); }

std::unique_ptr<db::Session> TestDb::connect() const { return db::connect(Dsn::parse(conninfo()), {}); }

std::string TestDb::scalar(const std::string& sql) const {
    auto s = connect();
    auto r = s->exec(sql);
    if (r.empty() || r.columns.empty()) return "";
    return r.get(0, 0);
}

TempDir::TempDir() { m_path = fs::make_temp_dir(fs::temp_root() + "/rollsafe-test-XXXXXX"); }
TempDir::~TempDir() { fs::remove_all(m_path); }

std::string TempDir::write(const std::string& relative, const std::string& content) const {
    std::string full = m_path + "/" + relative;
    auto slash = full.rfind('/');
    fs::make_dirs(full.substr(0, slash), 0755);
    fs::write_file_atomic(full, content, 0644);
    return full;
}

CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options) {
    ProcessSpec spec;
    spec.argv = {ROLLSAFE_BINARY};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto key = kv.substr(0, kv.find('='));
        if (text::starts_with(key, "ROLLSAFE_") || key == "DATABASE_URL" ||
            (text::starts_with(key, "PG") && key != "PGSANDBOX"))
            spec.unset_env.push_back(key);
    }
    spec.unset_env.push_back("GITHUB_ACTIONS");
    for (const auto& [k, v] : options.env) spec.env.emplace_back(k, v);
    spec.env.emplace_back("NO_COLOR", "1");
    spec.cwd = options.cwd;
    spec.stdin_data = options.stdin_data;
    spec.on_start = options.on_start;
    spec.kill_on_interrupt = true;
    auto r = default_process_runner().run(spec);
    CliResult out;
    out.code = r.term_signal ? 128 + r.term_signal : r.exit_code;
    out.out = r.out;
    out.err = r.err;
    return out;
}

std::string read(const std::string& path) { return fs::read_file(path).value_or(""); }

}  // namespace rollsafe::test
