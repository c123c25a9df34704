package awsremedy

import (
	"bytes"
	"errors"
	"testing"
)

// snapshotChecker is implemented by every action of the package.
type snapshotChecker interface {
	checkSnapshot(raw []byte) ([]byte, error)
}

// FuzzSnapshot feeds arbitrary bytes to every action's snapshot decoder:
// a stored snapshot is data, so a corrupt one must be refused with
// ErrSnapshot, never panic, and one that is accepted must survive a round
// trip unchanged (what Undo reads is what Apply wrote).
func FuzzSnapshot(f *testing.F) {
	for _, seed := range []string{
		`{"action":"s3_block_public_access","resource":{"name":"acme-assets","region":"us-east-1"},"changed":true,"before":{"configured":false,"block_public_acls":false,"ignore_public_acls":false,"block_public_policy":false,"restrict_public_buckets":false}}`,
		`{"action":"s3_acl_private","resource":{"name":"acme-assets","region":"us-east-1"},"changed":true,"before":{"owner":{"id":"abc","display_name":"webfile"},"grants":[{"type":"Group","uri":"http://acs.amazonaws.com/groups/global/AllUsers","permission":"READ"}]}}`,
		`{"action":"ec2_revoke_public_ingress","resource":{"name":"sg-0a1b","region":"eu-west-1","account":"123456789012"},"changed":true,"before":[{"id":"sgr-1","protocol":"tcp","from_port":22,"to_port":22,"cidr_ipv4":"0.0.0.0/0","description":"ssh"}]}`,
		`{"action":"iam_deactivate_access_key","resource":{"name":"ci","region":"us-east-1"},"changed":true,"before":["AKIA1","AKIA2"]}`,
		`{"action":"iam_update_password_policy","resource":{"name":"123456789012","region":"us-east-1","account":"123456789012"},"changed":true,"before":{"configured":true,"minimum_length":8,"max_age_days":90}}`,
		`{"action":"rds_enable_backups","resource":{"name":"db","region":"us-east-1"},"changed":false,"before":{"days":0}}`,
		`{"action":"kms_enable_rotation","resource":{"name":"arn:aws:kms:us-east-1:1:key/k","region":"us-east-1"},"changed":true,"before":{"enabled":false}} trailing`,
		`{"action":"cloudtrail_start_logging","resource":{"name":"t"},"changed":true,"before":{"enabled":false}}`,
		`{"action":"s3_enable_default_encryption","unknown":1}`,
		`null`, `[]`, `{}`, ``,
	} {
		f.Add([]byte(seed))
	}
	cat, err := New(emulator.Config("us-east-1"), testOptions())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for name, a := range cat {
			c := a.(snapshotChecker)
			again, err := c.checkSnapshot(raw)
			if err != nil {
				if !errors.Is(err, ErrSnapshot) {
					t.Fatalf("%s: refused with %v, want ErrSnapshot", name, err)
				}
				continue
			}
			third, err := c.checkSnapshot(again)
			if err != nil {
				t.Fatalf("%s: accepted %q but not its re-encoding %q: %v", name, raw, again, err)
			}
			if !bytes.Equal(again, third) {
				t.Fatalf("%s: round trip unstable:\n%s\n%s", name, again, third)
			}
		}
	})
}
