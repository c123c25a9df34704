package governance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/posture"
)

// FuzzParse: no input makes Parse panic; every error is the author's to
// fix (ErrInvalid, located in the file); every policy it accepts makes
// decisions that keep the package's promises.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(invalidDir, "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, examplePath)
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	inputs := []Input{
		{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: "111111111111", Now: tueNightMadrid},
		{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: "222222222222", Now: satNewYork,
			Tags: map[string]string{"environment": "prod"}},
		{RuleID: "aws_iam_user_access_key_unused_45d", Action: "iam_deactivate_access_key", Severity: posture.Low, Account: "333333333333", Now: tueNoon},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a policy and an error: %v", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.File != "fuzz.yaml" {
				t.Fatalf("error is not a *ConfigError naming the file: %#v", err)
			}
			return
		}
		for _, in := range inputs {
			d := p.Decide(in)
			if _, err := ParseMode(string(d.Mode)); err != nil || d.Reason == "" {
				t.Fatalf("Decide(%+v) = %+v", in, d)
			}
			if d.RequiredApprovals != 1 && d.RequiredApprovals != 2 {
				t.Fatalf("RequiredApprovals = %d", d.RequiredApprovals)
			}
			if (d.Mode == Auto) != (d.RateLimit != nil) {
				t.Fatalf("mode %s with rate limit %+v", d.Mode, d.RateLimit)
			}
			if d.Mode == Auto && (d.RateLimit.PerAccount < 1 || d.RateLimit.Window < time.Minute) {
				t.Fatalf("auto with rate limit %+v", d.RateLimit)
			}
			if d.Mode == Approve && d.Approvers.Empty() {
				t.Fatalf("approve with no approvers: %+v", d)
			}
			if d.ApprovalExpiry <= 0 {
				t.Fatalf("approval expiry %v", d.ApprovalExpiry)
			}
			for name := range p.windows {
				p.InWindow(name, in.Now)
			}
		}
		if p.AcceptRiskMax() <= 0 {
			t.Fatalf("accept-risk max %v", p.AcceptRiskMax())
		}
	})
}
