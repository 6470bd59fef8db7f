// The call grid's layout manager: one tile fills the area, two sit side by
// side, then a square-ish grid; an area narrower than kNarrowWidth stacks
// them in one column (and scrolls when they no longer fit). Columns follow
// the allocated width, so the chat panel, a snapped window or a phone get
// the right layout without anyone watching window sizes.
#pragma once

#include <gtk/gtk.h>

namespace palaver::gui {

inline constexpr int kNarrowWidth = 600;

// Columns for `count` tiles in `width` pixels.
int tileColumns(int width, int count);

// A new GtkLayoutManager (transfer full) for a container of tiles.
GtkLayoutManager* newTileLayout();

} // namespace palaver::gui
