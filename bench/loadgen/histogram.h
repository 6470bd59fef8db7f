#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace loadgen {

// Latency histogram with 1 µs buckets up to about 2 s (later values land in the
// last bucket, the exact maximum is kept apart). Buckets instead of a sample
// vector keep a flood of millions of messages at constant memory and cost.
class Histogram {
public:
    static constexpr size_t kBuckets = size_t(1) << 21;

    Histogram() : buckets_(kBuckets, 0) {}

    void add(int64_t ns)
    {
        if (ns < 0)
            ns = 0;
        size_t us = size_t(ns / 1000);
        buckets_[std::min(us, kBuckets - 1)]++;
        count_++;
        maxNs_ = std::max(maxNs_, ns);
        sumNs_ += ns;
    }

    void merge(const Histogram &other)
    {
        for (size_t i = 0; i < kBuckets; i++)
            buckets_[i] += other.buckets_[i];
        count_ += other.count_;
        maxNs_ = std::max(maxNs_, other.maxNs_);
        sumNs_ += other.sumNs_;
    }

    uint64_t count() const { return count_; }
    double maxUs() const { return double(maxNs_) / 1000.0; }
    double meanUs() const { return count_ ? double(sumNs_) / double(count_) / 1000.0 : 0.0; }

    // The upper edge of the bucket holding quantile q, in µs (so a p50 of
    // "31" means 30 to 31 µs).
    double percentileUs(double q) const
    {
        if (!count_)
            return 0.0;
        uint64_t rank = uint64_t(q * double(count_ - 1)) + 1;
        uint64_t seen = 0;
        for (size_t i = 0; i < kBuckets; i++) {
            seen += buckets_[i];
            if (seen >= rank)
                return std::min(double(i + 1), maxUs());
        }
        return maxUs();
    }

private:
    std::vector<uint32_t> buckets_;
    uint64_t count_ = 0;
    int64_t maxNs_ = 0;
    int64_t sumNs_ = 0;
};

} // namespace loadgen
