package dynamostore

import (
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftwatch/driftwatch/shared/store"
)

// conditionFailed reports writes whose condition did not hold. The store
// methods turn it into the contract's sentinel errors, since only they
// know what the condition meant.
type conditionFailed struct {
	op string
	// items are the indexes of the transaction items whose condition
	// failed; [0] for a single write.
	items []int
	// old is the item as it was, when DynamoDB returned it.
	old map[string]types.AttributeValue
}

func (e *conditionFailed) Error() string {
	return fmt.Sprintf("dynamodb %s: condition failed on item(s) %v", e.op, e.items)
}

func (e *conditionFailed) failed(i int) bool { return slices.Contains(e.items, i) }

// translate is the one place that interprets SDK errors: a failed condition
// becomes *conditionFailed, a write that collided with a concurrent
// transaction becomes store.ErrConflict (retrying helps), and everything
// else is wrapped with the operation.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var (
		ccf *types.ConditionalCheckFailedException
		tce *types.TransactionCanceledException
		tcx *types.TransactionConflictException
		rnf *types.ResourceNotFoundException
	)
	switch {
	case errors.As(err, &ccf):
		return &conditionFailed{op: op, items: []int{0}, old: ccf.Item}
	case errors.As(err, &tce):
		cf := &conditionFailed{op: op}
		conflict := false
		for i, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				cf.items = append(cf.items, i)
			case "TransactionConflict":
				conflict = true
			}
		}
		if len(cf.items) > 0 {
			return cf
		}
		if conflict {
			return fmt.Errorf("dynamodb %s: %w: %w", op, store.ErrConflict, err)
		}
	case errors.As(err, &tcx):
		return fmt.Errorf("dynamodb %s: %w: %w", op, store.ErrConflict, err)
	case errors.As(err, &rnf):
		return fmt.Errorf("dynamodb %s: table not found (run CreateTable): %w", op, err)
	}
	return fmt.Errorf("dynamodb %s: %w", op, err)
}
