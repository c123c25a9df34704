// Package dynamostore implements the posture store on one DynamoDB table
// (see TableInput for the schema). Conditional writes are the concurrency
// control: a state lands only on the revision its writer read and only when
// its observation is newer, an event is claimed by a conditional put with a
// TTL, an alert revision is claimed and recorded by conditional updates, a
// remediation moves only from the version its writer read, an audit entry
// is written once, and a rate token is taken only below the limit.
package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/internal/canon"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is the posture store on a DynamoDB table.
type Store struct {
	client API
	table  string
	// pageSize caps the items of one Query page; 0 leaves it to DynamoDB
	// (1 MB pages). Tests lower it to exercise pagination.
	pageSize int32
}

var _ store.Store = (*Store)(nil)

// New returns a store on the named table, which CreateTable (or Terraform)
// made.
func New(client API, table string) *Store {
	return &Store{client: client, table: table}
}

// ClaimEvent implements store.Store.
func (s *Store) ClaimEvent(ctx context.Context, eventID string, now time.Time, lease time.Duration) error {
	if err := canon.Claim("event claim", eventID, now, lease); err != nil {
		return err
	}
	until := now.Add(lease)
	e := newExpr()
	// A done claim past its keep may linger until the TTL sweeper deletes
	// it (that can take days), so expiry is checked here rather than
	// assumed.
	cond := fmt.Sprintf("attribute_not_exists(%s) OR %s < %s OR (%s = %s AND %s < %s)",
		e.n(AttrPK), e.n(AttrTTL), e.v(avN(now.Unix())),
		e.n(attrClaimState), e.v(avS(claimProcessing)), e.n(attrLeaseUntil), e.v(avN(now.UnixNano())))
	// The token tells this claim from any other: the SDK retries a put
	// whose answer was lost (a dropped connection), and if the first
	// attempt wrote the claim, the retry fails its condition on our own
	// claim.
	token, err := claimToken()
	if err != nil {
		return fmt.Errorf("claim event %s: %w", eventID, err)
	}
	key := itemKey(eventPK(eventID), skClaim)
	item := itemKey(eventPK(eventID), skClaim)
	item[attrClaimState] = avS(claimProcessing)
	item[attrLeaseUntil] = avN(until.UnixNano())
	item[attrClaimToken] = avS(token)
	item[AttrTTL] = avN(ceilUnix(until))
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	err = translate("claim event", err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		existing, gerr := s.getItem(ctx, "event claim "+eventID, key)
		if gerr == nil && existing != nil && getS(existing, attrClaimToken) == token {
			return nil // our first attempt's claim
		}
		return fmt.Errorf("claim event %s: %w", eventID, store.ErrClaimed)
	}
	return err
}

// claimToken is a random token identifying one ClaimEvent call.
func claimToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("claim token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// CompleteEvent implements store.Store.
func (s *Store) CompleteEvent(ctx context.Context, eventID string, now time.Time, keep time.Duration) error {
	if err := canon.Claim("event completion", eventID, now, keep); err != nil {
		return err
	}
	// Unconditional: completing is idempotent, and a claim that expired
	// and was taken over is just as done.
	item := itemKey(eventPK(eventID), skClaim)
	item[attrClaimState] = avS(claimDone)
	item[AttrTTL] = avN(ceilUnix(now.Add(keep)))
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return translate("complete event "+eventID, err)
}

// ReleaseEvent implements store.Store.
func (s *Store) ReleaseEvent(ctx context.Context, eventID string) error {
	if eventID == "" {
		return fmt.Errorf("%w: release event: empty id", store.ErrInvalid)
	}
	e := newExpr()
	cond := e.n(attrClaimState) + " = " + e.v(avS(claimProcessing))
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: itemKey(eventPK(eventID), skClaim), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	err = translate("release event "+eventID, err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		return nil // done or unknown: nothing to release
	}
	return err
}

// ceilUnix rounds up to whole seconds, so that an item never expires before
// its lease or keep ends.
func ceilUnix(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// GetResource implements store.Store.
func (s *Store) GetResource(ctx context.Context, key store.Key) (store.ResourceState, error) {
	if err := key.Validate(); err != nil {
		return store.ResourceState{}, err
	}
	item, err := s.getState(ctx, key)
	if err != nil {
		return store.ResourceState{}, err
	}
	if item == nil {
		return store.ResourceState{}, fmt.Errorf("resource %s: %w", key, store.ErrNotFound)
	}
	return decodeState(item)
}

// getState reads a state item strongly consistently; nil when absent.
func (s *Store) getState(ctx context.Context, key store.Key) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: itemKey(resourcePK(key), skState), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, translate("get resource "+key.String(), err)
	}
	return out.Item, nil
}

// Load implements store.Store. It is LoadAll without the governance
// records: the same one strongly consistent Query, which never reads the
// audit log.
func (s *Store) Load(ctx context.Context, key store.Key) (store.ResourceState, []store.Finding, error) {
	l, err := s.LoadAll(ctx, key)
	if err != nil {
		return store.ResourceState{}, nil, err
	}
	return l.State, l.Findings, nil
}

// Findings implements store.Store.
func (s *Store) Findings(ctx context.Context, key store.Key) ([]store.Finding, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	e := newExpr()
	cond := fmt.Sprintf("%s = %s AND begins_with(%s, %s)", e.n(AttrPK), e.v(avS(resourcePK(key))), e.n(AttrSK), e.v(avS(skFindingPfx)))
	return s.query(ctx, "findings of "+key.String(), &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String(cond), ConsistentRead: aws.Bool(true),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}, 0)
}

// OpenFindings implements store.Store.
func (s *Store) OpenFindings(ctx context.Context, q store.FindingQuery) ([]store.Finding, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	e := newExpr()
	cond := e.n(AttrGSI1PK) + " = " + e.v(avS(gsi1OpenPrefix+string(q.Severity)))
	if prefix := canon.OpenPrefix(q); prefix != "" {
		cond += fmt.Sprintf(" AND begins_with(%s, %s)", e.n(AttrGSI1SK), e.v(avS(prefix)))
	}
	return s.query(ctx, "open findings", &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexOpenFindings), KeyConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}, q.Limit)
}

// query reads findings page by page until the end or limit (0: no limit).
func (s *Store) query(ctx context.Context, what string, in *dynamodb.QueryInput, limit int) ([]store.Finding, error) {
	var out []store.Finding
	for {
		page := s.pageSize
		if limit > 0 {
			if rest := int32(min(limit-len(out), 1<<30)); page == 0 || rest < page {
				page = rest
			}
		}
		if page > 0 {
			in.Limit = aws.Int32(page)
		}
		res, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, translate("query "+what, err)
		}
		for _, item := range res.Items {
			f, err := decodeFinding(item)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		if len(res.LastEvaluatedKey) == 0 || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// SaveObservation implements store.Store. It is one TransactWriteItems: the
// conditional state update and one update per finding, so a failed
// condition leaves nothing behind. Updates rather than puts keep the alert
// bookkeeping that ClaimAlert and RecordAlert own.
func (s *Store) SaveObservation(ctx context.Context, obs store.Observation) (store.ResourceState, error) {
	if err := obs.Validate(); err != nil {
		return store.ResourceState{}, err
	}
	next := canon.State(obs.State)
	next.Document = store.CapDocument(next.Document)
	next.Revision = obs.ExpectedRevision + 1

	stateUpd, err := s.stateUpdate(next, obs.ExpectedRevision)
	if err != nil {
		return store.ResourceState{}, err
	}
	if len(obs.Findings) == 0 {
		// A lone update costs half the write units of a transaction.
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: stateUpd.TableName, Key: stateUpd.Key, UpdateExpression: stateUpd.UpdateExpression,
			ConditionExpression:      stateUpd.ConditionExpression,
			ExpressionAttributeNames: stateUpd.ExpressionAttributeNames, ExpressionAttributeValues: stateUpd.ExpressionAttributeValues,
		})
	} else {
		items := []types.TransactWriteItem{{Update: stateUpd}}
		for _, f := range obs.Findings {
			upd, err := s.findingUpdate(canon.Finding(f))
			if err != nil {
				return store.ResourceState{}, err
			}
			items = append(items, types.TransactWriteItem{Update: upd})
		}
		_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	}
	err = translate("save observation of "+next.Key.String(), err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		return store.ResourceState{}, s.saveRefused(ctx, next, obs.ExpectedRevision)
	}
	if err != nil {
		return store.ResourceState{}, err
	}
	return next, nil
}

// saveRefused re-reads the state to say why a save's condition failed.
func (s *Store) saveRefused(ctx context.Context, next store.ResourceState, expected int64) error {
	item, err := s.getState(ctx, next.Key)
	if err != nil {
		return err
	}
	if item != nil {
		stored, err := getN(item, attrObservedAt)
		if err != nil {
			return err
		}
		if stored >= next.ObservedAt.UnixNano() {
			return fmt.Errorf("save %s observed at %s: %w", next.Key, next.ObservedAt, store.ErrStale)
		}
	}
	return fmt.Errorf("save %s at revision %d: %w", next.Key, expected, store.ErrConflict)
}

func (s *Store) stateUpdate(next store.ResourceState, expected int64) (*types.Update, error) {
	body, err := encodeStateBody(next)
	if err != nil {
		return nil, err
	}
	e := newExpr()
	set := []string{
		e.n(attrRevision) + " = " + e.v(avN(next.Revision)),
		e.n(attrObservedAt) + " = " + e.v(avN(next.ObservedAt.UnixNano())),
		e.n(attrBody) + " = " + e.v(avS(body)),
		e.n(attrAlertWant) + " = " + e.v(avN(next.Alert.WantRevision)),
		// ClaimAlert compares with it, so it must exist from the first save.
		fmt.Sprintf("%s = if_not_exists(%[1]s, %s)", e.n(attrAlertRendered), e.v(avN(0))),
	}
	upd := "SET "
	if len(next.Document) > 0 {
		set = append(set, e.n(attrDoc)+" = "+e.v(&types.AttributeValueMemberB{Value: next.Document}))
		upd += strings.Join(set, ", ")
	} else {
		upd += strings.Join(set, ", ") + " REMOVE " + e.n(attrDoc)
	}
	var cond string
	if expected == 0 {
		cond = fmt.Sprintf("attribute_not_exists(%s)", e.n(AttrPK))
	} else {
		cond = fmt.Sprintf("%s = %s AND %s < %s", e.n(attrRevision), e.v(avN(expected)), e.n(attrObservedAt), e.v(avN(next.ObservedAt.UnixNano())))
	}
	return &types.Update{
		TableName: aws.String(s.table), Key: itemKey(resourcePK(next.Key), skState),
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}, nil
}

// findingUpdate writes a finding's body and its index entry: open findings
// carry the index keys, resolved ones lose them (the index is sparse). The
// message reference is written only when the finding names one; otherwise
// the one RecordAlert stamped stays.
func (s *Store) findingUpdate(f store.Finding) (*types.Update, error) {
	body, err := encodeFindingBody(f)
	if err != nil {
		return nil, err
	}
	e := newExpr()
	upd := "SET " + e.n(attrBody) + " = " + e.v(avS(body))
	if f.Status == store.FindingOpen {
		upd += fmt.Sprintf(", %s = %s, %s = %s",
			e.n(AttrGSI1PK), e.v(avS(gsi1OpenPrefix+string(f.Severity))),
			e.n(AttrGSI1SK), e.v(avS(canon.OpenOrder(f.Key, f.RuleID))))
	}
	if !f.Alert.IsZero() {
		upd += fmt.Sprintf(", %s = %s, %s = %s", e.n(attrAlertChannel), e.v(avS(f.Alert.Channel)), e.n(attrAlertTS), e.v(avS(f.Alert.TS)))
	}
	if f.Status != store.FindingOpen {
		upd += fmt.Sprintf(" REMOVE %s, %s", e.n(AttrGSI1PK), e.n(AttrGSI1SK))
	}
	return &types.Update{
		TableName: aws.String(s.table), Key: itemKey(resourcePK(f.Key), skFindingPfx+f.RuleID),
		UpdateExpression:         aws.String(upd),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}, nil
}

// ClaimAlert implements store.Store.
func (s *Store) ClaimAlert(ctx context.Context, key store.Key, rev int64, now time.Time, lease time.Duration) (store.AlertState, error) {
	if err := key.Validate(); err != nil {
		return store.AlertState{}, err
	}
	if err := canon.Claim("alert claim", key.String(), now, lease); err != nil {
		return store.AlertState{}, err
	}
	// As for an event claim, the token recognises our own claim when the
	// SDK's retry of an applied update fails its condition.
	token, err := claimToken()
	if err != nil {
		return store.AlertState{}, fmt.Errorf("claim alert of %s: %w", key, err)
	}
	e := newExpr()
	upd := "SET " + e.n(attrAlertLease) + " = " + e.v(avN(now.Add(lease).UnixNano())) + ", " + e.n(attrAlertToken) + " = " + e.v(avS(token))
	cond := fmt.Sprintf("attribute_exists(%s) AND %s < %s AND (attribute_not_exists(%s) OR %[4]s < %s)",
		e.n(AttrPK), e.n(attrAlertRendered), e.v(avN(rev)), e.n(attrAlertLease), e.v(avN(now.UnixNano())))
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(resourcePK(key), skState),
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	err = translate("claim alert of "+key.String(), err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		old := cf.old
		if old == nil {
			// Some emulators omit the old item; ask.
			item, err := s.getState(ctx, key)
			if err != nil {
				return store.AlertState{}, err
			}
			old = item
		}
		if old == nil {
			return store.AlertState{}, fmt.Errorf("claim alert of %s: %w", key, store.ErrNotFound)
		}
		if getS(old, attrAlertToken) == token {
			return decodeAlert(old) // our first attempt's claim
		}
		return store.AlertState{}, fmt.Errorf("claim alert of %s at revision %d: %w", key, rev, store.ErrClaimed)
	}
	if err != nil {
		return store.AlertState{}, err
	}
	return decodeAlert(out.Attributes)
}

// BumpAlert implements store.Store: one UpdateItem adding one to the alert
// revision and the resource revision.
func (s *Store) BumpAlert(ctx context.Context, key store.Key) (store.AlertState, error) {
	if err := key.Validate(); err != nil {
		return store.AlertState{}, err
	}
	e := newExpr()
	one := e.v(avN(1))
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(resourcePK(key), skState),
		UpdateExpression:          aws.String("ADD " + e.n(attrAlertWant) + " " + one + ", " + e.n(attrRevision) + " " + one),
		ConditionExpression:       aws.String("attribute_exists(" + e.n(AttrPK) + ")"),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	err = translate("bump alert of "+key.String(), err)
	if cf := (*conditionFailed)(nil); errors.As(err, &cf) {
		return store.AlertState{}, fmt.Errorf("bump alert of %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return store.AlertState{}, err
	}
	return decodeAlert(out.Attributes)
}

// RecordAlert implements store.Store. The state update and the finding
// stamps are one transaction; each finding must exist, so a typo cannot
// create a stray item.
func (s *Store) RecordAlert(ctx context.Context, key store.Key, rev int64, ref store.AlertRef, open bool, ruleIDs []string) error {
	if err := key.Validate(); err != nil {
		return err
	}
	rules, err := canon.AlertRules(key, ruleIDs)
	if err != nil {
		return err
	}

	e := newExpr()
	upd := fmt.Sprintf("SET %s = %s, %s = %s, %s = %s, %s = %s REMOVE %s",
		e.n(attrAlertChannel), e.v(avS(ref.Channel)), e.n(attrAlertTS), e.v(avS(ref.TS)),
		e.n(attrAlertOpen), e.v(avBool(open)), e.n(attrAlertRendered), e.v(avN(rev)), e.n(attrAlertLease)+", "+e.n(attrAlertToken))
	cond := fmt.Sprintf("attribute_exists(%s) AND %s < %s", e.n(AttrPK), e.n(attrAlertRendered), e.v(avN(rev)))
	stateUpd := &types.Update{
		TableName: aws.String(s.table), Key: itemKey(resourcePK(key), skState),
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}
	if len(rules) == 0 {
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: stateUpd.TableName, Key: stateUpd.Key, UpdateExpression: stateUpd.UpdateExpression,
			ConditionExpression:      stateUpd.ConditionExpression,
			ExpressionAttributeNames: stateUpd.ExpressionAttributeNames, ExpressionAttributeValues: stateUpd.ExpressionAttributeValues,
		})
	} else {
		items := []types.TransactWriteItem{{Update: stateUpd}}
		for _, id := range rules {
			fe := newExpr()
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.table), Key: itemKey(resourcePK(key), skFindingPfx+id),
				UpdateExpression: aws.String(fmt.Sprintf("SET %s = %s, %s = %s",
					fe.n(attrAlertChannel), fe.v(avS(ref.Channel)), fe.n(attrAlertTS), fe.v(avS(ref.TS)))),
				ConditionExpression:      aws.String(fmt.Sprintf("attribute_exists(%s)", fe.n(AttrPK))),
				ExpressionAttributeNames: fe.Names(), ExpressionAttributeValues: fe.Values(),
			}})
		}
		_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	}
	err = translate("record alert of "+key.String(), err)
	cf := (*conditionFailed)(nil)
	if !errors.As(err, &cf) {
		return err
	}
	if !cf.failed(0) {
		return fmt.Errorf("record alert of %s: finding %q: %w", key, rules[cf.items[0]-1], store.ErrNotFound)
	}
	item, err := s.getState(ctx, key)
	if err != nil {
		return err
	}
	if item == nil {
		return fmt.Errorf("record alert of %s: %w", key, store.ErrNotFound)
	}
	// The SDK retries a write whose answer was lost (a dropped
	// connection): if the first attempt recorded this very message at
	// this revision, the record is done.
	if got, err := getN(item, attrAlertRendered); err == nil && got == rev &&
		getS(item, attrAlertChannel) == ref.Channel && getS(item, attrAlertTS) == ref.TS {
		return nil
	}
	return fmt.Errorf("record alert of %s at revision %d: %w", key, rev, store.ErrClaimed)
}
