package servers

import (
	"fmt"
	"strings"
)

// laneText is one lane's text with its value lists filled in, and the values chosen.
type laneText struct {
	text   string
	values []string
}

// expandLists writes out the value lists of an --allocators list: each lane's word with
// a {A,B,…} becomes one word per value. A list without braces comes back as it is.
func expandLists(list string) ([]laneText, error) {
	if !strings.ContainsAny(list, "{}") {
		return []laneText{{text: list}}, nil
	}
	pieces, err := splitOutsideBraces(list)
	if err != nil {
		return nil, err
	}
	// A lane's settings may hold commas (MALLOC_CONF=a:1,b:2): a piece joins the lane
	// before it unless it starts a lane of its own, as ParseLanes reads them.
	var groups []string
	for _, p := range pieces {
		_, isLane, _ := parseLane(strings.TrimSpace(firstValues(p)))
		if isLane || len(groups) == 0 {
			groups = append(groups, p)
			continue
		}
		groups[len(groups)-1] += "," + p
	}
	var out []laneText
	for _, g := range groups {
		expanded, err := expandWord(strings.TrimSpace(g), nil)
		if err != nil {
			return nil, err
		}
		out = append(out, expanded...)
	}
	return out, nil
}

// expandWord makes one word per value of the word's first list, then of the next.
func expandWord(word string, chosen []string) ([]laneText, error) {
	open := strings.IndexByte(word, '{')
	if open < 0 {
		return []laneText{{text: word, values: chosen}}, nil
	}
	end := strings.IndexByte(word[open:], '}') + open
	values := strings.Split(word[open+1:end], ",")
	if len(values) < 2 {
		return nil, fmt.Errorf("lane %q lists one value in {%s}: list two or more ({1,2,4}), or write the value without braces", word, word[open+1:end])
	}
	seen := map[string]bool{}
	var out []laneText
	for _, v := range values {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
			return nil, fmt.Errorf("lane %q has an empty value in {%s}: list values like {1,2,4}", word, word[open+1:end])
		case seen[v]:
			return nil, fmt.Errorf("lane %q lists %s twice in {%s}: list each value once", word, v, word[open+1:end])
		}
		seen[v] = true
		more, err := expandWord(word[:open]+v+word[end+1:], append(append([]string(nil), chosen...), v))
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// splitOutsideBraces splits at the commas that are not inside a {…} list.
func splitOutsideBraces(list string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i, c := range list {
		switch c {
		case '{':
			if depth++; depth > 1 {
				return nil, fmt.Errorf("%q nests a {…} list in another: give one list per value", list)
			}
		case '}':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("%q closes a } it did not open: write lists of values as {1,2,4}", list)
			}
		case ',':
			if depth == 0 {
				out = append(out, list[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%q opens a { it does not close: write lists of values as {1,2,4}", list)
	}
	return append(out, list[start:]), nil
}

// firstValues is the word with each list replaced by its first value, to read as a lane.
func firstValues(word string) string {
	for {
		open := strings.IndexByte(word, '{')
		if open < 0 {
			return word
		}
		end := strings.IndexByte(word[open:], '}') + open
		first, _, _ := strings.Cut(word[open+1:end], ",")
		word = word[:open] + first + word[end+1:]
	}
}
