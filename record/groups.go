package record

import "strings"

// ServerGroups partitions a record's targets by the server they ran, each group in target
// order and the groups in the order of their first target: the built-in server's lanes
// (its builds and preloads) are one group, each --target (one command, with its allocator
// lanes, or one URL) another, and the processes watch sampled another; lanes the user
// declared one server (Target.Group, from --same-server) are one group whatever they ran. Lanes of
// different servers differ by more than their allocator: only lanes of one group compare.
func ServerGroups(r *Record) [][]int {
	var groups [][]int
	at := map[string]int{}
	for i, t := range r.Targets {
		key := serverKey(t)
		g, ok := at[key]
		if !ok {
			g = len(groups)
			at[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

func serverKey(t Target) string {
	if t.Group != "" {
		return "group\x00" + t.Group
	}
	switch t.Kind {
	case KindBuiltin, KindPreload, "":
		return "builtin"
	case KindRemote:
		return "remote\x00" + t.URL
	case KindCommand:
		return "command\x00" + strings.Join(t.Command, "\x00")
	}
	return string(t.Kind)
}
