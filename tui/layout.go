package tui

// layout is computed once per resize, never in View.
type layout struct {
	width, height int
	sideBySide    bool
	panelWidth    int // outer width of one panel when side by side
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
	l.sideBySide = w/targets >= minPanelWidth
	if l.sideBySide {
		l.panelWidth = w / targets
		l.panelLines = 9
		if h < 26 {
			l.panelLines = 7 // sparklines go first when the screen is short
		}
		l.panelsHeight = l.panelLines + 2
	} else {
		l.panelsHeight = targets
	}
	l.chartHeight = max(h-fixedRows-l.panelsHeight, 4)
	return l
}
