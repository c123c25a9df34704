package rules

import (
	"slices"
	"testing"
)

func TestControlString(t *testing.T) {
	tests := []struct {
		c    Control
		want string
	}{
		{Control{CIS, "CIS AWS 6.0.0 3.1.4"}, "CIS AWS 6.0.0 3.1.4"},
		{Control{ISO27001, "A.8.1"}, "ISO 27001:2022 A.8.1"},
		{Control{NIS2, "Art.21(2)(b): 3.2.3.c"}, "NIS2 Art.21(2)(b): 3.2.3.c"},
		{Control{PCIDSS, "1.3.1"}, "PCI DSS 4.0 1.3.1"},
		{Control{ENS, "op.exp.8"}, "ENS op.exp.8"},
		{Control{DORA, "DORA-Art9"}, "DORA Art. 9"},
		{Control{"soc2", "CC6.1"}, "soc2 CC6.1"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.c, got, tt.want)
		}
	}
}

// TestControlOrder: controls come out framework by framework in a fixed
// order, whatever the order of the keys in the file.
func TestControlOrder(t *testing.T) {
	e := builtinEngine(t)
	r, ok := e.Rule("aws_kms_cmk_rotation_enabled")
	if !ok {
		t.Fatal("aws_kms_cmk_rotation_enabled missing")
	}
	want := []string{
		"CIS AWS 3.0.0 3.6", "CIS AWS 6.0.0 4.6",
		"ISO 27001:2022 A.8.5", "ISO 27001:2022 A.8.24",
		"NIS2 Art.21(2)(i)(j): 11.6.2.c",
		"PCI DSS 4.0 3.7.4", "PCI DSS 4.0 3.7.5",
		"ENS op.exp.10",
		"DORA Art. 7",
	}
	if got := r.ControlLabels(); !slices.Equal(got, want) {
		t.Errorf("ControlLabels()\n got: %q\nwant: %q", got, want)
	}
}

func TestControlPatterns(t *testing.T) {
	tests := []struct {
		fw   Framework
		id   string
		want bool
	}{
		{CIS, "CIS AWS 3.0.0 2.1.4", true},
		{CIS, "CIS GCP 4.0.0 6.5", true},
		{CIS, "2.1.4", false},
		{ISO27001, "A.8.24", true},
		{ISO27001, "A.9.1", false},
		{NIS2, "Art.21(2)(i)(j): 11.7.2", true},
		{NIS2, "Art.21(2)(h): 9.2.c.xii", true},
		{NIS2, "11.7.2", false},
		{PCIDSS, "10.2.1.1", true},
		{PCIDSS, "A3.4.1", true},
		{PCIDSS, "Req 10", false},
		{ENS, "op.acc.6.r5", true},
		{ENS, "mp.si.2", true},
		{ENS, "op.exp.8 (op.exp.8.aws.ct.1)", false},
		{DORA, "DORA-Art17", true},
		{DORA, "Art. 17", false},
	}
	for _, tt := range tests {
		fw, ok := frameworkByKey(string(tt.fw))
		if !ok {
			t.Fatalf("framework %s unknown", tt.fw)
		}
		if got := fw.pattern.MatchString(tt.id); got != tt.want {
			t.Errorf("%s %q: valid = %v, want %v", tt.fw, tt.id, got, tt.want)
		}
	}
}
