package estest

import "net/http"

type handler func(c *call) reply

// methods maps HTTP methods to handlers for one path shape.
type methods map[string]handler

// route finds the handler for a method and path. When the path is known
// but the method is not, it returns the allowed methods.
func route(method string, p []string) (handler, []string) {
	m := routes(p)
	if m == nil {
		return nil, nil
	}
	if h, ok := m[method]; ok {
		return h, nil
	}
	if method == http.MethodHead {
		if h, ok := m[http.MethodGet]; ok {
			return h, nil
		}
	}
	allowed := make([]string, 0, len(m))
	for _, k := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
		if _, ok := m[k]; ok {
			allowed = append(allowed, k)
		}
	}
	return nil, allowed
}

func routes(p []string) methods {
	switch len(p) {
	case 0:
		return methods{"GET": (*call).info, "HEAD": (*call).ping}
	case 1:
		switch p[0] {
		case "_bulk":
			return methods{"POST": (*call).bulk, "PUT": (*call).bulk}
		case "_refresh":
			return methods{"POST": (*call).refreshIndices, "GET": (*call).refreshIndices}
		case "_aliases":
			return methods{"POST": (*call).updateAliases, "GET": (*call).getAlias}
		case "_alias":
			return methods{"GET": (*call).getAlias, "HEAD": (*call).existsAlias}
		case "_count":
			return methods{"GET": (*call).count, "POST": (*call).count}
		case "_search":
			return methods{"GET": (*call).search, "POST": (*call).search}
		case "_pit":
			return methods{"DELETE": (*call).closePIT}
		case "_mapping":
			return methods{"GET": (*call).getMapping}
		case "_settings":
			return methods{"GET": (*call).getSettings}
		case "_cluster", "_cat", "_nodes":
			return nil
		}
		if isSystemPath(p[0]) {
			return nil
		}
		return methods{"PUT": (*call).createIndex, "GET": (*call).getIndex, "HEAD": (*call).existsIndex, "DELETE": (*call).deleteIndex}
	case 2:
		if p[0] == "_cluster" {
			switch p[1] {
			case "health":
				return methods{"GET": (*call).health}
			case "settings":
				return methods{"GET": (*call).getClusterSettings, "PUT": (*call).putClusterSettings}
			}
			return nil
		}
		if p[0] == "_alias" || p[0] == "_aliases" {
			return methods{"GET": (*call).getAlias, "HEAD": (*call).existsAlias}
		}
		if isSystemPath(p[0]) {
			return nil
		}
		switch p[1] {
		case "_bulk":
			return methods{"POST": (*call).bulk, "PUT": (*call).bulk}
		case "_refresh":
			return methods{"POST": (*call).refreshIndices, "GET": (*call).refreshIndices}
		case "_count":
			return methods{"GET": (*call).count, "POST": (*call).count}
		case "_search":
			return methods{"GET": (*call).search, "POST": (*call).search}
		case "_pit":
			return methods{"POST": (*call).openPIT}
		case "_mapping":
			return methods{"GET": (*call).getMapping, "PUT": (*call).putMapping, "POST": (*call).putMapping}
		case "_settings":
			return methods{"GET": (*call).getSettings, "PUT": (*call).putSettings}
		case "_alias", "_aliases":
			return methods{"GET": (*call).getAlias, "HEAD": (*call).existsAlias}
		case "_doc":
			return methods{"POST": (*call).indexDoc}
		}
	case 3:
		if p[0] == "_cluster" && p[1] == "health" {
			return methods{"GET": (*call).health}
		}
		if isSystemPath(p[0]) {
			return nil
		}
		switch p[1] {
		case "_doc":
			return methods{"PUT": (*call).indexDoc, "POST": (*call).indexDoc, "GET": (*call).getDoc,
				"HEAD": (*call).existsDoc, "DELETE": (*call).deleteDoc}
		case "_create":
			return methods{"PUT": (*call).indexDoc, "POST": (*call).indexDoc}
		case "_update":
			return methods{"POST": (*call).update}
		case "_source":
			return methods{"GET": (*call).getSource, "HEAD": (*call).existsDoc}
		case "_alias", "_aliases":
			return methods{"PUT": (*call).putAlias, "POST": (*call).putAlias, "DELETE": (*call).deleteAlias,
				"GET": (*call).getAlias, "HEAD": (*call).existsAlias}
		}
	}
	return nil
}

// isSystemPath reports whether a first path segment names an API we do not
// serve (so it is an unknown route rather than an index name).
func isSystemPath(s string) bool {
	return len(s) > 0 && s[0] == '_' && s != "_all"
}
