package gcpremedy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/cloudkms/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// kmsAPI is what gcp_kms_set_rotation_period calls.
type kmsAPI interface {
	GetCryptoKey(ctx context.Context, name string) (*cloudkms.CryptoKey, error)
	PatchCryptoKey(ctx context.Context, name string, patch *cloudkms.CryptoKey, updateMask string) (*cloudkms.CryptoKey, error)
}

// rotationMask is the update mask of every write of the action: both
// fields of the rotation schedule, so that one write sets (or, left empty,
// clears) the schedule as a whole.
const rotationMask = "rotationPeriod,nextRotationTime"

// keyName is the crypto key's resource name as the KMS API takes it.
func keyName(l loc) string {
	return "projects/" + l.Project + "/locations/" + l.Location + "/keyRings/" + l.KeyRing + "/cryptoKeys/" + l.Name
}

// parseDuration reads a protobuf Duration in JSON ("7776000s",
// "7776000.5s"); "" is zero.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	num, ok := strings.CutSuffix(s, "s")
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a duration in seconds", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parseTime reads a protobuf Timestamp in JSON; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t, nil
}

// rotates reports whether a key's purpose lets it rotate automatically:
// only symmetric ENCRYPT_DECRYPT keys do (gcp_kms_key_rotation_90d does not
// apply to the others).
func rotates(purpose string) bool { return purpose == "" || purpose == "ENCRYPT_DECRYPT" }

// rotationComplies is gcp_kms_key_rotation_90d's condition: a rotation
// period of at most 90 days and a next rotation within 90 days of now.
func rotationComplies(period time.Duration, next, now time.Time) bool {
	return period > 0 && period <= MaxRotationPeriod && next.Sub(now) <= MaxRotationPeriod
}

// schedule returns the rotation schedule the action sets on a key that does
// not comply: its own period when that is within the limit, else target;
// its own next rotation when that comes within the period, else now plus
// the period.
func schedule(period time.Duration, next, now time.Time, target time.Duration) (time.Duration, time.Time) {
	if period <= 0 || period > MaxRotationPeriod {
		period = target
	}
	if !next.After(now) || next.Sub(now) > period {
		next = now.Add(period)
	}
	return period, next.UTC().Truncate(time.Second)
}

// rotationBefore is gcp_kms_set_rotation_period's snapshot: the two fields
// as the API returned them ("" when unset).
type rotationBefore struct {
	RotationPeriod   string `json:"rotation_period"`
	NextRotationTime string `json:"next_rotation_time"`
}

func days(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', -1, 64) + " days"
}

// kmsSetRotationPeriod gives a symmetric key a rotation schedule within the
// CIS limit: a rotation period of Options.RotationPeriod (90 days unless
// set) when it has none or a longer one, and a next rotation within that
// period, in one PATCH of both fields (updateMask
// rotationPeriod,nextRotationTime). Existing key versions stay enabled, so
// existing ciphertext still decrypts. The snapshot keeps both former
// values; Undo writes them back, clearing the schedule when there was none
// (no write when the key has them already).
func kmsSetRotationPeriod(b *builder) (remediation.Action, error) {
	ops, perms := declare("GetCryptoKey", "PatchCryptoKey")
	c, err := newKMSClient(b, KMSSetRotationPeriod, ops)
	if err != nil {
		return nil, err
	}
	target, now := b.opts.RotationPeriod, b.opts.Now
	return &action[gcpres.CryptoKey, rotationBefore, kmsAPI]{
		name: KMSSetRotationPeriod, resourceType: gcpres.TypeCryptoKey, perms: perms, opts: &b.opts, api: c,
		docID: func(d *gcpres.CryptoKey) string {
			if d.ID == "" && d.Project != "" && d.Location != "" && d.KeyRing != "" && d.Name != "" {
				return gcpres.CryptoKeyID(d.Project, d.Location, d.KeyRing, d.Name)
			}
			return d.ID
		},
		plan: func(d *gcpres.CryptoKey) (remediation.Plan, error) {
			label := "crypto key " + d.Name + " (key ring " + d.KeyRing + ", " + d.Location + ", project " + d.Project + ")"
			period := time.Duration(d.RotationPeriodSeconds) * time.Second
			t := now()
			switch {
			case !rotates(d.Purpose):
				return remediation.Plan{Noop: true, Change: label + " is a " + d.Purpose + " key, which cannot rotate automatically"}, nil
			case rotationComplies(period, d.NextRotationTime, t):
				return remediation.Plan{Noop: true, Change: label + " already rotates every " + days(period)}, nil
			}
			p, next := schedule(period, d.NextRotationTime, t, target)
			from := "no automatic rotation"
			if period > 0 {
				from = "every " + days(period)
			}
			return remediation.Plan{Change: "Rotate " + label + " automatically every " + days(p) + ", next on " + next.Format(time.RFC3339) +
				" (now " + from + "); existing key versions stay enabled"}, nil
		},
		apply: func(ctx context.Context, c kmsAPI, l loc) (rotationBefore, bool, error) {
			k, err := c.GetCryptoKey(ctx, keyName(l))
			if err != nil {
				return rotationBefore{}, false, err
			}
			before := rotationBefore{RotationPeriod: k.RotationPeriod, NextRotationTime: k.NextRotationTime}
			period, err := parseDuration(k.RotationPeriod)
			if err != nil {
				return before, false, fmt.Errorf("%w: rotation period: %w", ErrInvalidTarget, err)
			}
			next, err := parseTime(k.NextRotationTime)
			if err != nil {
				return before, false, fmt.Errorf("%w: next rotation time: %w", ErrInvalidTarget, err)
			}
			t := now()
			if !rotates(k.Purpose) || rotationComplies(period, next, t) {
				return before, false, nil
			}
			p, n := schedule(period, next, t, target)
			_, err = c.PatchCryptoKey(ctx, keyName(l), &cloudkms.CryptoKey{
				RotationPeriod: strconv.FormatInt(int64(p/time.Second), 10) + "s", NextRotationTime: n.Format(time.RFC3339),
			}, rotationMask)
			return before, true, err
		},
		undo: func(ctx context.Context, c kmsAPI, l loc, before rotationBefore) error {
			k, err := c.GetCryptoKey(ctx, keyName(l))
			if err != nil {
				return err
			}
			if k.RotationPeriod == before.RotationPeriod && k.NextRotationTime == before.NextRotationTime {
				return nil // restored already
			}
			// Empty fields under the mask clear the schedule.
			_, err = c.PatchCryptoKey(ctx, keyName(l), &cloudkms.CryptoKey{RotationPeriod: before.RotationPeriod, NextRotationTime: before.NextRotationTime}, rotationMask)
			return err
		},
		check: func(before rotationBefore) error {
			if _, err := parseDuration(before.RotationPeriod); err != nil {
				return err
			}
			_, err := parseTime(before.NextRotationTime)
			return err
		},
	}, nil
}
