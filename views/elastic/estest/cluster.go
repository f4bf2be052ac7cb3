package estest

import (
	"net/http"
)

// Version is the Elasticsearch version the server reports.
const Version = "8.19.0"

// info serves GET /.
func (c *call) info() reply {
	return ok(map[string]any{
		"name":         "estest",
		"cluster_name": "estest",
		"cluster_uuid": "estest-cluster-uuid-0000",
		"version": map[string]any{
			"number":                              Version,
			"build_flavor":                        "default",
			"build_type":                          "docker",
			"build_hash":                          "estest",
			"build_date":                          "2025-07-01T00:00:00.000Z",
			"build_snapshot":                      false,
			"lucene_version":                      "9.12.0",
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	})
}

// ping serves HEAD /.
func (c *call) ping() reply { return ok(map[string]any{}) }

// health serves GET /_cluster/health[/{index}]. One node holds every
// primary; replicas stay unassigned, which makes the cluster yellow.
func (c *call) health() reply {
	expr := ""
	if len(c.parts) == 3 {
		expr = c.parts[2]
	}
	targets, err := c.s.resolve(expr, c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	primaries, unassigned := 0, 0
	for _, ix := range targets {
		primaries += ix.shards()
		unassigned += ix.shards() * ix.replicas()
	}
	status := "green"
	if unassigned > 0 {
		status = "yellow"
	}
	pct := 100.0
	if primaries+unassigned > 0 {
		pct = 100 * float64(primaries) / float64(primaries+unassigned)
	}
	return ok(map[string]any{
		"cluster_name": "estest", "status": status, "timed_out": false,
		"number_of_nodes": 1, "number_of_data_nodes": 1,
		"active_primary_shards": primaries, "active_shards": primaries,
		"relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": unassigned,
		"unassigned_primary_shards": 0, "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
		"number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
		"active_shards_percent_as_number": pct,
	})
}

// getClusterSettings serves GET /_cluster/settings.
func (c *call) getClusterSettings() reply {
	return ok(c.s.clusterSettingsView())
}

func (s *Server) clusterSettingsView() map[string]any {
	out := map[string]any{}
	for _, scope := range []string{"persistent", "transient"} {
		flat := map[string]string{}
		for k, v := range s.clusterSettings[scope] {
			flat[k] = stringify(v)
		}
		out[scope] = nestSettings(flat)
	}
	return out
}

// putClusterSettings serves PUT /_cluster/settings. Only
// action.destructive_requires_name has an effect; the rest is echoed.
func (c *call) putClusterSettings() reply {
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	if body == nil {
		return fail(validationFailed([]string{"no settings to update"}))
	}
	s := c.s
	resp := map[string]any{"acknowledged": true}
	for _, scope := range []string{"persistent", "transient"} {
		in, _ := body[scope].(map[string]any)
		flat := map[string]any{}
		flattenAny("", in, flat)
		for k, v := range flat {
			if v == nil {
				delete(s.clusterSettings[scope], k)
			} else {
				s.clusterSettings[scope][k] = v
			}
		}
		echo := map[string]string{}
		for k, v := range flat {
			if v != nil {
				echo[k] = stringify(v)
			}
		}
		resp[scope] = nestSettings(echo)
	}
	s.destructiveRequiresName = !s.opts.AllowWildcardDeletes
	for _, scope := range []string{"persistent", "transient"} {
		if v, ok := s.clusterSettings[scope]["action.destructive_requires_name"]; ok {
			s.destructiveRequiresName = stringify(v) == "true"
		}
	}
	return reply{status: http.StatusOK, body: resp}
}

func flattenAny(prefix string, in map[string]any, out map[string]any) {
	for k, v := range in {
		if m, ok := v.(map[string]any); ok {
			flattenAny(prefix+k+".", m, out)
			continue
		}
		out[prefix+k] = v
	}
}

func stringify(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	return sprintf("%v", v)
}
