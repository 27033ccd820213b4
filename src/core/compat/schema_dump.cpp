#include "core/compat/schema_dump.h"

#include <set>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/process.h"
#include "core/base/text.h"
#include "core/compat/replay.h"
#include "core/snapshot/pg_tools.h"

namespace rollsafe::compat {
namespace {

// A private folder for the dump, removed on destruction.
class TempFolder {
public:
    TempFolder() : m_path(fs::make_temp_dir(fs::temp_root() + "/rollsafe-compat-XXXXXX")) {}
    ~TempFolder() { fs::remove_all(m_path); }
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

}  // namespace

DumpRestore restore_schema_of(const Dsn& target, const std::string& history_schema, Scratch& scratch,
                              const std::string& database, const std::string& client_bindir) {
    DumpRestore out;
    auto& runner = default_process_runner();
    db::ConnectOptions co;
    co.application_name = "rollsafe-check";
    auto source = db::connect(target, co);
    int server_num = source->server_version();
    std::string server_version = source->exec("SHOW server_version").get(0, 0);
    std::set<std::string> roles;
    if (scratch.may_create_roles()) {
        auto r = source->exec("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> current_user");
        for (std::size_t i = 0; i < r.size(); ++i) roles.insert(r.get(i, 0));
    }
    source.reset();

    auto pg_dump = snapshot::find_pg_tool("pg_dump", client_bindir, server_num / 10000, runner);
    snapshot::require_tool_not_older(pg_dump, server_num, server_version);
    TempFolder tmp;
    const std::string file = tmp.path() + "/schema.dump";
    ProcessSpec dump;
    dump.argv = {pg_dump.path, "--schema-only", "--format=custom", "--no-subscriptions", "--no-publications",
                 "--exclude-schema=" + text::quote_ident(history_schema), "--file=" + file};
    snapshot::ChildConnection source_conn(target);
    source_conn.apply(dump);
    dump.new_process_group = true;
    auto r = runner.run(dump);
    if (!r.ok())
        throw Error(ExitCode::internal, "pg_dump --schema-only of " + target.display() + " failed: " + r.describe(),
                    std::string(text::trim(r.err)));

    {
        auto s = connect_scratch(scratch, database);
        ensure_roles(*s, roles);
    }
    std::string restore_tool = scratch.bindir().empty()
                                   ? snapshot::find_pg_tool("pg_restore", client_bindir, server_num / 10000, runner).path
                                   : scratch.bindir() + "/pg_restore";
    ProcessSpec restore;
    restore.argv = {restore_tool, "--no-owner"};
    if (!scratch.may_create_roles()) restore.argv.push_back("--no-privileges");
    snapshot::ChildConnection scratch_conn(scratch.dsn(database));
    scratch_conn.apply(restore);
    restore.argv.push_back(file);
    restore.new_process_group = true;
    r = runner.run(restore);
    if (!r.ok()) {
        // pg_restore goes past errors (an extension the scratch server lacks, say) and says so.
        for (const auto& line : text::split(r.err, '\n')) {
            auto l = std::string(text::trim(line));
            if (text::starts_with(l, "pg_restore: error:") && out.warnings.size() < 10) out.warnings.push_back(l);
        }
        if (out.warnings.empty()) out.warnings.push_back("pg_restore " + r.describe());
    }
    out.description = "pg_dump --schema-only of " + target.display() + " (PostgreSQL " + server_version + ")";
    return out;
}

}  // namespace rollsafe::compat
