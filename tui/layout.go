package tui

// layout is computed once per resize, never in View.
type layout struct {
	width, height int
	sideBySide    bool
	panelWidth    int // outer width of one panel when side by side
	perRow        int // panels in a row: all of them, or half in two rows
	panelLines    int // content lines of a panel
	panelsHeight  int
	chartHeight   int // the chart's own rows, without its title and ruler
}

// Rows that are always there: two header lines, the chart title and ruler, status and help.
const fixedRows = 2 + 2 + 1 + 1

// minPanelWidth is the narrowest panel that still reads; below it targets are stacked as rows.
const minPanelWidth = 26

func computeLayout(w, h, targets int) layout {
	l := layout{width: w, height: h}
	if targets == 0 {
		l.chartHeight = max(h-fixedRows, 3)
		return l
	}
	// Eight lanes do not fit side by side at 120 columns: two rows of four do, with the
	// sparklines dropped (the chart shows the same), before falling back to a line each.
	l.perRow = targets
	rows := 1
	if half := (targets + 1) / 2; targets > 3 && w/targets < minPanelWidth && w/half >= minPanelWidth && h-fixedRows-2*(7+2) >= 10 {
		l.perRow, rows = half, 2
	}
	l.sideBySide = w/l.perRow >= minPanelWidth
	if l.sideBySide {
		l.panelWidth = w / l.perRow
		l.panelLines = 9
		if h < 26 || rows == 2 {
			l.panelLines = 7 // sparklines go first when the screen is short
		}
		l.panelsHeight = rows * (l.panelLines + 2)
	} else {
		l.panelsHeight = targets
	}
	l.chartHeight = max(h-fixedRows-l.panelsHeight, 4)
	return l
}
