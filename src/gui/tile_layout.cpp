#include "tile_layout.h"

#include <algorithm>
#include <cmath>

namespace palaver::gui {

namespace {

constexpr int kSpacing = 8;
constexpr int kMinWidth = 240, kMinHeight = 180;

int visibleChildren(GtkWidget* widget)
{
    int n = 0;
    for (GtkWidget* c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c))
        n += gtk_widget_should_layout(c);
    return n;
}

void measure(GtkWidget* widget, GtkOrientation orientation, int forSize, int* minimum, int* natural, int*, int*)
{
    int n = std::max(1, visibleChildren(widget));
    if (orientation == GTK_ORIENTATION_HORIZONTAL) {
        *minimum = kMinWidth;
        *natural = kMinWidth * std::min(n, 2) + kSpacing * (std::min(n, 2) - 1);
        return;
    }
    int columns = tileColumns(forSize < 0 ? kMinWidth : forSize, n);
    int rows = (n + columns - 1) / columns;
    *minimum = *natural = rows * kMinHeight + (rows - 1) * kSpacing;
}

void allocate(GtkWidget* widget, int width, int height, int)
{
    int n = visibleChildren(widget);
    if (n == 0)
        return;
    int columns = tileColumns(width, n);
    int rows = (n + columns - 1) / columns;
    int w = std::max(1, (width - (columns - 1) * kSpacing) / columns);
    int h = std::max(kMinHeight, (height - (rows - 1) * kSpacing) / rows);
    // The last row's tiles are centred when it is not full.
    int i = 0;
    for (GtkWidget* c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
        if (!gtk_widget_should_layout(c))
            continue;
        int row = i / columns, column = i % columns;
        int inRow = row == rows - 1 ? n - row * columns : columns;
        int offset = (width - (inRow * w + (inRow - 1) * kSpacing)) / 2;
        GtkAllocation a = { offset + column * (w + kSpacing), row * (h + kSpacing), w, h };
        gtk_widget_size_allocate(c, &a, -1);
        ++i;
    }
}

GtkSizeRequestMode requestMode(GtkWidget*)
{
    return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

} // namespace

int tileColumns(int width, int count)
{
    if (count <= 1 || width < kNarrowWidth)
        return 1;
    if (count == 2)
        return 2;
    return int(std::ceil(std::sqrt(double(count))));
}

GtkLayoutManager* newTileLayout()
{
    return gtk_custom_layout_new(&requestMode, &measure, &allocate);
}

} // namespace palaver::gui
