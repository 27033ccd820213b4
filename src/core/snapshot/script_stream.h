#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/process.h"

namespace rollsafe::snapshot {

// Runs spec (a pg_restore command; "--file=<fifo>" is appended) and passes its script output to
// on_data as it arrives, through a FIFO in a private 0700 folder, so that a large table never has
// to fit in memory or on disk twice. If on_data throws, the child is stopped (it gets EPIPE) and
// the exception propagates. Returns the child's result.
ProcessResult run_streaming(ProcessRunner& runner, ProcessSpec spec,
                            const std::function<void(std::string_view)>& on_data);

// Splits a pg_restore script stream into its COPY blocks: copy_start gets the COPY line's table
// (as [schema, name]) and column list text, copy_data gets complete data lines (in COPY text
// format, without the "\." terminator), copy_end the number of rows of the block.
class ScriptStream {
  public:
    struct Handler {
        std::function<void(const std::vector<std::string>& table, const std::string& columns)>
            copy_start;
        std::function<void(std::string_view rows)> copy_data;
        std::function<void(long long rows)> copy_end;
    };
    explicit ScriptStream(Handler handler) : m_handler(std::move(handler)) {}

    // Consumes the next piece of the stream.
    void feed(std::string_view chunk);
    // Returns true when the stream ended inside a COPY block (a truncated script).
    bool inside_copy() const { return m_in_copy; }

  private:
    void line_outside(std::string_view line);

    Handler m_handler;
    std::string m_carry;
    bool m_in_copy = false;
    long long m_rows = 0;
};

}  // namespace rollsafe::snapshot
