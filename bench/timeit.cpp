// bench_timeit: runs one command and appends "wall_s cpu_s maxrss_kb exit_code" to a file, with
// microsecond resolution (wait4's rusage of the child: user + system CPU, peak resident set).
// bench/run uses it for every timed command; /usr/bin/time only resolves 10 ms, too coarse for
// a 30 ms `status`. The command's stdout and stderr are inherited. Usage:
//   bench_timeit OUT_FILE COMMAND [ARG...]
// Exit status: the command's (128 + signal if it was killed), 127 if it could not be started.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_timeit OUT_FILE COMMAND [ARG...]\n");
        return 2;
    }
    timespec t0{}, t1{};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        std::perror("fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        std::fprintf(stderr, "bench_timeit: cannot run %s: %s\n", argv[2], std::strerror(errno));
        _exit(127);
    }
    int status = 0;
    rusage ru{};
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            std::perror("wait4");
            return 127;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::FILE* out = std::fopen(argv[1], "a");
    if (!out) {
        std::perror(argv[1]);
        return 127;
    }
    std::fprintf(out, "%.6f %.6f %ld %d\n", wall, cpu, ru.ru_maxrss, code);
    std::fclose(out);
    return code;
}
