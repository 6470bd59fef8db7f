#include "log_limiter.h"

#include <algorithm>

namespace palaver::server {

namespace {

constexpr int kWindowSeconds = static_cast<int>(LogLimiter::kWindowUs / G_USEC_PER_SEC);

const std::string& domainOf(const std::pair<std::string, std::string>& key) { return key.first; }
const std::string& domainOf(const std::string& key) { return key; }

std::string describe(const std::pair<std::string, std::string>& key, uint64_t count)
{
    return std::to_string(count) + " identical messages suppressed (more than " + std::to_string(LogLimiter::kBurst)
        + " in " + std::to_string(kWindowSeconds) + " s): " + key.second;
}

std::string describe(const std::string&, uint64_t count)
{
    return std::to_string(count) + " messages suppressed (more than " + std::to_string(LogLimiter::kMaxTexts)
        + " different ones in " + std::to_string(kWindowSeconds) + " s)";
}

} // namespace

bool LogLimiter::limits(std::string_view domain, GLogLevelFlags level)
{
    // Fatal ones (structured logging with G_DEBUG=fatal-*) abort right after
    // the writer: they must be seen.
    if (level & G_LOG_FLAG_FATAL)
        return false;
    if (!(level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL)))
        return false;
    return std::find(kLimitedDomains.begin(), kLimitedDomains.end(), domain) != kLimitedDomains.end();
}

template<typename Map>
LogLimiter::Entry& LogLimiter::entry(Map& map, const typename Map::key_type& key, GLogLevelFlags level,
    int64_t nowUs, std::vector<Line>& summaries)
{
    auto it = map.find(key);
    if (it != map.end() && nowUs - it->second.windowStart >= kWindowUs) {
        if (it->second.suppressed)
            summaries.push_back({ domainOf(key), it->second.level, describe(key, it->second.suppressed) });
        it->second = Entry { level, nowUs };
    }
    if (it == map.end())
        it = map.emplace(key, Entry { level, nowUs }).first;
    return it->second;
}

bool LogLimiter::admit(std::string_view domain, GLogLevelFlags level, std::string_view text, int64_t nowUs,
    std::vector<Line>& summaries)
{
    level = static_cast<GLogLevelFlags>(level & G_LOG_LEVEL_MASK);
    std::lock_guard lock(mutex_);
    Key key(domain, text);
    Entry* e = nullptr;
    const unsigned burst = kBurst;
    if (!texts_.contains(key) && texts_.size() >= kMaxTexts)
        expire(nowUs, summaries);
    if (texts_.contains(key) || texts_.size() < kMaxTexts) {
        e = &entry(texts_, key, level, nowUs, summaries);
    } else {
        // The table is full of live texts: new ones share one budget per
        // domain, so that a genuinely new warning is still seen.
        e = &entry(overflow_, key.first, level, nowUs, summaries);
    }
    if (e->written < burst) {
        ++e->written;
        return true;
    }
    ++e->suppressed;
    auto total = totals_.find(domain);
    if (total == totals_.end())
        total = totals_.emplace(std::string(domain), 0).first;
    ++total->second;
    return false;
}

void LogLimiter::expire(int64_t nowUs, std::vector<Line>& summaries)
{
    auto sweep = [&](auto& map) {
        for (auto it = map.begin(); it != map.end();) {
            if (nowUs - it->second.windowStart < kWindowUs) {
                ++it;
                continue;
            }
            if (it->second.suppressed)
                summaries.push_back({ domainOf(it->first), it->second.level, describe(it->first, it->second.suppressed) });
            it = map.erase(it);
        }
    };
    sweep(texts_);
    sweep(overflow_);
}

std::vector<LogLimiter::Line> LogLimiter::flush()
{
    std::vector<Line> summaries;
    std::lock_guard lock(mutex_);
    auto report = [&](auto& map) {
        for (auto& [key, e] : map) {
            if (e.suppressed)
                summaries.push_back({ domainOf(key), e.level, describe(key, e.suppressed) });
            e.suppressed = 0;
        }
    };
    report(texts_);
    report(overflow_);
    return summaries;
}

uint64_t LogLimiter::suppressed(std::string_view domain) const
{
    std::lock_guard lock(mutex_);
    auto it = totals_.find(domain);
    return it == totals_.end() ? 0 : it->second;
}

void LogLimiter::appendMetrics(std::string& out) const
{
    out.append("# HELP palaver_log_messages_suppressed_total Library warnings not logged because the same text was "
               "logged more than ")
        .append(std::to_string(kBurst))
        .append(" times in ")
        .append(std::to_string(kWindowSeconds))
        .append(" s, by log domain.\n");
    out.append("# TYPE palaver_log_messages_suppressed_total counter\n");
    for (const char* domain : kLimitedDomains) {
        out.append("palaver_log_messages_suppressed_total{domain=\"")
            .append(domain)
            .append("\"} ")
            .append(std::to_string(suppressed(domain)))
            .append("\n");
    }
}

// ---- The process's writer ----------------------------------------------------

namespace {

// Never destroyed: GLib may log from a thread or an atexit handler after
// main() returns.
LogLimiter& processLimiter()
{
    static auto* limiter = new LogLimiter;
    return *limiter;
}

std::string_view fieldValue(const GLogField& field)
{
    const char* value = static_cast<const char*>(field.value);
    if (!value)
        return {};
    return field.length < 0 ? std::string_view(value) : std::string_view(value, static_cast<size_t>(field.length));
}

void writeLine(const LogLimiter::Line& line)
{
    // Same fields as g_log() gives the default writer. Priority "4" is what
    // GLib maps both warnings and criticals to (journald's LOG_WARNING).
    const GLogField fields[] = {
        { "GLIB_DOMAIN", line.domain.c_str(), -1 },
        { "PRIORITY", "4", -1 },
        { "MESSAGE", line.message.c_str(), -1 },
    };
    g_log_writer_default(line.level, fields, G_N_ELEMENTS(fields), nullptr);
}

GLogWriterOutput writeLog(GLogLevelFlags level, const GLogField* fields, gsize count, gpointer)
{
    std::string_view domain;
    std::string_view message;
    bool hasDomain = false;
    for (gsize i = 0; i < count; ++i) {
        if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0) {
            domain = fieldValue(fields[i]);
            hasDomain = true;
        } else if (g_strcmp0(fields[i].key, "MESSAGE") == 0) {
            message = fieldValue(fields[i]);
        }
    }
    if (hasDomain && LogLimiter::limits(domain, level)) {
        std::vector<LogLimiter::Line> summaries;
        bool write = processLimiter().admit(domain, level, message, g_get_monotonic_time(), summaries);
        for (const auto& line : summaries)
            writeLine(line);
        if (!write)
            return G_LOG_WRITER_HANDLED;
    }
    return g_log_writer_default(level, fields, count, nullptr);
}

} // namespace

void installLogLimiter()
{
    g_log_set_writer_func(writeLog, nullptr, nullptr);
}

void flushLogLimiter()
{
    for (const auto& line : processLimiter().flush())
        writeLine(line);
}

void appendLogMetrics(std::string& out)
{
    processLimiter().appendMetrics(out);
}

} // namespace palaver::server
