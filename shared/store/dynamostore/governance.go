package dynamostore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/internal/canon"
)

// The governance items. Remediations, exceptions and audit entries live in
// their resource's partition; rate counters in a partition per bucket.
const (
	skRemediationPfx = "REM#"    // + remediation id
	skExceptionPfx   = "EXC#"    // + rule id
	skAuditPfx       = "AUDIT#"  // + canon.AuditOrder: sortable nanos "#" seq
	pkRatePfx        = "RATE#"   // + bucket
	skRateWindowPfx  = "WINDOW#" // + window nanos "#" sortable start nanos

	attrVersion  = "version"  // N
	attrSnapshot = "snapshot" // B: exact bytes, like attrDoc
	attrUses     = "uses"     // N

	// LoadAll's key condition is "sk BETWEEN loadFrom AND loadTo". The sort
	// keys of a resource partition order as AUDIT#... < EXC#... <
	// FINDING#... < REM#... < STATE, so the range holds exactly what
	// LoadAll returns and starts after the audit log: DynamoDB never reads
	// (nor bills, nor pages over) the audit history, however long it grows.
	// A filter expression would not do: it applies after the read.
	// TestLoadRange pins the order.
	loadFrom = skExceptionPfx
	loadTo   = skState
)

var _ store.Governance = (*Store)(nil)

// LoadAll implements store.Governance: one strongly consistent Query over
// the part of the resource's partition that excludes the audit log.
func (s *Store) LoadAll(ctx context.Context, key store.Key) (store.Loaded, error) {
	if err := key.Validate(); err != nil {
		return store.Loaded{}, err
	}
	e := newExpr()
	cond := fmt.Sprintf("%s = %s AND %s BETWEEN %s AND %s",
		e.n(AttrPK), e.v(avS(resourcePK(key))), e.n(AttrSK), e.v(avS(loadFrom)), e.v(avS(loadTo)))
	var (
		out   store.Loaded
		found bool
	)
	err := s.each(ctx, "load "+key.String(), &dynamodb.QueryInput{
		TableName: aws.String(s.table), ConsistentRead: aws.Bool(true), KeyConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}, func(item map[string]types.AttributeValue) error {
		sk := getS(item, AttrSK)
		switch {
		case sk == skState:
			st, err := decodeState(item)
			if err != nil {
				return err
			}
			out.State, found = st, true
		case strings.HasPrefix(sk, skFindingPfx):
			f, err := decodeFinding(item)
			if err != nil {
				return err
			}
			out.Findings = append(out.Findings, f)
		case strings.HasPrefix(sk, skRemediationPfx):
			r, err := decodeRemediation(item)
			if err != nil {
				return err
			}
			out.Remediations = append(out.Remediations, r)
		case strings.HasPrefix(sk, skExceptionPfx):
			x, err := decodeException(item)
			if err != nil {
				return err
			}
			out.Exceptions = append(out.Exceptions, x)
		case sk == "":
			return fmt.Errorf("load %s: item without a sort key", key)
		}
		return nil
	})
	if err != nil {
		return store.Loaded{}, err
	}
	if !found {
		return store.Loaded{}, fmt.Errorf("resource %s: %w", key, store.ErrNotFound)
	}
	return out, nil
}

// each runs a query page by page to the end and hands every item to fn.
func (s *Store) each(ctx context.Context, what string, in *dynamodb.QueryInput, fn func(map[string]types.AttributeValue) error) error {
	for {
		if s.pageSize > 0 {
			in.Limit = aws.Int32(s.pageSize)
		}
		res, err := s.client.Query(ctx, in)
		if err != nil {
			return translate("query "+what, err)
		}
		for _, item := range res.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// CreateRemediation implements store.Governance with a put conditional on
// the item's absence.
func (s *Store) CreateRemediation(ctx context.Context, r store.Remediation) (store.Remediation, error) {
	if err := r.Validate(); err != nil {
		return store.Remediation{}, err
	}
	next := canon.Remediation(r)
	next.Version = 1
	item, err := remediationItem(next)
	if err != nil {
		return store.Remediation{}, err
	}
	e := newExpr()
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(" + e.n(AttrPK) + ")"),
		ExpressionAttributeNames: e.Names(),
	})
	err = translate("create remediation "+next.ID, err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		// A retry of a put whose answer was lost finds its own item.
		if old, gerr := s.getItem(ctx, "remediation "+next.ID, itemKey(resourcePK(next.Key), skRemediationPfx+next.ID)); gerr == nil && sameRemediation(old, item) {
			return next, nil
		}
		return store.Remediation{}, fmt.Errorf("create remediation %s of %s: it exists: %w", next.ID, next.Key, store.ErrConflict)
	}
	if err != nil {
		return store.Remediation{}, err
	}
	return next, nil
}

// UpdateRemediation implements store.Governance with a put conditional on
// the stored version; a refused put's old item tells a missing remediation
// from a moved one.
func (s *Store) UpdateRemediation(ctx context.Context, r store.Remediation) (store.Remediation, error) {
	if err := validUpdate(r); err != nil {
		return store.Remediation{}, err
	}
	next := canon.Remediation(r)
	next.Version = r.Version + 1
	item, err := remediationItem(next)
	if err != nil {
		return store.Remediation{}, err
	}
	e := newExpr()
	cond := e.n(attrVersion) + " = " + e.v(avN(r.Version))
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	err = translate("update remediation "+next.ID, err)
	cf := (*conditionFailed)(nil)
	if !errors.As(err, &cf) {
		if err != nil {
			return store.Remediation{}, err
		}
		return next, nil
	}
	old := cf.old
	if old == nil {
		// Some emulators omit the old item; ask.
		if old, err = s.getItem(ctx, "remediation "+next.ID, itemKey(resourcePK(next.Key), skRemediationPfx+next.ID)); err != nil {
			return store.Remediation{}, err
		}
	}
	if old == nil {
		return store.Remediation{}, fmt.Errorf("update remediation %s of %s: %w", next.ID, next.Key, store.ErrNotFound)
	}
	// A retry of a put whose answer was lost (a dropped connection) finds
	// the transition it made: done.
	if sameRemediation(old, item) {
		return next, nil
	}
	stored, _ := getN(old, attrVersion)
	return store.Remediation{}, fmt.Errorf("update remediation %s of %s at version %d: stored version is %d: %w", next.ID, next.Key, r.Version, stored, store.ErrConflict)
}

// validUpdate adds to Validate what an update needs: the version read.
func validUpdate(r store.Remediation) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Version < 1 || r.Version == math.MaxInt64 {
		return fmt.Errorf("%w: update remediation %s of %s: version %d is not a stored version", store.ErrInvalid, r.ID, r.Key, r.Version)
	}
	return nil
}

// GetRemediation implements store.Governance (strongly consistent).
func (s *Store) GetRemediation(ctx context.Context, key store.Key, id string) (store.Remediation, error) {
	if err := key.Validate(); err != nil {
		return store.Remediation{}, err
	}
	if id == "" {
		return store.Remediation{}, fmt.Errorf("%w: get remediation of %s: id is empty", store.ErrInvalid, key)
	}
	item, err := s.getItem(ctx, "remediation "+id, itemKey(resourcePK(key), skRemediationPfx+id))
	if err != nil {
		return store.Remediation{}, err
	}
	if item == nil {
		return store.Remediation{}, fmt.Errorf("remediation %s of %s: %w", id, key, store.ErrNotFound)
	}
	return decodeRemediation(item)
}

// getItem reads one item strongly consistently; nil when absent.
func (s *Store) getItem(ctx context.Context, what string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, translate("get "+what, err)
	}
	return out.Item, nil
}

// PutException implements store.Governance: an unconditional put, so the
// latest acceptance of a rule's risk replaces the previous one.
func (s *Store) PutException(ctx context.Context, x store.Exception) error {
	if err := x.Validate(); err != nil {
		return err
	}
	x = canon.Exception(x)
	body, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("encode exception %s on %s: %w", x.RuleID, x.Key, err)
	}
	item := itemKey(resourcePK(x.Key), skExceptionPfx+x.RuleID)
	item[attrBody] = avS(string(body))
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return translate("put exception "+x.RuleID+" on "+x.Key.String(), err)
}

// AppendAudit implements store.Governance with a put conditional on the
// item's absence: the log is append-only, and no method updates an entry.
func (s *Store) AppendAudit(ctx context.Context, a store.AuditEntry) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a = canon.Audit(a)
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode audit entry of %s: %w", a.Key, err)
	}
	item := itemKey(resourcePK(a.Key), skAuditPfx+canon.AuditOrder(a))
	item[attrBody] = avS(string(body))
	e := newExpr()
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(" + e.n(AttrPK) + ")"),
		ExpressionAttributeNames: e.Names(),
	})
	err = translate("append audit entry of "+a.Key.String(), err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		// The SDK retries a request whose answer was lost (a dropped
		// connection): if the first attempt wrote this very entry, the
		// append is done. Another entry at the same instant and seq is a
		// conflict.
		existing, gerr := s.getItem(ctx, "audit entry of "+a.Key.String(), itemKey(resourcePK(a.Key), skAuditPfx+canon.AuditOrder(a)))
		if gerr == nil && existing != nil {
			if v, ok := existing[attrBody].(*types.AttributeValueMemberS); ok && v.Value == string(body) {
				return nil
			}
		}
		return fmt.Errorf("append audit entry of %s at %s seq %q: an entry exists: %w", a.Key, a.At, a.Seq, store.ErrConflict)
	}
	return err
}

// Audit implements store.Governance: the sort key orders the entries.
func (s *Store) Audit(ctx context.Context, key store.Key) ([]store.AuditEntry, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	e := newExpr()
	cond := fmt.Sprintf("%s = %s AND begins_with(%s, %s)", e.n(AttrPK), e.v(avS(resourcePK(key))), e.n(AttrSK), e.v(avS(skAuditPfx)))
	var out []store.AuditEntry
	err := s.each(ctx, "audit of "+key.String(), &dynamodb.QueryInput{
		TableName: aws.String(s.table), ConsistentRead: aws.Bool(true), KeyConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}, func(item map[string]types.AttributeValue) error {
		var a store.AuditEntry
		if err := json.Unmarshal([]byte(getS(item, attrBody)), &a); err != nil {
			return fmt.Errorf("decode audit item %s %s: %w", getS(item, AttrPK), getS(item, AttrSK), err)
		}
		out = append(out, canon.Audit(a))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TakeRateToken implements store.Governance: one atomic counter per bucket
// and window, incremented only while below the limit. The window is part
// of the key, so a new window starts from zero without any reset, and the
// TTL deletes a counter once its window has ended.
func (s *Store) TakeRateToken(ctx context.Context, bucket string, now time.Time, window time.Duration, limit int) error {
	start, end, err := canon.RateWindow(bucket, now, window, limit)
	if err != nil {
		return err
	}
	if limit == 0 {
		return fmt.Errorf("rate token %s: limit 0: %w", bucket, store.ErrClaimed)
	}
	e := newExpr()
	upd := fmt.Sprintf("SET %s = %s ADD %s %s", e.n(AttrTTL), e.v(avN(ceilUnix(end))), e.n(attrUses), e.v(avN(1)))
	cond := fmt.Sprintf("attribute_not_exists(%s) OR %[1]s < %s", e.n(attrUses), e.v(avN(int64(limit))))
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(pkRatePfx+bucket, rateWindowSK(start, window)),
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	err = translate("take rate token "+bucket, err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		return fmt.Errorf("rate token %s: %d uses in the window from %s: %w", bucket, limit, start, store.ErrClaimed)
	}
	return err
}

// rateWindowSK names a window by its length and start, so that callers
// counting the same bucket over different windows never share a counter.
func rateWindowSK(start time.Time, window time.Duration) string {
	return skRateWindowPfx + strconv.FormatInt(int64(window), 10) + "#" + canon.SortableNanos(start)
}

// remediationItem is a remediation's item: the version that conditions
// compare, the snapshot as exact bytes, and the rest as JSON.
// sameRemediation reports whether the stored item is exactly the one a put
// wrote: the same version, body and snapshot.
func sameRemediation(stored, written map[string]types.AttributeValue) bool {
	if stored == nil {
		return false
	}
	v1, err1 := getN(stored, attrVersion)
	v2, err2 := getN(written, attrVersion)
	snap := func(item map[string]types.AttributeValue) []byte {
		if b, ok := item[attrSnapshot].(*types.AttributeValueMemberB); ok {
			return b.Value
		}
		return nil
	}
	return err1 == nil && err2 == nil && v1 == v2 && getS(stored, attrBody) == getS(written, attrBody) &&
		bytes.Equal(snap(stored), snap(written))
}

func remediationItem(r store.Remediation) (map[string]types.AttributeValue, error) {
	// The body's version is zeroed: the attribute, which conditions read,
	// is the one truth.
	b := r
	b.Version, b.Snapshot = 0, nil
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode remediation %s of %s: %w", r.ID, r.Key, err)
	}
	item := itemKey(resourcePK(r.Key), skRemediationPfx+r.ID)
	item[attrVersion] = avN(r.Version)
	item[attrBody] = avS(string(body))
	if len(r.Snapshot) > 0 {
		item[attrSnapshot] = &types.AttributeValueMemberB{Value: r.Snapshot}
	}
	return item, nil
}

func decodeRemediation(item map[string]types.AttributeValue) (store.Remediation, error) {
	var r store.Remediation
	if err := json.Unmarshal([]byte(getS(item, attrBody)), &r); err != nil {
		return store.Remediation{}, fmt.Errorf("decode remediation item %s %s: %w", getS(item, AttrPK), getS(item, AttrSK), err)
	}
	var err error
	if r.Version, err = getN(item, attrVersion); err != nil {
		return store.Remediation{}, err
	}
	r.Snapshot = nil
	if b, ok := item[attrSnapshot].(*types.AttributeValueMemberB); ok && len(b.Value) > 0 {
		r.Snapshot = b.Value
	}
	return canon.Remediation(r), nil
}

func decodeException(item map[string]types.AttributeValue) (store.Exception, error) {
	var x store.Exception
	if err := json.Unmarshal([]byte(getS(item, attrBody)), &x); err != nil {
		return store.Exception{}, fmt.Errorf("decode exception item %s %s: %w", getS(item, AttrPK), getS(item, AttrSK), err)
	}
	return canon.Exception(x), nil
}
