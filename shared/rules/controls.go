package rules

import (
	"regexp"
	"strings"
)

// Framework is the key of a compliance framework in a rule's controls.
type Framework string

// The frameworks a rule can map to, in the order controls are listed.
const (
	CIS      Framework = "cis"
	ISO27001 Framework = "iso27001_2022"
	NIS2     Framework = "nis2"
	PCIDSS   Framework = "pci_dss_4_0"
	ENS      Framework = "ens_rd2022"
	DORA     Framework = "dora"
)

// Control is one framework control a rule gives evidence for.
type Control struct {
	Framework Framework
	// ID is the control id as the framework (or our reference table) writes
	// it: "CIS AWS 6.0.0 3.1.4", "A.8.20", "Art.21(2)(b): 3.2.3.c", "1.3.1",
	// "op.exp.8", "DORA-Art9".
	ID string
}

// String names the control for people: "CIS AWS 6.0.0 3.1.4",
// "ISO 27001:2022 A.8.1", "NIS2 Art.21(2)(b): 3.2.3.c", "PCI DSS 4.0 1.3.1",
// "ENS op.exp.8", "DORA Art. 9".
func (c Control) String() string {
	switch c.Framework {
	case CIS:
		return c.ID // the id already names the benchmark and its version
	case ISO27001:
		return "ISO 27001:2022 " + c.ID
	case NIS2:
		return "NIS2 " + c.ID
	case PCIDSS:
		return "PCI DSS 4.0 " + c.ID
	case ENS:
		return "ENS " + c.ID
	case DORA:
		return "DORA Art. " + strings.TrimPrefix(c.ID, "DORA-Art")
	}
	return string(c.Framework) + " " + c.ID
}

// framework describes how one framework's ids are written, so that a typo in
// a rule file is caught at load time rather than shown to an auditor.
type framework struct {
	key     Framework
	pattern *regexp.Regexp
	example string
}

// frameworks is a read-only table, in display order.
var frameworks = []framework{
	{CIS, regexp.MustCompile(`^CIS [A-Za-z]+ \d+\.\d+\.\d+ \d+(\.\d+)*$`), "CIS AWS 6.0.0 3.1.4"},
	{ISO27001, regexp.MustCompile(`^A\.[5-8]\.\d+$`), "A.8.20"},
	{NIS2, regexp.MustCompile(`^Art\.21\(2\)(\([a-j]\))+: \d+(\.\d+)+(\.[a-z]+)*$`), "Art.21(2)(b): 3.2.3.c"},
	{PCIDSS, regexp.MustCompile(`^(A\d+|\d+)(\.\d+)+$`), "10.2.1.1"},
	{ENS, regexp.MustCompile(`^(org|op|mp)\.[a-z]+(\.\d+)+(\.r\d+)?$`), "op.exp.8"},
	{DORA, regexp.MustCompile(`^DORA-Art\d+$`), "DORA-Art9"},
}

func frameworkByKey(key string) (framework, bool) {
	for _, f := range frameworks {
		if string(f.key) == key {
			return f, true
		}
	}
	return framework{}, false
}

func frameworkKeys() string {
	keys := make([]string, len(frameworks))
	for i, f := range frameworks {
		keys[i] = string(f.key)
	}
	return strings.Join(keys, ", ")
}

// orderedControls lists a spec's controls framework by framework, in the
// order of the file within each framework.
func orderedControls(m map[string][]string) []Control {
	var out []Control
	for _, f := range frameworks {
		for _, id := range m[string(f.key)] {
			out = append(out, Control{Framework: f.key, ID: id})
		}
	}
	return out
}
