// Folds repeated warnings from the libraries under palaver-server, so that a
// client cannot flood the log (issue 13). libsoup 3.2.3 warns "could not get
// remote address: Transport endpoint is not connected" for every upgrade
// whose client reset the connection before the server took it over; a
// fuzzing client makes thousands a minute.
//
// Per identical message text (and domain), the first kBurst in a window of
// kWindowUs are written; the rest are only counted. The next one after the
// window, or the flush at exit, writes one summary line with the count, at
// the same domain and level. The counts are also in /metrics as
// palaver_log_messages_suppressed_total{domain="..."}.
//
// Only warnings and criticals of the domains in kLimitedDomains are folded:
// palaver-server's own messages and errors always go through, and so does
// the first warning of a run (a G_DEBUG=fatal-warnings run still aborts on
// it: GLib drops the fatal flag before calling the writer of g_warning).
#pragma once

#include <glib.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace palaver::server {

class LogLimiter {
public:
    static constexpr unsigned kBurst = 5;
    static constexpr int64_t kWindowUs = 60 * G_USEC_PER_SEC;
    // Distinct texts tracked at once. A text that is new when all of them
    // have been seen within the window goes to its domain's overflow entry
    // instead (kBurst a window for all such texts), so that varying texts
    // cannot grow the table (or the log) without bound either.
    static constexpr size_t kMaxTexts = 256;
    static constexpr std::array<const char*, 5> kLimitedDomains { "libsoup", "GLib-Net", "GLib-GIO", "GLib",
        "GLib-GObject" };

    // A line to write on the limiter's behalf (a summary).
    struct Line {
        std::string domain;
        GLogLevelFlags level;
        std::string message;
    };

    // Whether a message of `domain` at `level` (as given to a GLib log
    // writer, flags included) is subject to folding.
    static bool limits(std::string_view domain, GLogLevelFlags level);

    // One limited message at monotonic time nowUs. Appends to `summaries`
    // the summary of a window that ended (to be written before the message);
    // returns whether the message itself is to be written.
    bool admit(std::string_view domain, GLogLevelFlags level, std::string_view text, int64_t nowUs,
        std::vector<Line>& summaries);

    // Summaries of everything counted and not yet reported; the counts
    // start again from zero. For the end of the process.
    std::vector<Line> flush();

    // Suppressed messages of `domain` since the start.
    uint64_t suppressed(std::string_view domain) const;

    // Prometheus text 0.0.4: HELP, TYPE and one sample per limited domain
    // (zeros included, so the series exist from the start).
    void appendMetrics(std::string& out) const;

private:
    struct Entry {
        GLogLevelFlags level = G_LOG_LEVEL_WARNING;
        int64_t windowStart = 0;
        unsigned written = 0;
        uint64_t suppressed = 0; // in this window, not yet reported
    };
    // Domain and text.
    using Key = std::pair<std::string, std::string>;

    // The entry of `key` in `map`, made or restarted (reporting the window
    // that ended) when needed.
    template<typename Map>
    static Entry& entry(Map& map, const typename Map::key_type& key, GLogLevelFlags level, int64_t nowUs,
        std::vector<Line>& summaries);
    // Drops entries whose window ended, reporting what they held.
    void expire(int64_t nowUs, std::vector<Line>& summaries);

    // Leaf lock: taken by whichever thread logs (main, workers, GIO's pool),
    // never held while writing.
    mutable std::mutex mutex_;
    std::map<Key, Entry> texts_;
    std::map<std::string, Entry> overflow_; // by domain: texts beyond kMaxTexts
    std::map<std::string, uint64_t, std::less<>> totals_; // by domain, since the start
};

// The process's limiter: install() makes it GLib's log writer (in front of
// g_log_writer_default), once, before other threads start; main() does.
void installLogLimiter();
// Writes the summaries of what is still held back; main() calls it on its
// way out, after the workers have stopped.
void flushLogLimiter();
// Appends the process limiter's series to a /metrics body.
void appendLogMetrics(std::string& out);

} // namespace palaver::server
