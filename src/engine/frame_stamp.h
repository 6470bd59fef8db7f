// A capture timestamp painted into video frames and read back after
// decoding, to measure capture-to-decode ("glass to glass" without the
// display) latency between two processes on one machine: both sides use
// CLOCK_MONOTONIC, so the receiver needs no table from the sender.
//
// 24 bits of the millisecond clock as 2 rows of 12 large blocks in the top
// quarter of the luma plane (white 1, black 0). Blocks of width/12 x
// height/8 pixels survive VP8 and H.264 at call bitrates.
#pragma once

#include <gst/video/video.h>

#include <cstdint>
#include <optional>

namespace palaver::engine {

inline constexpr uint32_t kStampMask = 0xFFFFFF;

// The clock the stamp carries: monotonic milliseconds, 24 bits.
uint32_t stampNowMs();

// Paints `value` into a mapped YUV frame. False for formats it cannot paint.
bool paintStamp(GstVideoFrame* frame, uint32_t value);

// Reads a stamp from a mapped YUV frame; nullopt if there is none.
std::optional<uint32_t> readStamp(const GstVideoFrame* frame);

} // namespace palaver::engine
