#include "frame_stamp.h"

#include <glib.h>

#include <algorithm>

namespace palaver::engine {

namespace {

constexpr int kColumns = 12;
constexpr int kRows = 2;

struct Grid {
    int blockW, blockH;
};

bool gridFor(const GstVideoFrame* frame, Grid& grid)
{
    if (!GST_VIDEO_FORMAT_INFO_IS_YUV(frame->info.finfo))
        return false;
    int w = GST_VIDEO_FRAME_COMP_WIDTH(frame, 0);
    int h = GST_VIDEO_FRAME_COMP_HEIGHT(frame, 0);
    grid.blockW = w / kColumns;
    grid.blockH = h / 8;
    return grid.blockW >= 4 && grid.blockH >= 4 && GST_VIDEO_FRAME_COMP_PSTRIDE(frame, 0) == 1;
}

} // namespace

uint32_t stampNowMs()
{
    return uint32_t(g_get_monotonic_time() / 1000) & kStampMask;
}

bool paintStamp(GstVideoFrame* frame, uint32_t value)
{
    Grid grid;
    if (!gridFor(frame, grid))
        return false;
    auto* y = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(frame, 0));
    int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, 0);
    for (int bit = 0; bit < kColumns * kRows; ++bit) {
        bool on = (value >> (kColumns * kRows - 1 - bit)) & 1;
        int x0 = (bit % kColumns) * grid.blockW;
        int y0 = (bit / kColumns) * grid.blockH;
        for (int row = y0; row < y0 + grid.blockH; ++row)
            std::fill_n(y + size_t(row) * stride + x0, grid.blockW, on ? 235 : 16);
    }
    // Neutral chroma over the stamp so colour never leaks into the luma read.
    for (int comp = 1; comp < int(GST_VIDEO_FRAME_N_COMPONENTS(frame)) && comp < 3; ++comp) {
        auto* c = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(frame, comp));
        int cstride = GST_VIDEO_FRAME_COMP_STRIDE(frame, comp);
        int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, comp);
        int cw = GST_VIDEO_FRAME_COMP_WIDTH(frame, comp) * grid.blockW * kColumns / GST_VIDEO_FRAME_COMP_WIDTH(frame, 0);
        int ch = GST_VIDEO_FRAME_COMP_HEIGHT(frame, comp) * grid.blockH * kRows / GST_VIDEO_FRAME_COMP_HEIGHT(frame, 0);
        for (int row = 0; row < ch; ++row)
            for (int col = 0; col < cw; ++col)
                c[size_t(row) * cstride + size_t(col) * pstride] = 128;
    }
    return true;
}

std::optional<uint32_t> readStamp(const GstVideoFrame* frame)
{
    Grid grid;
    if (!gridFor(frame, grid))
        return std::nullopt;
    auto* y = static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(frame, 0));
    int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, 0);
    uint32_t value = 0;
    for (int bit = 0; bit < kColumns * kRows; ++bit) {
        int x0 = (bit % kColumns) * grid.blockW + grid.blockW / 4;
        int y0 = (bit / kColumns) * grid.blockH + grid.blockH / 4;
        // The mean of the block's centre half: compression blurs the edges.
        // A block neither clearly black nor white means the frame carries
        // no stamp (a camera image, a blanked frame).
        unsigned sum = 0, n = 0;
        for (int row = y0; row < y0 + grid.blockH / 2; ++row)
            for (int col = x0; col < x0 + grid.blockW / 2; ++col) {
                sum += y[size_t(row) * stride + col];
                ++n;
            }
        unsigned mean = n ? sum / n : 0;
        if (mean > 80 && mean < 170)
            return std::nullopt;
        value = (value << 1) | (mean >= 128 ? 1 : 0);
    }
    return value;
}

} // namespace palaver::engine
