#include "core/fleet/runner.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/interrupt.h"

namespace rollsafe::fleet {
namespace {

std::string utc_now() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

std::string code_text(ExitCode code) {
    return "exit " + std::to_string(static_cast<int>(code)) + " " +
           std::string(exit_code_name(code));
}

// Runs one target's work and turns whatever it throws into that target's failure.
Outcome run_isolated(const Work& work, const Target& target) {
    Outcome out;
    try {
        out = work(target);
    } catch (const Error& e) {
        out.code = e.code();
        out.message = e.what();
        out.hint = e.hint();
        if (e.diagnostics().size() > 1) {
            nlohmann::json diags = nlohmann::json::array();
            for (const auto& d : e.diagnostics())
                diags.push_back(redact(d.location_and_message()));
            out.detail["diagnostics"] = diags;
        }
    } catch (const std::exception& e) {
        out.code = ExitCode::internal;
        out.message = std::string("internal error: ") + e.what();
        out.hint = "this is a bug; please report it with the command and its output";
    }
    out.message = redact(out.message);
    out.hint = redact(out.hint);
    return out;
}

// One batch of targets worked on by a bounded pool: a wave, or every target of a read-only run.
class Batch {
  public:
    Batch(std::vector<TargetResult*> slots, const RunOptions& options, const Work& work,
          const Observer& observer, std::mutex& report_mutex)
        : m_slots(std::move(slots)),
          m_options(options),
          m_work(work),
          m_observer(observer),
          m_report(report_mutex) {}

    // Runs the batch; returns the first failure that stopped it early (stop mode), if any.
    std::optional<Stop> run() {
        std::size_t workers = std::min<std::size_t>(
            static_cast<std::size_t>(std::max(1, m_options.parallel)), m_slots.size());
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < workers; ++i)
            threads.emplace_back([this] { work_loop(); });
        for (auto& t : threads)
            t.join();
        return m_stop;
    }

  private:
    void work_loop() {
        while (true) {
            if (m_stopping.load() || interrupt::requested())
                return;
            std::size_t i = m_next.fetch_add(1);
            if (i >= m_slots.size())
                return;
            TargetResult& r = *m_slots[i];
            auto t0 = std::chrono::steady_clock::now();
            r.started_at = utc_now();
            r.outcome = run_isolated(m_work, r.target);
            r.finished_at = utc_now();
            r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - t0)
                                .count();
            r.state = r.outcome.code == ExitCode::ok ? "ok" : "failed";
            std::lock_guard<std::mutex> g(m_report);
            if (r.state == "failed" && m_options.waves_gate &&
                m_options.on_failure == OnFailure::stop && !m_stop) {
                m_stop =
                    Stop{r.target.name, r.wave, r.outcome.code,
                         "target " + r.target.name + " failed (" + code_text(r.outcome.code) + ")"};
                m_stopping = true;
            }
            if (m_observer.target_finished)
                m_observer.target_finished(r);
        }
    }

    std::vector<TargetResult*> m_slots;
    const RunOptions& m_options;
    const Work& m_work;
    const Observer& m_observer;
    std::mutex& m_report;
    std::atomic<std::size_t> m_next{0};
    std::atomic<bool> m_stopping{false};
    std::optional<Stop> m_stop;
};

}  // namespace

Rollout plan_rollout(const TargetsFile& file, const std::vector<Target>& selected,
                     const Shard& shard) {
    Rollout r;
    r.shard = shard;
    r.selected = selected.size();
    for (const auto& name : file.wave_order) {
        Rollout::Wave w;
        w.name = name;
        for (const auto& t : selected) {
            if (t.wave != name)
                continue;
            (shard_of(t.name, shard.count) == shard.index ? w.mine : w.peers).push_back(t);
        }
        if (!w.mine.empty() || !w.peers.empty())
            r.waves.push_back(std::move(w));
    }
    return r;
}

const char* on_failure_name(OnFailure f) {
    return f == OnFailure::stop ? "stop" : "continue";
}

std::optional<OnFailure> parse_on_failure(const std::string& text) {
    if (text == "stop")
        return OnFailure::stop;
    if (text == "continue")
        return OnFailure::continue_wave;
    return std::nullopt;
}

ExitCode more_severe(ExitCode a, ExitCode b) {
    return exit_code_severity(b) > exit_code_severity(a) ? b : a;
}

FleetResult run_rollout(const Rollout& rollout, const RunOptions& options, const Work& work,
                        const Observer& observer) {
    FleetResult res;
    std::vector<std::size_t> wave_of;  // per result: index into rollout.waves
    for (std::size_t w = 0; w < rollout.waves.size(); ++w) {
        for (const auto& t : rollout.waves[w].mine) {
            TargetResult r;
            r.target = t;
            r.wave = rollout.waves[w].name;
            r.shard = rollout.shard.index;
            res.targets.push_back(std::move(r));
            wave_of.push_back(w);
        }
    }
    std::mutex report_mutex;
    // Marks the targets of waves [from, to) that never started as skipped, saying why.
    auto skip = [&](std::size_t from, std::size_t to, const std::string& why) {
        for (std::size_t i = 0; i < res.targets.size(); ++i) {
            auto& r = res.targets[i];
            if (wave_of[i] < from || wave_of[i] >= to || !r.started_at.empty() ||
                !r.outcome.message.empty())
                continue;
            r.outcome.message = why;
            std::lock_guard<std::mutex> g(report_mutex);
            if (observer.target_finished)
                observer.target_finished(r);
        }
    };
    auto skip_rest = [&](std::size_t from, const std::string& why) {
        skip(from, rollout.waves.size(), why);
    };
    auto slots_of = [&](std::size_t wave) {
        std::vector<TargetResult*> slots;
        for (std::size_t i = 0; i < res.targets.size(); ++i)
            if (wave_of[i] == wave)
                slots.push_back(&res.targets[i]);
        return slots;
    };

    if (!options.waves_gate) {
        // Read-only: one pool over every target, in wave order.
        std::vector<TargetResult*> all;
        for (auto& r : res.targets)
            all.push_back(&r);
        Batch(all, options, work, observer, report_mutex).run();
        if (interrupt::requested())
            skip_rest(0, "not started: interrupted by a signal");
    } else {
        for (std::size_t w = 0; w < rollout.waves.size(); ++w) {
            const auto& wave = rollout.waves[w];
            if (wave.mine.empty())
                continue;
            if (interrupt::requested()) {
                res.stop = Stop{"", wave.name, ExitCode::interrupted, "interrupted by a signal"};
                skip_rest(w, "not started: interrupted by a signal");
                break;
            }
            std::vector<std::pair<std::string, Target>> earlier_peers;
            for (std::size_t e = 0; e < w; ++e)
                for (const auto& t : rollout.waves[e].peers)
                    earlier_peers.emplace_back(rollout.waves[e].name, t);
            if (!earlier_peers.empty() && options.wait_for_peers) {
                auto verdict = options.wait_for_peers(earlier_peers);
                if (verdict.kind != PeerVerdict::Kind::done) {
                    res.stop =
                        Stop{verdict.target, verdict.wave, verdict.code, redact(verdict.message)};
                    skip_rest(w, "not started: " + res.stop->reason);
                    break;
                }
            }
            if (observer.wave_started)
                observer.wave_started(wave.name, wave.mine.size());
            auto stop = Batch(slots_of(w), options, work, observer, report_mutex).run();
            bool wave_failed = false;
            for (auto* r : slots_of(w))
                wave_failed = wave_failed || r->state == "failed";
            if (stop) {
                skip(w, w + 1, "not started: " + stop->reason + " and --on-failure is stop");
            }
            if (interrupt::requested() && !wave_failed) {
                res.stop = Stop{"", wave.name, ExitCode::interrupted, "interrupted by a signal"};
                skip_rest(w, "not started: interrupted by a signal");
                break;
            }
            if (wave_failed) {
                Stop s = stop ? *stop : Stop{};
                if (!stop) {
                    for (auto* r : slots_of(w)) {
                        if (r->state != "failed")
                            continue;
                        if (s.target.empty() ||
                            exit_code_severity(r->outcome.code) > exit_code_severity(s.code))
                            s = Stop{r->target.name, r->wave, r->outcome.code,
                                     "target " + r->target.name + " failed (" +
                                         code_text(r->outcome.code) + ")"};
                    }
                }
                res.stop = s;
                skip_rest(w + 1,
                          "not started: wave " + wave.name + " did not succeed: " + s.reason);
                break;
            }
        }
    }

    // Waves and totals.
    for (std::size_t w = 0; w < rollout.waves.size(); ++w) {
        WaveResult wr;
        wr.name = rollout.waves[w].name;
        for (std::size_t i = 0; i < res.targets.size(); ++i) {
            if (wave_of[i] != w)
                continue;
            const auto& r = res.targets[i];
            if (r.state == "ok")
                ++wr.ok;
            else if (r.state == "failed")
                ++wr.failed;
            else
                ++wr.skipped;
        }
        wr.state = wr.failed                ? "failed"
                   : (wr.ok && !wr.skipped) ? "ok"
                   : wr.ok                  ? "partial"
                                            : "skipped";
        if (rollout.waves[w].mine.empty())
            wr.state = "other-shards";
        res.waves.push_back(wr);
    }
    for (const auto& r : res.targets) {
        if (r.state == "ok")
            ++res.ok;
        else if (r.state == "failed")
            ++res.failed;
        else
            ++res.skipped;
        res.code = more_severe(res.code, r.state == "failed" ? r.outcome.code : ExitCode::ok);
    }
    if (res.stop)
        res.code = more_severe(res.code, res.stop->code);
    if (interrupt::requested())
        res.code = more_severe(res.code, ExitCode::interrupted);
    return res;
}

}  // namespace rollsafe::fleet
