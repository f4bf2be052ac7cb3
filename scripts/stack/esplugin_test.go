package stack

import (
	"regexp"
	"testing"
)

// TestPluginSourcesNameThePinnedVersion checks that the sourced-analysis
// plugin's pom and descriptor name stack.ElasticsearchVersion, so that
// bumping the version cannot leave a plugin the node would refuse.
func TestPluginSourcesNameThePinnedVersion(t *testing.T) {
	if err := checkPluginVersion(); err != nil {
		t.Error(err)
	}
	pom, err := pluginSources.ReadFile("esplugin/pom.xml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<elasticsearch.version>([^<]+)</elasticsearch.version>`).FindSubmatch(pom)
	if m == nil || string(m[1]) != ElasticsearchVersion {
		t.Errorf("esplugin/pom.xml elasticsearch.version = %q, want %s", m, ElasticsearchVersion)
	}
	if h, err := pluginHash(); err != nil || len(h) != 64 {
		t.Errorf("pluginHash = %q, %v", h, err)
	}
}
