#include "core/snapshot/script_stream.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/snapshot/sql_rewrite.h"

namespace rollsafe::snapshot {

namespace {
constexpr int kPipeBytes = 1 << 20;
}  // namespace

ProcessResult run_streaming(ProcessRunner& runner, ProcessSpec spec,
                            const std::function<void(std::string_view)>& on_data) {
    std::string dir = fs::make_temp_dir(fs::temp_root() + "/rollsafe-stream-XXXXXX");
    struct Cleanup {
        std::string dir;
        ~Cleanup() { fs::remove_all(dir); }
    } cleanup{dir};
    std::string fifo = dir + "/script.fifo";
    if (::mkfifo(fifo.c_str(), 0600) != 0)
        throw Error(ExitCode::internal, fifo + ": mkfifo failed: " + std::strerror(errno));
    int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        throw Error(ExitCode::internal, fifo + ": cannot open: " + std::strerror(errno));
    // pg_restore writes its output 4 kB at a time. With the default 64 kB pipe, each write woke
    // this reader for 4 kB, and each 4 kB became a COPY message of its own: the ping-pong cost
    // pg_restore more system time than its decompression took. A 1 MB pipe lets the writer run
    // ahead while the server is busy, and the reader then takes what has piled up in one read.
    // Where the kernel refuses the size (pipe-max-size), the default pipe still works.
    (void)::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
    spec.argv.push_back("--file=" + fifo);

    std::atomic<bool> done{false};
    ProcessResult result;
    std::exception_ptr run_error;
    std::thread worker([&] {
        try {
            result = runner.run(spec);
        } catch (...) {
            run_error = std::current_exception();
        }
        done = true;
    });
    std::exception_ptr data_error;
    std::string buf(kPipeBytes, '\0');
    bool writer_seen = false;
    while (true) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (p.revents & (POLLIN | POLLHUP))) {
            ssize_t r = ::read(fd, buf.data(), buf.size());
            if (r > 0) {
                writer_seen = true;
                try {
                    on_data(std::string_view(buf.data(), static_cast<std::size_t>(r)));
                } catch (...) {
                    data_error = std::current_exception();
                    break;
                }
                continue;
            }
            if (r == 0 && (writer_seen || (p.revents & POLLHUP)))
                break;  // the writer closed
            if (r < 0 && errno != EAGAIN && errno != EINTR)
                break;
        }
        // A child that failed before opening its output never connects: stop once it has ended
        // and nothing is left to read.
        if (done && n == 0)
            break;
    }
    ::close(fd);  // a writer still running now gets EPIPE and stops
    worker.join();
    if (run_error)
        std::rethrow_exception(run_error);
    if (data_error)
        std::rethrow_exception(data_error);
    return result;
}

void ScriptStream::line_outside(std::string_view line) {
    // "COPY public.orders (id, note) FROM stdin;"
    if (!text::starts_with(line, "COPY ") || !text::ends_with(line, " FROM stdin;"))
        return;
    std::string_view rest = line.substr(5, line.size() - 5 - std::strlen(" FROM stdin;"));
    std::string columns;
    auto paren = rest.find(" (");
    std::string_view name = rest;
    if (paren != std::string_view::npos) {
        columns = std::string(rest.substr(paren + 1));
        name = rest.substr(0, paren);
    }
    m_in_copy = true;
    m_rows = 0;
    if (m_handler.copy_start)
        m_handler.copy_start(split_qualified_name(std::string(name)), columns);
}

void ScriptStream::feed(std::string_view chunk) {
    m_carry.append(chunk.data(), chunk.size());
    std::size_t pos = 0;
    std::size_t span_start = 0;  // start of data lines not yet passed on
    const char* base = m_carry.data();
    while (true) {
        const void* nl = std::memchr(base + pos, '\n', m_carry.size() - pos);
        if (!nl)
            break;
        std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
        std::string_view line(base + pos, end - pos);
        if (m_in_copy) {
            if (line == "\\.") {
                if (m_handler.copy_data && pos > span_start)
                    m_handler.copy_data(std::string_view(base + span_start, pos - span_start));
                m_in_copy = false;
                if (m_handler.copy_end)
                    m_handler.copy_end(m_rows);
            } else {
                ++m_rows;
            }
            pos = end + 1;
            if (!m_in_copy)
                span_start = pos;
        } else {
            line_outside(line);
            pos = end + 1;
            span_start = pos;
        }
    }
    if (m_in_copy && m_handler.copy_data && pos > span_start)
        m_handler.copy_data(std::string_view(base + span_start, pos - span_start));
    m_carry.erase(0, pos);
}

}  // namespace rollsafe::snapshot
